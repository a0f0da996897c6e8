#!/usr/bin/env bash
# Prints the pg_config of the PostgreSQL major version the tests run against:
#
#   test/pg_build.sh 15   Debian's PostgreSQL 15 (installed by test/install_deps.sh)
#   test/pg_build.sh 18   PostgreSQL 18, built from ../shared/vendor (Debian 12 has no 18)
#                         into /var/cache/test_cleanup (TC_PG_CACHE moves it), only when
#                         missing there: outside the clone, so a fresh clone reuses it, and
#                         where the postgres user that runs the throwaway clusters can reach
#                         it (not under /root)
#
# Exits 3 with one line on stderr when a version cannot be had here (no source).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
major=${1:?usage: $0 MAJOR}
vendor=${TC_VENDOR:-$repo/../shared/vendor}
cache_root=${TC_PG_CACHE:-/var/cache/test_cleanup}

case "$major" in
  15)
    echo /usr/lib/postgresql/15/bin/pg_config
    exit 0
    ;;
  18) version=18.6 ;;
  *)
    echo "pg_build: PostgreSQL $major is not one the tests know how to get (15, 18)" >&2
    exit 2
    ;;
esac

source_archive=$vendor/postgresql-$version.tar.bz2
prefix=$cache_root/postgresql-$version
# ICU for the tests of nondeterministic collations; no readline (psql is not interactive here).
configure_options="--prefix=$prefix --without-readline"
# The stamp holds the options the cached build was configured with: changed options rebuild.
if [ "$(cat "$prefix/.installed" 2>/dev/null)" = "$configure_options" ]; then
  echo "$prefix/bin/pg_config"
  exit 0
fi
if [ ! -f "$source_archive" ]; then
  echo "skipped: no PostgreSQL $major source ($source_archive)" >&2
  exit 3
fi

# stdout is the pg_config path only: anything else goes to stderr.
bash "$repo/test/install_deps.sh" bison flex zlib1g-dev libicu-dev >&2

# Built in a scratch directory, installed into the prefix; the prefix is marked complete
# only at the end, so an interrupted build is redone rather than half used.
echo "pg_build: building PostgreSQL $version into $prefix (about five minutes)" >&2
# Called from `make test`, this script inherits MAKELEVEL=1 and MAKEFLAGS; PostgreSQL's
# makefiles then take their top level for a sub-make and skip the generated headers.
unset MAKELEVEL MAKEFLAGS MFLAGS
build=$cache_root/postgresql-$version-build
rm -rf "$build" "$prefix"
mkdir -p "$build"
tar -xjf "$source_archive" -C "$build" --strip-components=1
(cd "$build" &&
  ./configure -q $configure_options >configure.log 2>&1 &&
  make -s -j"$(nproc)" >make.log 2>&1 &&
  make -s install >install.log 2>&1) || {
  tail -n 30 "$build"/*.log >&2
  exit 1
}
rm -rf "$build"
# The throwaway clusters run as the postgres user, which must read the installed files.
chmod -R a+rX "$prefix"
echo "$configure_options" >"$prefix/.installed"
echo "$prefix/bin/pg_config"
