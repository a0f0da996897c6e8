// The schema graph a cleanup works on: tables, the rules that mark their rows, and the
// edges (foreign keys and registered links) along which deletion spreads. Plain C++ data,
// no PostgreSQL headers, so the planner can be built and reasoned about on its own.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace test_cleanup {

using TableId = std::uint32_t;  // the table's OID

struct Table {
  TableId id = 0;
  std::string sql_name;      // schema-qualified and quoted, ready for SQL text
  std::string display_name;  // schema.table as a person reads it
  std::string report_key;    // the key it is counted under in deleted_counts
  char relkind = 'r';
  // One SQL expression per root rule, relative to the row (e.g. `"payloads" -> 'public'
  // -> 'test_metadata'`): each yields the test-metadata object of a row. Empty for tables
  // that are not roots.
  std::vector<std::string> metadata_objects;
};

enum class EdgeKind { foreign_key, link, listed_link };

// dependent -> owner: a dependent row refers to (or, for listed links, is listed by) an
// owner row.
struct Edge {
  EdgeKind kind = EdgeKind::foreign_key;
  std::string name;  // constraint name, or "link 3" / "listed link 2"
  TableId dependent = 0;
  TableId owner = 0;
  // ON DELETE action of a foreign key, as in pg_constraint.confdeltype:
  // a = no action, r = restrict, c = cascade, n = set null, d = set default.
  // Links behave like cascade.
  char on_delete = 'c';
  // Quoted column names, position by position. For listed links: the dependent's key
  // column, and the owner's jsonb column.
  std::vector<std::string> dependent_cols;
  std::vector<std::string> owner_cols;
  // Listed links only: the JSON path (as `-> 'a' -> 'b'`) after the owner column where the
  // array sits, and the quoted key read from each element (empty: the element itself).
  std::string array_path;
  std::string element_key;
  // Listed links only: a GIN index on the owner's array answers containment (@>), so the
  // owners still listing a key are found per key rather than by reading every list.
  bool owner_lists_indexed = false;
  // Foreign keys only: ON DELETE SET NULL / SET DEFAULT limited to some columns (PG 15).
  bool sets_some_columns = false;

  // True when deleting an owner row must delete its dependents (or fail without them
  // deleted first): the edges along which the doomed set grows.
  bool dooms_dependent() const {
    return kind != EdgeKind::foreign_key || on_delete == 'a' || on_delete == 'r' ||
           on_delete == 'c';
  }
};

struct Catalog {
  std::map<TableId, Table> tables;  // every table that appears in a rule or foreign key
  std::vector<Edge> edges;
  std::vector<TableId> root_tables;  // tables with at least one root rule, sorted
};

// What the caller asked for: every marked row (no session) or one test session.
struct Request {
  bool all_sessions = true;
  // test_cleanup.skip_fk_checks: delete with PostgreSQL's foreign key triggers off, after
  // locking every doomed row; SET NULL / SET DEFAULT are then applied by the plan itself.
  bool skip_fk_checks = false;
};

}  // namespace test_cleanup
