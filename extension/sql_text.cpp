#include "sql_text.hpp"

namespace test_cleanup::sql {

std::string columns(const std::string &alias, const std::vector<std::string> &cols) {
  std::string out;
  for (const std::string &col : cols) out += (out.empty() ? "" : ", ") + alias + "." + col;
  return out;
}

std::string metadata_match(const Table &table, const std::string &alias, bool by_session) {
  std::string out;
  for (const std::string &object : table.metadata_objects) {
    const std::string metadata = alias + "." + object;
    out += (out.empty() ? "(" : " OR (") + metadata + " ->> 'test_marker' = $1";
    if (by_session) out += " AND " + metadata + " ->> 'test_session_id' = $2";
    out += ")";
  }
  return out.empty() ? "false" : out;
}

std::string is_marked(const Table &table, const std::string &alias) {
  if (table.metadata_objects.empty()) return "false";
  return "coalesce(" + metadata_match(table, alias, false) + ", false)";
}

std::string listed_array(const std::string &alias, const Edge &listed) {
  return "(" + alias + "." + listed.owner_cols.at(0) + listed.array_path + ")";
}

std::string json_array_elements(const std::string &alias, const Edge &listed) {
  const std::string array = listed_array(alias, listed);
  return "jsonb_array_elements(CASE WHEN jsonb_typeof(" + array + ") = 'array' THEN " + array +
         " ELSE '[]' END)";
}

std::string listed_key(const std::string &alias, const Edge &listed) {
  const std::string value =
      listed.element_key.empty() ? alias + ".value" : alias + ".value -> " + listed.element_key;
  return "CASE WHEN jsonb_typeof(" + value + ") IN ('string', 'number', 'boolean') THEN " + value +
         " #>> '{}' END";
}

std::string may_list(const std::string &alias, const Edge &listed, const std::string &key) {
  auto element = [&listed](const std::string &value) {
    return "jsonb_build_array(" +
           (listed.element_key.empty()
                ? value
                : "jsonb_build_object(" + listed.element_key + ", " + value + ")") +
           ")";
  };
  // A key whose text is a JSON number or boolean may be listed as that scalar too.
  return "(" + listed_array(alias, listed) + " @> ANY (ARRAY[" + element(key) + ", CASE WHEN " +
         key + " ~ '^(true|false|-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][-+]?[0-9]+)?)$' THEN " +
         element(key + "::jsonb") + " END]))";
}

}  // namespace test_cleanup::sql
