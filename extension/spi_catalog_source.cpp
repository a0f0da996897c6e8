#include "spi_catalog_source.hpp"

#include <stdexcept>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace test_cleanup {

static_assert(kOidType == OIDOID && kTidType == TIDOID && kTidEqualOperator == TIDEqualOperator,
              "catalog_source.hpp's fixed OIDs differ from this server's");

TextRows SpiCatalogSource::query(const std::string &sql,
                                 const std::vector<std::optional<std::string>> &params) {
  SpiParams spi_params;
  for (const std::optional<std::string> &param : params)
    spi_params.add_text(param ? &*param : nullptr);
  const std::uint64_t count = spi_.run(sql, spi_params);
  const int columns = spi_.columns();
  TextRows result;
  result.rows.reserve(count);
  for (std::uint64_t row = 0; row < count; ++row) {
    std::vector<std::optional<std::string>> values;
    values.reserve(columns);
    for (int col = 0; col < columns; ++col)
      values.push_back(spi_.is_null(row, col) ? std::nullopt
                                              : std::optional<std::string>(spi_.text_at(row, col)));
    result.rows.push_back(std::move(values));
  }
  return result;
}

std::string SpiCatalogSource::qualified_operator(OperatorId opr) {
  const char *text = pg_call([opr]() -> const char * {
    HeapTuple tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(opr));
    if (!HeapTupleIsValid(tuple)) return nullptr;
    Form_pg_operator form = reinterpret_cast<Form_pg_operator>(GETSTRUCT(tuple));
    const char *name =
        psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(form->oprnamespace)),
                 NameStr(form->oprname));
    ReleaseSysCache(tuple);
    return name;
  });
  if (!text) throw std::runtime_error("operator " + std::to_string(opr) + " not found");
  return text;
}

OperatorId SpiCatalogSource::default_equality(TypeId type) {
  return pg_call([type] { return lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr; });
}

bool SpiCatalogSource::collatable(TypeId type) {
  return pg_call([type] { return type_is_collatable(type); });
}

}  // namespace test_cleanup
