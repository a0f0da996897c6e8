// Validation of the request body of POST /api/v1/test-cleanup. Pure C++ (no HTTP, no
// database), so it can be tested and fuzzed on its own.
#pragma once

#include <optional>
#include <string>

namespace shim {

struct CleanupRequest {
  std::optional<std::string> session;  // empty optional: clean every session
};

struct RequestError {
  std::string code;     // machine-readable, e.g. "unknown_field"
  std::string message;  // a sentence a person can act on
};

constexpr std::size_t kMaxSessionIdLength = 128;

// No body, an empty or all-whitespace body, or {} -> every session;
// {"test_session_id": "..."} -> that session. Anything else is an error: a mistyped field
// must never widen a cleanup to all test data.
bool parse_cleanup_request(const std::string &body, CleanupRequest *request, RequestError *error);

}  // namespace shim
