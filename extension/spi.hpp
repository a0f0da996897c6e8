// A thin SPI client for C++ code: every call goes through pg_call(), so a PostgreSQL error
// arrives as a PgError exception and a result arrives as plain C++ values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boundary.hpp"

namespace test_cleanup {

struct SpiParams {
  std::vector<Oid> types;
  std::vector<Datum> values;
  std::string nulls;  // ' ' = value, 'n' = NULL, as SPI wants it

  void add(Oid type, Datum value, bool is_null = false);
  void add_text(const std::string *text);  // nullptr adds a NULL
};

// A statement parsed and planned once and kept across transactions (SPI_keepplan), for
// statements whose parameters are scalars, where a generic plan is as good as any.
using KeptPlan = void *;

// One SPI connection. There is no destructor that finishes it: on an error the
// transaction abort releases it, and a destructor must never call into PostgreSQL.
class Spi {
 public:
  void connect();
  void finish();

  // Runs one statement; its rows stay readable until the next run() or finish().
  std::uint64_t run(const std::string &sql, const SpiParams &params);
  std::uint64_t run(const std::string &sql) { return run(sql, SpiParams{}); }
  std::uint64_t run(KeptPlan plan, const SpiParams &params);

  // A fixed statement of the extension's own, planned once per backend and kept in `slot`.
  std::uint64_t run_fixed(KeptPlan &slot, const char *sql, const SpiParams &params);
  std::uint64_t run_fixed(KeptPlan &slot, const char *sql) { return run_fixed(slot, sql, {}); }

  // Requires a connection; the plan outlives it until free_kept().
  static KeptPlan keep(const std::string &sql, const std::vector<Oid> &types);
  static void free_kept(KeptPlan plan);

  int columns() const;  // of the last result
  bool is_null(std::uint64_t row, int col) const;
  std::int32_t int32_at(std::uint64_t row, int col) const;
  std::int64_t int64_at(std::uint64_t row, int col) const;
  double float8_at(std::uint64_t row, int col) const;
  std::string text_at(std::uint64_t row, int col) const;  // "" for NULL
  // A copy of a pass-by-reference value that outlives this connection (it lives in the
  // memory context that was current at connect()).
  Datum datum_copy_at(std::uint64_t row, int col) const;
};

}  // namespace test_cleanup
