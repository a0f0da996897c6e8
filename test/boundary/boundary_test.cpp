// Drives extension/boundary.hpp through every way a guarded C++ body can end, so that
// test/t_boundary.sh can check what PostgreSQL sees afterwards: the right error, and a
// backend whose error handling still works.
#include <new>
#include <stdexcept>
#include <string>

#include "boundary.hpp"
#include "errors.hpp"

extern "C" {
#include "fmgr.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;
PG_FUNCTION_INFO_V1(boundary_test);
}

namespace {

void never_called_context(void *) {}

Datum body(const std::string &kind) {
  if (kind == "ok") return Int32GetDatum(1);
  if (kind == "pg_error")
    test_cleanup::pg_call([] {
      ereport(ERROR, (errcode(ERRCODE_DIVISION_BY_ZERO), errmsg("raised by PostgreSQL"),
                      errdetail("its detail")));
    });
  if (kind == "user_error")
    throw test_cleanup::UserError("22023", "raised by C++", "its detail", "its hint");
  if (kind == "bad_alloc") throw std::bad_alloc();
  if (kind == "std_exception") throw std::runtime_error("a runtime_error");
  if (kind == "unknown") throw 42;
  if (kind == "dangling_try") {
    // The classic bug: a return inside PG_TRY leaves PG_exception_stack pointing here.
    PG_TRY();
    { return Int32GetDatum(2); }
    PG_CATCH();
    { PG_RE_THROW(); }
    PG_END_TRY();
  }
  if (kind == "dangling_context") {
    // A context callback pushed and not popped: it would point into this dead frame.
    ErrorContextCallback callback;
    callback.callback = never_called_context;
    callback.arg = nullptr;
    callback.previous = error_context_stack;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"  // on purpose: the bug under test
    error_context_stack = &callback;
#pragma GCC diagnostic pop
    return Int32GetDatum(3);
  }
  throw std::invalid_argument("no such kind: " + kind);
}

}  // namespace

// boundary_test(kind text) returns int
extern "C" Datum boundary_test(PG_FUNCTION_ARGS) {
  const char *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
  return test_cleanup::call_guarded([kind] { return body(kind); });
}
