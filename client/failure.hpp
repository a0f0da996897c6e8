// An error the client reports: PostgreSQL's (SQLSTATE and words as the server sent them) or
// one of the planner's (UserError), the same fields the extension's ERROR carries.
#pragma once

#include <stdexcept>
#include <string>

#include "errors.hpp"

namespace test_cleanup::client {

class Failure : public std::runtime_error {
 public:
  Failure(std::string sqlstate, const std::string &message, std::string detail = {},
          std::string hint = {})
      : std::runtime_error(message),
        sqlstate(std::move(sqlstate)),
        detail(std::move(detail)),
        hint(std::move(hint)) {}
  explicit Failure(const UserError &error)
      : Failure(error.sqlstate, error.what(), error.detail, error.hint) {}
  std::string sqlstate;  // empty when the server could not be reached
  std::string detail;
  std::string hint;
};

}  // namespace test_cleanup::client
