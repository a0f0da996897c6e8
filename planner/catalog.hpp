// Reads the rule catalog (schema test_cleanup) and the foreign keys of the database into
// the plain graph the planner works on. Foreign keys are read at every call, so the
// extension follows schema changes without re-registration.
#pragma once

#include "catalog_source.hpp"
#include "model.hpp"

namespace test_cleanup {

// Throws UserError when a rule refers to a table or column that no longer fits it.
Catalog load_catalog(CatalogSource &source);

}  // namespace test_cleanup
