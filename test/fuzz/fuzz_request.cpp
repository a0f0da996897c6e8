// libFuzzer target for the shim's request handling: body parsing and validation, and the
// Authorization header check. Besides "never crash", it checks the one promise that
// matters most: a body accepted without a session must really ask for all test data
// (blank, {}, or only "dry_run" and "older_than_seconds", the reaper, in range), so no
// malformed body can widen a cleanup.
#include <cstddef>
#include <cstdint>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "../../shim/auth.hpp"
#include "../../shim/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string input(reinterpret_cast<const char *>(data), size);
  shim::CleanupBody body;
  shim::RequestError error;
  const bool accepted = shim::parse_cleanup_body(input, &body, &error);

  if (!accepted && (error.code.empty() || error.message.empty())) std::abort();
  if (accepted && body.session) {
    const std::string &session = *body.session;
    if (session.empty() || session.size() > shim::kMaxSessionIdLength) std::abort();
    for (char c : session)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
            c == '-'))
        std::abort();
  }
  if (accepted && body.session && body.older_than_seconds) std::abort();
  if (accepted && body.older_than_seconds &&
      (*body.older_than_seconds < 1 || *body.older_than_seconds > shim::kMaxOlderThanSeconds))
    std::abort();
  if (accepted && !body.session) {
    if (input.find_first_not_of(" \t\r\n") != std::string::npos) {
      const nlohmann::json document = nlohmann::json::parse(input, nullptr, false);
      if (!document.is_object()) std::abort();
      for (const auto &item : document.items())
        if (!(item.key() == "dry_run" && item.value().is_boolean()) &&
            !(item.key() == "older_than_seconds" && item.value().is_number_unsigned()))
          std::abort();
      if (document.contains("older_than_seconds") != body.older_than_seconds.has_value())
        std::abort();
      if (document.contains("dry_run") && document["dry_run"].get<bool>() != body.dry_run)
        std::abort();
    } else if (body.dry_run || body.older_than_seconds) {
      std::abort();
    }
  }

  // The header check must not crash on any input, and must accept only the exact token.
  if (shim::bearer_token_matches(input, "fuzz-token") && input.substr(7) != "fuzz-token")
    std::abort();
  return 0;
}
