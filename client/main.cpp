// test_cleanup_client: the cleanup for databases where the extension cannot be installed
// (managed PostgreSQL), from a CI script, without HTTP. Prints what SELECT test_cleanup()
// returns; on failure prints the error as psql does and exits 1 (2: a usage error).
#include <libpq-fe.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cleanup.hpp"
#include "failure.hpp"
#include "install.hpp"

namespace {

const char *const kUsage =
    R"(Usage: test_cleanup_client [--db URI] [--session ID] [--dry-run]
       test_cleanup_client [--db URI] --install | --enable | --disable

Deletes the rows marked as integration-test data (every session's, or one session's) and
their dependents in one transaction, as SELECT test_cleanup() does where the extension is
installed, and prints the same JSON.

  --db URI       the database (a libpq connection string or URI; default: the PG*
                 environment variables)
  --session ID   clean one test session only
  --dry-run      count what would go, delete nothing
  --install      install client mode's rule catalog in the database, or upgrade it
                 (plain SQL, no superuser; run as the role that owns the tables)
  --enable       open the database's gate (closed after --install)
  --disable      close it again
)";

enum class Action { clean, install, enable, disable };

struct Options {
  std::string db;
  Action action = Action::clean;
  test_cleanup::client::Request request;
};

// Returns an error message, empty when the arguments are fine.
std::string parse(const std::vector<std::string> &args, Options *options, bool *help) {
  bool action_given = false, clean_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      *help = true;
    } else if (arg == "--db") {
      auto db = value();
      if (!db) return "--db needs a connection string";
      options->db = *db;
    } else if (arg == "--session") {
      auto session = value();
      if (!session) return "--session needs a test session id";
      options->request.session = *session;
      clean_given = true;
    } else if (arg == "--dry-run") {
      options->request.dry_run = true;
      clean_given = true;
    } else if (arg == "--install" || arg == "--enable" || arg == "--disable") {
      if (action_given) return "give one of --install, --enable and --disable";
      action_given = true;
      options->action = arg == "--install"  ? Action::install
                        : arg == "--enable" ? Action::enable
                                            : Action::disable;
    } else {
      return "unknown argument " + arg;
    }
  }
  if (action_given && clean_given) return "--session and --dry-run are for a cleanup";
  return "";
}

void print_failure(const test_cleanup::client::Failure &failure) {
  std::cerr << "ERROR:  " << failure.what() << "\n";
  if (!failure.detail.empty()) std::cerr << "DETAIL:  " << failure.detail << "\n";
  if (!failure.hint.empty()) std::cerr << "HINT:  " << failure.hint << "\n";
  if (!failure.sqlstate.empty()) std::cerr << "SQLSTATE:  " << failure.sqlstate << "\n";
}

}  // namespace

int main(int argc, char **argv) {
  Options options;
  bool help = false;
  const std::string error = parse(std::vector<std::string>(argv + 1, argv + argc), &options, &help);
  if (help) {
    std::cout << kUsage;
    return 0;
  }
  if (!error.empty()) {
    std::cerr << "test_cleanup_client: " << error << "\n\n" << kUsage;
    return 2;
  }
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(options.db.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::cerr << "test_cleanup_client: " << PQerrorMessage(conn.get());
    return 1;
  }
  // Notices (a user trigger's, say) go to stderr, as psql shows them; stdout is the JSON.
  PQsetNoticeProcessor(
      conn.get(), [](void *, const char *message) { std::cerr << message; }, nullptr);
  try {
    switch (options.action) {
      case Action::install:
        std::cout << test_cleanup::client::install(conn.get()) << "\n";
        break;
      case Action::enable:
      case Action::disable:
        test_cleanup::client::set_gate(conn.get(), options.action == Action::enable);
        std::cout << "test_cleanup: the gate is "
                  << (options.action == Action::enable ? "open" : "closed") << "\n";
        break;
      case Action::clean:
        std::cout << test_cleanup::client::clean(conn.get(), options.request).dump() << "\n";
        break;
    }
  } catch (const test_cleanup::client::Failure &failure) {
    print_failure(failure);
    return 1;
  } catch (const std::exception &failure) {
    std::cerr << "ERROR:  test_cleanup_client: " << failure.what() << "\n";
    return 1;
  }
  return 0;
}
