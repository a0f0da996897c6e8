// nlohmann/json first: PostgreSQL's port.h redefines snprintf, which the library uses.
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>

#include "execute.hpp"

#include "catalog.hpp"
#include "plan.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/guc.h"
}

namespace test_cleanup {

namespace {

std::string table_names(const Catalog &catalog, const std::vector<TableId> &tables) {
  std::string names;
  for (TableId id : tables)
    names += (names.empty() ? "" : ", ") + catalog.tables.at(id).display_name;
  return names;
}

// Adds where the cleanup was to a PostgreSQL error's DETAIL: the stage, the tables of the
// step and the constraint when PostgreSQL names one.
void add_stage_to_detail(ErrorData *edata, const Catalog &catalog, const Step &step) {
  std::string where = std::string("test_cleanup stage \"") + stage_name(step.stage) + "\"";
  if (!step.tables.empty()) where += " on " + table_names(catalog, step.tables);
  if (edata->constraint_name) {
    where += std::string(", constraint ") + edata->constraint_name;
    if (edata->table_name) where += std::string(" on table ") + edata->table_name;
  }
  where += "; nothing was deleted.";
  const std::string detail = edata->detail ? std::string(edata->detail) + "\n" + where : where;
  edata->detail = pg_call([&detail] { return pstrdup(detail.c_str()); });
}

// A closure step reading fewer doomed rows than this runs without parallel workers: a
// handful of index probes finish before workers start, yet the planner, misjudging how many
// owners a JSON list probe finds, parallelises them (70 instead of 20 ms for a tiny session
// at 10M rows). Larger steps keep the caller's setting (a 10 % faster large session).
constexpr std::int64_t kParallelFromRows = 1000;
const char *const kParallelSetting = "max_parallel_workers_per_gather";

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

struct TableCounts {
  std::int64_t deleted = 0;
  std::int64_t collateral = 0;
};

class Cleanup {
 public:
  explicit Cleanup(const CleanupRequest &request) : request_(request) {}

  Datum run() {
    const auto started = std::chrono::steady_clock::now();
    spi_.connect();
    catalog_ = load_catalog(spi_);
    plan_ = plan_cleanup(catalog_, Request{request_.session == nullptr, request_.skip_fk_checks});

    empty_ = pg_call([] { return PointerGetDatum(construct_empty_array(TIDOID)); });
    for (TableId id : plan_.tables) doomed_[id] = empty_;
    const std::string parallel =
        pg_call([] { return GetConfigOption(kParallelSetting, false, false); });
    for (const Step &step : plan_.steps) {
      const bool serial = (step.stage == Stage::closure || step.stage == Stage::cycle) &&
                          input_rows(step) < kParallelFromRows;
      if (serial) set_local(kParallelSetting, "0");
      run_step(step);
      if (serial) set_local(kParallelSetting, parallel.c_str());
    }

    nlohmann::json deleted = nlohmann::json::object(), collateral = nlohmann::json::object();
    for (TableId id : plan_.tables) {
      const std::string &key = catalog_.tables.at(id).report_key;
      deleted[key] = deleted.value(key, std::int64_t{0}) + counts_[id].deleted;
      collateral[key] = collateral.value(key, std::int64_t{0}) + counts_[id].collateral;
    }
    const double duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const std::string deleted_text = deleted.dump(), collateral_text = collateral.dump();
    const Datum result = write_audit_row(deleted_text, collateral_text, duration_ms);
    spi_.finish();
    log_success(deleted_text, collateral_text, duration_ms);
    return result;
  }

  std::vector<ExplainedStep> explain() {
    spi_.connect();
    catalog_ = load_catalog(spi_);
    plan_ = plan_cleanup(catalog_, Request{request_.session == nullptr, request_.skip_fk_checks});
    spi_.finish();
    std::vector<ExplainedStep> steps;
    for (const Step &step : plan_.steps)
      steps.push_back({stage_name(step.stage), table_names(catalog_, step.tables), step.sql});
    return steps;
  }

 private:
  std::int64_t input_rows(const Step &step) const {
    std::int64_t rows = 0;
    for (TableId id : step.inputs) rows += array_length(doomed_.at(id));
    return rows;
  }

  void run_step(const Step &step) {
    SpiParams params;
    params.add_text(&request_.marker);
    params.add_text(request_.session);
    for (TableId id : step.inputs) params.add(TIDARRAYOID, doomed_.at(id));

    std::uint64_t rows = 0;
    try {
      rows = spi_.run(step.sql, params);
    } catch (const PgError &error) {
      add_stage_to_detail(error.edata(), catalog_, step);
      throw;
    }
    if (step.stage == Stage::remove) {
      for (std::uint64_t row = 0; row < rows; ++row) {
        const TableId id = step.tables.at(static_cast<size_t>(spi_.int32_at(row, 0)));
        counts_[id].deleted += spi_.int64_at(row, 1);
        counts_[id].collateral += spi_.int64_at(row, 2);
      }
      return;
    }
    if (step.stage != Stage::seed && step.stage != Stage::closure && step.stage != Stage::cycle)
      return;
    for (TableId id : step.tables) doomed_[id] = empty_;  // a table not mentioned has none
    for (std::uint64_t row = 0; row < rows; ++row)
      doomed_[step.tables.at(static_cast<size_t>(spi_.int32_at(row, 0)))] =
          spi_.datum_copy_at(row, 1);
  }

  Datum write_audit_row(const std::string &deleted, const std::string &collateral,
                        double duration_ms) {
    SpiParams params;
    params.add_text(request_.session);
    params.add_text(&deleted);
    params.add_text(&collateral);
    params.add(FLOAT8OID, Float8GetDatum(duration_ms));
    params.add_text(&request_.role);
    spi_.run(R"SQL(
      INSERT INTO test_cleanup.audit_log
             (test_session_id, role_name, application_name, client_addr,
              deleted_counts, collateral_counts, duration_ms)
      VALUES ($1, $5, current_setting('application_name'), inet_client_addr(),
              $2::jsonb, $3::jsonb, $4)
      RETURNING jsonb_build_object('deleted_counts', deleted_counts,
                                   'collateral_counts', collateral_counts)
             || CASE WHEN $1 IS NULL THEN '{}'::jsonb
                     ELSE jsonb_build_object('test_session_id', $1) END)SQL",
             params);
    return spi_.datum_copy_at(0, 0);
  }

  void log_success(const std::string &deleted, const std::string &collateral,
                   double duration_ms) const {
    const char *session = request_.session_label.c_str();
    const char *deleted_text = deleted.c_str();
    const char *collateral_text = collateral.c_str();
    pg_call([=] {
      ereport(LOG, (errmsg("test_cleanup: cleanup done session=%s deleted_counts=%s "
                           "collateral_counts=%s duration_ms=%.3f",
                           session, deleted_text, collateral_text, duration_ms),
                    errhidestmt(true)));
    });
  }

  const CleanupRequest &request_;
  Spi spi_;
  Catalog catalog_;
  Plan plan_;
  Datum empty_ = 0;                  // an empty tid[]
  std::map<TableId, Datum> doomed_;  // tid[] of each plan table's doomed rows
  std::map<TableId, TableCounts> counts_;
};

}  // namespace

Datum run_cleanup(const CleanupRequest &request) {
  return Cleanup(request).run();
}

std::vector<ExplainedStep> explain_cleanup(const CleanupRequest &request) {
  return Cleanup(request).explain();
}

}  // namespace test_cleanup
