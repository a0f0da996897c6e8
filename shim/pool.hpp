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
    Lease(ConnectionPool *pool, PGconn *conn, bool reused)
        : pool_(pool), conn_(conn), reused_(reused) {}
    Lease(const Lease &) = delete;
    Lease &operator=(const Lease &) = delete;
    ~Lease() {
      if (conn_) pool_->give_back(conn_);
    }
    PGconn *get() const { return conn_; }
    // True when the connection had served an earlier request: it may have died since.
    bool reused() const { return reused_; }

   private:
    ConnectionPool *pool_;
    PGconn *conn_;
    bool reused_;
  };

  // Waits up to `wait` for a healthy connection. On failure returns false and says why.
  std::unique_ptr<Lease> acquire(std::chrono::milliseconds wait, std::string *error);

  // Closes every idle connection: after one turned out dead (a server restart), the others
  // from the same server life are dead too.
  void drop_idle();

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
