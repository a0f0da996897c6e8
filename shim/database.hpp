// The statements the shim sends: one per request, and the health check.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>

#include "request.hpp"
#include "response.hpp"

namespace shim {

// Each request is one parameterized SELECT that returns one JSON text: values travel as
// parameters, never in the SQL text. On failure the result is empty and *error filled.

// SELECT test_cleanup($1, $2), or for older_than_seconds test_cleanup.reap(...).
std::optional<std::string> call_cleanup(PGconn *conn, const CleanupBody &body,
                                        DatabaseError *error);

// The same cleanup in client mode (client/cleanup.hpp): planned here, run in the server as
// one transaction. No reaper: the caller refuses older_than_seconds first.
std::optional<std::string> call_client_cleanup(PGconn *conn, const CleanupBody &body,
                                               DatabaseError *error);

// test_cleanup.sessions() as a JSON array; refused like a cleanup where the gate is closed.
std::optional<std::string> call_sessions(PGconn *conn, DatabaseError *error);

// A new session: {"test_session_id": ..., "metadata": {...}} (new_session(), metadata()).
std::optional<std::string> call_new_session(PGconn *conn, DatabaseError *error);

// test_cleanup.heartbeat($1) as {"test_session_id": ..., "last_heartbeat": ...}.
std::optional<std::string> call_heartbeat(PGconn *conn, const std::string &session,
                                          DatabaseError *error);

// Empty when the extension (client mode: its plain install) is installed and its gate is
// open; else the reason it is not.
std::string health_problem(PGconn *conn, bool client_mode);

}  // namespace shim
