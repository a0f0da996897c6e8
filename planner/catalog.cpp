#include "catalog.hpp"

#include <algorithm>
#include <set>

#include "errors.hpp"

namespace test_cleanup {

namespace {

// The rule tables as the queries below read them: a table that Citus turned into a shard
// of a new Citus table (citus_add_local_table_to_metadata renames the original table to its
// shard) stands for that Citus table. $1: the shards on this node, $2: their tables.
#define TC_RULE_TABLE(col) \
  "coalesce(($2::oid[])[array_position($1::oid[], " col "::oid)], " col "::oid)::regclass"
#define TC_RULES \
  "root AS (SELECT root_id, " TC_RULE_TABLE("tbl") " AS tbl, col, path"                     \
  "           FROM test_cleanup.root),"                                                     \
  "link AS (SELECT link_id, " TC_RULE_TABLE("dependent") " AS dependent, dependent_cols, "  \
  TC_RULE_TABLE("owner") " AS owner, owner_cols FROM test_cleanup.link),"                  \
  "listed_link AS (SELECT listed_link_id, " TC_RULE_TABLE("dependent") " AS dependent, "   \
  "dependent_col, " TC_RULE_TABLE("owner") " AS owner, owner_col, array_path, element_key " \
  "FROM test_cleanup.listed_link),"                                                         \
  "report_key AS (SELECT " TC_RULE_TABLE("tbl") " AS tbl, key FROM test_cleanup.report_key)," \
  "protected AS (SELECT " TC_RULE_TABLE("tbl") " AS tbl FROM test_cleanup.protected)"

// The tables of the graph: every table named by a rule or by a foreign key, and the
// inheritance children of root tables (a root rule reaches their rows as a SELECT from the
// parent does). Left out: the relations in $1 (Citus's shards on this node, which hold a
// Citus table's rows and copies of its foreign keys) and the tables of extensions (Citus's
// catalog, for one), whose rows are never test data. Foreign keys copied onto partitions
// (conparentid <> 0) are left out too: the partitioned parent's key stands for them. A
// partition or inheritance child is reported under its topmost ancestor's name unless it
// has a report key of its own. A table's key is its primary key, else its narrowest valid
// unique index over NOT NULL columns, with each column's equality from that index's
// operator class.
const char *const kTablesQuery = "WITH RECURSIVE " TC_RULES R"SQL(,
mentioned(oid) AS (
    SELECT tbl::oid FROM root
    UNION SELECT dependent::oid FROM link
    UNION SELECT owner::oid FROM link
    UNION SELECT dependent::oid FROM listed_link
    UNION SELECT owner::oid FROM listed_link
    UNION SELECT conrelid FROM pg_constraint WHERE contype = 'f' AND conparentid = 0
    UNION SELECT confrelid FROM pg_constraint WHERE contype = 'f' AND conparentid = 0),
named(oid) AS (
    SELECT m.oid FROM mentioned m
     WHERE m.oid <> ALL ($1::oid[])
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = m.oid
                          AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')),
children(oid) AS (
    SELECT i.inhrelid FROM pg_inherits i JOIN root r ON r.tbl = i.inhparent
     WHERE NOT (SELECT relispartition FROM pg_class WHERE oid = i.inhrelid)
    UNION
    SELECT i.inhrelid FROM pg_inherits i JOIN children c ON i.inhparent = c.oid
     WHERE NOT (SELECT relispartition FROM pg_class WHERE oid = i.inhrelid)),
tables(oid) AS (SELECT oid FROM named UNION SELECT oid FROM children),
up(oid, top, depth) AS (
    SELECT oid, oid, 0 FROM tables
    UNION ALL
    SELECT up.oid, i.inhparent, up.depth + 1 FROM up JOIN pg_inherits i ON i.inhrelid = up.top),
topmost(oid, name) AS (
    SELECT DISTINCT ON (up.oid) up.oid, tc.relname::text FROM up JOIN pg_class tc ON tc.oid = up.top
     ORDER BY up.oid, up.depth DESC, up.top),
key_index AS (
    SELECT DISTINCT ON (x.indrelid) x.indrelid, x.indkey, x.indclass, x.indnkeyatts
      FROM pg_index x JOIN tables t ON t.oid = x.indrelid
     WHERE x.indisunique AND x.indisvalid AND x.indimmediate AND x.indpred IS NULL AND x.indexprs IS NULL
       AND NOT EXISTS (SELECT 1 FROM unnest((x.indkey::int2[])[0:x.indnkeyatts - 1]) u(attnum)
                         JOIN pg_attribute na ON na.attrelid = x.indrelid AND na.attnum = u.attnum
                        WHERE NOT na.attnotnull)
     ORDER BY x.indrelid, x.indisprimary DESC, x.indnkeyatts, x.indexrelid),
key(oid, names, types, operators) AS (
    SELECT ix.indrelid,
           array_agg(quote_ident(a.attname) ORDER BY p.i),
           array_agg(a.atttypid::int8 ORDER BY p.i),
           array_agg(o.amopopr::int8 ORDER BY p.i)
      FROM key_index ix
     CROSS JOIN LATERAL unnest((ix.indkey::int2[])[0:ix.indnkeyatts - 1],
                               (ix.indclass::oid[])[0:ix.indnkeyatts - 1]) WITH ORDINALITY p(attnum, opclass, i)
      JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = p.attnum
      JOIN pg_opclass oc ON oc.oid = p.opclass
      JOIN pg_amop o ON o.amopfamily = oc.opcfamily AND o.amoplefttype = oc.opcintype
                    AND o.amoprighttype = oc.opcintype AND o.amopstrategy = 3
                    AND o.amopmethod = oc.opcmethod
     GROUP BY ix.indrelid)
SELECT t.oid::int8, c.oid IS NULL,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       n.nspname || '.' || c.relname,
       coalesce(k.key, topmost.name),
       c.relkind::text,
       EXISTS (SELECT 1 FROM pg_rewrite w WHERE w.ev_class = t.oid AND w.ev_type = '4'),
       key.names, key.types, key.operators,
       -- tgtype bits: 1 row, 2 before, 8 delete
       EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.oid AND NOT g.tgisinternal
                  AND g.tgtype::int & 11 = 11),
       EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.oid AND NOT g.tgisinternal
                  AND g.tgtype::int & 9 = 9),
       -- protected itself, or a partition or inheritance child of a protected table (up
       -- holds the table and its ancestors), or a partitioned table with a protected
       -- partition (one attached after it was protected): its rows are read through here
       EXISTS (SELECT 1 FROM protected p
                WHERE p.tbl IN (SELECT up.top FROM up WHERE up.oid = t.oid)
                   OR p.tbl IN (SELECT relid FROM pg_partition_tree(t.oid)))
  FROM tables t
  LEFT JOIN pg_class c ON c.oid = t.oid
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN report_key k ON k.tbl = t.oid
  LEFT JOIN topmost ON topmost.oid = t.oid
  LEFT JOIN key ON key.oid = t.oid
 ORDER BY 1)SQL";

// A JSON path as SQL text after a jsonb value: ` OPERATOR(pg_catalog.->) 'public' ...`.
#define TC_JSON_PATH(path)                                                                      \
  "coalesce((SELECT string_agg(' OPERATOR(pg_catalog.->) ' || quote_literal(p), '' ORDER BY i)" \
  " FROM unnest(" path ") WITH ORDINALITY AS u(p, i)), '')"

// Root rules, each also for the inheritance children of its table (which have its columns).
const char *const kRootsQuery = "WITH RECURSIVE " TC_RULES R"SQL(,
rules(root_id, tbl, rule_tbl, col, path) AS (
    SELECT r.root_id, r.tbl::oid, r.tbl::text, r.col, r.path FROM root r
    UNION
    SELECT r.root_id, i.inhrelid, r.rule_tbl, r.col, r.path
      FROM rules r JOIN pg_inherits i ON i.inhparent = r.tbl
     WHERE NOT (SELECT relispartition FROM pg_class WHERE oid = i.inhrelid))
SELECT r.root_id, r.tbl::int8, r.rule_tbl, r.col::text,
       a.attnum IS NOT NULL, coalesce(a.atttypid = 'jsonb'::regtype, false),
       quote_ident(r.col) || )SQL" TC_JSON_PATH("r.path") R"SQL(
  FROM rules r
  LEFT JOIN pg_attribute a
         ON a.attrelid = r.tbl AND a.attname = r.col AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY r.root_id, r.tbl)SQL";

// test_cleanup._index_state(tbl, cols) as text, calling it only for partitioned tables: a
// call costs 0.3 ms (600 foreign keys: 0.2 s), _has_leading_index() a tenth of that.
#define TC_INDEX_STATE(tbl, cols)                              \
  "CASE WHEN test_cleanup._has_leading_index(" tbl ", " cols   \
  ") THEN 'y'"                                                 \
  " WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = " tbl \
  ") <> 'p' THEN 'n'"                                          \
  " ELSE test_cleanup._index_state(" tbl ", " cols ")::text END"

// One row per edge and key column position, ordered so an edge's rows are adjacent. The
// operator is a foreign key's own (PK = FK) equality, 0 for the owner type's default.
const char *const kEdgesQuery = "WITH " TC_RULES R"SQL(
SELECT 'f', con.oid::int8, 'foreign key ' || quote_ident(con.conname),
       con.conrelid::int8, con.confrelid::int8, con.confdeltype::text,
       quote_ident(ca.attname), quote_ident(pa.attname), NULL, NULL, k.i,
       coalesce(cardinality(con.confdelsetcols), 0) > 0, false,
       ca.atttypid::int8, pa.atttypid::int8, con.conpfeqop[k.i]::int8,
       )SQL" TC_INDEX_STATE("con.conrelid", "fk.cols") R"SQL(, fk.cols::text
  FROM pg_constraint con
 CROSS JOIN LATERAL (SELECT ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY u(n, o)
                                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.n
                                   ORDER BY u.o) AS cols) fk
 CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(ck, pk, i)
  JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.ck
  JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.pk
 WHERE con.contype = 'f' AND con.conparentid = 0
UNION ALL
SELECT 'l', l.link_id, 'link ' || l.link_id,
       l.dependent::oid::int8, l.owner::oid::int8, 'c',
       quote_ident(k.dc), quote_ident(k.oc), NULL, NULL, k.i, false, false,
       da.atttypid::int8, oa.atttypid::int8, 0,
       )SQL" TC_INDEX_STATE("l.dependent", "l.dependent_cols::name[]") R"SQL(,
       l.dependent_cols::name[]::text
  FROM link l
 CROSS JOIN LATERAL unnest(l.dependent_cols, l.owner_cols) WITH ORDINALITY AS k(dc, oc, i)
  LEFT JOIN pg_attribute da ON da.attrelid = l.dependent AND da.attname = k.dc AND NOT da.attisdropped
  LEFT JOIN pg_attribute oa ON oa.attrelid = l.owner AND oa.attname = k.oc AND NOT oa.attisdropped
UNION ALL
SELECT 'L', l.listed_link_id, 'listed link ' || l.listed_link_id,
       l.dependent::oid::int8, l.owner::oid::int8, 'c',
       quote_ident(l.dependent_col), quote_ident(l.owner_col),
       )SQL" TC_JSON_PATH("l.array_path") R"SQL(, quote_literal(l.element_key), 1, false,
       test_cleanup._has_gin_index(l.owner, quote_ident(l.owner_col) || test_cleanup._json_path_sql(l.array_path)),
       da.atttypid::int8, 'jsonb'::regtype::int8, 0, 'y', NULL
  FROM listed_link l
  LEFT JOIN pg_attribute da ON da.attrelid = l.dependent AND da.attname = l.dependent_col AND NOT da.attisdropped
 ORDER BY 1, 2, 11)SQL";

// Partitions and their parents, to connect a partition the graph names to its nearest
// partitioned ancestor that the graph names too.
const char *const kPartitionsQuery = R"SQL(
SELECT i.inhrelid::int8, i.inhparent::int8
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE c.relispartition)SQL";

// Citus: whether this node is the coordinator, the tables Citus manages (d distributed,
// r reference, l Citus local) and the relations on this node that are shards of them.
const char *const kCitusPresentQuery =
    "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) "
    "'citus')";
const char *const kCitusTablesQuery = R"SQL(
SELECT pg_catalog.citus_is_coordinator(), coalesce(pg_catalog.array_agg(r::oid), '{}')::text,
       coalesce(pg_catalog.array_agg(s.logicalrelid::oid), '{}')::text
  FROM pg_dist_shard s
  JOIN pg_class c ON c.oid = s.logicalrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace,
       -- shard_name() leaves a shard in schema public unqualified
       pg_catalog.to_regclass(CASE WHEN n.nspname = 'public' THEN 'public.' ELSE '' END ||
                              pg_catalog.shard_name(s.logicalrelid, s.shardid)) r
 WHERE r IS NOT NULL)SQL";
const char *const kCitusKindsQuery = R"SQL(
SELECT p.logicalrelid::oid::int8,
       CASE WHEN p.partmethod = 'n' AND p.repmodel = 't' THEN 'r'
            WHEN p.partmethod = 'n' AND p.colocationid = 0 THEN 'l'
            ELSE 'd' END
  FROM pg_dist_partition p)SQL";

#undef TC_JSON_PATH
#undef TC_INDEX_STATE
#undef TC_RULES
#undef TC_RULE_TABLE

// A column with its equality: `opr` when given, else its type's default equality.
Column make_column(CatalogSource &source, const std::string &name, TypeId type, OperatorId opr,
                   const std::string &table) {
  if (opr == 0) opr = source.default_equality(type);
  if (opr == 0)
    throw UserError("42883",
                    "test_cleanup: column " + name + " of \"" + table +
                        "\" has a type without an equality operator",
                    "Rows are matched by their key and link columns, which must be comparable.",
                    "Use a key or link column of a type with a default btree operator class.");
  return Column{name, type, source.qualified_operator(opr), source.collatable(type)};
}

std::vector<std::string> text_array(const TextRows &rows, std::uint64_t row, int col) {
  std::vector<std::string> items;
  if (rows.is_null(row, col)) return items;
  const std::string &text = rows.text(row, col);  // {a,b} as array_out writes it
  std::string item;
  bool quoted = false;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '\\') {
      item += text[++i];
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      items.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  items.push_back(item);
  return items;
}

// What Citus manages: each table's kind, and (as oid[] literals, the parameters of the
// queries that read rules, see TC_RULES) the shards on this node and their tables.
struct Shards {
  std::string shards = "{}", tables = "{}";
  std::map<TableId, CitusKind> kinds;

  std::vector<std::optional<std::string>> params() const { return {shards, tables}; }
};

// On a Citus coordinator: which tables Citus manages, and its shards on this node. Elsewhere
// in a Citus cluster the cleanup refuses: a worker's tables are shards, each holding part of
// a table's rows.
Shards load_citus(CatalogSource &source) {
  if (source.query(kCitusPresentQuery).text(0, 0) != "t") return {};
  const TextRows coordinator = source.query(kCitusTablesQuery);
  if (coordinator.text(0, 0) != "t")
    throw UserError("0A000", "test_cleanup: this node is a Citus worker",
                    "A worker holds shards of the cluster's tables, each with part of their "
                    "rows; only the coordinator sees every row and every rule.",
                    "Run the cleanup on the coordinator.");
  Shards shards{coordinator.text(0, 1), coordinator.text(0, 2), {}};
  const TextRows kinds = source.query(kCitusKindsQuery);
  for (std::uint64_t row = 0; row < kinds.size(); ++row) {
    const std::string &kind = kinds.text(row, 1);
    shards.kinds[static_cast<TableId>(kinds.int64(row, 0))] = kind == "r" ? CitusKind::reference
                                                              : kind == "l"
                                                                  ? CitusKind::local
                                                                  : CitusKind::distributed;
  }
  return shards;
}

void load_tables(CatalogSource &source, Catalog &catalog, const Shards &shards) {
  const TextRows rows = source.query(kTablesQuery, shards.params());
  for (std::uint64_t row = 0; row < rows.size(); ++row) {
    const auto id = static_cast<TableId>(rows.int64(row, 0));
    if (rows.text(row, 1) == "t")
      throw UserError(
          "42P01",
          "test_cleanup: a rule refers to a table that no longer exists (OID " +
              std::to_string(id) + ")",
          "The table was dropped after the rule was registered.",
          "Remove its rules with SELECT test_cleanup.remove_rules(" + std::to_string(id) + ");");
    Table &table = catalog.tables[id];
    table.id = id;
    table.sql_name = rows.text(row, 2);
    table.display_name = rows.text(row, 3);
    table.report_key = rows.text(row, 4);
    table.relkind = rows.text(row, 5).at(0);
    auto citus = shards.kinds.find(id);
    if (citus != shards.kinds.end()) table.citus = citus->second;
    table.has_delete_rules = rows.text(row, 6) == "t";
    table.may_keep_rows =
        table.has_delete_rules || table.relkind == 'p' || rows.text(row, 10) == "t";
    table.runs_code_on_delete =
        table.has_delete_rules || table.relkind == 'p' || rows.text(row, 11) == "t";
    table.is_protected = rows.text(row, 12) == "t";
    const std::vector<std::string> names = text_array(rows, row, 7);
    const std::vector<std::string> types = text_array(rows, row, 8);
    const std::vector<std::string> operators = text_array(rows, row, 9);
    for (size_t i = 0; i < names.size(); ++i)
      table.key.push_back(make_column(source, names[i], static_cast<TypeId>(std::stoul(types[i])),
                                      static_cast<OperatorId>(std::stoul(operators[i])),
                                      table.display_name));
  }
}

// A table without a usable key is named by its physical address; a partitioned one by
// (tableoid, ctid), since each partition has its own heap.
void add_physical_keys(CatalogSource &source, Catalog &catalog) {
  for (auto &[id, table] : catalog.tables) {
    if (!table.key.empty()) continue;
    table.by_ctid = true;
    if (table.relkind == 'p')
      table.key.push_back(make_column(source, "tableoid", kOidType, 0, table.display_name));
    table.key.push_back(
        make_column(source, "ctid", kTidType, kTidEqualOperator, table.display_name));
  }
}

// A table a rule names; the graph leaves out extensions' tables and Citus's shards.
Table &known_table(Catalog &catalog, TableId id, const std::string &rule) {
  auto found = catalog.tables.find(id);
  if (found != catalog.tables.end()) return found->second;
  throw UserError("0A000",
                  "test_cleanup: " + rule + " names a table of an extension or a Citus shard",
                  "Such tables hold no test data of their own; a Citus table's rows are read "
                  "through the table itself, never through its shards.",
                  "Remove the rule with SELECT test_cleanup.remove_rules(" + std::to_string(id) +
                      "); and register the table it belongs to.");
}

void load_roots(CatalogSource &source, Catalog &catalog, const Shards &shards) {
  const TextRows rows = source.query(kRootsQuery, shards.params());
  for (std::uint64_t row = 0; row < rows.size(); ++row) {
    const std::string rule =
        "column \"" + rows.text(row, 3) + "\" of root table \"" + rows.text(row, 2) + "\"";
    if (rows.text(row, 4) != "t")
      throw UserError("42703", "test_cleanup: " + rule + " no longer exists", "",
                      "Remove the rule with DELETE FROM test_cleanup.root WHERE root_id = " +
                          std::to_string(rows.int64(row, 0)) +
                          "; and register the column that now holds the metadata.");
    if (rows.text(row, 5) != "t")
      throw UserError("42804", "test_cleanup: " + rule + " is no longer jsonb");
    Table &table = known_table(catalog, static_cast<TableId>(rows.int64(row, 1)), rule);
    table.metadata_objects.push_back(rows.text(row, 6));
    catalog.root_tables.push_back(table.id);
  }
  std::sort(catalog.root_tables.begin(), catalog.root_tables.end());
  catalog.root_tables.erase(std::unique(catalog.root_tables.begin(), catalog.root_tables.end()),
                            catalog.root_tables.end());
}

EdgeKind edge_kind(const std::string &code) {
  if (code == "f") return EdgeKind::foreign_key;
  if (code == "l") return EdgeKind::link;
  return EdgeKind::listed_link;
}

void load_edges(CatalogSource &source, Catalog &catalog, const Shards &shards) {
  const TextRows rows = source.query(kEdgesQuery, shards.params());
  std::string previous;
  bool skipping = false;
  for (std::uint64_t row = 0; row < rows.size(); ++row) {
    const std::string &kind = rows.text(row, 0);
    const std::string key = kind + std::to_string(rows.int64(row, 1));
    if (key != previous) {
      const auto dependent = static_cast<TableId>(rows.int64(row, 3));
      const auto owner = static_cast<TableId>(rows.int64(row, 4));
      previous = key;
      if (kind == "f" && !(catalog.tables.count(dependent) && catalog.tables.count(owner))) {
        skipping = true;  // a shard's copy of a foreign key, or one inside an extension
        continue;
      }
      skipping = false;
      known_table(catalog, dependent, rows.text(row, 2));
      known_table(catalog, owner, rows.text(row, 2));
      Edge edge;
      edge.kind = edge_kind(kind);
      edge.name = rows.text(row, 2);
      edge.dependent = dependent;
      edge.owner = owner;
      edge.on_delete = rows.text(row, 5).at(0);
      edge.array_path = rows.text(row, 8);
      edge.element_key = rows.text(row, 9);
      edge.sets_some_columns = rows.text(row, 11) == "t";
      edge.owner_lists_indexed = rows.text(row, 12) == "t";
      edge.dependent_indexed = rows.text(row, 16) == "y";
      edge.dependent_names = rows.text(row, 17);
      catalog.edges.push_back(std::move(edge));
    }
    if (skipping) continue;
    Edge &edge = catalog.edges.back();
    if (rows.is_null(row, 13) || rows.is_null(row, 14))
      throw UserError("42703", "test_cleanup: a column of " + edge.name + " no longer exists", "",
                      "Remove the rule with SELECT test_cleanup.remove_rules(...) and "
                      "register it again.");
    const auto dependent_type = static_cast<TypeId>(rows.int64(row, 13));
    const auto owner_type = static_cast<TypeId>(rows.int64(row, 14));
    const auto opr = static_cast<OperatorId>(rows.int64(row, 15));
    const std::string &owner_name = catalog.tables.at(edge.owner).display_name;
    edge.dependent_cols.push_back(Column{rows.text(row, 6), dependent_type, ""});
    edge.owner_cols.push_back(
        edge.kind == EdgeKind::listed_link
            ? Column{rows.text(row, 7), owner_type, ""}
            : make_column(source, rows.text(row, 7), owner_type, opr, owner_name));
  }
}

// A partition the graph names (a foreign key declared on it or pointing at it, a rule) and
// its nearest partitioned ancestor the graph names hold the same rows: each one's doomed
// rows doom the other's, matched by the ancestor's key (which spans the whole tree).
void add_partition_edges(CatalogSource &source, Catalog &catalog) {
  const TextRows rows = source.query(kPartitionsQuery);
  std::map<TableId, TableId> parent;
  for (std::uint64_t row = 0; row < rows.size(); ++row)
    parent[static_cast<TableId>(rows.int64(row, 0))] = static_cast<TableId>(rows.int64(row, 1));
  for (const auto &[id, table] : catalog.tables) {
    TableId ancestor = id;
    do {
      auto up = parent.find(ancestor);
      ancestor = up == parent.end() ? 0 : up->second;
    } while (ancestor && !catalog.tables.count(ancestor));
    if (!ancestor) continue;
    const std::vector<Column> &key = catalog.tables.at(ancestor).key;
    for (const auto &[dependent, owner] : {std::pair{id, ancestor}, std::pair{ancestor, id}}) {
      Edge edge;
      edge.kind = EdgeKind::partition;
      edge.name =
          "partition " + table.display_name + " of " + catalog.tables.at(ancestor).display_name;
      edge.dependent = dependent;
      edge.owner = owner;
      edge.dependent_cols = key;
      edge.owner_cols = key;
      catalog.edges.push_back(std::move(edge));
    }
  }
}

}  // namespace

Catalog load_catalog(CatalogSource &source) {
  Catalog catalog;
  const Shards shards = load_citus(source);
  load_tables(source, catalog, shards);
  add_physical_keys(source, catalog);
  load_roots(source, catalog, shards);
  load_edges(source, catalog, shards);
  add_partition_edges(source, catalog);
  return catalog;
}

const std::string &TextRows::text(std::uint64_t row, int col) const {
  static const std::string null_text;
  const std::optional<std::string> &value = rows.at(row).at(col);
  return value ? *value : null_text;
}

std::int64_t TextRows::int64(std::uint64_t row, int col) const {
  const std::optional<std::string> &value = rows.at(row).at(col);
  if (!value) throw std::runtime_error("unexpected NULL in a catalog query's result");
  return std::stoll(*value);
}

}  // namespace test_cleanup
