# test_cleanup: PGXS build of the C++ extension, the HTTP shim, and the two entry points
# (`make demo`, `make test`) that README.md documents.

# PGXS's convention: the pg_config on PATH (Debian's picks the newest server headers
# installed), or PG_CONFIG=/path/to/pg_config for another PostgreSQL.
PG_CONFIG ?= pg_config
PGXS := $(wildcard $(shell $(PG_CONFIG) --pgxs 2>/dev/null))
# The PostgreSQL major versions the code builds against (README and META.json say the same;
# the tests run on 15 and 18).
SUPPORTED_PG_MAJORS = 15 16 17 18
PG_VERSION := $(shell $(PG_CONFIG) --version 2>/dev/null)
PG_MAJOR := $(shell echo '$(PG_VERSION)' | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')

# The control file is the single source of truth for the version.
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" test_cleanup.control)

.DEFAULT_GOAL := all
.PHONY: test demo deps format format-check dist

# Both entry points install what they need first, so they work on a fresh machine where
# PGXS (and so most of this Makefile) is not available yet. `make test PG=15` (or 18) runs
# the suite against one PostgreSQL major version; by default it runs against each.
PG ?= 15 18
test:
	PG='$(PG)' bash test/run_all.sh
demo:
	bash test/demo.sh
deps:
	bash test/install_deps.sh
format:
	clang-format -i $(FORMATTED)
# The C++ sources clang-format keeps (test/t_format.sh checks them).
FORMATTED = $(wildcard extension/*.cpp extension/*.hpp planner/*.cpp planner/*.hpp client/*.cpp \
                        client/*.hpp shim/*.cpp shim/*.hpp test/*/*.cpp)
format-check:
	clang-format --dry-run --Werror $(FORMATTED)

# The PGXN release archive: exactly the committed tree (git archive of HEAD), in a directory
# named for the version. test/t_dist.sh builds, installs and tests it from scratch.
DIST = test_cleanup-$(EXTVERSION)
dist:
	git archive --format zip --prefix=$(DIST)/ --output $(DIST).zip HEAD
	@echo "$(DIST).zip: $$(git rev-parse --short HEAD)$$(git diff --quiet HEAD || echo ', uncommitted changes left out')"

# Goals that build nothing against PostgreSQL, and so need neither PGXS nor a version check.
NON_BUILD_GOALS = test demo deps format format-check dist clean client shim sanitizers planner-test \
                  client/test_cleanup_client shim/test_cleanup_shim shim/test_cleanup_shim_asan \
                  test/fuzz/fuzz_request
BUILD_GOALS = $(if $(MAKECMDGOALS),$(filter-out $(NON_BUILD_GOALS),$(MAKECMDGOALS)),all)

ifeq ($(PGXS),)
all install installcheck:
	@echo "PostgreSQL server headers not found ($(PG_CONFIG)); run 'make deps' first" >&2
	@exit 1
else

ifneq ($(BUILD_GOALS),)
ifeq ($(filter $(PG_MAJOR),$(SUPPORTED_PG_MAJORS)),)
$(error test_cleanup builds against PostgreSQL $(firstword $(SUPPORTED_PG_MAJORS)) to \
  $(lastword $(SUPPORTED_PG_MAJORS)); $(PG_CONFIG) is "$(PG_VERSION)". Pass \
  PG_CONFIG=/path/to/bin/pg_config of a supported version)
endif
endif

EXTENSION   = test_cleanup
MODULE_big  = test_cleanup
# The planner library (planner/, pure C++) is linked into the extension and the client.
OBJS        = $(patsubst %.cpp,%.o,$(sort $(wildcard extension/*.cpp planner/*.cpp)))
DATA_built  = extension/test_cleanup--$(EXTVERSION).sql
# Every upgrade script ships, so ALTER EXTENSION ... UPDATE works from any release.
DATA        = $(wildcard extension/test_cleanup--*--*.sql)
DOCS        = README.md

# A new regression test is a new sql/NAME.sql + expected/NAME.out pair. pg_regress creates
# the extension; each file starts with test/regress_prelude.sql (the gate, the reference
# schema), so any one runs alone: `make installcheck REGRESS=name`.
REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=test_cleanup

# C++17 with strict warnings for our own code; PostgreSQL's headers are system headers.
# Warnings stop the build only where WERROR=-Werror asks (make test does): a user building
# with a newer compiler is not stopped by a warning it has learned since.
WERROR ?=
PG_CXXFLAGS = -std=c++17 -Wall -Wextra $(WERROR) -Wno-register -fno-omit-frame-pointer -Iplanner \
              -isystem $(shell $(PG_CONFIG) --includedir-server)
SHLIB_LINK += -lstdc++
# PGXS would also build LLVM bitcode with clang-14 (C++14 by default); JIT inlining of
# this extension buys nothing, so skip it.
override with_llvm = no

include $(PGXS)

extension/test_cleanup--$(EXTVERSION).sql: extension/test_cleanup.sql test_cleanup.control
	cp $< $@

$(OBJS): $(wildcard extension/*.hpp planner/*.hpp)

# Objects built against another PostgreSQL are rebuilt (`make test` builds against 15, then
# 18, in one tree): the stamp holds the version they were built for, and changes only when
# that version does.
BUILT_FOR = extension/.built-for
$(shell echo '$(PG_VERSION)' | cmp -s - $(BUILT_FOR) 2>/dev/null || echo '$(PG_VERSION)' >$(BUILT_FOR))
$(OBJS): $(BUILT_FOR)

# `make` builds the client too (it needs libpq and nlohmann/json, as the extension does).
all: client/test_cleanup_client

EXTRA_CLEAN = $(BUILT_FOR) build client/test_cleanup_client shim/test_cleanup_shim shim/test_cleanup_shim_asan test/fuzz/fuzz_request \
              results regression.diffs regression.out

endif

# The client for managed PostgreSQL (client/, test_cleanup_client): the planner library
# (planner/, pure C++, so it builds without PostgreSQL's server headers) over libpq, with
# the plain SQL install script compiled in. Needs no PGXS: `make client` builds it where
# only libpq and nlohmann/json are installed. Objects go to build/, apart from the
# extension's (built with the server's flags).
CLIENT_FLAGS       = -std=c++17 -O2 -g -Wall -Wextra $(WERROR) -Iplanner -Iclient \
                     $(shell pkg-config --cflags libpq nlohmann_json)
CLIENT_LIB_SOURCES = $(sort $(wildcard planner/*.cpp)) \
                     $(filter-out client/main.cpp,$(sort $(wildcard client/*.cpp)))
CLIENT_LIB_OBJS    = $(patsubst %.cpp,build/%.o,$(CLIENT_LIB_SOURCES)) build/install_sql.o
CLIENT_HEADERS     = $(wildcard planner/*.hpp client/*.hpp)
build/%.o: %.cpp $(CLIENT_HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) $(CLIENT_FLAGS) -c -o $@ $<
build/install_sql.cpp: extension/test_cleanup.sql client/client_only.sql client/install_sql.sh \
                       test_cleanup.control
	@mkdir -p build
	bash client/install_sql.sh $(EXTVERSION) extension/test_cleanup.sql client/client_only.sql >$@
build/install_sql.o: build/install_sql.cpp $(CLIENT_HEADERS)
	$(CXX) $(CLIENT_FLAGS) -c -o $@ $<
client/test_cleanup_client: build/client/main.o $(CLIENT_LIB_OBJS)
	$(CXX) -o $@ $^ $(shell pkg-config --libs libpq)
client: client/test_cleanup_client
.PHONY: client

# The planner's unit tests (test/unit/): plain C++ against catalogs built in memory, no
# server; TAP lines. `make test` runs them first.
PLANNER_OBJS = $(patsubst %.cpp,build/%.o,$(sort $(wildcard planner/*.cpp)))
build/test/unit/planner_test: build/test/unit/planner_test.o $(PLANNER_OBJS)
	$(CXX) -o $@ $^
planner-test: build/test/unit/planner_test
	build/test/unit/planner_test
.PHONY: planner-test

# The HTTP shim: a plain C++ program with its own dependencies (cpp-httplib, libpq,
# nlohmann/json) and the client's library (for --mode client), built by `make shim`, not by
# `make` (which builds the extension and the client, as PGXN's `make && make install`
# expects).
SHIM_SOURCES = $(sort $(wildcard shim/*.cpp))
SHIM_FLAGS   = -std=c++17 -O2 -g -Wall -Wextra $(WERROR) -pthread -Iplanner -Iclient \
               $(shell pkg-config --cflags cpp-httplib libpq nlohmann_json)
SHIM_LIBS    = $(shell pkg-config --libs cpp-httplib libpq nlohmann_json)
shim/test_cleanup_shim: $(SHIM_SOURCES) $(wildcard shim/*.hpp) $(CLIENT_LIB_OBJS)
	$(CXX) $(SHIM_FLAGS) $(SHIM_EXTRA_FLAGS) -o $@ $(SHIM_SOURCES) $(CLIENT_LIB_OBJS) $(SHIM_LIBS)
shim: shim/test_cleanup_shim
.PHONY: shim

# Sanitizer builds, for the tests: the shim under ASan+UBSan (test/t_shim_sanitizers.sh)
# and a libFuzzer target for request handling (test/t_fuzz.sh).
shim/test_cleanup_shim_asan: $(SHIM_SOURCES) $(wildcard shim/*.hpp) $(CLIENT_LIB_SOURCES) \
                            build/install_sql.cpp $(CLIENT_HEADERS)
	$(CXX) $(SHIM_FLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -o $@ $(SHIM_SOURCES) $(CLIENT_LIB_SOURCES) build/install_sql.cpp \
	  $(SHIM_LIBS)
FUZZ_SOURCES = test/fuzz/fuzz_request.cpp shim/request.cpp shim/auth.cpp
test/fuzz/fuzz_request: $(FUZZ_SOURCES) $(wildcard shim/*.hpp)
	clang++ -std=c++17 -g -O1 -Wall -Wextra $(WERROR) -fsanitize=fuzzer,address,undefined \
	  -o $@ $(FUZZ_SOURCES)
sanitizers: shim/test_cleanup_shim_asan test/fuzz/fuzz_request
.PHONY: sanitizers
