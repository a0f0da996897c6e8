#include "plan_function.hpp"

#include <algorithm>
#include <set>

namespace test_cleanup::client {

const char *const kFunctionName = "pg_temp.test_cleanup_client_run";
const char *const kFunctionArguments =
    "marker pg_catalog.text, session pg_catalog.text, dry_run pg_catalog.bool, "
    "statements pg_catalog.jsonb, trigger_search_path pg_catalog.text";
const char *const kFunctionOutputs =
    "OUT deleted pg_catalog.int8[], OUT collateral pg_catalog.int8[], "
    "OUT warn_slots pg_catalog.int4[], OUT warn_rows pg_catalog.int8[], "
    "OUT warn_keys pg_catalog.text[], OUT failed_step pg_catalog.int4, "
    "OUT failed_kind pg_catalog.int4, OUT failed_slot pg_catalog.int4, "
    "OUT failed_rows pg_catalog.int8, OUT failed_keys pg_catalog.text, "
    "OUT error_fields pg_catalog.text[]";

namespace {

const std::string kPlus = " OPERATOR(pg_catalog.+) ";
const std::string kMinus = " OPERATOR(pg_catalog.-) ";
const std::string kLess = " OPERATOR(pg_catalog.<) ";
const std::string kGreater = " OPERATOR(pg_catalog.>) ";
const std::string kEqual = " OPERATOR(pg_catalog.=) ";

class Generator {
 public:
  Generator(const Catalog &catalog, const Plan &plan,
            const std::map<TypeId, std::string> &array_types)
      : catalog_(catalog), plan_(plan), array_types_(array_types) {
    int k = 0;
    for (const auto &[id, columns] : plan.carried) var_[id] = k++;
    slots_ = plan.tables;
    for (const Step &step : plan.steps)
      if (step.result == Result::counts)
        for (TableId id : step.tables) slot(id);
  }

  PlanFunction generate() {
    std::string steps;
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      if (i == plan_.sweep_begin && plan_.sweep_end > i) {
        steps += sweep_code();
        i = plan_.sweep_end - 1;
        continue;
      }
      steps += step_code(static_cast<int>(i));
    }
    PlanFunction out;
    out.body =
        declarations() + "BEGIN\n" +
        "  PERFORM pg_catalog.set_config('search_path', trigger_search_path, true);\n" +
        "  deleted := pg_catalog.array_fill(0::pg_catalog.int8, ARRAY[" +
        std::to_string(std::max<size_t>(slots_.size(), 1)) + "]);\n" +
        "  collateral := deleted;\n  warn_slots := '{}';\n  warn_rows := '{}';\n" +
        "  warn_keys := '{}';\n  BEGIN\n" + steps +
        "  EXCEPTION WHEN OTHERS THEN\n"
        "    failed_step := step_at;\n"
        "    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,\n"
        "      e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT,\n"
        "      e_constraint = CONSTRAINT_NAME, e_table = TABLE_NAME;\n"
        "    error_fields := ARRAY[e_state, e_message, e_detail, e_hint, e_constraint, "
        "e_table];\n"
        "  END;\n"
        "  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);\n"
        "END\n";
    out.statements = std::move(statements_);
    out.slots = slots_;
    return out;
  }

 private:
  int slot(TableId id) {
    auto found = std::find(slots_.begin(), slots_.end(), id);
    if (found == slots_.end()) found = slots_.insert(slots_.end(), id);
    return static_cast<int>(found - slots_.begin()) + 1;  // 1-based, as arrays are
  }

  // d<k>_<c>: the doomed rows of table k, column c; a<k>_<c>: a round's additions (cycles
  // Citus runs round by round); w<k>_<c>: what the current sweep round added (Step::added);
  // n<k> and m<k>: how many rows d<k> and w<k> hold.
  std::string doomed(TableId id, size_t col, char prefix = 'd') const {
    return prefix + std::to_string(var_.at(id)) + "_" + std::to_string(col);
  }
  std::string count(TableId id, char prefix = 'n') const {
    return prefix + std::to_string(var_.at(id));
  }
  size_t columns(TableId id) const { return plan_.carried.at(id).size(); }

  std::string declarations() const {
    std::string text = "DECLARE\n";
    for (const auto &[id, carried] : plan_.carried) {
      for (size_t c = 0; c < carried.size(); ++c) {
        const std::string &type = array_types_.at(carried[c].type);
        text += "  " + doomed(id, c) + " " + type + " := '{}';\n";
        text += "  " + doomed(id, c, 'a') + " " + type + ";\n";
        text += "  " + doomed(id, c, 'w') + " " + type + " := '{}';\n";
      }
      text += "  " + count(id) + " pg_catalog.int8 := 0;\n";
      text += "  " + count(id, 'm') + " pg_catalog.int8 := 0;\n";
    }
    return text +
           "  sql pg_catalog.text[] := ARRAY(SELECT x.e FROM pg_catalog.jsonb_array_elements_text("
           "statements) WITH ORDINALITY x(e, i) ORDER BY x.i);\n"
           "  parallel_setting constant pg_catalog.text := "
           "pg_catalog.current_setting('max_parallel_workers_per_gather');\n"
           "  step_at pg_catalog.int4;\n  rows_in pg_catalog.int8;\n  s pg_catalog.int4;\n"
           "  v_tab pg_catalog.int4;\n  v_deleted pg_catalog.int8;\n"
           "  v_collateral pg_catalog.int8;\n  v_count pg_catalog.int8;\n"
           "  v_keys pg_catalog.text;\n  v_found pg_catalog.int8;\n"
           "  sweep_round pg_catalog.int4 := 0;\n  sweep_found pg_catalog.int4[] := '{}';\n"
           "  v_any pg_catalog.bool;\n"
           "  e_state pg_catalog.text;\n  e_message pg_catalog.text;\n  e_detail pg_catalog.text;\n"
           "  e_hint pg_catalog.text;\n  e_constraint pg_catalog.text;\n  e_table "
           "pg_catalog.text;\n";
  }

  // The step's statement (and its form for few rows) join the $4 argument; returns the
  // subscripts of both (0: no form for few rows).
  std::pair<int, int> add_statements(const Step &step) {
    statements_.push_back(step.sql);
    const int sql = static_cast<int>(statements_.size());
    if (step.sql_for_few.empty()) return {sql, 0};
    statements_.push_back(step.sql_for_few);
    return {sql, sql + 1};
  }

  // `marker, session, d3_0, d3_1, ...` (then the sweep round's additions, Step::added; or
  // the rounds' additions, for iterate)
  std::string arguments(const Step &step) const {
    std::string text = "marker, session";
    for (TableId id : step.inputs)
      for (size_t c = 0; c < columns(id); ++c) text += ", " + doomed(id, c);
    for (TableId id : step.added)
      for (size_t c = 0; c < columns(id); ++c) text += ", " + doomed(id, c, 'w');
    if (step.iterate)
      for (TableId id : step.inputs)
        for (size_t c = 0; c < columns(id); ++c) text += ", " + doomed(id, c, 'a');
    return text;
  }

  // INTO the carried arrays of each of step.tables (prefix d: replacing the doomed rows).
  std::string into(const Step &step, char prefix) const {
    std::string text;
    for (TableId id : step.tables)
      for (size_t c = 0; c < columns(id); ++c)
        text += (text.empty() ? "" : ", ") + doomed(id, c, prefix);
    return text;
  }

  // After an INTO: NULL (array_agg of no rows) is none.
  std::string none_for_null(const Step &step, char prefix, const std::string &indent) const {
    std::string text;
    for (TableId id : step.tables)
      for (size_t c = 0; c < columns(id); ++c)
        text +=
            indent + doomed(id, c, prefix) + " := coalesce(" + doomed(id, c, prefix) + ", '{}');\n";
    return text;
  }

  std::string cardinality(TableId id, char prefix) const {
    return "coalesce(pg_catalog.cardinality(" + doomed(id, 0, prefix) + "), 0)";
  }

  std::string fail(int step, FailedKind kind, int failed_slot, const std::string &rows,
                   const std::string &keys, const std::string &indent) const {
    return indent + "failed_step := " + std::to_string(step) +
           "; failed_kind := " + std::to_string(static_cast<int>(kind)) +
           "; failed_slot := " + std::to_string(failed_slot) + "; failed_rows := " + rows +
           "; failed_keys := " + keys + ";\n" + indent + "RETURN;\n";
  }

  std::string step_code(int i) {
    const Step &step = plan_.steps[static_cast<size_t>(i)];
    if (step.stage == Stage::index || step.stage == Stage::drop_index) return "";
    const auto [sql, few] = add_statements(step);
    const std::string statement = few ? "CASE WHEN rows_in" + kLess + std::to_string(kFewRows) +
                                            " THEN sql[" + std::to_string(few) + "] ELSE sql[" +
                                            std::to_string(sql) + "] END"
                                      : "sql[" + std::to_string(sql) + "]";
    const std::string using_args = " USING " + arguments(step);
    const std::string in = "      ";

    std::string body;
    switch (step.result) {
      case Result::none:
        body = in + "EXECUTE " + statement + using_args + ";\n";
        break;
      case Result::doomed:
        if (step.iterate) {
          body = rounds(step, statement, using_args);
          break;
        }
        if (step.appends) {  // the sweep's new rows join the doomed sets
          body = in + "EXECUTE " + statement + " INTO " + into(step, 'w') + using_args + ";\n" +
                 none_for_null(step, 'w', in);
          for (TableId id : step.tables) {
            body += in + count(id, 'm') + " := " + cardinality(id, 'w') + ";\n";
            for (size_t c = 0; c < columns(id); ++c)
              body += in + doomed(id, c) + " := pg_catalog.array_cat(" + doomed(id, c) + ", " +
                      doomed(id, c, 'w') + ");\n";
            body += in + count(id) + " := " + count(id) + kPlus + count(id, 'm') + ";\n" + in +
                    "IF " + count(id, 'm') + kGreater +
                    "0 THEN sweep_found := pg_catalog.array_append(sweep_found, " +
                    std::to_string(slot(id)) + "); END IF;\n";
          }
          break;
        }
        body = in + "EXECUTE " + statement + " INTO " + into(step, 'd') + using_args + ";\n" +
               none_for_null(step, 'd', in);
        for (TableId id : step.tables)
          body += in + count(id) + " := " + cardinality(id, 'd') + ";\n";
        break;
      case Result::counts: {
        std::string slots;
        for (TableId id : step.tables)
          slots += (slots.empty() ? "" : ", ") + std::to_string(slot(id));
        body = in + "FOR v_tab, v_deleted, v_collateral IN EXECUTE " + statement + using_args +
               " LOOP\n" + in + "  s := (ARRAY[" + slots + "]::pg_catalog.int4[])[v_tab" + kPlus +
               "1];\n" + in + "  deleted[s] := deleted[s]" + kPlus + "v_deleted;\n" + in +
               "  collateral[s] := collateral[s]" + kPlus + "v_collateral;\n";
        // Rows named by their physical address that a trigger moved are not found again.
        const TableId first = step.tables.at(0);
        const std::string doomed_rows = count(first, step.added.empty() ? 'n' : 'm');
        if (catalog_.tables.at(first).by_ctid && step.tables.size() == 1)
          body += in + "  IF v_deleted" + kLess + doomed_rows + " THEN\n" +
                  fail(i, FailedKind::changed_rows, slot(first), doomed_rows + kMinus + "v_deleted",
                       "NULL", in + "    ") +
                  in + "  END IF;\n";
        body += in + "END LOOP;\n";
        break;
      }
      case Result::leftovers:
        body = in + "EXECUTE " + statement + " INTO v_count, v_keys" + using_args + ";\n" + in +
               "IF v_count" + kGreater + "0 THEN\n" +
               fail(i, FailedKind::leftovers, slot(step.tables.at(0)), "v_count", "v_keys",
                    in + "  ") +
               in + "END IF;\n";
        break;
      case Result::any_rows:
        body = in + "EXECUTE " + statement + " INTO v_any" + using_args + ";\n";
        break;
      case Result::protected_rows:
        body = in + "EXECUTE " + statement + " INTO v_count, v_keys" + using_args + ";\n" + in +
               "IF v_count" + kGreater + "0 THEN\n" + in + "  IF NOT dry_run THEN\n" +
               fail(i, FailedKind::protected_rows, slot(step.tables.at(0)), "v_count", "v_keys",
                    in + "    ") +
               in + "  END IF;\n" + in + "  warn_slots := pg_catalog.array_append(warn_slots, " +
               std::to_string(slot(step.tables.at(0))) + ");\n" + in +
               "  warn_rows := pg_catalog.array_append(warn_rows, v_count);\n" + in +
               "  warn_keys := pg_catalog.array_append(warn_keys, v_keys);\n" + in + "END IF;\n";
        break;
    }

    // As the extension's executor: a step whose every input is empty has nothing to find; a
    // verify step of a table no trigger can make keep rows runs only if the delete fell
    // short; closure and cycle steps over few rows run without parallel workers.
    std::string rows;
    for (TableId id : step.inputs) rows += (rows.empty() ? "" : kPlus) + count(id);
    for (TableId id : step.added) rows += (rows.empty() ? "" : kPlus) + count(id, 'm');
    std::string condition;
    if (!step.inputs.empty() || !step.added.empty()) condition = "rows_in" + kGreater + "0";
    if (step.only_if_short)
      condition += (condition.empty() ? "" : " AND ") + std::string("deleted[") +
                   std::to_string(slot(step.tables.at(0))) + "]" + kLess + "rows_in";
    const bool serial =
        step.stage == Stage::closure || step.stage == Stage::cycle || step.stage == Stage::sweep;
    std::string code = "    -- step " + std::to_string(i) + ": " + stage_name(step.stage) + "\n" +
                       "    step_at := " + std::to_string(i) + ";\n";
    code += "    rows_in := " + (rows.empty() ? std::string("0") : rows) + ";\n";
    if (serial)
      body = in + "IF rows_in" + kLess + std::to_string(kFewRows) +
             " THEN PERFORM pg_catalog.set_config('max_parallel_workers_per_gather', '0', true); "
             "END IF;\n" +
             body + in + "IF rows_in" + kLess + std::to_string(kFewRows) +
             " THEN PERFORM pg_catalog.set_config('max_parallel_workers_per_gather', "
             "parallel_setting, "
             "true); END IF;\n";
    if (condition.empty()) return code + "    BEGIN\n" + body + "    END;\n";
    return code + "    IF " + condition + " THEN\n" + body + "    END IF;\n";
  }

  // The sweep (Plan::sweep_begin), as the extension's executor runs it: its steps again,
  // each round's additions starting empty, until its probe finds nothing or a round adds
  // no row.
  std::string sweep_code() {
    std::set<TableId> tables;
    for (size_t i = plan_.sweep_begin; i < plan_.sweep_end; ++i) {
      tables.insert(plan_.steps[i].added.begin(), plan_.steps[i].added.end());
      if (plan_.steps[i].appends)
        tables.insert(plan_.steps[i].tables.begin(), plan_.steps[i].tables.end());
    }
    std::string reset, found;
    for (TableId id : tables) {
      for (size_t c = 0; c < columns(id); ++c)
        reset += "      " + doomed(id, c, 'w') + " := '{}';\n";
      reset += "      " + count(id, 'm') + " := 0;\n";
      found += (found.empty() ? "" : kPlus) + count(id, 'm');
    }
    std::string code =
        "    -- the sweep, until a round adds no row\n    LOOP\n"
        "      sweep_round := sweep_round" +
        kPlus + "1;\n      sweep_found := '{}';\n      v_any := false;\n" + reset +
        step_code(static_cast<int>(plan_.sweep_begin)) + "      EXIT WHEN NOT v_any;\n";
    for (size_t i = plan_.sweep_begin + 1; i < plan_.sweep_end; ++i)
      code += step_code(static_cast<int>(i));
    return code + "      EXIT WHEN " + found + kEqual + "0;\n      IF sweep_round" + kGreater +
           "= " + std::to_string(kMaxSweepRounds) + " THEN\n" +
           fail(static_cast<int>(plan_.sweep_begin), FailedKind::sweep_rounds, 0, found,
                "pg_catalog.array_to_string(sweep_found, ',')", "        ") +
           "      END IF;\n    END LOOP;\n";
  }

  // A cycle Citus runs one round at a time: each round's new rows join the doomed sets
  // until a round finds none (every round adds a row, so it ends).
  std::string rounds(const Step &step, const std::string &statement,
                     const std::string &using_args) {
    const std::string in = "      ";
    std::string code;
    for (TableId id : step.inputs)
      for (size_t c = 0; c < columns(id); ++c)
        code += in + doomed(id, c, 'a') + " := " + doomed(id, c) + ";\n";
    code += in + "LOOP\n" + in + "  EXECUTE " + statement + " INTO " + into(step, 'a') +
            using_args + ";\n" + none_for_null(step, 'a', in + "  ");
    std::string found;
    for (TableId id : step.inputs) found += (found.empty() ? "" : kPlus) + cardinality(id, 'a');
    code += in + "  v_found := " + found + ";\n" + in + "  EXIT WHEN v_found" + kEqual + "0;\n";
    for (TableId id : step.inputs) {
      for (size_t c = 0; c < columns(id); ++c)
        code += in + "  " + doomed(id, c) + " := pg_catalog.array_cat(" + doomed(id, c) + ", " +
                doomed(id, c, 'a') + ");\n";
      code += in + "  " + count(id) + " := " + count(id) + kPlus + cardinality(id, 'a') + ";\n";
    }
    return code + in + "END LOOP;\n";
  }

  const Catalog &catalog_;
  const Plan &plan_;
  const std::map<TypeId, std::string> &array_types_;
  std::map<TableId, int> var_;
  std::vector<TableId> slots_;
  nlohmann::json statements_ = nlohmann::json::array();
};

}  // namespace

PlanFunction plan_function(const Catalog &catalog, const Plan &plan,
                           const std::map<TypeId, std::string> &array_types) {
  return Generator(catalog, plan, array_types).generate();
}

}  // namespace test_cleanup::client
