// What reading the catalog needs from a database, behind one interface so the same reader
// runs inside the server (SPI, extension/spi_catalog_source.cpp) and outside it (libpq,
// client/pg_catalog_source.cpp): the rows of a query as text, and three facts about types
// and operators that the server knows from its caches and a client asks for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model.hpp"

namespace test_cleanup {

using OperatorId = std::uint32_t;

// OIDs fixed in PostgreSQL's initial catalog (pg_type.dat, pg_operator.dat); the SPI
// source checks them against the server headers at compile time.
constexpr TypeId kOidType = 26;
constexpr TypeId kTidType = 27;
constexpr OperatorId kTidEqualOperator = 387;

// A query's result as PostgreSQL's text output: one optional string per column (none:
// NULL).
struct TextRows {
  std::vector<std::vector<std::optional<std::string>>> rows;

  std::uint64_t size() const { return rows.size(); }
  bool is_null(std::uint64_t row, int col) const { return !rows.at(row).at(col).has_value(); }
  const std::string &text(std::uint64_t row, int col) const;  // "" for NULL
  std::int64_t int64(std::uint64_t row, int col) const;       // throws on NULL
};

class CatalogSource {
 public:
  // Runs `sql` with text parameters (none: NULL), $1, $2, ... in order.
  virtual TextRows query(const std::string &sql,
                         const std::vector<std::optional<std::string>> &params = {}) = 0;
  // `OPERATOR(schema.name)` for an operator, as PostgreSQL's own foreign key queries write
  // it; throws when there is no such operator.
  virtual std::string qualified_operator(OperatorId opr) = 0;
  // The equality operator of a type's default btree (else hash) operator class; 0: none.
  virtual OperatorId default_equality(TypeId type) = 0;
  virtual bool collatable(TypeId type) = 0;

 protected:
  ~CatalogSource() = default;
};

}  // namespace test_cleanup
