#include "connection.hpp"

#include <libpq-events.h>

#include <memory>
#include <set>

namespace test_cleanup::client {

namespace {

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string field(const PGresult *result, int code) {
  const char *value = result ? PQresultErrorField(result, code) : nullptr;
  return value ? value : "";
}

// The rows of a result, or the Failure it carries.
TextRows rows_of(PGconn *conn, Result result) {
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) throw failure_of(conn, result.get());
  TextRows rows;
  const int count = PQntuples(result.get()), columns = PQnfields(result.get());
  rows.rows.reserve(count);
  for (int row = 0; row < count; ++row) {
    std::vector<std::optional<std::string>> values;
    values.reserve(columns);
    for (int col = 0; col < columns; ++col)
      values.push_back(PQgetisnull(result.get(), row, col)
                           ? std::nullopt
                           : std::optional<std::string>(PQgetvalue(result.get(), row, col)));
    rows.rows.push_back(std::move(values));
  }
  return rows;
}

std::vector<const char *> values_of(const Params &params) {
  std::vector<const char *> values;
  values.reserve(params.size());
  for (const auto &param : params) values.push_back(param ? param->c_str() : nullptr);
  return values;
}

// The names of the statements prepared on a connection, kept with it by libpq (instance
// data of an event procedure): forgotten when it is reset, freed when it is closed.
using Prepared = std::set<std::string>;

int track_prepared(PGEventId event, void *info, void *) {
  PGconn *conn = event == PGEVT_CONNRESET     ? static_cast<PGEventConnReset *>(info)->conn
                 : event == PGEVT_CONNDESTROY ? static_cast<PGEventConnDestroy *>(info)->conn
                                              : nullptr;
  if (conn) {
    delete static_cast<Prepared *>(PQinstanceData(conn, track_prepared));
    PQsetInstanceData(conn, track_prepared, nullptr);
  }
  return 1;
}

Prepared &prepared_on(PGconn *conn) {
  auto *prepared = static_cast<Prepared *>(PQinstanceData(conn, track_prepared));
  if (!prepared) {
    PQregisterEventProc(conn, track_prepared, "test_cleanup prepared statements", nullptr);
    prepared = new Prepared;
    PQsetInstanceData(conn, track_prepared, prepared);
  }
  return *prepared;
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
  const std::vector<const char *> values = values_of(params);
  return rows_of(conn, Result(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()),
                                           nullptr, values.data(), nullptr, nullptr, 0),
                              &PQclear));
}

TextRows exec_fixed(PGconn *conn, const char *name, const std::string &sql, const Params &params) {
  Prepared &prepared = prepared_on(conn);
  if (!prepared.count(name)) {
    rows_of(conn,
            Result(PQprepare(conn, name, sql.c_str(), static_cast<int>(params.size()), nullptr),
                   &PQclear));
    prepared.insert(name);
  }
  const std::vector<const char *> values = values_of(params);
  return rows_of(conn, Result(PQexecPrepared(conn, name, static_cast<int>(values.size()),
                                             values.data(), nullptr, nullptr, 0),
                              &PQclear));
}

}  // namespace test_cleanup::client
