#include "spi.hpp"

#include <stdexcept>

extern "C" {
#include "executor/spi.h"
#include "utils/builtins.h"
}

namespace test_cleanup {

void SpiParams::add(Oid type, Datum value, bool is_null) {
  types.push_back(type);
  values.push_back(value);
  nulls.push_back(is_null ? 'n' : ' ');
}

void SpiParams::add_text(const std::string *text) {
  if (!text) return add(TEXTOID, static_cast<Datum>(0), true);
  const char *chars = text->c_str();
  add(TEXTOID, pg_call([chars] { return CStringGetTextDatum(chars); }));
}

void Spi::connect() {
  int rc = pg_call([] { return SPI_connect(); });
  if (rc != SPI_OK_CONNECT) throw std::runtime_error("SPI_connect failed");
}

void Spi::finish() {
  int rc = pg_call([] { return SPI_finish(); });
  if (rc != SPI_OK_FINISH) throw std::runtime_error("SPI_finish failed");
}

std::uint64_t Spi::run(const std::string &sql, const SpiParams &params) {
  const int nargs = static_cast<int>(params.types.size());
  int rc = pg_call([&sql, &params, nargs] {
    if (SPI_tuptable) SPI_freetuptable(SPI_tuptable);
    return SPI_execute_with_args(sql.c_str(), nargs, const_cast<Oid *>(params.types.data()),
                                 const_cast<Datum *>(params.values.data()), params.nulls.c_str(),
                                 false, 0);
  });
  if (rc < 0)
    throw std::runtime_error(std::string("SPI could not run a statement: ") +
                             SPI_result_code_string(rc));
  return SPI_processed;
}

std::uint64_t Spi::run(KeptPlan plan, const SpiParams &params) {
  int rc = pg_call([plan, &params] {
    if (SPI_tuptable) SPI_freetuptable(SPI_tuptable);
    return SPI_execute_plan(static_cast<SPIPlanPtr>(plan),
                            const_cast<Datum *>(params.values.data()), params.nulls.c_str(), false,
                            0);
  });
  if (rc < 0)
    throw std::runtime_error(std::string("SPI could not run a kept statement: ") +
                             SPI_result_code_string(rc));
  return SPI_processed;
}

std::uint64_t Spi::run_fixed(KeptPlan &slot, const char *sql, const SpiParams &params) {
  if (!slot) slot = keep(sql, params.types);
  return run(slot, params);
}

KeptPlan Spi::keep(const std::string &sql, const std::vector<Oid> &types) {
  const int nargs = static_cast<int>(types.size());
  SPIPlanPtr plan = pg_call([&sql, &types, nargs] {
    SPIPlanPtr prepared = SPI_prepare(sql.c_str(), nargs, const_cast<Oid *>(types.data()));
    if (prepared && SPI_keepplan(prepared) != 0) prepared = nullptr;
    return prepared;
  });
  if (!plan)
    throw std::runtime_error(std::string("SPI could not prepare a statement: ") +
                             SPI_result_code_string(SPI_result));
  return plan;
}

void Spi::free_kept(KeptPlan plan) {
  pg_call([plan] { SPI_freeplan(static_cast<SPIPlanPtr>(plan)); });
}

namespace {

Datum value_at(std::uint64_t row, int col, bool *is_null) {
  if (!SPI_tuptable || row >= SPI_processed) throw std::out_of_range("SPI result row out of range");
  return pg_call([row, col, is_null] {
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col + 1, is_null);
  });
}

Datum non_null_value_at(std::uint64_t row, int col) {
  bool is_null = false;
  Datum value = value_at(row, col, &is_null);
  if (is_null) throw std::runtime_error("unexpected NULL in an SPI result");
  return value;
}

}  // namespace

int Spi::columns() const {
  return SPI_tuptable ? SPI_tuptable->tupdesc->natts : 0;
}

bool Spi::is_null(std::uint64_t row, int col) const {
  bool is_null = false;
  value_at(row, col, &is_null);
  return is_null;
}

std::int32_t Spi::int32_at(std::uint64_t row, int col) const {
  return DatumGetInt32(non_null_value_at(row, col));
}

std::int64_t Spi::int64_at(std::uint64_t row, int col) const {
  return DatumGetInt64(non_null_value_at(row, col));
}

double Spi::float8_at(std::uint64_t row, int col) const {
  return DatumGetFloat8(non_null_value_at(row, col));
}

std::string Spi::text_at(std::uint64_t row, int col) const {
  if (is_null(row, col)) return std::string();
  const char *text = pg_call(
      [row, col] { return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col + 1); });
  return std::string(text);
}

Datum Spi::datum_copy_at(std::uint64_t row, int col) const {
  Datum value = non_null_value_at(row, col);
  return pg_call([value] { return SPI_datumTransfer(value, false, -1); });
}

}  // namespace test_cleanup
