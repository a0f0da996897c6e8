// Bearer-token authentication, compared in constant time.
#pragma once

#include <string>

namespace shim {

// True when `authorization` is "Bearer <token>" with exactly `token`. The comparison takes
// the same time wherever the first difference is.
bool bearer_token_matches(const std::string &authorization, const std::string &token);

}  // namespace shim
