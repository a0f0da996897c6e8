// The two statements the shim sends: the cleanup itself and the health check.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>

#include "response.hpp"

namespace shim {

// SELECT test_cleanup($1): the session travels as a parameter, never in the SQL text.
// Returns the jsonb as text, or fills *error.
std::optional<std::string> call_cleanup(PGconn *conn, const std::optional<std::string> &session,
                                        DatabaseError *error);

// Empty when the extension is installed and its gate is open; else the reason it is not.
std::string health_problem(PGconn *conn);

}  // namespace shim
