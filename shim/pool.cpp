#include "pool.hpp"

namespace shim {

ConnectionPool::~ConnectionPool() {
  for (PGconn *conn : idle_) PQfinish(conn);
}

PGconn *ConnectionPool::connect(std::string *error) const {
  const char *keywords[] = {"dbname", "fallback_application_name", nullptr};
  const char *values[] = {settings_.conninfo.c_str(), "test_cleanup_shim", nullptr};
  PGconn *conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (PQstatus(conn) != CONNECTION_OK) {
    *error = PQerrorMessage(conn);
    PQfinish(conn);
    return nullptr;
  }
  // Timeouts for every call on this connection; a timeout rolls the cleanup back whole.
  const std::string statement_timeout = std::to_string(settings_.statement_timeout_ms);
  const std::string lock_timeout = std::to_string(settings_.lock_timeout_ms);
  const char *params[] = {statement_timeout.c_str(), lock_timeout.c_str()};
  PGresult *result = PQexecParams(
      conn,
      "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)", 2,
      nullptr, params, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK;
  if (!ok) *error = PQerrorMessage(conn);
  PQclear(result);
  if (!ok) {
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

std::unique_ptr<ConnectionPool::Lease> ConnectionPool::acquire(std::chrono::milliseconds wait,
                                                               std::string *error) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!available_.wait_for(lock, wait,
                           [this] { return !idle_.empty() || open_ < settings_.size; })) {
    *error = "all " + std::to_string(settings_.size) + " database connections are busy";
    return nullptr;
  }
  PGconn *conn = nullptr;
  if (!idle_.empty()) {
    conn = idle_.back();
    idle_.pop_back();
  } else {
    ++open_;
  }
  lock.unlock();

  const bool reused = conn != nullptr;
  if (!conn) conn = connect(error);
  if (!conn) {
    lock.lock();
    --open_;
    available_.notify_one();
    return nullptr;
  }
  return std::make_unique<Lease>(this, conn, reused);
}

void ConnectionPool::drop_idle() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (PGconn *conn : idle_) PQfinish(conn);
  open_ -= idle_.size();
  idle_.clear();
  available_.notify_all();
}

void ConnectionPool::give_back(PGconn *conn) {
  std::lock_guard<std::mutex> lock(mutex_);
  // A connection in a failed state or with a transaction left open is not reused.
  if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE) {
    idle_.push_back(conn);
  } else {
    PQfinish(conn);
    --open_;
  }
  available_.notify_one();
}

}  // namespace shim
