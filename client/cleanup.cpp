#include "cleanup.hpp"

#include <chrono>
#include <set>

#include "catalog.hpp"
#include "connection.hpp"
#include "install.hpp"
#include "outcome.hpp"
#include "pg_catalog_source.hpp"
#include "plan.hpp"
#include "plan_function.hpp"

namespace test_cleanup::client {

namespace {

// The install, the gate (the plain install's _require_enabled() raises the extension's
// refusal), the marker, the role for the audit row, and the opt-in this mode cannot give.
const char *const kStateQuery = R"SQL(
SELECT (SELECT e.extversion FROM pg_catalog.pg_extension e
         WHERE e.extname OPERATOR(pg_catalog.=) 'test_cleanup'),
       pg_catalog.to_regclass('test_cleanup.client_settings') IS NOT NULL,
       pg_catalog.current_setting('test_cleanup.skip_fk_checks', true),
       CURRENT_USER)SQL";
const char *const kGateQuery =
    "SELECT s.version, test_cleanup._marker() FROM test_cleanup._require_enabled(), "
    "test_cleanup.client_settings s";

// The array type of each carried column's type, named so the function's DECLARE reads it
// whatever its search_path (types outside pg_catalog come qualified: this runs with
// search_path pg_catalog, pg_temp).
const char *const kArrayTypesQuery = R"SQL(
SELECT t.oid::pg_catalog.int8, pg_catalog.format_type(t.typarray, NULL)
  FROM pg_catalog.pg_type t
 WHERE t.oid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND t.typarray OPERATOR(pg_catalog.<>) 0)SQL";

// Without a search_path of the database's own, user triggers get the one this connection
// started with (the server's, or the connecting role's): the server's configuration files,
// which the extension reads, are for superusers only.
const char *const kSessionSearchPathQuery =
    "SELECT s.reset_val FROM pg_catalog.pg_settings s "
    "WHERE s.name OPERATOR(pg_catalog.=) 'search_path'";

const char *const kOwnSearchPath = "SET LOCAL search_path = pg_catalog, pg_temp";

// The settings a managed database refuses to the cleanup: refused here, before anything.
void check_state(const TextRows &state) {
  if (!state.is_null(0, 0))
    throw Failure("55000", "test_cleanup: the test_cleanup extension is installed in this database",
                  "Client mode is for databases where the extension cannot be installed; here "
                  "SELECT test_cleanup() does the same in the server.",
                  "Call SELECT test_cleanup(), or run the shim without --mode client.");
  if (state.text(0, 1) != "t") throw not_installed();
  const std::string &skip = state.text(0, 2);
  if (skip == "on" || skip == "true" || skip == "1" || skip == "yes")
    throw Failure("0A000",
                  "test_cleanup: test_cleanup.skip_fk_checks is not available in client mode",
                  "The fast mode turns PostgreSQL's foreign key triggers off with "
                  "session_replication_role, which only a superuser may set; a managed "
                  "database's owner role is not one.",
                  "RESET test_cleanup.skip_fk_checks; the cleanup runs with every check.");
}

std::map<TypeId, std::string> array_types(PGconn *conn, const Catalog &catalog, const Plan &plan) {
  std::set<TypeId> types;
  for (const auto &[id, carried] : plan.carried)
    for (const Column &col : carried) types.insert(col.type);
  std::string oids;
  for (TypeId type : types) oids += (oids.empty() ? "{" : ",") + std::to_string(type);
  const TextRows rows = exec(conn, kArrayTypesQuery, {oids + "}"});
  std::map<TypeId, std::string> names;
  for (std::uint64_t row = 0; row < rows.size(); ++row)
    names[static_cast<TypeId>(rows.int64(row, 0))] = rows.text(row, 1);
  for (const auto &[id, carried] : plan.carried)
    for (const Column &col : carried)
      if (!names.count(col.type)) throw Failure(no_array_type_error(catalog.tables.at(id), col));
  return names;
}

void create_function(PGconn *conn, const PlanFunction &function) {
  const std::string quote = "$tc_plan$";
  if (function.body.find(quote) != std::string::npos)
    throw Failure("42602", "test_cleanup: a type name of the plan holds " + quote);
  exec(conn, std::string("CREATE OR REPLACE FUNCTION ") + kFunctionName + "(" + kFunctionArguments +
                 ", " + kFunctionOutputs + ") LANGUAGE plpgsql VOLATILE AS " + quote +
                 function.body + quote);
}

std::int64_t number(const nlohmann::json &array, size_t index) {
  return array.at(index).get<std::int64_t>();
}

// What the function reported that stops the cleanup, as the extension raises it.
std::optional<Failure> failure_of(const nlohmann::json &out, const Catalog &catalog,
                                  const Plan &plan, const PlanFunction &function) {
  if (out["error_fields"].is_array()) {
    const auto field = [&out](size_t i) {
      const nlohmann::json &value = out["error_fields"].at(i);
      return value.is_string() ? value.get<std::string>() : std::string();
    };
    const Step &step = plan.steps.at(out["failed_step"].get<size_t>());
    const std::string where =
        stage_detail(catalog, step, field(4), field(4).empty() ? "" : field(5));
    return Failure(field(0), field(1), field(2).empty() ? where : field(2) + "\n" + where,
                   field(3));
  }
  const int kind = out["failed_kind"].is_number() ? out["failed_kind"].get<int>() : 0;
  if (kind == static_cast<int>(FailedKind::none)) return std::nullopt;
  const Step &step = plan.steps.at(out["failed_step"].get<size_t>());
  const Table &table = catalog.tables.at(function.slots.at(out["failed_slot"].get<size_t>() - 1));
  const std::int64_t rows = out["failed_rows"].get<std::int64_t>();
  const std::string keys =
      out["failed_keys"].is_string() ? out["failed_keys"].get<std::string>() : "";
  switch (static_cast<FailedKind>(kind)) {
    case FailedKind::changed_rows:
      return Failure(changed_rows_error(table, rows, step.stage));
    case FailedKind::leftovers:
      return Failure(leftovers_error(table, rows, keys));
    default:
      return Failure(protected_error(table, rows, keys));
  }
}

nlohmann::json run(PGconn *conn, const Request &request) {
  const auto started = std::chrono::steady_clock::now();
  exec(conn, kOwnSearchPath);
  // As the extension's function: its statements are many and short.
  exec(conn, "SET LOCAL jit = off");
  const TextRows state = exec(conn, kStateQuery);
  check_state(state);
  const std::string role = state.text(0, 3);
  const TextRows gate = exec(conn, kGateQuery);
  if (gate.text(0, 0) != kInstallVersion)
    throw Failure("55000",
                  "test_cleanup: client mode " + gate.text(0, 0) +
                      " is installed in this database, this client is " + kInstallVersion,
                  "", "Run test_cleanup_client --db URI --install to upgrade it.");
  const std::string marker = gate.text(0, 1);

  PgCatalogSource source(conn);
  const Catalog catalog = load_catalog(source);
  const Plan plan = plan_cleanup(catalog, PlanOptions{!request.session, false});
  const PlanFunction function = plan_function(catalog, plan, array_types(conn, catalog, plan));
  create_function(conn, function);

  const TextRows database_path = exec(conn, kDatabaseSearchPathQuery);
  const std::string search_path = database_path.is_null(0, 0)
                                      ? exec(conn, kSessionSearchPathQuery).text(0, 0)
                                      : database_path.text(0, 0);
  exec(conn, "SELECT pg_catalog.set_config('search_path', $1, true)", {search_path});
  const TextRows called = exec(
      conn,
      std::string("SELECT pg_catalog.to_jsonb(f) FROM ") + kFunctionName + "($1, $2, $3, $4) f",
      {marker, request.session, request.dry_run ? "true" : "false", function.statements.dump()});
  exec(conn, kOwnSearchPath);
  const nlohmann::json out = nlohmann::json::parse(called.text(0, 0));
  if (std::optional<Failure> failure = failure_of(out, catalog, plan, function)) throw *failure;

  std::map<TableId, TableCounts> counts;
  for (size_t i = 0; i < function.slots.size(); ++i)
    counts[function.slots[i]] =
        TableCounts{number(out["deleted"], i), number(out["collateral"], i)};
  nlohmann::json warnings = nlohmann::json::array();
  for (size_t i = 0; i < out["warn_slots"].size(); ++i)
    warnings.push_back(protected_warning(
        catalog.tables.at(function.slots.at(out["warn_slots"][i].get<size_t>() - 1)),
        number(out["warn_rows"], i), out["warn_keys"][i].get<std::string>()));
  nlohmann::json result =
      cleanup_result(catalog, plan, counts, request.session, request.dry_run, warnings);
  if (request.dry_run) return result;

  const double duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  exec(conn, kInsertAuditRow,
       {request.session, result["deleted_counts"].dump(), result["collateral_counts"].dump(),
        std::to_string(duration_ms), role, std::nullopt});
  exec(conn, kEndHeartbeat, {request.session});
  return result;
}

}  // namespace

nlohmann::json clean(PGconn *conn, const Request &request) {
  if (request.session && request.session->empty())
    throw Failure("22023", kEmptySessionMessage, kEmptySessionDetail, kEmptySessionHint);
  exec(conn, "BEGIN");
  try {
    nlohmann::json result = run(conn, request);
    exec(conn, request.dry_run ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (const UserError &error) {
    PQclear(PQexec(conn, "ROLLBACK"));
    throw Failure(error);
  } catch (...) {
    PQclear(PQexec(conn, "ROLLBACK"));
    throw;
  }
}

}  // namespace test_cleanup::client
