#include "auth.hpp"

#include <cctype>

namespace shim {

bool bearer_token_matches(const std::string &authorization, const std::string &token) {
  static const std::string scheme = "Bearer ";
  if (token.empty() || authorization.size() < scheme.size()) return false;
  // The scheme is case-insensitive (RFC 9110); it is not secret.
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(scheme[i])))
      return false;
  const std::string presented = authorization.substr(scheme.size());
  unsigned char difference = presented.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < presented.size(); ++i)
    difference |= static_cast<unsigned char>(presented[i] ^ token[i % token.size()]);
  return difference == 0;
}

}  // namespace shim
