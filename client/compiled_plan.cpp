#include "compiled_plan.hpp"

namespace test_cleanup::client {

namespace {

// `(SELECT count || '.' || sum of xmin [|| extra] FROM catalog x [WHERE x.column >= 16384])`:
// with `user_column`, only the rows of objects users created (OIDs from FirstNormalObjectId,
// 16384, on; the system's own rows change only with the server's version), read by index.
std::string catalog_state(const std::string &catalog, const std::string &user_column,
                          const std::string &extra = "") {
  return "(SELECT pg_catalog.count(*) || '.' || "
         "pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8)" +
         (extra.empty() ? "" : " || '.' || " + extra) + " FROM pg_catalog." + catalog + " x" +
         (user_column.empty()
              ? ""
              : " WHERE x." + user_column + " OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid") +
         ")";
}

std::string make_fingerprint_sql() {
  std::string parts;
  for (const auto &[catalog, user_column] : {std::pair{"pg_class", "oid"},
                                             {"pg_attribute", "attrelid"},
                                             {"pg_constraint", "oid"},
                                             {"pg_inherits", "inhrelid"},
                                             {"pg_trigger", "oid"},
                                             {"pg_rewrite", "oid"},
                                             {"pg_namespace", ""},
                                             {"pg_extension", ""}})
    parts += catalog_state(catalog, user_column) + ",\n";
  // An index that becomes valid is updated in place, keeping its xmin.
  parts +=
      catalog_state("pg_index", "indexrelid", "pg_catalog.count(*) FILTER (WHERE x.indisvalid)") +
      ",\n";
  return "pg_catalog.concat_ws(' ',\n" + parts + R"SQL(
    (SELECT pg_catalog.md5(pg_catalog.concat_ws(E'\n',
        (SELECT pg_catalog.string_agg(r::pg_catalog.text, ' ' ORDER BY r.root_id) FROM test_cleanup.root r),
        (SELECT pg_catalog.string_agg(l::pg_catalog.text, ' ' ORDER BY l.link_id) FROM test_cleanup.link l),
        (SELECT pg_catalog.string_agg(l::pg_catalog.text, ' ' ORDER BY l.listed_link_id)
           FROM test_cleanup.listed_link l),
        (SELECT pg_catalog.string_agg(k::pg_catalog.text, ' ' ORDER BY k.tbl) FROM test_cleanup.report_key k),
        (SELECT pg_catalog.string_agg(p.tbl::pg_catalog.oid::pg_catalog.text, ' ' ORDER BY p.tbl)
           FROM test_cleanup.protected p))))))SQL";
}

}  // namespace

const std::string &fingerprint_sql() {
  static const std::string sql = make_fingerprint_sql();
  return sql;
}

CompiledPlan compile(const Catalog &catalog, const Plan &plan, PlanFunction function) {
  CompiledPlan compiled;
  compiled.plan.tables = plan.tables;
  for (const Step &step : plan.steps) {
    Step named;
    named.stage = step.stage;
    named.tables = step.tables;
    compiled.plan.steps.push_back(std::move(named));
  }
  const auto keep = [&](TableId id) {
    const Table &table = catalog.tables.at(id);
    Table &kept = compiled.catalog.tables[id];
    kept.id = id;
    kept.display_name = table.display_name;
    kept.report_key = table.report_key;
  };
  for (TableId id : plan.tables) keep(id);
  for (TableId id : function.slots) keep(id);
  for (const Step &step : plan.steps)
    for (TableId id : step.tables) keep(id);
  compiled.function = std::move(function);
  return compiled;
}

nlohmann::json to_json(const CompiledPlan &compiled) {
  nlohmann::json tables = nlohmann::json::array(), steps = nlohmann::json::array();
  for (const auto &[id, table] : compiled.catalog.tables)
    tables.push_back(
        {{"id", id}, {"display_name", table.display_name}, {"report_key", table.report_key}});
  for (const Step &step : compiled.plan.steps)
    steps.push_back({{"stage", static_cast<int>(step.stage)}, {"tables", step.tables}});
  return {{"tables", tables},
          {"plan_tables", compiled.plan.tables},
          {"steps", steps},
          {"body", compiled.function.body},
          {"statements", compiled.function.statements},
          {"slots", compiled.function.slots}};
}

CompiledPlan compiled_from_json(const nlohmann::json &json) {
  CompiledPlan compiled;
  for (const nlohmann::json &item : json.at("tables")) {
    const auto id = item.at("id").get<TableId>();
    Table &table = compiled.catalog.tables[id];
    table.id = id;
    table.display_name = item.at("display_name").get<std::string>();
    table.report_key = item.at("report_key").get<std::string>();
  }
  compiled.plan.tables = json.at("plan_tables").get<std::vector<TableId>>();
  for (const nlohmann::json &item : json.at("steps")) {
    Step step;
    step.stage = static_cast<Stage>(item.at("stage").get<int>());
    step.tables = item.at("tables").get<std::vector<TableId>>();
    compiled.plan.steps.push_back(std::move(step));
  }
  compiled.function.body = json.at("body").get<std::string>();
  compiled.function.statements = json.at("statements");
  compiled.function.slots = json.at("slots").get<std::vector<TableId>>();
  return compiled;
}

}  // namespace test_cleanup::client
