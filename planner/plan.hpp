// The planner: schema graph + request -> the ordered SQL steps of one cleanup. Pure C++
// (no SPI, no PostgreSQL headers): the same catalog always yields the same plan, and the
// number of steps depends on the schema only, never on the number of rows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "errors.hpp"
#include "model.hpp"

namespace test_cleanup {

// Every statement of a plan takes the same leading parameters; doomed-row arrays follow.
//   $1 text   the marker (setting test_cleanup.marker)
//   $2 text   the test session id, NULL when cleaning every session
//   $3...     for each table in Step::inputs, in order, one array per column that
//             Plan::carried lists for it: the doomed rows, row i across the arrays
constexpr int kFirstInputParam = 3;

enum class Stage {
  lock,            // advisory lock for the session; table locks where rows cannot be locked
                   // (Plan::row_locks false); Citus's modify mode
  seed,            // lock the marked roots (FOR UPDATE, in key order) and collect them
  closure,         // grow the doomed set of a table from its owners' doomed sets (and, with
                   // row locks, lock those rows in key order)
  cycle,           // grow the doomed sets of tables that reference each other, to a fixed point
  protect,         // a protected table's doomed rows that are not marked: refuse (or warn)
  index,           // build the transient indexes that pay (Step::indexes), before the lookups
  skip_fk_checks,  // the opt-in: session_replication_role = replica from here on
  set_null,        // what ON DELETE SET NULL / SET DEFAULT does to surviving rows, done first
  remove,          // delete the doomed rows, dependents before owners, and count them
  verify,          // after the deletes: no doomed row may still exist
  sweep,           // after the deletes: rows that attached meanwhile through links (see Plan)
  drop_index,      // drop the transient indexes built before
};

const char *stage_name(Stage stage);

// What a step's result rows mean.
enum class Result {
  none,
  doomed,          // one row: for each of Step::tables, its carried columns' arrays (NULL: none)
  counts,          // (tab int4, deleted int8, collateral int8), tab indexing Step::tables
  leftovers,       // one row: (count int8, a few keys as text) of Step::tables[0] still present
  protected_rows,  // the same shape: doomed rows of protected Step::tables[0] not marked
  any_rows,        // one row, one boolean: whether the sweep has anything to find (below)
};

// An index the database lacks and a cleanup may build for its own transaction (setting
// test_cleanup.transient_indexes), dropped before it returns: without it, each lookup of
// one owner's rows reads the whole table. PostgreSQL's foreign key triggers look up once
// per deleted owner row (to check, cascade or set null); a cycle step once per row it adds.
struct TransientIndex {
  TableId table = 0;
  std::vector<Column> columns;
  std::string column_names;     // unquoted, as PostgreSQL prints a name[]
  std::vector<TableId> owners;  // one lookup per doomed row of each
  std::string used_by;          // the edges that look up, for explain and the notice
};

// Whether building an index pays for `lookups` lookups in a table of `pages` pages and
// `tuples` rows: the scans it saves (each reads every page and row) cost more than twice
// its build (a read, a sort, the writes, a fixed cost for the DDL and its drop), in the
// planner's units. Twice, because an index also blocks the table's writers and its drop
// makes every plan of the table be made again. Measured here (PostgreSQL 15): a build
// costs 5 to 6 scans from 10,000 to 1,000,000 rows, so from about 12 lookups on it pays.
bool transient_index_pays(std::int64_t lookups, double pages, double tuples);

struct Step {
  Stage stage = Stage::lock;
  Result result = Result::none;
  std::vector<TableId> tables;  // the tables it works on (results, error messages)
  std::vector<TableId> inputs;  // whose doomed rows it takes as $3, $4, ...
  std::string sql;
  // When not empty: the statement to run instead when the inputs hold fewer than
  // kFewRows doomed rows (a form that probes per row, where `sql` lets the planner choose).
  std::string sql_for_few = {};
  // Verify steps of tables no trigger or rule can make keep a row: needed only when the
  // table's delete removed fewer rows than its doomed set holds.
  bool only_if_short = false;
  // Cycle steps where Citus refuses a recursive statement (a distributed table in the
  // group): the statement finds the rows one round adds, and runs until a round adds none.
  // Its parameters are the inputs' doomed rows so far ($3...), then the same columns
  // again for the rows the previous round added (at first, all of them); its result, like
  // a doomed step's, holds only the rows new in this round.
  bool iterate = false;
  // Stage::index: the indexes to build where they pay, given the doomed rows found so far.
  std::vector<TransientIndex> indexes = {};
  // Steps of the sweep (Plan::sweep_begin): tables whose rows the current sweep round
  // added, passed after the inputs' arrays (the same columns); the step runs when its
  // inputs or these hold a row.
  std::vector<TableId> added = {};
  // A doomed step of the sweep: its rows are new, added to the tables' doomed sets and to
  // the round's additions instead of replacing the sets.
  bool appends = false;
};

// Below this many input rows a step is small: its probes finish before parallel workers
// start, and a probe per row beats reading a whole table.
constexpr std::int64_t kFewRows = 1000;

struct Plan {
  std::vector<TableId> tables;  // every table the cleanup may delete from, owners first
  // The columns each plan table's doomed rows carry: its key, then the columns its
  // dependents are matched on.
  std::map<TableId, std::vector<Column>> carried;
  std::vector<Step> steps;
  // Row locks (the default): doomed rows are locked FOR UPDATE in key order, table by
  // table in plan order, so cleanups whose collateral overlaps wait for each other instead
  // of deadlocking (README's Limits names the exceptions), and no table is locked. A row that
  // points at a doomed owner through a link (no foreign key waits for the owner's lock) may
  // commit meanwhile: the sweep, steps [sweep_begin, sweep_end), finds such rows in a fresh
  // snapshot, with what depends on them, and deletes them; its executor repeats it until a
  // round adds no row (at most kMaxSweepRounds). Empty when nothing can attach so. Its first
  // step (Result::any_rows) asks in one statement whether any row reaches a doomed row
  // through a link: every row found before is locked, so only a link can bring a new one,
  // and where none does the round ends there (the common case costs that one statement).
  bool row_locks = true;
  size_t sweep_begin = 0, sweep_end = 0;
};

// A sweep that still finds new rows after this many rounds fails the cleanup: something
// keeps attaching rows to doomed owners as fast as they go.
constexpr int kMaxSweepRounds = 100;

// Throws UserError when the rules cannot be planned (no root, a cycle through a listed
// link, a table with ON DELETE rules on a cycle).
Plan plan_cleanup(const Catalog &catalog, const PlanOptions &options);

}  // namespace test_cleanup
