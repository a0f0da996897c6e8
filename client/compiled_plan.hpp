// A plan as client mode runs it and keeps it: the PL/pgSQL function with its statements,
// and of the catalog and the plan only what its results and errors name (tables' names and
// report keys, steps' stages and tables). Kept in test_cleanup.client_plan_cache under a
// fingerprint of the catalogs it was read from, so a CLI run, a new process each time,
// reads and plans the schema only when something it depends on changed.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "model.hpp"
#include "plan.hpp"
#include "plan_function.hpp"

namespace test_cleanup::client {

struct CompiledPlan {
  Catalog catalog;  // tables with id, display_name and report_key only
  Plan plan;        // tables, and steps with stage and tables only
  PlanFunction function;
};

// From a freshly read catalog and its plan.
CompiledPlan compile(const Catalog &catalog, const Plan &plan, PlanFunction function);

nlohmann::json to_json(const CompiledPlan &compiled);
// Throws nlohmann::json::exception when `json` is not what to_json() wrote.
CompiledPlan compiled_from_json(const nlohmann::json &json);

// The catalogs and rules a plan is read from, as one text that changes whenever any of them
// does: each catalog's row count and the sum of its rows' creating transaction ids (an
// update or a new row brings a newer one; DDL that the plan depends on writes rows of
// these catalogs), and the rule tables' contents. Types and operators are left out: a plan
// naming one that changed fails loudly, it cannot delete the wrong rows.
const std::string &fingerprint_sql();

}  // namespace test_cleanup::client
