#include "install.hpp"

#include <memory>

#include "connection.hpp"

namespace test_cleanup::client {

namespace {

const char *const kInstalledQuery = R"SQL(
SELECT (SELECT e.extversion FROM pg_catalog.pg_extension e
         WHERE e.extname OPERATOR(pg_catalog.=) 'test_cleanup'),
       pg_catalog.to_regnamespace('test_cleanup') IS NOT NULL,
       pg_catalog.to_regclass('test_cleanup.client_settings') IS NOT NULL)SQL";

std::string installed_version(PGconn *conn) {
  return exec(conn, "SELECT s.version FROM test_cleanup.client_settings s").text(0, 0);
}

std::string run_install(PGconn *conn) {
  // Two installs at once: the second waits, then finds the first's work.
  exec(conn, "SELECT pg_catalog.pg_advisory_xact_lock(1952671092, 1)");
  const TextRows state = exec(conn, kInstalledQuery);
  if (!state.is_null(0, 0))
    throw Failure("55000",
                  "test_cleanup: the test_cleanup extension " + state.text(0, 0) +
                      " is installed in this database",
                  "Client mode installs the same schema without C code; the two cannot share it.",
                  "Use the extension (SELECT test_cleanup()), or DROP EXTENSION test_cleanup "
                  "first.");
  if (state.text(0, 2) == "t") {
    const std::string version = installed_version(conn);
    if (version == kInstallVersion)
      return std::string("test_cleanup client mode ") + kInstallVersion + " is already installed";
    // Upgrade scripts join here when a release changes the plain install.
    throw Failure("55000",
                  "test_cleanup: no upgrade from client mode " + version + " to " + kInstallVersion,
                  "", "Install a test_cleanup_client of version " + version + " or later.");
  }
  if (state.text(0, 1) == "t")
    throw Failure("42P06", "test_cleanup: schema test_cleanup exists but holds no client install",
                  "Client mode installs its rule catalog in a new schema test_cleanup.",
                  "Drop or rename the schema, or install into another database.");
  // A script of many statements: the simple protocol, in this transaction.
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn, kInstallScript), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK &&
      PQresultStatus(result.get()) != PGRES_TUPLES_OK)
    throw failure_of(conn, result.get());
  return std::string("test_cleanup client mode ") + kInstallVersion +
         " installed (the gate is closed: test_cleanup_client --enable opens it)";
}

}  // namespace

Failure not_installed() {
  return Failure("55000", "test_cleanup: client mode is not installed in this database",
                 "The rule catalog and the gate live in schema test_cleanup, which "
                 "test_cleanup_client --install creates.",
                 "Run test_cleanup_client --db URI --install as the role that owns the tables.");
}

std::string install(PGconn *conn) {
  exec(conn, "BEGIN");
  try {
    std::string done = run_install(conn);
    exec(conn, "COMMIT");
    return done;
  } catch (...) {
    PQclear(PQexec(conn, "ROLLBACK"));
    throw;
  }
}

void set_gate(PGconn *conn, bool enabled) {
  if (exec(conn, "SELECT pg_catalog.to_regclass('test_cleanup.client_settings') IS NOT NULL")
          .text(0, 0) != "t")
    throw not_installed();
  exec(conn, "UPDATE test_cleanup.client_settings SET enabled = $1::pg_catalog.bool",
       {enabled ? "true" : "false"});
}

}  // namespace test_cleanup::client
