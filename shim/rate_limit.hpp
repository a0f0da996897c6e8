// Per-client token buckets: `rate` requests a second on average, bursts of `burst`.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace shim {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double rate_per_second, double burst) : rate_(rate_per_second), burst_(burst) {}

  bool enabled() const { return rate_ > 0; }

  // Takes a token for `client`. When none is left, returns false and the whole seconds
  // after which one will be (for Retry-After).
  bool allow(const std::string &client, int *retry_after_seconds,
             Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void forget_idle_clients(Clock::time_point now);

  const double rate_;
  const double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace shim
