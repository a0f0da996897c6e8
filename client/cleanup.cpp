#include "cleanup.hpp"

#include <chrono>
#include <set>
#include <sstream>

#include "catalog.hpp"
#include "compiled_plan.hpp"
#include "connection.hpp"
#include "install.hpp"
#include "outcome.hpp"
#include "pg_catalog_source.hpp"
#include "plan.hpp"
#include "plan_function.hpp"

namespace test_cleanup::client {

namespace {

// Whether the extension or client mode is installed, the opt-in this mode cannot give,
// the role for the audit row, whether Citus is present, and the search_path user triggers
// run with: the database's own (as in the extension), else the one this connection started
// with (the server's, or the connecting role's: the server's configuration files, which the
// extension reads, are for superusers only). The first statement of the cleanup, before it
// sets its own search_path.
const std::string kStateQuery = std::string(R"SQL(
SELECT (SELECT e.extversion FROM pg_catalog.pg_extension e
         WHERE e.extname OPERATOR(pg_catalog.=) 'test_cleanup'),
       pg_catalog.to_regclass('test_cleanup.client_settings') IS NOT NULL,
       pg_catalog.current_setting('test_cleanup.skip_fk_checks', true),
       CURRENT_USER,
       EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus'),
       coalesce(d.path, pg_catalog.current_setting('search_path')),
       coalesce(pg_catalog.current_setting('test_cleanup.lock_tables', true), '')
  FROM ()SQL") + kDatabaseSearchPathQuery +
                                ") d(path, loaded)";
// The cleanup's own settings, as the extension's function has them: a search_path of
// schemas no one else writes, and no JIT (its statements are many and short); and no check
// of the plan function's body when it is created (generated, and run right after: checking
// would compile it twice).
const char *const kOwnSettings =
    "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true), "
    "pg_catalog.set_config('jit', 'off', true), "
    "pg_catalog.set_config('check_function_bodies', 'off', true)";
// The gate (closed: the plain install's _require_enabled() raises the extension's refusal),
// the marker, the fingerprint of the catalogs and the plan kept for it, and whether this
// connection's function already holds that plan's body ($1: the version of this client's
// plans; $2: every session, or one).
const std::string &gate_query() {
  static const std::string sql = std::string(R"SQL(
WITH f(v) AS (SELECT $1::pg_catalog.text || ' ' || )SQL") +
                                 fingerprint_sql() + R"SQL(),
kept AS (SELECT c.plan FROM test_cleanup.client_plan_cache c, f
          WHERE c.all_sessions OPERATOR(pg_catalog.=) $2::pg_catalog.bool
            AND c.fingerprint OPERATOR(pg_catalog.=) f.v)
SELECT s.version, s.marker, f.v, (SELECT k.plan::pg_catalog.text FROM kept k),
       coalesce((SELECT p.prosrc OPERATOR(pg_catalog.=) (k.plan OPERATOR(pg_catalog.->>) 'body')
                   FROM kept k, pg_catalog.pg_proc p
                  WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
                            'pg_temp.test_cleanup_client_run(text, text, boolean, jsonb, text)')), false),
       CASE WHEN NOT s.enabled THEN test_cleanup._require_enabled()::pg_catalog.text END
  FROM test_cleanup.client_settings s, f)SQL";
  return sql;
}
const std::string &fingerprint_query() {
  static const std::string sql =
      std::string("SELECT $1::pg_catalog.text || ' ' || ") + fingerprint_sql();
  return sql;
}
const char *const kKeepPlan = R"SQL(
INSERT INTO test_cleanup.client_plan_cache AS c (all_sessions, fingerprint, plan)
VALUES ($1::pg_catalog.bool, $2::pg_catalog.text, $3::pg_catalog.jsonb)
ON CONFLICT (all_sessions) DO UPDATE
   SET fingerprint = excluded.fingerprint, plan = excluded.plan, planned_at = pg_catalog.now())SQL";
// What a kept plan is tied to besides the catalogs: the format of this client's plans (the
// number goes up whenever plan_function.cpp writes another function or compiled_plan.cpp
// keeps another form).
const std::string kPlanFormat = std::string("client ") + kInstallVersion + " plan 4";

// The array type of each carried column's type, named so the function's DECLARE reads it
// whatever its search_path (types outside pg_catalog come qualified: this runs with
// search_path pg_catalog, pg_temp).
const char *const kArrayTypesQuery = R"SQL(
SELECT t.oid::pg_catalog.int8, pg_catalog.format_type(t.typarray, NULL)
  FROM pg_catalog.pg_type t
 WHERE t.oid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND t.typarray OPERATOR(pg_catalog.<>) 0)SQL";

// A boolean setting as current_setting() prints what a client set (PostgreSQL does not check
// a placeholder's value).
bool setting_is_on(const std::string &value) {
  return value == "on" || value == "true" || value == "1" || value == "yes";
}

// The settings a managed database refuses to the cleanup: refused here, before anything.
void check_state(const TextRows &state) {
  if (!state.is_null(0, 0))
    throw Failure("55000", "test_cleanup: the test_cleanup extension is installed in this database",
                  "Client mode is for databases where the extension cannot be installed; here "
                  "SELECT test_cleanup() does the same in the server.",
                  "Call SELECT test_cleanup(), or run the shim without --mode client.");
  if (state.text(0, 1) != "t") throw not_installed();
  if (setting_is_on(state.text(0, 2)))
    throw Failure("0A000",
                  "test_cleanup: test_cleanup.skip_fk_checks is not available in client mode",
                  "The fast mode turns PostgreSQL's foreign key triggers off with "
                  "session_replication_role, which only a superuser may set; a managed "
                  "database's owner role is not one.",
                  "RESET test_cleanup.skip_fk_checks; the cleanup runs with every check.");
}

// A plan to keep in test_cleanup.client_plan_cache once the cleanup's transaction ended.
struct PlanToKeep {
  bool all_sessions = true;
  std::string fingerprint;
  std::string plan;
};

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
  const std::string keys =
      out["failed_keys"].is_string() ? out["failed_keys"].get<std::string>() : "";
  if (kind == static_cast<int>(FailedKind::sweep_rounds)) {
    std::vector<TableId> tables;
    std::stringstream slots(keys);
    for (std::string slot; std::getline(slots, slot, ',');)
      tables.push_back(function.slots.at(std::stoul(slot) - 1));
    return Failure(sweep_rounds_error(catalog, tables));
  }
  const Step &step = plan.steps.at(out["failed_step"].get<size_t>());
  const Table &table = catalog.tables.at(function.slots.at(out["failed_slot"].get<size_t>() - 1));
  const std::int64_t rows = out["failed_rows"].get<std::int64_t>();
  switch (static_cast<FailedKind>(kind)) {
    case FailedKind::changed_rows:
      return Failure(changed_rows_error(table, rows, step.stage));
    case FailedKind::leftovers:
      return Failure(leftovers_error(table, rows, keys));
    default:
      return Failure(protected_error(table, rows, keys));
  }
}

// The plan kept for the catalogs as they are, or one read and made now (and, where the
// catalogs did not change meanwhile, kept for the next cleanup: *keep). Plans that lock
// tables (the opt-in test_cleanup.lock_tables) are made afresh each time, never kept.
CompiledPlan plan_for(PGconn *conn, bool all_sessions, bool lock_tables,
                      const std::string &fingerprint, const TextRows &gate, bool citus,
                      std::optional<PlanToKeep> *keep) {
  // Citus's own catalogs decide a plan too; they are not in the fingerprint.
  if (!gate.is_null(0, 3) && !citus && !lock_tables)
    return compiled_from_json(nlohmann::json::parse(gate.text(0, 3)));
  PgCatalogSource source(conn);
  const Catalog catalog = load_catalog(source);
  const Plan plan = plan_cleanup(catalog, PlanOptions{all_sessions, false, lock_tables});
  CompiledPlan compiled =
      compile(catalog, plan, plan_function(catalog, plan, array_types(conn, catalog, plan)));
  if (!citus && !lock_tables &&
      exec(conn, fingerprint_query(), {kPlanFormat}).text(0, 0) == fingerprint)
    *keep = PlanToKeep{all_sessions, fingerprint, to_json(compiled).dump()};
  return compiled;
}

nlohmann::json run(PGconn *conn, const Request &request, std::optional<PlanToKeep> *keep) {
  const auto started = std::chrono::steady_clock::now();
  const TextRows state = exec_fixed(conn, "test_cleanup_state", kStateQuery);
  check_state(state);
  exec_fixed(conn, "test_cleanup_settings", kOwnSettings);
  const std::string role = state.text(0, 3);
  const bool all_sessions = !request.session;
  const TextRows gate = exec_fixed(conn, "test_cleanup_gate", gate_query(),
                                   {kPlanFormat, all_sessions ? "true" : "false"});
  if (gate.text(0, 0) != kInstallVersion)
    throw Failure("55000",
                  "test_cleanup: client mode " + gate.text(0, 0) +
                      " is installed in this database, this client is " + kInstallVersion,
                  "", "Run test_cleanup_client --db URI --install to upgrade it.");
  const std::string marker = gate.text(0, 1);
  const bool lock_tables = setting_is_on(state.text(0, 6));
  const CompiledPlan compiled = plan_for(conn, all_sessions, lock_tables, gate.text(0, 2), gate,
                                         state.text(0, 4) == "t", keep);
  const Catalog &catalog = compiled.catalog;
  const Plan &plan = compiled.plan;
  const PlanFunction &function = compiled.function;
  // A pooled connection (the shim's) keeps the function of its last cleanup, compiled.
  if (lock_tables || gate.text(0, 4) != "t") create_function(conn, function);
  const TextRows called = exec(
      conn,
      std::string("SELECT pg_catalog.to_jsonb(f) FROM ") + kFunctionName + "($1, $2, $3, $4, $5) f",
      {marker, request.session, request.dry_run ? "true" : "false", function.statements.dump(),
       state.text(0, 5)});
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
  exec_fixed(conn, "test_cleanup_audit", kAuditAndEndHeartbeat,
             {request.session, result["deleted_counts"].dump(), result["collateral_counts"].dump(),
              std::to_string(duration_ms), role, std::nullopt});
  return result;
}

// After the cleanup's transaction, in a statement of its own: the row it writes is locked
// only as long as that statement runs, never as long as a cleanup. A plan that cannot be
// kept (another role's cleanup, say) is made again next time.
void keep_plan(PGconn *conn, const std::optional<PlanToKeep> &keep) {
  if (!keep) return;
  try {
    exec(conn, kKeepPlan, {keep->all_sessions ? "true" : "false", keep->fingerprint, keep->plan});
  } catch (const Failure &) {
  }
}

}  // namespace

nlohmann::json clean(PGconn *conn, const Request &request) {
  if (request.session && request.session->empty())
    throw Failure("22023", kEmptySessionMessage, kEmptySessionDetail, kEmptySessionHint);
  std::optional<PlanToKeep> keep;
  exec(conn, "BEGIN");
  try {
    nlohmann::json result = run(conn, request, &keep);
    exec(conn, request.dry_run ? "ROLLBACK" : "COMMIT");
    keep_plan(conn, keep);
    return result;
  } catch (const UserError &error) {
    PQclear(PQexec(conn, "ROLLBACK"));
    keep_plan(conn, keep);
    throw Failure(error);
  } catch (...) {
    PQclear(PQexec(conn, "ROLLBACK"));
    keep_plan(conn, keep);
    throw;
  }
}

}  // namespace test_cleanup::client
