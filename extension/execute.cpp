// nlohmann/json first: PostgreSQL's port.h redefines snprintf, which the library uses.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <map>
#include <memory>
#include <sstream>

#include "execute.hpp"

#include "errors.hpp"
#include "outcome.hpp"
#include "plan.hpp"
#include "plan_cache.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
}

namespace test_cleanup {

namespace {

// Adds where the cleanup was to a PostgreSQL error's DETAIL: the stage, the tables of the
// step and the constraint when PostgreSQL names one.
void add_stage_to_detail(ErrorData *edata, const Catalog &catalog, const Step &step) {
  const std::string where =
      stage_detail(catalog, step, edata->constraint_name ? edata->constraint_name : "",
                   edata->constraint_name && edata->table_name ? edata->table_name : "");
  const std::string detail = edata->detail ? std::string(edata->detail) + "\n" + where : where;
  edata->detail = pg_call([&detail] { return pstrdup(detail.c_str()); });
}

// A closure step reading fewer than kFewRows doomed rows runs without parallel workers: a
// handful of index probes finish before workers start, yet the planner, misjudging how many
// owners a JSON list probe finds, parallelises them (70 instead of 20 ms for a tiny session
// at 10M rows). Larger steps keep the caller's setting (a 10 % faster large session).
const char *const kParallelSetting = "max_parallel_workers_per_gather";

// The search_path user triggers see while the cleanup's statements run: the database's
// own (kDatabaseSearchPathQuery), else the server's (postgresql.conf, ALTER SYSTEM), else
// the built-in default; never one the caller or the caller's role set. The cleanup's own
// statements are schema-qualified throughout, so this path reaches only user code. The
// server's value costs a read of the configuration files, so it is kept until the
// configuration is reloaded.
const char *const kServerSearchPathQuery = R"SQL(
SELECT coalesce(
    (SELECT f.setting FROM pg_catalog.pg_file_settings f
      WHERE f.name OPERATOR(pg_catalog.=) 'search_path' AND f.applied
      ORDER BY f.seqno DESC LIMIT 1),
    (SELECT boot_val FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) 'search_path')))SQL";

std::string trigger_search_path(Spi &spi) {
  static std::string server_value, loaded_at;  // the server's value, and when it was read
  static KeptPlan database_value;
  spi.run_fixed(database_value, kDatabaseSearchPathQuery);
  if (!spi.is_null(0, 0)) return spi.text_at(0, 0);
  const std::string conf_load_time = spi.text_at(0, 1);
  if (conf_load_time != loaded_at) {
    spi.run(kServerSearchPathQuery);
    server_value = spi.text_at(0, 0);
    loaded_at = conf_load_time;
  }
  return server_value;
}

const char *const kOwnSearchPath = "pg_catalog, pg_temp";

// The size of each table in $1 (oid[]) as a scan reads it: pages now, rows estimated from
// the last ANALYZE's density (a never analyzed table: 50 rows a page), partitions summed;
// and whether the cleanup's role owns it (only an owner may index a table).
const char *const kTableSizesQuery = R"SQL(
SELECT t.oid::pg_catalog.int8, s.pages, s.tuples,
       pg_catalog.pg_has_role(c.relowner, 'USAGE')
  FROM pg_catalog.unnest($1::pg_catalog.oid[]) t(oid)
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.oid
 CROSS JOIN LATERAL (
       SELECT coalesce(pg_catalog.sum(l.pages), 0)::pg_catalog.float8,
              coalesce(pg_catalog.sum(CASE WHEN l.reltuples OPERATOR(pg_catalog.>=) 0
                                            AND l.relpages OPERATOR(pg_catalog.>) 0
                                           THEN l.reltuples OPERATOR(pg_catalog./) l.relpages
                                           ELSE 50 END OPERATOR(pg_catalog.*) l.pages), 0)::pg_catalog.float8
         FROM (SELECT pc.reltuples, pc.relpages,
                      pg_catalog.pg_relation_size(pc.oid)::pg_catalog.float8 OPERATOR(pg_catalog./)
                          pg_catalog.current_setting('block_size')::pg_catalog.float8 AS pages
                 FROM pg_catalog.pg_class pc
                WHERE pc.oid OPERATOR(pg_catalog.=) t.oid
                   OR pc.oid OPERATOR(pg_catalog.=) ANY (
                          SELECT p.relid FROM pg_catalog.pg_partition_tree(t.oid) p)) l
       ) s(pages, tuples))SQL";

// A name for a transient index on the table $1 that no relation in its schema has: one
// per backend and number, so concurrent cleanups never collide either. Quoted, and
// schema-qualified for the drop.
const char *const kIndexNameQuery = R"SQL(
SELECT pg_catalog.quote_ident(x.name), pg_catalog.format('%I.%I', n.nspname, x.name)
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 CROSS JOIN LATERAL (
       SELECT pg_catalog.concat('test_cleanup_transient_', pg_catalog.pg_backend_pid(), '_', i)
         FROM pg_catalog.generate_series(1, 1000) i
        WHERE NOT EXISTS (
              SELECT FROM pg_catalog.pg_class o
               WHERE o.relnamespace OPERATOR(pg_catalog.=) c.relnamespace
                 AND o.relname OPERATOR(pg_catalog.=)
                     pg_catalog.concat('test_cleanup_transient_', pg_catalog.pg_backend_pid(), '_', i))
        LIMIT 1) x(name)
 WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid)SQL";

// test_cleanup._index_state() of the table $1 (oid) and the columns $2 (name[]) now: an
// index this cleanup built on a partitioned table is on its partitions too.
const char *const kIndexStateQuery =
    "SELECT test_cleanup._index_state($1::pg_catalog.oid::pg_catalog.regclass, "
    "$2::pg_catalog.name[])::pg_catalog.text";

std::string column_list(const std::vector<Column> &columns) {
  std::string list;
  for (const Column &col : columns) list += (list.empty() ? "" : ", ") + col.name;
  return list;
}

// `12.3 ms`
std::string milliseconds(double ms) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(1) << ms << " ms";
  return text.str();
}

// `public.invoices (buyer_id)`
std::string index_label(const Catalog &catalog, const TransientIndex &index) {
  return catalog.tables.at(index.table).display_name + " (" + column_list(index.columns) + ")";
}

std::int64_t array_length(Datum array) {
  return pg_call([array] {
    ArrayType *a = DatumGetArrayTypeP(array);
    return static_cast<std::int64_t>(ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)));
  });
}

// SET LOCAL, as set_config(name, value, true) does: an error rolls it back with the rest.
void set_local(const char *name, const char *value) {
  pg_call([name, value] {
    set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
  });
}

// A transient index this cleanup built, to be dropped before it returns.
struct BuiltIndex {
  const TransientIndex *index = nullptr;
  std::string name;  // schema-qualified and quoted
  double build_ms = 0;
};

// A table's doomed rows: one array per carried column, row i across them.
struct Doomed {
  std::vector<Datum> arrays;
  std::vector<Oid> array_types;
  std::int64_t rows = 0;
};

class Cleanup {
 public:
  explicit Cleanup(const CleanupRequest &request) : request_(request) {}

  nlohmann::json run() {
    const auto started = std::chrono::steady_clock::now();
    spi_.connect();
    cached_ = cached_plan(
        spi_, PlanOptions{!request_.session, request_.skip_fk_checks, request_.lock_tables});
    catalog_ = cached_.catalog;
    plan_ = cached_.plan;

    const std::string search_path = trigger_search_path(spi_);
    parallel_ = pg_call([] { return GetConfigOption(kParallelSetting, false, false); });
    set_local("search_path", search_path.c_str());
    for (size_t i = 0; i < plan_->steps.size(); ++i) {
      if (i == plan_->sweep_begin && plan_->sweep_end > i) {
        sweep();
        i = plan_->sweep_end - 1;
        continue;
      }
      run_at(i);
    }
    set_local("search_path", kOwnSearchPath);

    nlohmann::json result =
        cleanup_result(*catalog_, *plan_, counts_, request_.session, request_.dry_run, warnings_);
    const double duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const std::string deleted_text = result["deleted_counts"].dump(),
                      collateral_text = result["collateral_counts"].dump();
    // A dry run's rollback would remove the audit row and restore the heartbeat; not writing
    // them spares the audit sequence.
    if (!request_.dry_run)
      write_audit_row_end_heartbeat(deleted_text, collateral_text, duration_ms);
    spi_.finish();
    log_success(deleted_text, collateral_text, duration_ms);
    report_indexes();
    return result;
  }

  std::vector<ExplainedStep> explain() {
    spi_.connect();
    const CachedPlan cached = cached_plan(
        spi_, PlanOptions{!request_.session, request_.skip_fk_checks, request_.lock_tables});
    std::vector<ExplainedStep> steps;
    const IndexMode mode = request_.transient_indexes;
    const Plan &plan = *cached.plan;
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const Step &step = plan.steps[i];
      if (step.stage == Stage::index || step.stage == Stage::drop_index) {
        if (mode == IndexMode::off) continue;
        if (step.stage == Stage::drop_index)
          steps.push_back({stage_name(step.stage), "", "DROP INDEX (each one built above)"});
        for (const TransientIndex &index : step.indexes)
          steps.push_back({mode == IndexMode::on ? "transient index (on: built if a row goes)"
                                                 : "transient index (auto: built if it pays)",
                           table_names(*cached.catalog, {index.table}),
                           "CREATE INDEX ON " + cached.catalog->tables.at(index.table).sql_name +
                               " (" + column_list(index.columns) + ") -- " + index.used_by +
                               ": a lookup per doomed row of " +
                               table_names(*cached.catalog, index.owners)});
        continue;
      }
      const bool in_sweep = i >= plan.sweep_begin && i < plan.sweep_end;
      steps.push_back({step.iterate ? "cycle, repeated until a round adds no row"
                       : step.result == Result::any_rows
                           ? "sweep: does a row reach a doomed row through a link? (each round; "
                             "no: the sweep ends)"
                       : in_sweep && step.stage != Stage::sweep
                           ? std::string(stage_name(step.stage)) + " (sweep)"
                           : stage_name(step.stage),
                       table_names(*cached.catalog, step.tables), step.sql});
    }
    spi_.finish();
    return steps;
  }

 private:
  // A table's doomed rows; none (typed empty arrays) until a step has found some.
  const Doomed &doomed(TableId id) {
    auto found = doomed_.find(id);
    if (found != doomed_.end()) return found->second;
    Doomed none;
    for (const Column &col : plan_->carried.at(id)) {
      const Oid element = col.type;
      const Oid array_type = pg_call([element] { return get_array_type(element); });
      if (array_type == InvalidOid) throw no_array_type_error(catalog_->tables.at(id), col);
      none.array_types.push_back(array_type);
      none.arrays.push_back(empty_array(element));
    }
    return doomed_[id] = std::move(none);
  }

  Datum empty_array(Oid element) {
    return pg_call([element] { return PointerGetDatum(construct_empty_array(element)); });
  }

  std::int64_t input_rows(const Step &step) const {
    std::int64_t rows = 0;
    for (TableId id : step.inputs) {
      auto found = doomed_.find(id);
      if (found != doomed_.end()) rows += found->second.rows;
    }
    for (TableId id : step.added) {
      auto found = added_.find(id);
      if (found != added_.end()) rows += found->second.rows;
    }
    return rows;
  }

  // The rows this sweep round added to a table; none (typed empty arrays) until a step did.
  const Doomed &added(TableId id) {
    auto found = added_.find(id);
    if (found != added_.end()) return found->second;
    Doomed none = doomed(id);  // for the array types
    for (size_t i = 0; i < none.arrays.size(); ++i)
      none.arrays[i] = empty_array(plan_->carried.at(id)[i].type);
    none.rows = 0;
    return added_[id] = std::move(none);
  }

  void run_at(size_t i) {
    const Step &step = plan_->steps[i];
    if (step.stage == Stage::index) return build_indexes(step);
    if (step.stage == Stage::drop_index) return drop_indexes(step);
    // Cost follows the work: a step whose every input is empty has nothing to find.
    const std::int64_t rows = input_rows(step);
    if ((!step.inputs.empty() || !step.added.empty()) && rows == 0) return;
    if (step.only_if_short && counts_[step.tables.at(0)].deleted >= rows) return;
    const bool few = rows < kFewRows;
    const bool serial = (step.stage == Stage::closure || step.stage == Stage::cycle ||
                         step.stage == Stage::sweep) &&
                        few;
    if (serial) set_local(kParallelSetting, "0");
    run_step(step, few && !step.sql_for_few.empty() ? step.sql_for_few : step.sql, few,
             (*cached_.kept)[i]);
    if (serial) set_local(kParallelSetting, parallel_.c_str());
  }

  // The sweep (Plan::sweep_begin): its steps again until its probe finds no row to sweep
  // (a probe without inputs is not run: nothing to find) or a round adds none.
  void sweep() {
    for (int round = 1;; ++round) {
      added_.clear();
      sweep_probe_ = false;
      run_at(plan_->sweep_begin);
      if (!sweep_probe_) return;
      for (size_t i = plan_->sweep_begin + 1; i < plan_->sweep_end; ++i) run_at(i);
      std::int64_t found = 0;
      for (const auto &[id, rows] : added_) found += rows.rows;
      if (found == 0) return;
      if (round == kMaxSweepRounds) throw sweep_rounds_error(*catalog_, added_tables());
    }
  }

  std::vector<TableId> added_tables() const {
    std::vector<TableId> tables;
    for (const auto &[id, rows] : added_)
      if (rows.rows > 0) tables.push_back(id);
    return tables;
  }

  // `kept`: the step's kept plan slot. A step without doomed-row inputs takes only the
  // marker and the session, a verify step probes keys, and a step over few rows probes
  // them too (its form for few rows, where it has one): their plan is the same for any
  // number of them, so they are planned once per backend, not once per call. Larger steps
  // are planned with their arrays' sizes known.
  void run_step(const Step &step, const std::string &sql, bool few, KeptPlan &kept) {
    if (step.iterate) return run_rounds(step, sql);
    SpiParams params = step_params();
    for (TableId id : step.inputs) add_params(params, doomed(id));
    for (TableId id : step.added) add_params(params, added(id));
    std::uint64_t rows = 0;
    try {
      const bool keep =
          (step.inputs.empty() && step.added.empty()) || step.stage == Stage::verify || few;
      if (keep && !kept) kept = Spi::keep(sql, params.types);
      rows = keep ? spi_.run(kept, params) : spi_.run(sql, params);
    } catch (const PgError &error) {
      add_stage_to_detail(error.edata(), *catalog_, step);
      throw;
    }
    switch (step.result) {
      case Result::none:
        return;
      case Result::counts:
        return add_counts(step, rows);
      case Result::doomed:
        return read_doomed(step);
      case Result::leftovers:
        return check_leftovers(step);
      case Result::protected_rows:
        return check_protected(step);
      case Result::any_rows:
        sweep_probe_ = spi_.text_at(0, 0) == "t";
        return;
    }
  }

  // The session as a text parameter: NULL for every session.
  const std::string *session_param() const {
    return request_.session ? &*request_.session : nullptr;
  }

  // The marker and the session: every statement's first two parameters.
  SpiParams step_params() const {
    SpiParams params;
    params.add_text(&request_.marker);
    params.add_text(session_param());
    return params;
  }

  static void add_params(SpiParams &params, const Doomed &rows) {
    for (size_t i = 0; i < rows.arrays.size(); ++i) params.add(rows.array_types[i], rows.arrays[i]);
  }

  // A sweep's step adds its rows to the doomed sets and to the round's additions.
  void read_doomed(const Step &step) {
    if (!step.appends) {
      doomed_ = read_rows(step, std::move(doomed_));
      return;
    }
    added_ = read_rows(step, std::move(added_));
    for (TableId id : step.tables) append(doomed_.at(id), added_.at(id));
  }

  void append(Doomed &all, const Doomed &rows) {
    if (rows.rows == 0) return;
    for (size_t i = 0; i < all.arrays.size(); ++i)
      all.arrays[i] = pg_call([&all, &rows, i] {
        return OidFunctionCall2(F_ARRAY_CAT, all.arrays[i], rows.arrays[i]);
      });
    all.rows += rows.rows;
  }

  // `into` with the rows of each of step.tables replaced by the ones the result holds.
  std::map<TableId, Doomed> read_rows(const Step &step, std::map<TableId, Doomed> into) {
    int col = 0;
    for (TableId id : step.tables) {
      Doomed found = doomed(id);
      const std::vector<Column> &carried = plan_->carried.at(id);
      for (size_t i = 0; i < found.arrays.size(); ++i, ++col)
        found.arrays[i] = spi_.is_null(0, col)  // array_agg of no rows
                              ? empty_array(carried[i].type)
                              : spi_.datum_copy_at(0, col);
      found.rows = found.arrays.empty() ? 0 : array_length(found.arrays[0]);
      into[id] = std::move(found);
    }
    return into;
  }

  // A cycle step Citus runs one round at a time (Step::iterate): the rows each round adds
  // join the doomed sets, until a round adds none. Every round adds a row, so it ends.
  void run_rounds(const Step &step, const std::string &sql) {
    std::map<TableId, Doomed> added;
    for (TableId id : step.inputs) added[id] = doomed(id);
    for (;;) {
      SpiParams params = step_params();
      for (TableId id : step.inputs) add_params(params, doomed(id));
      for (TableId id : step.inputs) add_params(params, added.at(id));
      try {
        spi_.run(sql, params);
      } catch (const PgError &error) {
        add_stage_to_detail(error.edata(), *catalog_, step);
        throw;
      }
      added = read_rows(step, std::move(added));
      std::int64_t found = 0;
      for (const auto &[id, rows] : added) found += rows.rows;
      if (found == 0) return;
      for (const auto &[id, rows] : added) append(doomed_.at(id), rows);
    }
  }

  // Builds the step's indexes that pay (setting test_cleanup.transient_indexes), given the
  // doomed rows found so far: each one's lookups are its owners' doomed rows.
  void build_indexes(const Step &step) {
    if (request_.transient_indexes == IndexMode::off) return;
    std::vector<std::pair<const TransientIndex *, std::int64_t>> wanted;
    std::string oids;
    for (const TransientIndex &index : step.indexes) {
      if (std::any_of(built_.begin(), built_.end(), [&index](const BuiltIndex &built) {
            return built.index->table == index.table && built.index->columns == index.columns;
          }))
        continue;
      std::int64_t lookups = 0;
      for (TableId owner : index.owners) {
        auto found = doomed_.find(owner);
        if (found != doomed_.end()) lookups += found->second.rows;
      }
      if (lookups == 0) continue;
      wanted.emplace_back(&index, lookups);
      oids += (oids.empty() ? "{" : ",") + std::to_string(index.table);
    }
    if (wanted.empty()) return;
    oids += "}";
    SpiParams params;
    params.add_text(&oids);
    static KeptPlan sizes_plan;
    const std::uint64_t rows = spi_.run_fixed(sizes_plan, kTableSizesQuery, params);
    struct Size {
      double pages = 0, tuples = 0;
      bool owned = false;
    };
    std::map<TableId, Size> sizes;
    for (std::uint64_t row = 0; row < rows; ++row)
      sizes[static_cast<TableId>(spi_.int64_at(row, 0))] =
          Size{spi_.float8_at(row, 1), spi_.float8_at(row, 2), spi_.text_at(row, 3) == "t"};
    for (const auto &[index, lookups] : wanted) {
      const Size size = sizes[index->table];
      if (request_.transient_indexes == IndexMode::automatic &&
          !transient_index_pays(lookups, size.pages, size.tuples))
        continue;
      const TableId table = index->table;
      const std::string table_oid = std::to_string(table);
      SpiParams state_params;
      state_params.add_text(&table_oid);
      state_params.add_text(&index->column_names);
      static KeptPlan state_plan;
      spi_.run_fixed(state_plan, kIndexStateQuery, state_params);
      const std::string state = spi_.text_at(0, 0);
      if (state == "y") continue;  // one built here covers it
      if (state != "n") {
        not_built_.push_back(index_label(*catalog_, *index) +
                             ": a partition has an index of its own on these columns, or is "
                             "a foreign table");
        continue;
      }
      if (!size.owned) {
        not_built_.push_back(index_label(*catalog_, *index) +
                             ": the cleanup's role does not own the table");
        continue;
      }
      // A CREATE INDEX is refused on a table with trigger events still queued in this
      // transaction (deferred constraints of rows the caller wrote before the cleanup).
      if (pg_call([table] { return AfterTriggerPendingOnRel(table); })) {
        not_built_.push_back(index_label(*catalog_, *index) +
                             ": rows written earlier in this transaction have deferred checks "
                             "pending on the table");
        continue;
      }
      build_index(*index);
    }
  }

  void build_index(const TransientIndex &index) {
    Step step;  // where an error happened, for its detail
    step.stage = Stage::index;
    step.tables = {index.table};
    try {
      const std::string table_oid = std::to_string(index.table);
      SpiParams params;
      params.add_text(&table_oid);
      static KeptPlan name_plan;
      if (spi_.run_fixed(name_plan, kIndexNameQuery, params) == 0)
        throw UserError("42P07", "test_cleanup: no free name for a transient index on \"" +
                                     catalog_->tables.at(index.table).display_name + "\"");
      const std::string name = spi_.text_at(0, 0), qualified = spi_.text_at(0, 1);
      const auto started = std::chrono::steady_clock::now();
      spi_.run("CREATE INDEX " + name + " ON " + catalog_->tables.at(index.table).sql_name + " (" +
               column_list(index.columns) + ")");
      built_.push_back(BuiltIndex{
          &index, qualified,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count()});
    } catch (const PgError &error) {
      add_stage_to_detail(error.edata(), *catalog_, step);
      throw;
    }
  }

  // Drops what build_indexes() built, in one statement. A DROP INDEX locks its table
  // ACCESS EXCLUSIVE until the transaction ends; a rollback would remove them as well.
  void drop_indexes(const Step &step) {
    if (built_.empty()) return;
    std::string names;
    for (const BuiltIndex &built : built_) names += (names.empty() ? "" : ", ") + built.name;
    try {
      spi_.run("DROP INDEX " + names);
    } catch (const PgError &error) {
      add_stage_to_detail(error.edata(), *catalog_, step);
      throw;
    }
  }

  // The transient indexes as the audit row holds them; NULL (nullptr) when none was built.
  std::unique_ptr<std::string> indexes_json() const {
    if (built_.empty()) return nullptr;
    nlohmann::json list = nlohmann::json::array();
    for (const BuiltIndex &built : built_) {
      nlohmann::json columns = nlohmann::json::array();
      for (const Column &col : built.index->columns) columns.push_back(col.name);
      list.push_back({{"table", catalog_->tables.at(built.index->table).display_name},
                      {"columns", columns},
                      {"build_ms", std::round(built.build_ms * 1000) / 1000}});
    }
    return std::make_unique<std::string>(list.dump());
  }

  // A NOTICE naming the transient indexes built (and those that would have paid but could
  // not be built), pointing at the permanent fix.
  void report_indexes() const {
    if (built_.empty() && not_built_.empty()) return;
    std::string names, times, skipped;
    double total_ms = 0;
    for (const BuiltIndex &built : built_) {
      const std::string label = index_label(*catalog_, *built.index);
      names += (names.empty() ? "" : ", ") + label;
      times += (times.empty() ? "" : ", ") + label + " " + milliseconds(built.build_ms);
      total_ms += built.build_ms;
    }
    for (const std::string &reason : not_built_) skipped += "; not built: " + reason;
    const std::string message =
        (built_.empty() ? "test_cleanup: built no transient index"
                        : "test_cleanup: built " + std::to_string(built_.size()) +
                              " transient index(es) for this cleanup and dropped them: " + names) +
        skipped;
    const std::string detail =
        built_.empty() ? "" : "Building took " + milliseconds(total_ms) + ": " + times + ".";
    pg_call([&message, &detail] {
      ereport(NOTICE,
              (errmsg_internal("%s", message.c_str()),
               detail.empty() ? 0 : errdetail_internal("%s", detail.c_str()),
               errhint("Without them PostgreSQL reads the whole table once per deleted row that "
                       "it looks up. test_cleanup.advise_indexes() lists the CREATE INDEX "
                       "statements that make them permanent.")));
    });
  }

  void add_counts(const Step &step, std::uint64_t rows) {
    for (std::uint64_t row = 0; row < rows; ++row) {
      const TableId id = step.tables.at(static_cast<size_t>(spi_.int32_at(row, 0)));
      const std::int64_t deleted = spi_.int64_at(row, 1);
      counts_[id].deleted += deleted;
      counts_[id].collateral += spi_.int64_at(row, 2);
      // Rows named by their physical address: one that a trigger updated has moved, and
      // the verify step cannot see that it survived. Every doomed row must be found.
      const Table &table = catalog_->tables.at(id);
      const std::int64_t doomed_rows = step.added.empty() ? doomed(id).rows : added(id).rows;
      if (table.by_ctid && step.tables.size() == 1 && deleted < doomed_rows)
        throw changed_rows_error(table, doomed_rows - deleted, step.stage);
    }
  }

  void check_leftovers(const Step &step) {
    const std::int64_t left = spi_.int64_at(0, 0);
    if (left == 0) return;
    throw leftovers_error(catalog_->tables.at(step.tables.at(0)), left, spi_.text_at(0, 1));
  }

  // A protected table would lose rows that are not test data: refused before anything is
  // written, or in a dry run reported as a warning (and the dry run goes on).
  void check_protected(const Step &step) {
    const std::int64_t rows = spi_.int64_at(0, 0);
    if (rows == 0) return;
    const std::string keys = spi_.text_at(0, 1);
    const Table &table = catalog_->tables.at(step.tables.at(0));
    if (!request_.dry_run) throw protected_error(table, rows, keys);
    warnings_.push_back(protected_warning(table, rows, keys));
  }

  void write_audit_row_end_heartbeat(const std::string &deleted, const std::string &collateral,
                                     double duration_ms) {
    SpiParams params;
    params.add_text(session_param());
    params.add_text(&deleted);
    params.add_text(&collateral);
    params.add(FLOAT8OID, Float8GetDatum(duration_ms));
    params.add_text(&request_.role);
    const std::unique_ptr<std::string> indexes = indexes_json();
    params.add_text(indexes.get());
    static KeptPlan plan;
    spi_.run_fixed(plan, kAuditAndEndHeartbeat, params);
  }

  void log_success(const std::string &deleted, const std::string &collateral,
                   double duration_ms) const {
    const char *session = request_.session_label.c_str();
    const char *deleted_text = deleted.c_str();
    const char *collateral_text = collateral.c_str();
    const bool dry_run = request_.dry_run;
    pg_call([=] {
      ereport(LOG, (errmsg("test_cleanup: %s done session=%s deleted_counts=%s "
                           "collateral_counts=%s duration_ms=%.3f",
                           dry_run ? "dry run (rolled back)" : "cleanup", session, deleted_text,
                           collateral_text, duration_ms),
                    errhidestmt(true)));
    });
  }

  const CleanupRequest &request_;
  Spi spi_;
  CachedPlan cached_;
  const Catalog *catalog_ = nullptr;  // cached_'s, for this call
  const Plan *plan_ = nullptr;
  std::map<TableId, Doomed> doomed_;
  std::map<TableId, Doomed> added_;  // what the current sweep round added (Step::added)
  std::map<TableId, TableCounts> counts_;
  std::string parallel_;      // the caller's max_parallel_workers_per_gather
  bool sweep_probe_ = false;  // what the sweep's probe said in this round
  std::vector<BuiltIndex> built_;
  std::vector<std::string> not_built_;  // indexes that would have paid, and why not built
  nlohmann::json warnings_ = nlohmann::json::array();  // a dry run's protected-table findings
};

}  // namespace

Datum run_cleanups(const std::vector<CleanupRequest> &requests, bool keyed) {
  nlohmann::json results = nlohmann::json::object();
  for (const CleanupRequest &request : requests) {
    nlohmann::json result = Cleanup(request).run();
    if (!keyed) {
      results = std::move(result);
      break;
    }
    results[request.session ? *request.session : std::string()] = std::move(result);
  }
  const std::string text = results.dump();
  return pg_call([&text] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

std::vector<ExplainedStep> explain_cleanup(const CleanupRequest &request) {
  return Cleanup(request).explain();
}

}  // namespace test_cleanup
