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

// PostgreSQL's error as an HTTP answer, PostgREST-style: by exact SQLSTATE first, then by
// its class (first two characters). 503 means "try again" and is kept for what passes:
// no server, a busy or restarting one, a lock or deadlock. What retrying cannot fix (the
// extension or its functions missing) is a 500 that says so.
struct Mapping {
  const char *sqlstate;  // five characters, or a two-character class
  int status;
  const char *message;
};

const char *const kFailed = "Cleanup failed, nothing was deleted";
const char *const kBusy = "The database is unavailable or busy; nothing was deleted, try again";
const char *const kMissing =
    "test_cleanup is not installed in this database, or the shim's role cannot reach it; "
    "nothing was deleted (retrying will not help)";

const Mapping kMappings[] = {
    {"", 503, kBusy},  // no server to talk to
    {"42501", 403, "Test data cleanup is disabled in this database; nothing was deleted"},
    {"TCP01", 409, "The cleanup would delete rows of a protected table; nothing was deleted"},
    {"57014", 504, "The cleanup took too long and was cancelled; nothing was deleted"},
    {"55P03", 503, kBusy},     // lock_timeout
    {"40P01", 503, kBusy},     // deadlock
    {"40001", 503, kBusy},     // serialization failure
    {"42883", 500, kMissing},  // undefined function
    {"3F000", 500, kMissing},  // invalid schema name
    {"42P01", 500, kMissing},  // undefined table
    {"08", 503, kBusy},        // connection exception
    {"53", 503, kBusy},        // insufficient resources
    {"57P", 503, kBusy},       // operator intervention: shutdown, crash recovery
};

const Mapping &mapping_for(const std::string &sqlstate) {
  for (const Mapping &m : kMappings)
    if (sqlstate == m.sqlstate) return m;
  for (const Mapping &m : kMappings)
    if (std::string(m.sqlstate).size() < 5 && !std::string(m.sqlstate).empty() &&
        sqlstate.rfind(m.sqlstate, 0) == 0)
      return m;
  static const Mapping other{"", 500, kFailed};
  return other;
}

}  // namespace

MappedError map_database_error(const DatabaseError &error) {
  const Mapping &mapping = mapping_for(error.sqlstate);
  return {mapping.status,
          error_body(mapping.message, error.sqlstate.empty() ? "connection_failed" : error.sqlstate,
                     error.detail, error.message, error.hint)};
}

}  // namespace shim
