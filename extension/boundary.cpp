#include "boundary.hpp"

#include <cstdio>
#include <new>

#include "errors.hpp"

namespace test_cleanup {

const char *PgError::what() const noexcept {
  return edata_ && edata_->message ? edata_->message : "PostgreSQL error";
}

namespace {

template <size_t N>
void copy_text(char (&to)[N], const char *from) noexcept {
  std::snprintf(to, N, "%s", from ? from : "");
}

}  // namespace

void record_exception(Failure *failure) noexcept {
  failure->failed = true;
  try {
    throw;
  } catch (const PgError &e) {
    failure->pg_error = e.edata();
  } catch (const UserError &e) {
    copy_text(failure->sqlstate, e.sqlstate);
    copy_text(failure->message, e.what());
    copy_text(failure->detail, e.detail.c_str());
    copy_text(failure->hint, e.hint.c_str());
  } catch (const std::bad_alloc &) {
    copy_text(failure->sqlstate, "53200");
    copy_text(failure->message, "test_cleanup: out of memory");
  } catch (const std::exception &e) {
    std::snprintf(failure->message, sizeof failure->message, "test_cleanup: internal error: %s",
                  e.what());
  } catch (...) {
    copy_text(failure->message, "test_cleanup: internal error of unknown kind");
  }
}

void check_error_stacks(const ErrorStacks &before, Failure *failure) noexcept {
  const bool exception_stack_left = PG_exception_stack != before.exception_stack;
  const bool context_stack_left = error_context_stack != before.context_stack;
  if (!exception_stack_left && !context_stack_left) return;
  PG_exception_stack = before.exception_stack;
  error_context_stack = before.context_stack;
  // A bug of this extension, and the one to report: any error the body had is a symptom.
  failure->failed = true;
  failure->pg_error = nullptr;
  copy_text(failure->sqlstate, "XX000");
  copy_text(failure->message,
            exception_stack_left
                ? "test_cleanup: internal error: a PG_TRY block was left without PG_END_TRY"
                : "test_cleanup: internal error: an error context callback was left installed");
  copy_text(failure->detail,
            "PostgreSQL's error handling was restored as it was before the call; nothing was "
            "changed by it.");
  failure->hint[0] = '\0';
}

void raise_failure(const Failure *failure) {
  if (failure->pg_error) ReThrowError(failure->pg_error);
  const char *s = failure->sqlstate;
  ereport(ERROR, (errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])),
                  errmsg_internal("%s", failure->message),
                  failure->detail[0] ? errdetail_internal("%s", failure->detail) : 0,
                  failure->hint[0] ? errhint("%s", failure->hint) : 0));
  pg_unreachable();
}

}  // namespace test_cleanup
