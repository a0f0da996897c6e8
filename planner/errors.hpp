// Errors the C++ side raises on purpose: a user can act on them, so they carry a SQLSTATE,
// a detail and a hint. The boundary turns them into an ordinary PostgreSQL ERROR.
#pragma once

#include <stdexcept>
#include <string>

namespace test_cleanup {

// A cleanup would delete rows of a protected table that are not test data
// (test_cleanup.protect()): a SQLSTATE of its own, so a client can tell it from any other
// failure (the HTTP shim answers 409).
constexpr const char *kProtectedSqlstate = "TCP01";

class UserError : public std::runtime_error {
 public:
  UserError(const char *sqlstate, const std::string &message, std::string detail = {},
            std::string hint = {})
      : std::runtime_error(message),
        sqlstate(sqlstate),
        detail(std::move(detail)),
        hint(std::move(hint)) {}
  const char *sqlstate;  // five characters, e.g. "55000"
  std::string detail;
  std::string hint;
};

}  // namespace test_cleanup
