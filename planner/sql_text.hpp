// Small builders for the SQL text of a plan. Identifiers and literals arrive already quoted
// by PostgreSQL (quote_ident / quote_literal in the catalog query); these only assemble.
// Every function, operator and type they write is schema-qualified, as PostgreSQL's own
// foreign key queries are: user triggers fire with the database's search_path, and no
// schema on it may put its own `=` or `count` into the cleanup's statements.
#pragma once

#include <string>
#include <vector>

#include "model.hpp"

namespace test_cleanup::sql {

// First key of the advisory locks a cleanup takes (the second is 0, or the session's hash):
// 0x74636574, the bytes "tcet" (a constant since 1.0.0; another application's advisory
// locks with this first key would wait for cleanups, and they for it).
inline const std::string kLockSpace = "1952671092";
inline const std::string kEquals = "OPERATOR(pg_catalog.=)";

// `alias.a, alias.b`
std::string columns(const std::string &alias, const std::vector<Column> &cols);

// `FROM ONLY schema.table alias` (no ONLY for partitioned tables, whose rows are their
// partitions').
std::string from(const Table &table, const std::string &alias);

// True for the rows `alias` whose `cols` equal, position by position, one row of the
// parallel arrays `params` (one $n per column); `equals` holds each position's operator.
std::string match(const std::string &alias, const std::vector<Column> &cols,
                  const std::vector<Column> &equals, const std::vector<std::string> &params);

// The rows of parallel arrays `params`, as a FROM item `alias(c0, c1, ...)`.
std::string rows_of(const std::vector<std::string> &params, const std::string &alias);

// True for a row of `table` marked with the marker ($1) and, when by_session, belonging
// to the session ($2), by any of the table's root rules.
std::string metadata_match(const Table &table, const std::string &alias, bool by_session);

// True for a row carrying the marker at any root rule of its table, whatever its session;
// false for tables that are not roots. Never NULL.
std::string is_marked(const Table &table, const std::string &alias);

// A listed link's JSON value in the owner row `alias`: the expression its advised GIN index
// holds.
std::string listed_array(const std::string &alias, const Edge &listed);

// A set-returning FROM item over the elements of a listed link's JSON array in the owner
// row `alias`; yields no element where the path holds no array.
std::string json_array_elements(const std::string &alias, const Edge &listed);

// The text key an element `alias` of a listed link's array names; NULL unless that is a
// JSON string, number or boolean.
std::string listed_key(const std::string &alias, const Edge &listed);

// A listed link's dependent key column of row `alias` as the text listed keys are compared
// with.
std::string listed_column(const std::string &alias, const Edge &listed);

// True for every owner row `alias` whose array lists the text `key` (and perhaps a few
// more: recheck with listed_key). A containment test, so a GIN index on listed_array
// finds the owners listing one key without reading every owner's array.
std::string may_list(const std::string &alias, const Edge &listed, const std::string &key);

}  // namespace test_cleanup::sql
