#include "pg_catalog_source.hpp"

#include <stdexcept>

#include "connection.hpp"

namespace test_cleanup::client {

namespace {

const char *const kOperatorQuery = R"SQL(
SELECT pg_catalog.format('OPERATOR(%s.%s)', pg_catalog.quote_ident(n.nspname), o.oprname)
  FROM pg_catalog.pg_operator o
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
 WHERE o.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid)SQL";

// What the server's type cache answers (TYPECACHE_EQ_OPR): the equality of the default btree
// operator class of the type (a domain: of its base type), else of the default hash class;
// a class declared for a type it is binary-coercible to (varchar: text's), or for the
// polymorphic type of its kind (arrays, enums, ranges, composite types), counts too.
const char *const kDefaultEqualityQuery = R"SQL(
WITH RECURSIVE base(oid, depth) AS (
    SELECT $1::pg_catalog.oid, 0
    UNION ALL
    SELECT t.typbasetype, b.depth OPERATOR(pg_catalog.+) 1
      FROM pg_catalog.pg_type t JOIN base b ON t.oid OPERATOR(pg_catalog.=) b.oid
     WHERE t.typbasetype OPERATOR(pg_catalog.<>) 0),
typ AS (SELECT t.* FROM pg_catalog.pg_type t
         WHERE t.oid OPERATOR(pg_catalog.=) (SELECT b.oid FROM base b ORDER BY b.depth DESC LIMIT 1))
SELECT o.amopopr
  FROM typ, pg_catalog.pg_opclass c
  JOIN pg_catalog.pg_am am ON am.oid OPERATOR(pg_catalog.=) c.opcmethod
  JOIN pg_catalog.pg_amop o ON o.amopfamily OPERATOR(pg_catalog.=) c.opcfamily
                           AND o.amoplefttype OPERATOR(pg_catalog.=) c.opcintype
                           AND o.amoprighttype OPERATOR(pg_catalog.=) c.opcintype
                           AND o.amopstrategy OPERATOR(pg_catalog.=)
                               CASE WHEN am.amname OPERATOR(pg_catalog.=) 'btree' THEN 3 ELSE 1 END
 WHERE c.opcdefault AND am.amname OPERATOR(pg_catalog.=) ANY ('{btree,hash}')
   AND (c.opcintype OPERATOR(pg_catalog.=) typ.oid
        OR EXISTS (SELECT FROM pg_catalog.pg_cast k
                    WHERE k.castsource OPERATOR(pg_catalog.=) typ.oid
                      AND k.casttarget OPERATOR(pg_catalog.=) c.opcintype
                      AND k.castmethod OPERATOR(pg_catalog.=) 'b')
        OR c.opcintype OPERATOR(pg_catalog.=) CASE
               WHEN typ.typcategory OPERATOR(pg_catalog.=) 'A' THEN 'pg_catalog.anyarray'::pg_catalog.regtype
               WHEN typ.typtype OPERATOR(pg_catalog.=) 'e' THEN 'pg_catalog.anyenum'::pg_catalog.regtype
               WHEN typ.typtype OPERATOR(pg_catalog.=) 'r' THEN 'pg_catalog.anyrange'::pg_catalog.regtype
               WHEN typ.typtype OPERATOR(pg_catalog.=) 'm' THEN 'pg_catalog.anymultirange'::pg_catalog.regtype
               WHEN typ.typtype OPERATOR(pg_catalog.=) 'c' THEN 'pg_catalog.record'::pg_catalog.regtype
           END)
 ORDER BY am.amname OPERATOR(pg_catalog.=) 'btree' DESC, c.opcintype OPERATOR(pg_catalog.=) typ.oid DESC
 LIMIT 1)SQL";

const char *const kCollatableQuery =
    "SELECT t.typcollation OPERATOR(pg_catalog.<>) 0 FROM pg_catalog.pg_type t "
    "WHERE t.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid";

}  // namespace

TextRows PgCatalogSource::query(const std::string &sql,
                                const std::vector<std::optional<std::string>> &params) {
  return exec(conn_, sql, params);
}

std::string PgCatalogSource::qualified_operator(OperatorId opr) {
  auto found = operators_.find(opr);
  if (found != operators_.end()) return found->second;
  const TextRows rows = exec(conn_, kOperatorQuery, {std::to_string(opr)});
  if (rows.size() == 0) throw std::runtime_error("operator " + std::to_string(opr) + " not found");
  return operators_[opr] = rows.text(0, 0);
}

OperatorId PgCatalogSource::default_equality(TypeId type) {
  auto found = equalities_.find(type);
  if (found != equalities_.end()) return found->second;
  const TextRows rows = exec(conn_, kDefaultEqualityQuery, {std::to_string(type)});
  return equalities_[type] = rows.size() ? static_cast<OperatorId>(rows.int64(0, 0)) : 0;
}

bool PgCatalogSource::collatable(TypeId type) {
  auto found = collatable_.find(type);
  if (found != collatable_.end()) return found->second;
  const TextRows rows = exec(conn_, kCollatableQuery, {std::to_string(type)});
  return collatable_[type] = rows.size() && rows.text(0, 0) == "t";
}

}  // namespace test_cleanup::client
