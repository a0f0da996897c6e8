#include "catalog.hpp"

#include <algorithm>

#include "errors.hpp"

namespace test_cleanup {

namespace {

// Every table named by a rule or by a foreign key, with the names the SQL text needs.
// Constraints copied onto partitions (conparentid <> 0) are left out: the partitioned
// parent's constraint stands for them.
const char *const kTablesQuery = R"SQL(
WITH referenced(oid) AS (
    SELECT tbl::oid FROM test_cleanup.root
    UNION SELECT dependent::oid FROM test_cleanup.link
    UNION SELECT owner::oid FROM test_cleanup.link
    UNION SELECT dependent::oid FROM test_cleanup.listed_link
    UNION SELECT owner::oid FROM test_cleanup.listed_link
    UNION SELECT conrelid FROM pg_constraint WHERE contype = 'f' AND conparentid = 0
    UNION SELECT confrelid FROM pg_constraint WHERE contype = 'f' AND conparentid = 0)
SELECT r.oid::int8, c.oid IS NULL,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       n.nspname || '.' || c.relname,
       coalesce(k.key, c.relname::text),
       c.relkind::text
  FROM referenced r
  LEFT JOIN pg_class c ON c.oid = r.oid
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN test_cleanup.report_key k ON k.tbl = r.oid
 ORDER BY 1)SQL";

const char *const kRootsQuery = R"SQL(
SELECT r.root_id, r.tbl::oid::int8, r.tbl::text, r.col::text,
       a.attnum IS NOT NULL, coalesce(a.atttypid = 'jsonb'::regtype, false),
       quote_ident(r.col) || test_cleanup._json_path_sql(r.path)
  FROM test_cleanup.root r
  LEFT JOIN pg_attribute a
         ON a.attrelid = r.tbl AND a.attname = r.col AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY r.root_id)SQL";

// One row per edge and key column position, ordered so an edge's rows are adjacent.
const char *const kEdgesQuery = R"SQL(
SELECT 'f', con.oid::int8, 'foreign key ' || quote_ident(con.conname),
       con.conrelid::int8, con.confrelid::int8, con.confdeltype::text,
       quote_ident(ca.attname), quote_ident(pa.attname), NULL, NULL, k.i,
       coalesce(cardinality(con.confdelsetcols), 0) > 0, false
  FROM pg_constraint con
 CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(ck, pk, i)
  JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.ck
  JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.pk
 WHERE con.contype = 'f' AND con.conparentid = 0
UNION ALL
SELECT 'l', l.link_id, 'link ' || l.link_id,
       l.dependent::oid::int8, l.owner::oid::int8, 'c',
       quote_ident(k.dc), quote_ident(k.oc), NULL, NULL, k.i, false, false
  FROM test_cleanup.link l
 CROSS JOIN LATERAL unnest(l.dependent_cols, l.owner_cols) WITH ORDINALITY AS k(dc, oc, i)
UNION ALL
SELECT 'L', l.listed_link_id, 'listed link ' || l.listed_link_id,
       l.dependent::oid::int8, l.owner::oid::int8, 'c',
       quote_ident(l.dependent_col), quote_ident(l.owner_col),
       test_cleanup._json_path_sql(l.array_path), quote_literal(l.element_key), 1, false,
       test_cleanup._has_gin_index(l.owner, quote_ident(l.owner_col) || test_cleanup._json_path_sql(l.array_path))
  FROM test_cleanup.listed_link l
 ORDER BY 1, 2, 11)SQL";

EdgeKind edge_kind(const std::string &code) {
  if (code == "f") return EdgeKind::foreign_key;
  if (code == "l") return EdgeKind::link;
  return EdgeKind::listed_link;
}

void load_tables(Spi &spi, Catalog &catalog) {
  const std::uint64_t rows = spi.run(kTablesQuery);
  for (std::uint64_t row = 0; row < rows; ++row) {
    const auto id = static_cast<TableId>(spi.int64_at(row, 0));
    if (spi.text_at(row, 1) == "t")
      throw UserError(
          "42P01",
          "test_cleanup: a rule refers to a table that no longer exists (OID " +
              std::to_string(id) + ")",
          "The table was dropped after the rule was registered.",
          "Remove its rules with SELECT test_cleanup.remove_rules(" + std::to_string(id) + ");");
    Table &table = catalog.tables[id];
    table.id = id;
    table.sql_name = spi.text_at(row, 2);
    table.display_name = spi.text_at(row, 3);
    table.report_key = spi.text_at(row, 4);
    table.relkind = spi.text_at(row, 5).at(0);
  }
}

void load_roots(Spi &spi, Catalog &catalog) {
  const std::uint64_t rows = spi.run(kRootsQuery);
  for (std::uint64_t row = 0; row < rows; ++row) {
    const std::string rule =
        "column \"" + spi.text_at(row, 3) + "\" of root table \"" + spi.text_at(row, 2) + "\"";
    if (spi.text_at(row, 4) != "t")
      throw UserError("42703", "test_cleanup: " + rule + " no longer exists", "",
                      "Remove the rule with DELETE FROM test_cleanup.root WHERE root_id = " +
                          std::to_string(spi.int32_at(row, 0)) +
                          "; and register the column that now holds the metadata.");
    if (spi.text_at(row, 5) != "t")
      throw UserError("42804", "test_cleanup: " + rule + " is no longer jsonb");
    Table &table = catalog.tables.at(static_cast<TableId>(spi.int64_at(row, 1)));
    table.metadata_objects.push_back(spi.text_at(row, 6));
    catalog.root_tables.push_back(table.id);
  }
  std::sort(catalog.root_tables.begin(), catalog.root_tables.end());
  catalog.root_tables.erase(std::unique(catalog.root_tables.begin(), catalog.root_tables.end()),
                            catalog.root_tables.end());
}

void load_edges(Spi &spi, Catalog &catalog) {
  const std::uint64_t rows = spi.run(kEdgesQuery);
  std::string previous;
  for (std::uint64_t row = 0; row < rows; ++row) {
    const std::string kind = spi.text_at(row, 0);
    const std::string key = kind + std::to_string(spi.int64_at(row, 1));
    if (key != previous) {
      Edge edge;
      edge.kind = edge_kind(kind);
      edge.name = spi.text_at(row, 2);
      edge.dependent = static_cast<TableId>(spi.int64_at(row, 3));
      edge.owner = static_cast<TableId>(spi.int64_at(row, 4));
      edge.on_delete = spi.text_at(row, 5).at(0);
      edge.array_path = spi.text_at(row, 8);
      edge.element_key = spi.text_at(row, 9);
      edge.sets_some_columns = spi.text_at(row, 11) == "t";
      edge.owner_lists_indexed = spi.text_at(row, 12) == "t";
      catalog.edges.push_back(std::move(edge));
      previous = key;
    }
    catalog.edges.back().dependent_cols.push_back(spi.text_at(row, 6));
    catalog.edges.back().owner_cols.push_back(spi.text_at(row, 7));
  }
}

}  // namespace

Catalog load_catalog(Spi &spi) {
  Catalog catalog;
  load_tables(spi, catalog);
  load_roots(spi, catalog);
  load_edges(spi, catalog);
  return catalog;
}

}  // namespace test_cleanup
