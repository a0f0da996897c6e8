#include "config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace shim {

const char *usage() {
  return R"(test_cleanup_shim: POST /api/v1/test-cleanup over SELECT test_cleanup($1, $2)

Usage: test_cleanup_shim [FLAG VALUE]...

Every flag can also be given as the environment variable in brackets; a flag wins.

  --environment NAME       [TEST_CLEANUP_ENV] required: test, development or ci. Anything
                           else (production, staging, unset) refuses to start.
  --listen ADDRESS         [TEST_CLEANUP_LISTEN] address to bind (default 127.0.0.1). A
                           non-loopback address requires a token.
  --port N                 [TEST_CLEANUP_PORT] port (default 8080; 0 picks a free one,
                           printed in the start-up log line)
  --db CONNINFO            [TEST_CLEANUP_DB] libpq connection string or URI. Unset: libpq's
                           PGHOST, PGPORT, PGDATABASE, PGUSER, ... variables.
  --token-file PATH        [TEST_CLEANUP_TOKEN_FILE] file holding the bearer token
                           (surrounding whitespace ignored)
                           [TEST_CLEANUP_TOKEN] the bearer token itself (environment only,
                           so it never shows in a process list)
  --rate-limit R           [TEST_CLEANUP_RATE_LIMIT] requests per second per client address
                           (default 5; 0 turns rate limiting off)
  --burst N                [TEST_CLEANUP_BURST] requests a client may send at once (default 10)
  --pool-size N            [TEST_CLEANUP_POOL_SIZE] database connections (default 4)
  --threads N              [TEST_CLEANUP_THREADS] HTTP worker threads (default 8)
  --statement-timeout MS   [TEST_CLEANUP_STATEMENT_TIMEOUT] per cleanup (default 120000)
  --lock-timeout MS        [TEST_CLEANUP_LOCK_TIMEOUT] per lock wait (default 30000)
  --mode MODE              [TEST_CLEANUP_MODE] extension (default): SELECT test_cleanup();
                           client: plan and run the cleanup from here, for a database where
                           the extension cannot be installed (test_cleanup_client --install)
  --help                   this text

Endpoints:
  POST /api/v1/test-cleanup   body {} or {"test_session_id": "..."}; no body cleans all.
                              "dry_run": true counts and deletes nothing;
                              {"older_than_seconds": N} reaps every session whose last
                              sign of life is older than N seconds
  GET  /api/v1/test-sessions  the test sessions present (test_cleanup.sessions())
  POST /api/v1/test-sessions  a new session id and its test metadata
  POST /api/v1/test-sessions/ID/heartbeat
                              a running suite says it is alive
  GET  /healthz               200 when the database answers, the extension (client mode:
                              its plain install) is installed and its gate is open; 503
                              otherwise

With a token set, every endpoint but /healthz needs "Authorization: Bearer <token>" (and
counts against the rate limit). One JSON line per request goes to standard output. SIGTERM or SIGINT: stop accepting, finish requests, exit 0.
)";
}

namespace {

struct Flag {
  const char *name;
  const char *env;
};

const Flag kFlags[] = {
    {"--environment", "TEST_CLEANUP_ENV"},
    {"--listen", "TEST_CLEANUP_LISTEN"},
    {"--port", "TEST_CLEANUP_PORT"},
    {"--db", "TEST_CLEANUP_DB"},
    {"--token-file", "TEST_CLEANUP_TOKEN_FILE"},
    {"--rate-limit", "TEST_CLEANUP_RATE_LIMIT"},
    {"--burst", "TEST_CLEANUP_BURST"},
    {"--pool-size", "TEST_CLEANUP_POOL_SIZE"},
    {"--threads", "TEST_CLEANUP_THREADS"},
    {"--statement-timeout", "TEST_CLEANUP_STATEMENT_TIMEOUT"},
    {"--lock-timeout", "TEST_CLEANUP_LOCK_TIMEOUT"},
    {"--mode", "TEST_CLEANUP_MODE"},
};

bool parse_number(const std::string &name, const std::string &text, double low, double high,
                  double *out, std::string *error) {
  std::istringstream in(text);
  double value = 0;
  if (!(in >> value) || !in.eof() || value < low || value > high) {
    std::ostringstream message;
    message << name << " must be a number from " << low << " to " << high << ", got \"" << text
            << "\"";
    *error = message.str();
    return false;
  }
  *out = value;
  return true;
}

bool parse_int(const std::string &name, const std::string &text, int low, int high, int *out,
               std::string *error) {
  double value = 0;
  if (!parse_number(name, text, low, high, &value, error)) return false;
  if (value != static_cast<int>(value)) {
    *error = name + " must be a whole number, got \"" + text + "\"";
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

std::string trim(const std::string &text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

bool is_loopback(const std::string &address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

bool load_config(const std::vector<std::string> &args,
                 const std::map<std::string, std::string> &env, Config *config, bool *show_help,
                 std::string *error) {
  *show_help = false;
  std::map<std::string, std::string> values;  // flag name -> value
  for (const Flag &flag : kFlags) {
    auto it = env.find(flag.env);
    if (it != env.end()) values[flag.name] = it->second;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      *show_help = true;
      return true;
    }
    const bool known = std::any_of(std::begin(kFlags), std::end(kFlags),
                                   [&](const Flag &flag) { return args[i] == flag.name; });
    if (!known) {
      *error = "unknown argument \"" + args[i] + "\" (see --help)";
      return false;
    }
    if (i + 1 >= args.size()) {
      *error = args[i] + " needs a value (see --help)";
      return false;
    }
    values[args[i]] = args[i + 1];
    ++i;
  }

  const std::string environment = lower(values["--environment"]);
  if (environment != "test" && environment != "development" && environment != "ci") {
    *error = "refusing to start: the environment is \"" + values["--environment"] +
             "\", and test_cleanup_shim deletes data only in test, development or ci "
             "environments. Set TEST_CLEANUP_ENV (or --environment) to one of those on a "
             "non-production machine.";
    return false;
  }
  config->environment = environment;
  if (values.count("--listen")) config->listen = values["--listen"];
  if (values.count("--db")) config->conninfo = values["--db"];
  if (values.count("--mode")) {
    const std::string mode = lower(values["--mode"]);
    if (mode != "extension" && mode != "client") {
      *error = "--mode must be extension or client, not \"" + values["--mode"] + "\"";
      return false;
    }
    config->client_mode = mode == "client";
  }

  double number = 0;
  if (values.count("--port") &&
      !parse_int("--port", values["--port"], 0, 65535, &config->port, error))
    return false;
  if (values.count("--rate-limit")) {
    if (!parse_number("--rate-limit", values["--rate-limit"], 0, 1e6, &number, error)) return false;
    config->rate_limit = number;
  }
  if (values.count("--burst")) {
    if (!parse_number("--burst", values["--burst"], 1, 1e6, &number, error)) return false;
    config->burst = number;
  }
  if (values.count("--pool-size") &&
      !parse_int("--pool-size", values["--pool-size"], 1, 100, &config->pool_size, error))
    return false;
  if (values.count("--threads") &&
      !parse_int("--threads", values["--threads"], 1, 256, &config->threads, error))
    return false;
  if (values.count("--statement-timeout") &&
      !parse_int("--statement-timeout", values["--statement-timeout"], 0, 86400000,
                 &config->statement_timeout_ms, error))
    return false;
  if (values.count("--lock-timeout") && !parse_int("--lock-timeout", values["--lock-timeout"], 0,
                                                   86400000, &config->lock_timeout_ms, error))
    return false;

  auto token = env.find("TEST_CLEANUP_TOKEN");
  if (token != env.end()) config->token = trim(token->second);
  if (values.count("--token-file")) {
    std::ifstream file(values["--token-file"]);
    if (!file) {
      *error = "cannot read the token file \"" + values["--token-file"] + "\"";
      return false;
    }
    std::stringstream contents;
    contents << file.rdbuf();
    config->token = trim(contents.str());
    if (config->token.empty()) {
      *error = "the token file \"" + values["--token-file"] + "\" is empty";
      return false;
    }
  }
  if (config->token.empty() && !is_loopback(config->listen)) {
    *error = "refusing to listen on " + config->listen +
             " without a token: anyone who can reach it could delete test data. Set "
             "TEST_CLEANUP_TOKEN or --token-file, or listen on 127.0.0.1.";
    return false;
  }
  return true;
}

}  // namespace shim
