// The catalog reader's database outside the server: queries over libpq, and the type and
// operator facts the server's caches give the extension, asked once per type and operator.
#pragma once

#include <libpq-fe.h>

#include <map>

#include "catalog_source.hpp"

namespace test_cleanup::client {

class PgCatalogSource final : public CatalogSource {
 public:
  explicit PgCatalogSource(PGconn *conn) : conn_(conn) {}
  TextRows query(const std::string &sql,
                 const std::vector<std::optional<std::string>> &params) override;
  std::string qualified_operator(OperatorId opr) override;
  OperatorId default_equality(TypeId type) override;
  bool collatable(TypeId type) override;

 private:
  PGconn *conn_;
  std::map<OperatorId, std::string> operators_;
  std::map<TypeId, OperatorId> equalities_;
  std::map<TypeId, bool> collatable_;
};

}  // namespace test_cleanup::client
