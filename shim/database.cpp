#include "database.hpp"

#include <memory>

namespace shim {

namespace {

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string field(const PGresult *result, int code) {
  const char *value = result ? PQresultErrorField(result, code) : nullptr;
  return value ? value : "";
}

}  // namespace

std::optional<std::string> call_cleanup(PGconn *conn, const std::optional<std::string> &session,
                                        DatabaseError *error) {
  const Oid types[] = {25};  // text
  const char *values[] = {session ? session->c_str() : nullptr};
  Result result(
      PQexecParams(conn, "SELECT test_cleanup($1)::text", 1, types, values, nullptr, nullptr, 0),
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

std::string health_problem(PGconn *conn) {
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
