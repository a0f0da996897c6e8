// A backend-local cache of the catalog and its plans, so that a cleanup's fixed cost
// follows the work rather than the size of the schema (a 1,370-table graph took 0.3 s to
// read and plan on every call). As PostgreSQL's own foreign key triggers cache their
// constraints, the cache is dropped whenever PostgreSQL broadcasts a change to a relation,
// constraint, operator, type or schema; the rule tables, which plain DML changes without
// any such message, are compared by content at every call.
#pragma once

#include <memory>

#include "model.hpp"
#include "plan.hpp"
#include "spi.hpp"

namespace test_cleanup {

struct Cache;

// The catalog and the plan of one call. `holder` keeps them alive while the call runs,
// even if a nested call (a user trigger that cleans) replaces the cache meanwhile.
struct CachedPlan {
  std::shared_ptr<Cache> holder;
  const Catalog *catalog = nullptr;
  const Plan *plan = nullptr;
  // Kept plans of the steps without doomed-row inputs (locks, seeds), made on first use.
  std::vector<KeptPlan> *kept = nullptr;
};

// The catalog and the plan for `options`, loaded or planned when anything they depend on
// changed. Throws as load_catalog and plan_cleanup do (nothing is cached then).
CachedPlan cached_plan(Spi &spi, const PlanOptions &options);

// Registers the invalidation callbacks; call once, from _PG_init.
void register_plan_cache_callbacks();

}  // namespace test_cleanup
