#include "request.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace shim {

namespace {

bool fail(RequestError *error, const char *code, std::string message) {
  error->code = code;
  error->message = std::move(message);
  return false;
}

bool is_blank(const std::string &body) {
  return body.find_first_not_of(" \t\r\n") == std::string::npos;
}

bool valid_session_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

}  // namespace

bool valid_session_id(const std::string &value, RequestError *error) {
  if (value.empty())
    return fail(error, "invalid_session_id",
                "test_session_id must not be empty; omit it to clean all test data.");
  if (value.size() > kMaxSessionIdLength)
    return fail(
        error, "invalid_session_id",
        "test_session_id is longer than " + std::to_string(kMaxSessionIdLength) + " characters.");
  for (char c : value)
    if (!valid_session_char(c))
      return fail(error, "invalid_session_id",
                  "test_session_id may contain only letters, digits and _ . : - characters.");
  return true;
}

bool parse_cleanup_body(const std::string &text, CleanupBody *body, RequestError *error) {
  *body = CleanupBody{};
  if (is_blank(text)) return true;

  // Duplicate keys are refused: which one would win is a guess the caller should not make.
  bool duplicate_key = false;
  std::set<std::string> top_level_keys;
  const nlohmann::json::parser_callback_t on_event =
      [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json &parsed) {
        if (event == nlohmann::json::parse_event_t::key && depth == 1 &&
            !top_level_keys.insert(parsed.get<std::string>()).second)
          duplicate_key = true;
        return true;
      };
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text, on_event);
  } catch (const nlohmann::json::exception &e) {
    return fail(error, "invalid_json",
                std::string("The request body is not valid JSON: ") + e.what());
  }
  if (!document.is_object())
    return fail(error, "invalid_body",
                "The request body must be a JSON object such as {\"test_session_id\": \"...\"}, "
                "or empty to clean all test data.");
  if (duplicate_key)
    return fail(error, "duplicate_field", "The request body names a field more than once.");
  for (const auto &item : document.items())
    if (item.key() != "test_session_id" && item.key() != "dry_run" &&
        item.key() != "older_than_seconds")
      return fail(error, "unknown_field",
                  "Unknown field " + nlohmann::json(item.key()).dump() +
                      ": the fields are \"test_session_id\", \"dry_run\" and "
                      "\"older_than_seconds\". Nothing was deleted.");

  if (document.contains("dry_run")) {
    if (!document["dry_run"].is_boolean())
      return fail(error, "invalid_dry_run", "dry_run must be true or false.");
    body->dry_run = document["dry_run"].get<bool>();
  }
  if (document.contains("older_than_seconds")) {
    const nlohmann::json &age = document["older_than_seconds"];
    // nlohmann/json holds a JSON integer >= 0 as unsigned, a negative one as signed.
    const bool in_range = age.is_number_unsigned() && age.get<std::uint64_t>() >= 1 &&
                          age.get<std::uint64_t>() <= kMaxOlderThanSeconds;
    if (!in_range)
      return fail(error, "invalid_older_than_seconds",
                  "older_than_seconds must be a whole number of seconds from 1 to " +
                      std::to_string(kMaxOlderThanSeconds) + ".");
    body->older_than_seconds = age.get<std::int64_t>();
    if (document.contains("test_session_id"))
      return fail(error, "conflicting_fields",
                  "older_than_seconds reaps every session older than that, test_session_id "
                  "cleans one: send one of them. Nothing was deleted.");
  }
  if (!document.contains("test_session_id")) return true;

  const nlohmann::json &session = document["test_session_id"];
  if (!session.is_string())
    return fail(error, "invalid_session_id",
                "test_session_id must be a string; omit it to clean all test data.");
  const std::string value = session.get<std::string>();
  if (!valid_session_id(value, error)) return false;
  body->session = value;
  return true;
}

}  // namespace shim
