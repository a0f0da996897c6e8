// Client mode runs a plan inside the server as one PL/pgSQL function in pg_temp, so the
// doomed key sets stay in the server (typed array variables, passed to each step as its
// parameters exactly as the extension passes them through SPI) and a cleanup costs one
// round trip however many steps and rows it has. The function does what the extension's
// executor (extension/execute.cpp) does between the steps: skips steps with nothing to
// find, picks the form for few rows, adds up the counts. It raises nothing of its own:
// what a step finds wrong, and a PostgreSQL error with the step it happened in, come back
// as output columns, and the client builds the same error the extension raises
// (planner/outcome.hpp) and rolls the transaction back.
//
// The body holds no text from the database except type names (format_type's, quoted by
// the server); the step SQL arrives as a parameter. Every function and operator it calls
// is schema-qualified: it runs with the database's search_path, as user triggers must.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "model.hpp"
#include "plan.hpp"

namespace test_cleanup::client {

// Its signature, fixed for every plan (CREATE OR REPLACE keeps it):
//   (marker text, session text, dry_run boolean, statements jsonb, trigger_search_path text)
//   It sets the search_path user triggers run with for its steps, and the cleanup's own
//   (pg_catalog, pg_temp) again when it returns normally (a failure is rolled back).
//   OUT deleted int8[], OUT collateral int8[]    per slot (PlanFunction::slots)
//   OUT warn_slots int4[], OUT warn_rows int8[], OUT warn_keys text[]   a dry run's findings
//   OUT failed_step int4, OUT failed_kind int4, OUT failed_slot int4, OUT failed_rows int8,
//   OUT failed_keys text                         what stopped it (kind: FailedKind)
//   OUT error_fields text[]   a PostgreSQL error: sqlstate, message, detail, hint,
//                             constraint, table
extern const char *const kFunctionName;
extern const char *const kFunctionArguments;  // the IN arguments, for CREATE and DROP
extern const char *const kFunctionOutputs;

// sweep_rounds: failed_keys lists the slots whose last sweep round still found rows.
enum class FailedKind {
  none = 0,
  changed_rows = 1,
  leftovers = 2,
  protected_rows = 3,
  sweep_rounds = 4
};

struct PlanFunction {
  std::string body;
  nlohmann::json statements;   // the $4 argument: the steps' SQL
  std::vector<TableId> slots;  // deleted[i + 1] and collateral[i + 1] count slots[i]
};

// `array_types`: the array type's name of each carried column's type. Stages the client
// does not run (transient indexes) are left out.
PlanFunction plan_function(const Catalog &catalog, const Plan &plan,
                           const std::map<TypeId, std::string> &array_types);

}  // namespace test_cleanup::client
