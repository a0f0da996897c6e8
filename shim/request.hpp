// Validation of what a client sends: the body of POST /api/v1/test-cleanup and a session
// id in a path. Pure C++ (no HTTP, no database), so it can be tested and fuzzed on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace shim {

struct CleanupBody {
  std::optional<std::string> session;  // empty optional: clean every session
  bool dry_run = false;                // count, delete nothing
  // The reaper: clean every session whose last sign of life is older than this (never
  // together with a session).
  std::optional<std::int64_t> older_than_seconds;
};

struct RequestError {
  std::string code;     // machine-readable, e.g. "unknown_field"
  std::string message;  // a sentence a person can act on
};

constexpr std::size_t kMaxSessionIdLength = 128;
// A hundred years: enough for any reaper, and far from what an interval can hold.
constexpr std::int64_t kMaxOlderThanSeconds = 100LL * 366 * 24 * 3600;

// No body, an empty or all-whitespace body, or {} -> every session;
// {"test_session_id": "..."} -> that session; "dry_run": true counts only;
// {"older_than_seconds": N} -> the reaper. Anything else is an error: a mistyped field
// must never widen a cleanup to all test data.
bool parse_cleanup_body(const std::string &text, CleanupBody *body, RequestError *error);

// A test session id as the API accepts it (in a body or a path): 1 to 128 of the
// characters letters, digits and _ . : -.
bool valid_session_id(const std::string &value, RequestError *error);

}  // namespace shim
