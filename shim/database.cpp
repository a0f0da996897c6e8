#include "database.hpp"

#include <memory>
#include <vector>

#include "cleanup.hpp"
#include "failure.hpp"

namespace shim {

namespace {

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string field(const PGresult *result, int code) {
  const char *value = result ? PQresultErrorField(result, code) : nullptr;
  return value ? value : "";
}

// Runs `sql` with text parameters (nullptr: NULL) and returns its one value.
std::optional<std::string> query_text(PGconn *conn, const char *sql,
                                      const std::vector<const char *> &values,
                                      DatabaseError *error) {
  Result result(PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0),
                &PQclear);
  if (result && PQresultStatus(result.get()) == PGRES_TUPLES_OK && PQntuples(result.get()) == 1)
    return std::string(PQgetvalue(result.get(), 0, 0));

  error->sqlstate = field(result.get(), PG_DIAG_SQLSTATE);
  error->message = field(result.get(), PG_DIAG_MESSAGE_PRIMARY);
  error->detail = field(result.get(), PG_DIAG_MESSAGE_DETAIL);
  error->hint = field(result.get(), PG_DIAG_MESSAGE_HINT);
  if (error->message.empty()) error->message = PQerrorMessage(conn);
  // A lost connection carries no SQLSTATE from the server; libpq may fill in 08006 or none.
  if (PQstatus(conn) != CONNECTION_OK && error->sqlstate.empty()) error->sqlstate = "08006";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> call_cleanup(PGconn *conn, const CleanupBody &body,
                                        DatabaseError *error) {
  const char *dry_run = body.dry_run ? "true" : "false";
  if (body.older_than_seconds) {
    const std::string seconds = std::to_string(*body.older_than_seconds);
    return query_text(conn,
                      "SELECT test_cleanup.reap($1::pg_catalog.int8 * interval '1 second', "
                      "$2::pg_catalog.bool)::text",
                      {seconds.c_str(), dry_run}, error);
  }
  return query_text(conn, "SELECT test_cleanup($1::pg_catalog.text, $2::pg_catalog.bool)::text",
                    {body.session ? body.session->c_str() : nullptr, dry_run}, error);
}

std::optional<std::string> call_client_cleanup(PGconn *conn, const CleanupBody &body,
                                               DatabaseError *error) {
  try {
    return test_cleanup::client::clean(conn, {body.session, body.dry_run}).dump();
  } catch (const test_cleanup::client::Failure &failure) {
    *error = DatabaseError{failure.sqlstate, failure.what(), failure.detail, failure.hint};
  } catch (const std::exception &failure) {
    *error = DatabaseError{"XX000", failure.what(), "", ""};
  }
  return std::nullopt;
}

std::optional<std::string> call_sessions(PGconn *conn, DatabaseError *error) {
  // The gate first (FROM runs before the select list): a closed one refuses as a cleanup.
  return query_text(conn,
                    "SELECT (SELECT coalesce(jsonb_agg(s), '[]') FROM test_cleanup.sessions() s)"
                    "::text FROM test_cleanup._require_enabled()",
                    {}, error);
}

std::optional<std::string> call_new_session(PGconn *conn, DatabaseError *error) {
  return query_text(conn,
                    "SELECT jsonb_build_object('test_session_id', s, 'metadata', "
                    "test_cleanup.metadata(s))::text "
                    "FROM test_cleanup._require_enabled(), test_cleanup.new_session() s",
                    {}, error);
}

std::optional<std::string> call_heartbeat(PGconn *conn, const std::string &session,
                                          DatabaseError *error) {
  return query_text(conn,
                    "SELECT jsonb_build_object('test_session_id', $1::pg_catalog.text, "
                    "'last_heartbeat', test_cleanup.heartbeat($1::pg_catalog.text))::text",
                    {session.c_str()}, error);
}

namespace {

std::string client_health_problem(PGconn *conn) {
  Result installed(
      PQexec(conn, "SELECT pg_catalog.to_regclass('test_cleanup.client_settings') IS NOT NULL"),
      &PQclear);
  if (!installed || PQresultStatus(installed.get()) != PGRES_TUPLES_OK)
    return std::string("the health query failed: ") + PQerrorMessage(conn);
  if (std::string(PQgetvalue(installed.get(), 0, 0)) != "t")
    return "test_cleanup's client mode is not installed in this database "
           "(test_cleanup_client --install)";
  Result gate(PQexec(conn, "SELECT s.enabled FROM test_cleanup.client_settings s"), &PQclear);
  if (!gate || PQresultStatus(gate.get()) != PGRES_TUPLES_OK || PQntuples(gate.get()) != 1)
    return std::string("the health query failed: ") + PQerrorMessage(conn);
  if (std::string(PQgetvalue(gate.get(), 0, 0)) != "t")
    return "the gate is closed in this database (test_cleanup_client --enable)";
  return "";
}

}  // namespace

std::string health_problem(PGconn *conn, bool client_mode) {
  if (client_mode) return client_health_problem(conn);
  Result result(
      PQexec(conn,
             "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'test_cleanup'),"
             "       coalesce(current_setting('test_cleanup.enabled', true), 'off')"),
      &PQclear);
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK)
    return std::string("the health query failed: ") + PQerrorMessage(conn);
  if (PQgetisnull(result.get(), 0, 0))
    return "the test_cleanup extension is not installed in this database";
  const std::string enabled = PQgetvalue(result.get(), 0, 1);
  if (enabled != "on" && enabled != "true")
    return "test_cleanup.enabled is off in this database (ALTER DATABASE ... SET "
           "test_cleanup.enabled = on)";
  return "";
}

}  // namespace shim
