#include "plan_cache.hpp"

#include <map>
#include <memory>
#include <tuple>
#include <utility>

#include "catalog.hpp"
#include "spi_catalog_source.hpp"

extern "C" {
#include "storage/sinval.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace test_cleanup {

namespace {

// Everything the rule tables hold, as text: equal text, equal rules.
const char *const kRulesFingerprintQuery = R"SQL(
SELECT concat_ws(E'\n',
    (SELECT string_agg(r::text, ' ' ORDER BY r.root_id) FROM test_cleanup.root r),
    (SELECT string_agg(l::text, ' ' ORDER BY l.link_id) FROM test_cleanup.link l),
    (SELECT string_agg(l::text, ' ' ORDER BY l.listed_link_id) FROM test_cleanup.listed_link l),
    (SELECT string_agg(k::text, ' ' ORDER BY k.tbl) FROM test_cleanup.report_key k),
    (SELECT string_agg(p.tbl::oid::text, ' ' ORDER BY p.tbl) FROM test_cleanup.protected p)))SQL";

}  // namespace

struct Cache {
  std::string rules;
  Catalog catalog;
  // By PlanOptions (all_sessions, skip_fk_checks, lock_tables).
  std::map<std::tuple<bool, bool, bool>, Plan> plans;
  std::map<std::tuple<bool, bool, bool>, std::vector<KeptPlan>> kept;  // by step index
};

namespace {

std::shared_ptr<Cache> cache;
// Replaced caches whose kept plans wait to be freed until no call holds them any more (a
// destructor must not call into PostgreSQL, so this happens at the next call instead).
std::vector<std::shared_ptr<Cache>> retired;

void free_retired() {
  for (auto it = retired.begin(); it != retired.end();) {
    if (it->use_count() > 1) {
      ++it;
      continue;
    }
    for (auto &[key, plans] : (*it)->kept)
      for (KeptPlan &plan : plans)
        if (plan) Spi::free_kept(std::exchange(plan, nullptr));
    it = retired.erase(it);
  }
}
// Set by the callbacks, which may run inside PostgreSQL's invalidation processing and so
// must neither allocate nor throw: the cache is dropped at the next call.
volatile bool stale = true;

void mark_stale_relcache(Datum, Oid) {
  stale = true;
}
void mark_stale_syscache(Datum, int, uint32) {
  stale = true;
}

}  // namespace

CachedPlan cached_plan(Spi &spi, const PlanOptions &options) {
  // Changes committed since this transaction last looked: their messages clear the cache.
  pg_call([] { AcceptInvalidationMessages(); });
  static KeptPlan fingerprint;
  spi.run_fixed(fingerprint, kRulesFingerprintQuery);
  std::string rules = spi.text_at(0, 0);
  if (stale || !cache || cache->rules != rules) {
    if (cache) retired.push_back(std::move(cache));
    stale = false;
    auto fresh = std::make_shared<Cache>();
    fresh->rules = std::move(rules);
    SpiCatalogSource source(spi);
    fresh->catalog = load_catalog(source);
    // A change that arrived while loading leaves it stale: use it once, load again next time.
    cache = std::move(fresh);
  }
  free_retired();
  const auto key =
      std::make_tuple(options.all_sessions, options.skip_fk_checks, options.lock_tables);
  auto found = cache->plans.find(key);
  if (found == cache->plans.end()) {
    found = cache->plans.emplace(key, plan_cleanup(cache->catalog, options)).first;
    cache->kept[key].assign(found->second.steps.size(), nullptr);
  }
  return CachedPlan{cache, &cache->catalog, &found->second, &cache->kept.at(key)};
}

void register_plan_cache_callbacks() {
  CacheRegisterRelcacheCallback(mark_stale_relcache, static_cast<Datum>(0));
  for (int syscache : {CONSTROID, OPEROID, TYPEOID, NAMESPACEOID, COLLOID})
    CacheRegisterSyscacheCallback(syscache, mark_stale_syscache, static_cast<Datum>(0));
}

}  // namespace test_cleanup
