#include "connection.hpp"

#include <memory>

namespace test_cleanup::client {

namespace {

std::string field(const PGresult *result, int code) {
  const char *value = result ? PQresultErrorField(result, code) : nullptr;
  return value ? value : "";
}

}  // namespace

Failure failure_of(PGconn *conn, const PGresult *result) {
  std::string message = field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) message = PQerrorMessage(conn);
  std::string sqlstate = field(result, PG_DIAG_SQLSTATE);
  // A lost connection carries no SQLSTATE from the server.
  if (sqlstate.empty() && PQstatus(conn) != CONNECTION_OK) sqlstate = "08006";
  return Failure(sqlstate, message, field(result, PG_DIAG_MESSAGE_DETAIL),
                 field(result, PG_DIAG_MESSAGE_HINT));
}

TextRows exec(PGconn *conn, const std::string &sql, const Params &params) {
  std::vector<const char *> values;
  values.reserve(params.size());
  for (const auto &param : params) values.push_back(param ? param->c_str() : nullptr);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(
      PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                   nullptr, nullptr, 0),
      &PQclear);
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) throw failure_of(conn, result.get());
  TextRows rows;
  const int count = PQntuples(result.get()), columns = PQnfields(result.get());
  rows.rows.reserve(count);
  for (int row = 0; row < count; ++row) {
    std::vector<std::optional<std::string>> values_of_row;
    values_of_row.reserve(columns);
    for (int col = 0; col < columns; ++col)
      values_of_row.push_back(PQgetisnull(result.get(), row, col)
                                  ? std::nullopt
                                  : std::optional<std::string>(PQgetvalue(result.get(), row, col)));
    rows.rows.push_back(std::move(values_of_row));
  }
  return rows;
}

}  // namespace test_cleanup::client
