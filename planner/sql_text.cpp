#include "sql_text.hpp"

namespace test_cleanup::sql {

std::string columns(const std::string &alias, const std::vector<Column> &cols) {
  std::string out;
  for (const Column &col : cols) out += (out.empty() ? "" : ", ") + alias + "." + col.name;
  return out;
}

std::string from(const Table &table, const std::string &alias) {
  return std::string(table.only() ? "ONLY " : "") + table.sql_name + " " + alias;
}

std::string rows_of(const std::vector<std::string> &params, const std::string &alias) {
  std::string unnests, names;
  for (size_t i = 0; i < params.size(); ++i) {
    unnests += (i ? ", " : "") + std::string("pg_catalog.unnest(") + params[i] + ")";
    names += (i ? ", " : "") + std::string("c") + std::to_string(i);
  }
  return "ROWS FROM (" + unnests + ") " + alias + "(" + names + ")";
}

std::string match(const std::string &alias, const std::vector<Column> &cols,
                  const std::vector<Column> &equals, const std::vector<std::string> &params) {
  if (cols.size() == 1)  // `= ANY(array)`: an index scan of the column, one probe per value
    return alias + "." + cols[0].name + " " + equals[0].equals + " ANY (" + params[0] + ")";
  std::string pairs, prefilter;
  for (size_t i = 0; i < cols.size(); ++i) {
    // As PostgreSQL's foreign key queries compare: the owner's value on the left.
    pairs += (i ? " AND " : "") + std::string("u.c") + std::to_string(i) + " " + equals[i].equals +
             " " + alias + "." + cols[i].name;
    // (tableoid, ctid) pairs: a TID scan finds the candidates, the pairs decide.
    if (cols[i].name == "ctid")
      prefilter = alias + ".ctid " + equals[i].equals + " ANY (" + params[i] + ") AND ";
  }
  return "(" + prefilter + "EXISTS (SELECT FROM " + rows_of(params, "u") + " WHERE " + pairs + "))";
}

std::string metadata_match(const Table &table, const std::string &alias, bool by_session) {
  auto field_is = [&alias](const std::string &object, const char *field, const char *param) {
    return "(" + alias + "." + object + " OPERATOR(pg_catalog.->>) '" + field + "') " + kEquals +
           " " + param;
  };
  std::string out;
  for (const std::string &object : table.metadata_objects) {
    std::string rule = field_is(object, "test_marker", "$1");
    if (by_session) rule += " AND " + field_is(object, "test_session_id", "$2");
    out += (out.empty() ? "" : " OR ") + std::string("(") + rule + ")";
  }
  return out.empty() ? "false" : "(" + out + ")";
}

std::string is_marked(const Table &table, const std::string &alias) {
  if (table.metadata_objects.empty()) return "false";
  return "coalesce(" + metadata_match(table, alias, false) + ", false)";
}

std::string listed_array(const std::string &alias, const Edge &listed) {
  return "(" + alias + "." + listed.owner_cols.at(0).name + listed.array_path + ")";
}

namespace {

std::string json_type_is(const std::string &value, const std::string &types) {
  return "pg_catalog.jsonb_typeof(" + value + ") " + kEquals + " ANY ('{" + types +
         "}'::pg_catalog.text[])";
}

}  // namespace

std::string json_array_elements(const std::string &alias, const Edge &listed) {
  const std::string array = listed_array(alias, listed);
  return "pg_catalog.jsonb_array_elements(CASE WHEN " + json_type_is(array, "array") + " THEN " +
         array + " ELSE '[]'::pg_catalog.jsonb END)";
}

std::string listed_key(const std::string &alias, const Edge &listed) {
  const std::string value =
      listed.element_key.empty()
          ? alias + ".value"
          : "(" + alias + ".value OPERATOR(pg_catalog.->) " + listed.element_key + ")";
  return "CASE WHEN " + json_type_is(value, "string,number,boolean") + " THEN " + value +
         " OPERATOR(pg_catalog.#>>) '{}'::pg_catalog.text[] END";
}

std::string listed_column(const std::string &alias, const Edge &listed) {
  return alias + "." + listed.dependent_cols.at(0).name + "::pg_catalog.text";
}

std::string may_list(const std::string &alias, const Edge &listed, const std::string &key) {
  auto element = [&listed](const std::string &value) {
    return "pg_catalog.jsonb_build_array(" +
           (listed.element_key.empty()
                ? value
                : "pg_catalog.jsonb_build_object(" + listed.element_key + ", " + value + ")") +
           ")";
  };
  // A key whose text is a JSON number or boolean may be listed as that scalar too.
  return "(" + listed_array(alias, listed) + " OPERATOR(pg_catalog.@>) ANY (ARRAY[" + element(key) +
         ", CASE WHEN " + key +
         " OPERATOR(pg_catalog.~) '^(true|false|-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][-+]?[0-9]+)?)$' "
         "THEN " +
         element(key + "::pg_catalog.jsonb") + " END]))";
}

}  // namespace test_cleanup::sql
