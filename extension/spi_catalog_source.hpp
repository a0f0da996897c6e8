// The catalog reader's database inside the server: queries through SPI, type and operator
// facts from PostgreSQL's caches.
#pragma once

#include "catalog_source.hpp"
#include "spi.hpp"

namespace test_cleanup {

class SpiCatalogSource final : public CatalogSource {
 public:
  explicit SpiCatalogSource(Spi &spi) : spi_(spi) {}
  TextRows query(const std::string &sql,
                 const std::vector<std::optional<std::string>> &params) override;
  std::string qualified_operator(OperatorId opr) override;
  OperatorId default_equality(TypeId type) override;
  bool collatable(TypeId type) override;

 private:
  Spi &spi_;
};

}  // namespace test_cleanup
