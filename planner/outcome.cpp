#include "outcome.hpp"

namespace test_cleanup {

std::string table_names(const Catalog &catalog, const std::vector<TableId> &tables) {
  std::string names;
  for (TableId id : tables)
    names += (names.empty() ? "" : ", ") + catalog.tables.at(id).display_name;
  return names;
}

std::string stage_detail(const Catalog &catalog, const Step &step, const std::string &constraint,
                         const std::string &constraint_table) {
  std::string where = std::string("test_cleanup stage \"") + stage_name(step.stage) + "\"";
  if (!step.tables.empty()) where += " on " + table_names(catalog, step.tables);
  if (!constraint.empty()) {
    where += ", constraint " + constraint;
    if (!constraint_table.empty()) where += " on table " + constraint_table;
  }
  return where + "; nothing was deleted.";
}

UserError no_array_type_error(const Table &table, const Column &column) {
  return UserError("42804",
                   "test_cleanup: column " + column.name + " of \"" + table.display_name +
                       "\" has a type without an array type",
                   "Doomed rows are passed between statements as arrays of their key and link "
                   "columns.");
}

UserError changed_rows_error(const Table &table, std::int64_t missing, Stage stage) {
  return UserError(
      "55000",
      "test_cleanup: " + std::to_string(missing) + " doomed row(s) of \"" + table.display_name +
          "\" changed before they could be deleted",
      "The table has no primary key or unique key over NOT NULL columns, so its rows are "
      "named by their physical address (ctid), and something (a trigger, a concurrent "
      "writer) updated or deleted some of them during the cleanup; test_cleanup stage \"" +
          std::string(stage_name(stage)) + "\" on " + table.display_name + "; nothing was deleted.",
      "Give the table a primary key; then its rows are named by key and found wherever "
      "an update moves them.");
}

UserError sweep_rounds_error(const Catalog &catalog, const std::vector<TableId> &tables) {
  return UserError(
      "55000", "test_cleanup: rows kept attaching to doomed rows through links during the cleanup",
      "After " + std::to_string(kMaxSweepRounds) +
          " rounds of the sweep, each deleting what the round before found, the last one still "
          "found new rows in " +
          table_names(catalog, tables) + "; test_cleanup stage \"sweep\"; nothing was deleted.",
      "Stop the writers of that session before cleaning it, or SET test_cleanup.lock_tables = "
      "on, which makes them wait for the cleanup.");
}

UserError leftovers_error(const Table &table, std::int64_t left, const std::string &keys) {
  return UserError(
      "55000",
      "test_cleanup: " + std::to_string(left) + " doomed row(s) of \"" + table.display_name +
          "\" still exist after the deletes",
      "Keys: " + keys +
          ". A trigger or rule kept them (a BEFORE DELETE trigger returning NULL, a DO "
          "INSTEAD rule) or a trigger re-created them; test_cleanup stage \"verify\" on " +
          table.display_name + "; nothing was deleted.",
      "Check the triggers and rules on \"" + table.display_name +
          "\": a cleanup either removes every doomed row or nothing.");
}

namespace {

std::string protected_message(const Table &table, std::int64_t rows) {
  return "test_cleanup: the cleanup would delete " + std::to_string(rows) +
         " row(s) of protected table \"" + table.display_name +
         "\" that are not marked as test data";
}

}  // namespace

UserError protected_error(const Table &table, std::int64_t rows, const std::string &keys) {
  return UserError(kProtectedSqlstate, protected_message(table, rows),
                   "Keys: " + keys +
                       ". Marked rows reach them through foreign keys or links; test_cleanup "
                       "stage \"protect\" on " +
                       table.display_name + "; nothing was deleted.",
                   "Find what links them to the test data with test_cleanup.explain(); "
                   "test_cleanup.unprotect() of the table (or of its partitioned table, see "
                   "test_cleanup.protected) lifts the protection.");
}

nlohmann::json protected_warning(const Table &table, std::int64_t rows, const std::string &keys) {
  return {{"table", table.display_name},
          {"problem", "protected table"},
          {"row_count", rows},
          {"sample_keys", keys},
          {"message", protected_message(table, rows)}};
}

nlohmann::json cleanup_result(const Catalog &catalog, const Plan &plan,
                              const std::map<TableId, TableCounts> &counts,
                              const std::optional<std::string> &session, bool dry_run,
                              const nlohmann::json &warnings) {
  nlohmann::json deleted = nlohmann::json::object(), collateral = nlohmann::json::object();
  for (TableId id : plan.tables) {
    const std::string &key = catalog.tables.at(id).report_key;
    const auto found = counts.find(id);
    const TableCounts table_counts = found == counts.end() ? TableCounts{} : found->second;
    deleted[key] = deleted.value(key, std::int64_t{0}) + table_counts.deleted;
    collateral[key] = collateral.value(key, std::int64_t{0}) + table_counts.collateral;
  }
  nlohmann::json result = {{"deleted_counts", deleted}, {"collateral_counts", collateral}};
  if (session) result["test_session_id"] = *session;
  if (dry_run) {
    result["dry_run"] = true;
    result["warnings"] = warnings;
  }
  return result;
}

const char *const kAuditAndEndHeartbeat = R"SQL(
WITH audit AS (
      INSERT INTO test_cleanup.audit_log
             (test_session_id, role_name, application_name, client_addr,
              deleted_counts, collateral_counts, duration_ms, transient_indexes)
      VALUES ($1, $5, current_setting('application_name'), inet_client_addr(),
              $2::jsonb, $3::jsonb, $4, $6::jsonb)),
     heartbeat AS (
      DELETE FROM test_cleanup.heartbeat WHERE $1::pg_catalog.text IS NULL OR
             test_session_id OPERATOR(pg_catalog.=) $1::pg_catalog.text)
SELECT)SQL";

const char *const kDatabaseSearchPathQuery = R"SQL(
SELECT (SELECT pg_catalog.substr(c, 13)
          FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c
         WHERE s.setrole OPERATOR(pg_catalog.=) 0
           AND s.setdatabase OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_database
                                                      WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
           AND pg_catalog.starts_with(c, 'search_path=')),
       pg_catalog.pg_conf_load_time()::pg_catalog.text)SQL";

const char *const kEmptySessionMessage = "test_cleanup: the test session id must not be empty";
const char *const kEmptySessionDetail = "An empty string names no session.";
const char *const kEmptySessionHint =
    "Pass NULL (or call test_cleanup() without an argument) to clean the test data of every "
    "session.";

}  // namespace test_cleanup
