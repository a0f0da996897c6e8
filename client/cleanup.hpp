// One cleanup from outside the server: the extension's planner over libpq, the plan run as
// one PL/pgSQL function (plan_function.hpp) in one transaction, the same result and the same
// errors as the extension's test_cleanup().
#pragma once

#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace test_cleanup::client {

struct Request {
  std::optional<std::string> session;  // none: every test session
  bool dry_run = false;
};

// Runs the cleanup in a transaction of its own on `conn` (which must not be in one) and
// returns what SELECT test_cleanup(session, dry_run) returns. Throws Failure with nothing
// deleted. A dry run rolls everything back.
nlohmann::json clean(PGconn *conn, const Request &request);

}  // namespace test_cleanup::client
