// The schema graph a cleanup works on: tables, the rules that mark their rows, and the
// edges (foreign keys, registered links, partition membership) along which deletion
// spreads. Plain C++ data, no PostgreSQL headers, so the planner can be built and reasoned
// about on its own.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace test_cleanup {

using TableId = std::uint32_t;  // the table's OID
using TypeId = std::uint32_t;   // a type's OID

// A column as a plan compares it: its quoted name (or a system column: ctid, tableoid),
// its type, and the equality operator that decides whether two values name the same row,
// schema-qualified as `OPERATOR(pg_catalog.=)` so no search_path can substitute another.
struct Column {
  std::string name;
  TypeId type = 0;
  std::string equals;
  bool collatable = false;  // a type with collations (text and the like)

  bool operator==(const Column &other) const { return name == other.name; }
  bool operator<(const Column &other) const { return name < other.name; }
};

// What Citus makes of a table (none where Citus is absent): a distributed table's rows are
// spread over shards on the workers; a reference table has a copy on every node; a Citus
// local table stays on the coordinator. Statements on any of them go through Citus.
enum class CitusKind { none, distributed, reference, local };

struct Table {
  TableId id = 0;
  std::string sql_name;      // schema-qualified and quoted, ready for SQL text
  std::string display_name;  // schema.table as a person reads it
  std::string report_key;    // the key it is counted under in deleted_counts
  char relkind = 'r';        // 'r' ordinary table, 'p' partitioned table
  // Ordinary tables are read with ONLY: an inheritance child is a table of its own here,
  // as it is for foreign keys. A partitioned table is read whole (its partitions' rows are
  // its rows).
  bool only() const { return relkind == 'r'; }
  // ON DELETE rules rewrite a DELETE: it cannot sit in a WITH or return rows, so such a
  // table is counted first and deleted by a plain statement.
  bool has_delete_rules = false;
  // A DELETE that matches a row may still leave it only through a BEFORE DELETE row
  // trigger returning NULL or a rule: only such tables (and partitioned ones, whose
  // partitions may have their own triggers) need their deletes verified row by row.
  bool may_keep_rows = false;
  // User code runs when its rows are deleted (a row trigger on DELETE, or a rule).
  bool runs_code_on_delete = false;
  // How a row is named across statements: the primary key, else a unique key over NOT
  // NULL columns, else (by_ctid) its physical address, with tableoid where a partitioned
  // table spans several heaps.
  std::vector<Column> key;
  bool by_ctid = false;
  CitusKind citus = CitusKind::none;
  // test_cleanup.protect(): a cleanup may delete only its marked rows; one that would
  // delete another row of it fails before deleting anything (a dry run warns).
  bool is_protected = false;
  // One SQL expression per root rule, relative to the row (e.g. `"payloads" OPERATOR(
  // pg_catalog.->) 'public'`): each yields the test-metadata object of a row. Empty for
  // tables that are not roots.
  std::vector<std::string> metadata_objects;
};

enum class EdgeKind { foreign_key, link, listed_link, partition };

// dependent -> owner: a dependent row refers to (or, for listed links, is listed by; for
// partition edges, is the same row as) an owner row.
struct Edge {
  EdgeKind kind = EdgeKind::foreign_key;
  std::string name;  // constraint name, or "link 3" / "listed link 2" / "partition of"
  TableId dependent = 0;
  TableId owner = 0;
  // ON DELETE action of a foreign key, as in pg_constraint.confdeltype:
  // a = no action, r = restrict, c = cascade, n = set null, d = set default.
  // Links and partition edges behave like cascade.
  char on_delete = 'c';
  // Position by position. `equals` of an owner column is the edge's own equality (a
  // foreign key's, else the owner type's). For listed links: the dependent's key column,
  // and the owner's jsonb column.
  std::vector<Column> dependent_cols;
  std::vector<Column> owner_cols;
  // Listed links only: the JSON path (as ` OPERATOR(pg_catalog.->) 'a'`) after the owner
  // column where the array sits, and the quoted key read from each element (empty: the
  // element itself).
  std::string array_path;
  std::string element_key;
  // Listed links only: a GIN index on the owner's array answers containment (@>), so the
  // owners still listing a key are found per key rather than by reading every list.
  bool owner_lists_indexed = false;
  // Foreign keys only: ON DELETE SET NULL / SET DEFAULT limited to some columns (PG 15).
  bool sets_some_columns = false;
  // Foreign keys and links: an index on the dependent whose leading columns are
  // dependent_cols answers a lookup of one owner's rows (else a cleanup may build one for
  // its own transaction, see Stage::index).
  bool dependent_indexed = true;
  // Foreign keys and links: dependent_cols' names unquoted, as PostgreSQL prints a name[].
  std::string dependent_names;

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

// What a plan depends on besides the catalog: every marked row (no session) or one test
// session, and the opt-ins test_cleanup.skip_fk_checks and lock_tables. Also the plan
// cache's key.
struct PlanOptions {
  bool all_sessions = true;
  // test_cleanup.skip_fk_checks: delete with PostgreSQL's foreign key triggers off, after
  // locking the tables it writes; SET NULL / SET DEFAULT are then applied by the plan.
  bool skip_fk_checks = false;
  // test_cleanup.lock_tables: lock the tables linked without a foreign key (and the owners
  // of listed links) against writes for the cleanup, as 1.1 did, instead of row locks and
  // the sweep.
  bool lock_tables = false;
};

}  // namespace test_cleanup
