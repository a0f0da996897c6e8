// Command-line flags and environment variables of the shim, with their defaults and the
// start-up checks that refuse unsafe settings.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace shim {

struct Config {
  std::string listen = "127.0.0.1";
  int port = 8080;
  std::string environment;  // must say test, development or ci
  std::string conninfo;     // empty: libpq's PG* environment variables
  std::string token;        // empty: no authentication (loopback only)
  double rate_limit = 5;    // requests per second per client; 0 disables
  double burst = 10;
  int pool_size = 4;
  int threads = 8;
  int statement_timeout_ms = 120000;
  int lock_timeout_ms = 30000;
  // How cleanups run: SELECT test_cleanup() (the extension), or the client's planner over
  // libpq where the extension cannot be installed (managed PostgreSQL).
  bool client_mode = false;
};

const char *usage();

// Fills *config from argv and the environment. Returns false with *error set when a value
// is malformed or unsafe (production environment, open bind without a token, ...);
// *show_help is set for --help.
bool load_config(const std::vector<std::string> &args,
                 const std::map<std::string, std::string> &env, Config *config, bool *show_help,
                 std::string *error);

}  // namespace shim
