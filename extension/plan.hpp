// The planner: schema graph + request -> the ordered SQL steps of one cleanup. Pure C++
// (no SPI, no PostgreSQL headers): the same catalog always yields the same plan, and the
// number of steps depends on the schema only, never on the number of rows.
#pragma once

#include <string>
#include <vector>

#include "errors.hpp"
#include "model.hpp"

namespace test_cleanup {

// Every statement of a plan takes the same leading parameters; doomed-row arrays follow.
//   $1 text   the marker (setting test_cleanup.marker)
//   $2 text   the test session id, NULL when cleaning every session
//   $3...     tid[]: the doomed rows of the tables in Step::inputs, in order
constexpr int kFirstInputParam = 3;

enum class Stage {
  lock,          // advisory lock for the session; table locks for links without foreign keys
                 // (with skip_fk_checks: for every table the cleanup writes)
  seed,          // lock the marked roots (FOR UPDATE) and collect them
  closure,       // grow the doomed set of a table from its owners' doomed sets
  cycle,         // grow the doomed sets of tables that reference each other, to a fixed point
  triggers_off,  // skip_fk_checks: session_replication_role = replica from here on
  set_null,      // skip_fk_checks: what ON DELETE SET NULL / SET DEFAULT would have done
  remove,        // delete the doomed rows, dependents before owners, and count them
};

const char *stage_name(Stage stage);

// What a step's result rows mean:
//   seed, closure, cycle:          (tab int4, doomed tid[]) -- the new doomed rows of
//                                  Step::tables[tab]; a table not mentioned has none
//   remove:                        (tab int4, deleted int8, collateral int8)
//   lock, triggers_off, set_null:  nothing
struct Step {
  Stage stage = Stage::lock;
  std::vector<TableId> tables;  // the tables it works on (results, error messages)
  std::vector<TableId> inputs;  // whose doomed rows it takes as $3, $4, ...
  std::string sql;
};

struct Plan {
  std::vector<TableId> tables;  // every table the cleanup may delete from, owners first
  std::vector<Step> steps;
};

// Throws UserError when the rules cannot be planned (no root, a cycle through a listed
// link, a table that is not an ordinary table).
Plan plan_cleanup(const Catalog &catalog, const Request &request);

}  // namespace test_cleanup
