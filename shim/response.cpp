#include "response.hpp"

namespace shim {

const char *const kSpecCountKeys[7] = {"users",   "searchables", "invoices", "files",
                                       "ratings", "withdrawals", "metrics"};

nlohmann::json success_body(const std::optional<std::string> &session,
                            const nlohmann::json &cleanup_result) {
  nlohmann::json body = cleanup_result.is_object() ? cleanup_result : nlohmann::json::object();
  nlohmann::json &deleted = body["deleted_counts"];
  if (!deleted.is_object()) deleted = nlohmann::json::object();
  for (const char *key : kSpecCountKeys)
    if (!deleted.contains(key)) deleted[key] = 0;
  if (!body.contains("collateral_counts")) body["collateral_counts"] = nlohmann::json::object();
  const bool dry_run = body.value("dry_run", false);
  std::string message =
      dry_run ? "Dry run completed; nothing was deleted" : "Test data cleanup completed";
  if (body.contains("reaped_sessions"))
    message = std::string(dry_run ? "Dry run of the reaper: " : "Reaped ") +
              std::to_string(body["reaped_sessions"].size()) + " test session(s)" +
              (dry_run ? " would be cleaned; nothing was deleted" : "");
  body["success"] = true;
  body["message"] = message;
  if (session) body["test_session_id"] = *session;
  return body;
}

nlohmann::json error_body(const std::string &message, const std::string &code,
                          const std::string &details, const std::string &detail_message,
                          const std::string &hint) {
  nlohmann::json error = {{"code", code}};
  if (!detail_message.empty()) error["message"] = detail_message;
  if (!details.empty()) error["details"] = details;
  if (!hint.empty()) error["hint"] = hint;
  return {{"success", false}, {"message", message}, {"error", error}};
}

namespace {

bool starts_with(const std::string &text, const char *prefix) {
  return text.rfind(prefix, 0) == 0;
}

int status_for(const std::string &sqlstate) {
  if (sqlstate.empty()) return 503;                            // no server to talk to
  if (sqlstate == "42501") return 403;                         // the gate is closed / no privilege
  if (sqlstate == "TCP01") return 409;                         // a protected table would lose rows
  if (sqlstate == "57014") return 504;                         // statement_timeout (or a cancel)
  if (sqlstate == "55P03") return 503;                         // lock_timeout
  if (sqlstate == "40P01" || sqlstate == "40001") return 503;  // deadlock / serialization: retry
  if (starts_with(sqlstate, "08") || starts_with(sqlstate, "53") || starts_with(sqlstate, "57P"))
    return 503;                                                // connection, resources, shutdown
  if (sqlstate == "42883" || sqlstate == "3F000") return 503;  // extension not installed
  return 500;
}

const char *message_for(int status) {
  switch (status) {
    case 403:
      return "Test data cleanup is disabled in this database; nothing was deleted";
    case 409:
      return "The cleanup would delete rows of a protected table; nothing was deleted";
    case 503:
      return "The database is unavailable or busy; nothing was deleted, try again";
    case 504:
      return "The cleanup took too long and was cancelled; nothing was deleted";
    default:
      return "Cleanup failed, nothing was deleted";
  }
}

}  // namespace

MappedError map_database_error(const DatabaseError &error) {
  const int status = status_for(error.sqlstate);
  return {status, error_body(message_for(status),
                             error.sqlstate.empty() ? "connection_failed" : error.sqlstate,
                             error.detail, error.message, error.hint)};
}

}  // namespace shim
