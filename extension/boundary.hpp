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
//    call_guarded(), which catches everything (run_guarded() records it in a plain
//    Failure) and raises it with raise_failure() from its own frame, which holds nothing
//    with a destructor: PgError is re-thrown as the original ErrorData (SQLSTATE, DETAIL,
//    CONTEXT preserved), anything else becomes an ERROR with its message. The closures it
//    gets must be trivially destructible too; the build checks that (static_assert).
//
//  * A body must leave PostgreSQL's error handling as it found it: a PG_TRY left by a
//    return or a throw, or an error context callback pushed and not popped, would leave
//    the next ereport() jumping into a dead frame. run_guarded() compares both stacks
//    before and after the body; on a difference it restores them and fails the call.
//
// This is sound only because a caught PostgreSQL error is always re-raised: nothing may
// continue after one. The one subtransaction (a dry run's, entry.cpp) is rolled back by
// call_guarded()'s failure handler, after the guarded body returned, and the error
// re-raised after it.
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
static_assert(std::is_trivially_destructible_v<Failure>, "a longjmp may skip its destructor");

void record_exception(Failure *failure) noexcept;  // call only inside a catch block

// PostgreSQL's error handling stacks as a guarded body found them.
struct ErrorStacks {
  sigjmp_buf *exception_stack = PG_exception_stack;           // the innermost PG_TRY
  ErrorContextCallback *context_stack = error_context_stack;  // the CONTEXT callbacks
};

// Fails the call (and restores the stacks) when a body left them changed.
void check_error_stacks(const ErrorStacks &before, Failure *failure) noexcept;

// Runs a C++ body and records whatever it throws, or leaves dangling, in *failure.
template <typename Body>
Datum run_guarded(Body &&body, Failure *failure) noexcept {
  const ErrorStacks before;
  Datum result = static_cast<Datum>(0);
  try {
    result = body();
  } catch (...) {
    record_exception(failure);
  }
  check_error_stacks(before, failure);
  return result;
}

// Raises the recorded failure as a PostgreSQL ERROR. Call from a frame without C++ objects.
[[noreturn]] void raise_failure(const Failure *failure);

// The wrapper every SQL-callable function runs its C++ body through: runs `body` guarded,
// and on a failure calls `on_failure`, which must raise it (raise_failure, by default).
// Raising longjmps over this frame and the caller's: the closures (taken by reference) and
// everything here must be trivially destructible, which the build checks.
template <typename Body, typename OnFailure>
Datum call_guarded(Body &&body, OnFailure &&on_failure) {
  static_assert(std::is_trivially_destructible_v<std::remove_reference_t<Body>>,
                "capture nothing with a destructor: a raised error longjmps over it");
  static_assert(std::is_trivially_destructible_v<std::remove_reference_t<OnFailure>>,
                "capture nothing with a destructor: a raised error longjmps over it");
  Failure failure;
  const Datum result = run_guarded(body, &failure);
  if (failure.failed) {
    on_failure(&failure);
    raise_failure(&failure);  // in case on_failure returned
  }
  return result;
}

template <typename Body>
Datum call_guarded(Body &&body) {
  return call_guarded(body, [](const Failure *failure) { raise_failure(failure); });
}

}  // namespace test_cleanup
