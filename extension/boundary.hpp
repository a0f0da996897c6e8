// The one place where PostgreSQL errors and C++ exceptions meet.
//
// PostgreSQL reports errors with ereport(ERROR), which longjmps to the nearest PG_TRY; C++
// reports them by throwing. Neither may cross the other's frames: a longjmp over a frame
// that holds a std::string skips its destructor, and an exception that reaches PostgreSQL's
// C frames aborts the backend. So, as in pg_duckdb:
//
//  * PostgreSQL -> C++: every PostgreSQL call made from C++ goes through pg_call(), which
//    runs it under its own PG_TRY, copies the ErrorData, flushes the error state and
//    throws PgError after PG_END_TRY, where unwinding is safe. The callable passed to
//    pg_call must itself hold nothing with a destructor and must not throw.
//
//  * C++ -> PostgreSQL: every SQL-callable function runs its C++ body through
//    run_guarded(), which catches everything, records it in a plain Failure, and returns.
//    The extern "C" caller then raises it with raise_failure() from a frame that holds no
//    C++ objects: PgError is re-thrown as the original ErrorData (SQLSTATE, DETAIL, CONTEXT
//    preserved), anything else becomes an ERROR with its message.
//
// This is sound only because a caught PostgreSQL error is always re-raised: nothing may
// continue after one. The one subtransaction (a dry run's, entry.cpp) is rolled back in
// the extern "C" frame, after the guarded body returned, and the error re-raised after it.
#pragma once

extern "C" {
#include "postgres.h"

#include "utils/elog.h"
#include "utils/memutils.h"
}

#include <exception>
#include <type_traits>

namespace test_cleanup {

class PgError : public std::exception {
 public:
  explicit PgError(ErrorData *edata) : edata_(edata) {}
  ErrorData *edata() const { return edata_; }
  const char *what() const noexcept override;

 private:
  ErrorData *edata_;  // palloc'd in the memory context that was current at the call
};

template <typename Call>
auto pg_call(Call &&call) -> decltype(call()) {
  using Result = decltype(call());
  if constexpr (std::is_void_v<Result>) {
    pg_call([&call] {
      call();
      return 0;
    });
  } else {
    static_assert(std::is_scalar_v<Result>, "pg_call returns scalars (Datum, pointers, numbers)");
    MemoryContext caller = CurrentMemoryContext;
    ErrorData *volatile error = nullptr;
    volatile Result result{};  // volatile: it lives across sigsetjmp
    PG_TRY();
    { result = call(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(caller);
      error = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
    if (error) throw PgError(error);
    return result;
  }
}

// What went wrong in a guarded C++ body, held without any allocation so that it can be
// filled inside a catch block and raised after it.
struct Failure {
  bool failed = false;
  ErrorData *pg_error = nullptr;  // a PostgreSQL error to re-raise as it was
  char sqlstate[6] = "XX000";
  char message[1024] = "";
  char detail[2048] = "";
  char hint[1024] = "";
};

void record_exception(Failure *failure) noexcept;  // call only inside a catch block

template <typename Body>
Datum run_guarded(Body &&body, Failure *failure) noexcept {
  try {
    return body();
  } catch (...) {
    record_exception(failure);
  }
  return static_cast<Datum>(0);
}

// Raises the recorded failure as a PostgreSQL ERROR. Call from a frame without C++ objects.
[[noreturn]] void raise_failure(const Failure *failure);

}  // namespace test_cleanup
