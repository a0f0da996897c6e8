// A small libpq connection pool. cpp-httplib serves requests on a thread pool and a PGconn
// must not be used by two threads at once, so each request leases one connection.
// Connections are made lazily, checked before reuse (a server restart leaves them dead),
// and replaced when they fail.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace shim {

struct PoolSettings {
  std::string conninfo;  // libpq conninfo string or URI; empty: PG* environment variables
  std::size_t size = 4;
  int statement_timeout_ms = 120000;
  int lock_timeout_ms = 30000;
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolSettings settings) : settings_(std::move(settings)) {}
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool &) = delete;
  ConnectionPool &operator=(const ConnectionPool &) = delete;

  class Lease {
   public:
    Lease(ConnectionPool *pool, PGconn *conn) : pool_(pool), conn_(conn) {}
    Lease(Lease &&other) noexcept : pool_(other.pool_), conn_(other.conn_) {
      other.conn_ = nullptr;
    }
    Lease(const Lease &) = delete;
    ~Lease() {
      if (conn_) pool_->give_back(conn_);
    }
    PGconn *get() const { return conn_; }

   private:
    ConnectionPool *pool_;
    PGconn *conn_;
  };

  // Waits up to `wait` for a healthy connection. On failure returns false and says why.
  std::unique_ptr<Lease> acquire(std::chrono::milliseconds wait, std::string *error);

 private:
  PGconn *connect(std::string *error) const;
  void give_back(PGconn *conn);

  const PoolSettings settings_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<PGconn *> idle_;
  std::size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace shim
