// The JSON bodies of the endpoint and the mapping from PostgreSQL errors to HTTP statuses
// (PostgREST-style: the status from the SQLSTATE, the body carries PostgreSQL's words).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace shim {

// The spec's seven keys: always present in deleted_counts, 0 when a table was not reached.
extern const char *const kSpecCountKeys[7];

// 200: {"success": true, "message": ..., "deleted_counts": {...}, "collateral_counts": {...},
//       "test_session_id": ...} and whatever else the SQL result holds (dry_run, warnings,
//       the reaper's sessions), from the jsonb test_cleanup() or reap() returned.
nlohmann::json success_body(const std::optional<std::string> &session,
                            const nlohmann::json &cleanup_result);

// {"success": false, "message": ..., "error": {"code": ..., "message": ..., "details": ...,
//  "hint": ...}}; empty strings are left out of "error".
nlohmann::json error_body(const std::string &message, const std::string &code,
                          const std::string &details = {}, const std::string &detail_message = {},
                          const std::string &hint = {});

struct DatabaseError {
  std::string sqlstate;  // empty when the server could not be reached at all
  std::string message;
  std::string detail;
  std::string hint;
};

struct MappedError {
  int status;
  nlohmann::json body;
};

MappedError map_database_error(const DatabaseError &error);

}  // namespace shim
