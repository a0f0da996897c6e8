// What a cleanup reports, the same from the extension (extension/execute.cpp) and the client
// (client/cleanup.cpp): its result object, the errors a step's findings raise, and where in
// the plan a PostgreSQL error happened. Pure C++, so both build the same words.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "errors.hpp"
#include "model.hpp"
#include "plan.hpp"

namespace test_cleanup {

struct TableCounts {
  std::int64_t deleted = 0;
  std::int64_t collateral = 0;
};

// `public.a, public.b`
std::string table_names(const Catalog &catalog, const std::vector<TableId> &tables);

// The line added to a PostgreSQL error's DETAIL: `test_cleanup stage "remove" on public.x,
// constraint c on table t; nothing was deleted.` (constraint and table when PostgreSQL
// names them; empty: not named).
std::string stage_detail(const Catalog &catalog, const Step &step, const std::string &constraint,
                         const std::string &constraint_table);

// A carried column whose type has no array type: doomed rows cannot be passed on.
UserError no_array_type_error(const Table &table, const Column &column);

// Rows named by their physical address that the remove step did not find (a trigger or a
// concurrent writer moved them).
UserError changed_rows_error(const Table &table, std::int64_t missing, Stage stage);

// The sweep still found new rows attached to doomed ones after kMaxSweepRounds rounds, in
// `tables` (its last round's).
UserError sweep_rounds_error(const Catalog &catalog, const std::vector<TableId> &tables);

// Doomed rows still present after the deletes (Result::leftovers found some).
UserError leftovers_error(const Table &table, std::int64_t left, const std::string &keys);

// Doomed rows of a protected table that are not marked (Result::protected_rows found some):
// the refusal, or in a dry run the warning that goes into the result.
UserError protected_error(const Table &table, std::int64_t rows, const std::string &keys);
nlohmann::json protected_warning(const Table &table, std::int64_t rows, const std::string &keys);

// {"deleted_counts": {...}, "collateral_counts": {...}[, "test_session_id": ...]
//  [, "dry_run": true, "warnings": [...]]}: counts summed per report key over the plan's
// tables, every plan table present (0 when none of its rows went).
nlohmann::json cleanup_result(const Catalog &catalog, const Plan &plan,
                              const std::map<TableId, TableCounts> &counts,
                              const std::optional<std::string> &session, bool dry_run,
                              const nlohmann::json &warnings);

// One statement after a successful cleanup: its audit row, and the session's heartbeat
// ended (the session is gone, and so is its sign of life; cleaning every session ends
// every heartbeat). $1 session (NULL: all), $2 deleted_counts, $3 collateral_counts (jsonb
// text), $4 duration in ms (float8), $5 role, $6 transient indexes (jsonb text or NULL).
extern const char *const kAuditAndEndHeartbeat;

// The search_path a database sets for itself (ALTER DATABASE ... SET search_path; NULL:
// none), and when the server last read its configuration files. User triggers run with
// the database's path during a cleanup.
extern const char *const kDatabaseSearchPathQuery;

// An empty session id names no session: refused (NULL cleans every session), SQLSTATE
// 22023. Plain C strings, so the extension can raise them with ereport.
extern const char *const kEmptySessionMessage;
extern const char *const kEmptySessionDetail;
extern const char *const kEmptySessionHint;

}  // namespace test_cleanup
