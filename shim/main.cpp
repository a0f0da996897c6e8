// test_cleanup_shim: a thin HTTP face over SELECT test_cleanup($1, $2) and the functions
// of a shared test database (reap, sessions, heartbeat). One request is one function call;
// everything that decides what is deleted lives in the database. With --mode client (a
// database where the extension cannot be installed) a cleanup is planned here by the same
// planner and run in the server as one transaction (client/cleanup.hpp).
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "auth.hpp"
#include "config.hpp"
#include "database.hpp"
#include "pool.hpp"
#include "rate_limit.hpp"
#include "request.hpp"
#include "response.hpp"

extern char **environ;

namespace shim {
namespace {

constexpr const char *kCleanupPath = "/api/v1/test-cleanup";
constexpr const char *kSessionsPath = "/api/v1/test-sessions";
// cpp-httplib matches the whole path; the id is checked by valid_session_id().
constexpr const char *kHeartbeatPath = R"(/api/v1/test-sessions/([^/]+)/heartbeat)";
constexpr std::size_t kMaxBodyBytes = 64 * 1024;
constexpr std::chrono::milliseconds kPoolWait{5000};
// A body must arrive within this time: the per-read timeout alone lets a client trickle a
// byte a second and hold a worker for as long as it likes.
constexpr std::chrono::seconds kBodyDeadline{10};

using Clock = std::chrono::steady_clock;

// What the access log needs to know about the request this worker thread is serving.
// cpp-httplib runs the handler and then the logger on the same thread.
struct RequestLog {
  std::optional<Clock::time_point> started;
  std::optional<std::string> session;
  nlohmann::json deleted_counts;  // null unless the cleanup succeeded
};
thread_local RequestLog current_request;

std::mutex stdout_mutex;

// JSON text that never throws: invalid UTF-8 from a client is replaced, not fatal.
std::string to_text(const nlohmann::json &value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_log_line(const nlohmann::json &line) {
  const std::string text = to_text(line);
  std::lock_guard<std::mutex> lock(stdout_mutex);
  std::cout << text << std::endl;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  char with_millis[40];
  std::snprintf(with_millis, sizeof with_millis, "%s.%03dZ", text, static_cast<int>(millis));
  return with_millis;
}

void send_json(httplib::Response &res, int status, const nlohmann::json &body) {
  res.status = status;
  res.set_content(to_text(body), "application/json");
}

class Shim {
 public:
  explicit Shim(const Config &config)
      : config_(config),
        pool_(PoolSettings{config.conninfo, static_cast<std::size_t>(config.pool_size),
                           config.statement_timeout_ms, config.lock_timeout_ms}),
        limiter_(config.rate_limit, config.burst) {}

  void install(httplib::Server &server) {
    const int threads = config_.threads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // cpp-httplib's own limit sits above ours so that our reader sees an oversized chunked
    // body first and answers 413 (cpp-httplib would fail the read without saying why).
    server.set_payload_max_length(16 * kMaxBodyBytes);
    // TCP_NODELAY (inherited by accepted sockets): cpp-httplib writes headers and body
    // separately, and Nagle's algorithm against a client's delayed ACK adds 40 ms a request.
    server.set_socket_options([](socket_t sock) {
      httplib::default_socket_options(sock);
      int on = 1;
      setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    });
    // Slow clients (slowloris) lose their connection instead of holding a worker.
    server.set_read_timeout(5, 0);
    server.set_write_timeout(5, 0);
    server.set_keep_alive_timeout(5);

    server.set_pre_routing_handler([](const httplib::Request &, httplib::Response &) {
      current_request = RequestLog{Clock::now(), std::nullopt, nullptr};
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server.Post(kCleanupPath, [this](const httplib::Request &req, httplib::Response &res,
                                     const httplib::ContentReader &read_content) {
      std::string body;
      if (read_body(req, res, read_content, &body)) cleanup(req, body, res);
    });
    server.Get(kSessionsPath,
               [this](const httplib::Request &req, httplib::Response &res) { sessions(req, res); });
    server.Post(kSessionsPath, [this](const httplib::Request &req, httplib::Response &res,
                                      const httplib::ContentReader &read_content) {
      std::string body;  // none is needed; read so that the connection stays usable
      if (read_body(req, res, read_content, &body)) new_session(req, res);
    });
    server.Post(kHeartbeatPath, [this](const httplib::Request &req, httplib::Response &res,
                                       const httplib::ContentReader &read_content) {
      std::string body;  // none is needed; read so that the connection stays usable
      if (read_body(req, res, read_content, &body)) heartbeat(req, res);
    });
    const auto not_allowed = [](const char *allowed) {
      return [allowed](const httplib::Request &req, httplib::Response &res) {
        res.set_header("Allow", allowed);
        send_json(res, 405,
                  error_body("Method " + req.method + " is not allowed here; use " + allowed,
                             "method_not_allowed"));
      };
    };
    struct Route {
      const char *path;
      const char *allowed;  // the Allow header
      bool serves_get;
    };
    const Route routes[] = {{kCleanupPath, "POST", false},
                            {kHeartbeatPath, "POST", false},
                            {kSessionsPath, "GET, POST", true}};
    for (const auto &[path, allowed, serves_get] : routes) {
      if (!serves_get) server.Get(path, not_allowed(allowed));
      server.Put(path, not_allowed(allowed));
      server.Patch(path, not_allowed(allowed));
      server.Delete(path, not_allowed(allowed));
      server.Options(path, not_allowed(allowed));
    }
    server.Get("/healthz",
               [this](const httplib::Request &, httplib::Response &res) { health(res); });

    // cpp-httplib answers 404 and 413 (and malformed requests) itself, with no body.
    const httplib::Server::HandlerWithResponse on_error = [](const httplib::Request &,
                                                             httplib::Response &res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      switch (res.status) {
        case 404:
          send_json(res, 404,
                    error_body("No such endpoint; use POST /api/v1/test-cleanup", "not_found"));
          break;
        case 413:
          send_too_large(res);
          break;
        default:
          send_json(res, res.status, error_body("The request could not be served", "bad_request"));
      }
      return httplib::Server::HandlerResponse::Handled;
    };
    server.set_error_handler(on_error);
    server.set_exception_handler(
        [](const httplib::Request &, httplib::Response &res, std::exception_ptr) {
          send_json(res, 500,
                    error_body("Internal error in the shim; nothing was deleted", "internal"));
        });
    server.set_logger(
        [](const httplib::Request &req, const httplib::Response &res) { log_request(req, res); });
  }

 private:
  static void send_too_large(httplib::Response &res) {
    send_json(res, 413,
              error_body("The request body is larger than 64 KiB; nothing was deleted",
                         "body_too_large"));
  }

  // The body is read here rather than by cpp-httplib: a POST without Content-Length or
  // Transfer-Encoding (curl -X POST) has no body, but cpp-httplib would wait for EOF.
  // False when the response (an error) is already set.
  static bool read_body(const httplib::Request &req, httplib::Response &res,
                        const httplib::ContentReader &read_content, std::string *body) {
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) return true;
    bool too_large = false;
    bool too_slow = false;
    const Clock::time_point deadline = Clock::now() + kBodyDeadline;
    const bool complete = read_content([&](const char *data, size_t length) {
      too_large = body->size() + length > kMaxBodyBytes;
      too_slow = Clock::now() > deadline;
      if (!too_large && !too_slow) body->append(data, length);
      return !too_large && !too_slow;
    });
    if (complete) return true;
    // The rest of the body is still on the wire: this connection cannot carry more.
    res.set_header("Connection", "close");
    if (too_large || res.status == 413) {
      send_too_large(res);
    } else if (too_slow) {
      send_json(res, 408,
                error_body("The request body arrived too slowly; nothing was deleted",
                           "request_timeout"));
    } else {
      send_json(res, 400, error_body("The request body could not be read", "bad_request"));
    }
    return false;
  }

  // The rate limit and the token, for every endpoint that reaches the database's data.
  // False when the response (a refusal) is already set.
  bool admit(const httplib::Request &req, httplib::Response &res) {
    int retry_after = 0;
    if (!limiter_.allow(req.remote_addr, &retry_after)) {
      res.set_header("Retry-After", std::to_string(retry_after));
      send_json(res, 429,
                error_body("Too many requests from this client; try again later", "rate_limited"));
      return false;
    }
    if (!config_.token.empty() &&
        !bearer_token_matches(req.get_header_value("Authorization"), config_.token)) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"test_cleanup\"");
      send_json(res, 401,
                error_body("A valid bearer token is required", "unauthorized",
                           "Send the header Authorization: Bearer <token>."));
      return false;
    }
    return true;
  }

  void sessions(const httplib::Request &req, httplib::Response &res) {
    if (!admit(req, res)) return;
    DatabaseError failure;
    std::optional<std::string> result =
        with_connection([&](PGconn *conn) { return call_sessions(conn, &failure); }, &failure);
    if (!result) return send_mapped(res, map_database_error(failure));
    send_json(res, 200, {{"success", true}, {"sessions", nlohmann::json::parse(*result)}});
  }

  void new_session(const httplib::Request &req, httplib::Response &res) {
    if (!admit(req, res)) return;
    DatabaseError failure;
    std::optional<std::string> result =
        with_connection([&](PGconn *conn) { return call_new_session(conn, &failure); }, &failure);
    if (!result) return send_mapped(res, map_database_error(failure));
    nlohmann::json body = nlohmann::json::parse(*result);
    current_request.session = body["test_session_id"].get<std::string>();
    body["success"] = true;
    send_json(res, 201, body);
  }

  void heartbeat(const httplib::Request &req, httplib::Response &res) {
    if (!admit(req, res)) return;
    const std::string session = req.matches[1];
    RequestError invalid;
    if (!valid_session_id(session, &invalid))
      return send_json(
          res, 400,
          error_body("Invalid test session id in the path", invalid.code, invalid.message));
    current_request.session = session;
    DatabaseError failure;
    std::optional<std::string> result = with_connection(
        [&](PGconn *conn) { return call_heartbeat(conn, session, &failure); }, &failure);
    if (!result) return send_mapped(res, map_database_error(failure));
    nlohmann::json body = nlohmann::json::parse(*result);
    body["success"] = true;
    send_json(res, 200, body);
  }

  void cleanup(const httplib::Request &req, const std::string &body, httplib::Response &res) {
    if (!admit(req, res)) return;
    CleanupBody parsed;
    RequestError invalid;
    if (!parse_cleanup_body(body, &parsed, &invalid))
      return send_json(
          res, 400,
          error_body("Invalid request; nothing was deleted", invalid.code, invalid.message));
    current_request.session = parsed.session;

    if (config_.client_mode && parsed.older_than_seconds)
      return send_json(
          res, 501,
          error_body("The reaper (older_than_seconds) needs the test_cleanup extension; "
                     "nothing was deleted",
                     "not_supported_in_client_mode",
                     "In client mode a cleanup takes a test_session_id, or none for every "
                     "session."));
    DatabaseError failure;
    std::optional<std::string> result = with_connection(
        [&](PGconn *conn) {
          return config_.client_mode ? call_client_cleanup(conn, parsed, &failure)
                                     : call_cleanup(conn, parsed, &failure);
        },
        &failure);
    if (!result) return send_mapped(res, map_database_error(failure));

    const nlohmann::json response = success_body(parsed.session, nlohmann::json::parse(*result));
    current_request.deleted_counts = response["deleted_counts"];
    send_json(res, 200, response);
  }

  // Runs `call` on a pooled connection. A reused connection that turns out dead (the server
  // restarted since its last use) is replaced once: the server had already ended that
  // session, so the statement did not run on it.
  template <typename Call>
  std::optional<std::string> with_connection(Call call, DatabaseError *failure) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string pool_error;
      std::unique_ptr<ConnectionPool::Lease> lease = pool_.acquire(kPoolWait, &pool_error);
      if (!lease) {
        *failure = DatabaseError{"", pool_error, "", ""};
        return std::nullopt;
      }
      std::optional<std::string> result = call(lease->get());
      if (result || PQstatus(lease->get()) == CONNECTION_OK || !lease->reused()) return result;
      pool_.drop_idle();
    }
    return std::nullopt;
  }

  static void send_mapped(httplib::Response &res, const MappedError &error) {
    send_json(res, error.status, error.body);
  }

  void health(httplib::Response &res) {
    std::string problem;
    DatabaseError failure;
    const std::optional<std::string> answer = with_connection(
        [&](PGconn *conn) -> std::optional<std::string> {
          problem = health_problem(conn, config_.client_mode);
          if (PQstatus(conn) != CONNECTION_OK) return std::nullopt;
          return problem;
        },
        &failure);
    if (!answer && problem.empty()) problem = failure.message;
    if (problem.empty()) return send_json(res, 200, {{"status", "ok"}});
    send_json(res, 503, {{"status", "unavailable"}, {"reason", problem}});
  }

  static void log_request(const httplib::Request &req, const httplib::Response &res) {
    nlohmann::json line = {
        {"time", utc_now()},
        {"client", req.remote_addr},
        {"method", req.method},
        {"path", req.path},
        {"session", current_request.session ? nlohmann::json(*current_request.session) : nullptr},
        {"status", res.status},
        {"deleted_counts", current_request.deleted_counts},
        {"duration_ms", nullptr},
    };
    if (current_request.started)
      line["duration_ms"] =
          std::chrono::duration<double, std::milli>(Clock::now() - *current_request.started)
              .count();
    write_log_line(line);
    current_request = RequestLog{};
  }

  const Config &config_;
  ConnectionPool pool_;
  RateLimiter limiter_;
};

std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> env;
  for (char **entry = environ; *entry; ++entry) {
    const std::string text = *entry;
    const auto equals = text.find('=');
    if (equals != std::string::npos) env[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return env;
}

int run(int argc, char **argv) {
  Config config;
  bool show_help = false;
  std::string error;
  if (!load_config(std::vector<std::string>(argv + 1, argv + argc), environment_map(), &config,
                   &show_help, &error)) {
    std::cerr << "test_cleanup_shim: " << error << std::endl;
    return 2;
  }
  if (show_help) {
    std::cout << usage();
    return 0;
  }

  // SIGTERM and SIGINT go to one waiting thread (blocked everywhere else, inherited by the
  // worker threads), which stops the server from outside any signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Shim shim(config);
  httplib::Server server;
  shim.install(server);

  int port = config.port;
  const bool bound = port == 0 ? (port = server.bind_to_any_port(config.listen)) > 0
                               : server.bind_to_port(config.listen, port);
  if (!bound) {
    std::cerr << "test_cleanup_shim: cannot listen on " << config.listen << ":" << config.port
              << std::endl;
    return 1;
  }
  write_log_line({{"time", utc_now()},
                  {"event", "listening"},
                  {"address", config.listen},
                  {"port", port},
                  {"environment", config.environment},
                  {"mode", config.client_mode ? "client" : "extension"},
                  {"authentication", config.token.empty() ? "none" : "bearer"},
                  {"rate_limit", config.rate_limit}});

  std::atomic<bool> signalled{false};
  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    signalled = true;
    write_log_line({{"time", utc_now()}, {"event", "stopping"}, {"signal", signal_number}});
    server.stop();
  });
  const bool listened = server.listen_after_bind();
  if (!signalled) pthread_kill(stopper.native_handle(), SIGTERM);  // listen ended on its own
  stopper.join();
  write_log_line({{"time", utc_now()}, {"event", "stopped"}});
  return signalled || listened ? 0 : 1;
}

}  // namespace
}  // namespace shim

int main(int argc, char **argv) {
  return shim::run(argc, argv);
}
