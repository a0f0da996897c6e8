#include "rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace shim {

namespace {
constexpr std::size_t kMaxTrackedClients = 10000;
}

bool RateLimiter::allow(const std::string &client, int *retry_after_seconds,
                        Clock::time_point now) {
  if (!enabled()) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  if (buckets_.size() >= kMaxTrackedClients) forget_idle_clients(now);
  auto [it, inserted] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket &bucket = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  *retry_after_seconds = std::max(1, static_cast<int>(std::ceil((1.0 - bucket.tokens) / rate_)));
  return false;
}

// A client whose bucket has refilled is indistinguishable from a new one: drop it.
void RateLimiter::forget_idle_clients(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed = std::chrono::duration<double>(now - it->second.updated).count();
    if (it->second.tokens + elapsed * rate_ >= burst_)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

}  // namespace shim
