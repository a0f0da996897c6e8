// Plans a cleanup: which tables can lose rows, in which order their doomed sets are
// computed (owners first), and in which order rows are deleted (dependents first). Tables
// that reference each other form a strongly connected group: their doomed sets grow in one
// recursive statement and their rows go in one statement, so cycles terminate and foreign
// key checks (which run at the end of a statement) see a consistent state.
#include "plan.hpp"

#include <algorithm>
#include <functional>
#include <set>
#include <tuple>

#include "sql_text.hpp"

namespace test_cleanup {

const char *stage_name(Stage stage) {
  switch (stage) {
    case Stage::lock:
      return "lock";
    case Stage::seed:
      return "seed";
    case Stage::closure:
      return "closure";
    case Stage::cycle:
      return "cycle";
    case Stage::triggers_off:
      return "foreign key triggers off";
    case Stage::remove:
      return "delete";
    case Stage::set_null:
      return "set null";
  }
  return "unknown";
}

namespace {

using Group = std::vector<TableId>;
using Successors = std::function<std::vector<TableId>(TableId)>;

// Tarjan's strongly connected components. A group is emitted only after every group
// reachable from it, i.e. successors first.
class GroupFinder {
 public:
  explicit GroupFinder(Successors successors) : successors_(std::move(successors)) {}

  std::vector<Group> run(const std::vector<TableId> &nodes) {
    for (TableId node : nodes)
      if (!index_.count(node)) visit(node);
    return groups_;
  }

 private:
  void visit(TableId node) {
    index_[node] = lowlink_[node] = next_index_++;
    stack_.push_back(node);
    on_stack_.insert(node);
    for (TableId next : successors_(node)) {
      if (!index_.count(next)) {
        visit(next);
        lowlink_[node] = std::min(lowlink_[node], lowlink_[next]);
      } else if (on_stack_.count(next)) {
        lowlink_[node] = std::min(lowlink_[node], index_[next]);
      }
    }
    if (lowlink_[node] != index_[node]) return;
    Group group;
    TableId member;
    do {
      member = stack_.back();
      stack_.pop_back();
      on_stack_.erase(member);
      group.push_back(member);
    } while (member != node);
    std::sort(group.begin(), group.end());
    groups_.push_back(std::move(group));
  }

  Successors successors_;
  std::map<TableId, int> index_, lowlink_;
  int next_index_ = 0;
  std::vector<TableId> stack_;
  std::set<TableId> on_stack_;
  std::vector<Group> groups_;
};

class Planner {
 public:
  Planner(const Catalog &catalog, const Request &request)
      : catalog_(catalog),
        by_session_(!request.all_sessions),
        skip_fk_checks_(request.skip_fk_checks) {}

  Plan run() {
    if (catalog_.root_tables.empty())
      throw UserError("55000", "test_cleanup: no root table is registered",
                      "A cleanup starts from rows marked with test metadata, and no table has "
                      "been registered as carrying it.",
                      "Register one with SELECT test_cleanup.add_root('users', 'test_metadata');");
    find_plan_tables();
    check_plan_tables();

    std::vector<Group> owners_first = closure_groups();
    for (const Group &group : owners_first)
      plan_.tables.insert(plan_.tables.end(), group.begin(), group.end());

    add_lock_steps();
    for (TableId root : catalog_.root_tables) add_seed_step(root);
    for (const Group &group : owners_first) add_closure_steps(group);
    if (skip_fk_checks_) add_fk_bypass_steps();
    for (const Group &group : delete_groups()) add_remove_step(group);
    fuse_unread_closures();
    return std::move(plan_);
  }

 private:
  const Table &table(TableId id) const { return catalog_.tables.at(id); }
  bool in_plan(TableId id) const { return in_plan_.count(id) > 0; }

  // Edges whose both ends are in the plan and along which deletion spreads.
  std::vector<const Edge *> dooming_edges_into(TableId dependent) const {
    std::vector<const Edge *> edges;
    for (const Edge &edge : catalog_.edges)
      if (edge.dependent == dependent && edge.dooms_dependent() && in_plan(edge.owner))
        edges.push_back(&edge);
    return edges;
  }

  void find_plan_tables() {
    std::vector<TableId> queue(catalog_.root_tables);
    in_plan_.insert(queue.begin(), queue.end());
    while (!queue.empty()) {
      TableId owner = queue.back();
      queue.pop_back();
      for (const Edge &edge : catalog_.edges)
        if (edge.owner == owner && edge.dooms_dependent() && in_plan_.insert(edge.dependent).second)
          queue.push_back(edge.dependent);
    }
  }

  void check_plan_tables() const {
    for (TableId id : in_plan_) {
      const Table &t = table(id);
      if (t.relkind == 'r') continue;
      throw UserError("0A000", "test_cleanup: table \"" + t.display_name + "\" cannot be cleaned",
                      std::string("It is reached by a rule or foreign key, but it is a ") +
                          (t.relkind == 'p' ? "partitioned table" : "relation of another kind") +
                          "; test_cleanup deletes from ordinary tables only.",
                      "Remove the rule that reaches it, or clean it outside test_cleanup.");
    }
  }

  // Groups of tables whose doomed sets depend on each other, owners' groups first.
  std::vector<Group> closure_groups() const {
    GroupFinder finder([this](TableId owner) {
      std::vector<TableId> next;
      for (const Edge &edge : catalog_.edges)
        if (edge.owner == owner && edge.dooms_dependent() && in_plan(edge.dependent))
          next.push_back(edge.dependent);
      return next;
    });
    std::vector<Group> groups = finder.run(sorted_plan_tables());
    std::reverse(groups.begin(), groups.end());
    return groups;
  }

  // Groups of tables that must lose their rows in one statement, dependents' groups first.
  // Every foreign key counts here, SET NULL too: deleting an owner first would let
  // PostgreSQL update (and so move) a doomed dependent row before we delete it.
  std::vector<Group> delete_groups() const {
    GroupFinder finder([this](TableId owner) {
      std::vector<TableId> next;
      for (const Edge &edge : catalog_.edges)
        if (edge.owner == owner && in_plan(edge.dependent) && edge.dependent != owner)
          next.push_back(edge.dependent);
      return next;
    });
    return finder.run(sorted_plan_tables());
  }

  std::vector<TableId> sorted_plan_tables() const {
    return std::vector<TableId>(in_plan_.begin(), in_plan_.end());
  }

  void add_step(Stage stage, std::vector<TableId> tables, std::vector<TableId> inputs,
                std::string sql) {
    plan_.steps.push_back(Step{stage, std::move(tables), std::move(inputs), std::move(sql)});
  }

  // The parameter that carries the doomed rows of `id` in the step being built.
  std::string input(std::vector<TableId> &inputs, TableId id) const {
    inputs.push_back(id);
    return "$" + std::to_string(kFirstInputParam + static_cast<int>(inputs.size()) - 1);
  }

  void add_lock_steps() {
    // One cleanup per session at a time; cleaning everything excludes all others.
    add_step(Stage::lock, {}, {},
             by_session_ ? "SELECT pg_advisory_xact_lock_shared(" + sql::kLockSpace +
                               ", 0), pg_advisory_xact_lock(" + sql::kLockSpace + ", hashtext($2))"
                         : "SELECT pg_advisory_xact_lock(" + sql::kLockSpace + ", 0)");

    // Row locks keep new children away from doomed owners only where a foreign key
    // checks. Tables that point at their owner without one, and owners whose JSON lists
    // decide whether a listed row survives, are locked against writes for the cleanup.
    std::set<TableId> guarded;
    for (const Edge &edge : catalog_.edges) {
      if (!in_plan(edge.owner)) continue;
      // With foreign key triggers off nothing else protects the doomed rows: every table
      // the cleanup deletes from or updates is locked against writes instead (one lock
      // per table, where row locks would write every doomed row once more).
      if (skip_fk_checks_) guarded.insert({edge.owner, edge.dependent});
      if (!in_plan(edge.dependent)) continue;
      if (edge.kind == EdgeKind::link) guarded.insert(edge.dependent);
      if (edge.kind == EdgeKind::listed_link) guarded.insert(edge.owner);
    }
    if (skip_fk_checks_) guarded.insert(in_plan_.begin(), in_plan_.end());
    if (guarded.empty()) return;
    std::string names;
    for (TableId id : guarded) names += (names.empty() ? "" : ", ") + table(id).sql_name;
    add_step(Stage::lock, std::vector<TableId>(guarded.begin(), guarded.end()), {},
             "LOCK TABLE ONLY " + names + " IN SHARE ROW EXCLUSIVE MODE");
  }

  void add_seed_step(TableId root) {
    const Table &t = table(root);
    add_step(Stage::seed, {root}, {},
             "SELECT 0, coalesce(array_agg(s.ctid), '{}') FROM (SELECT x.ctid FROM ONLY " +
                 t.sql_name + " x WHERE " + sql::metadata_match(t, "x", by_session_) +
                 " FOR UPDATE OF x) s");
  }

  void add_closure_steps(const Group &group) {
    std::set<TableId> members(group.begin(), group.end());
    for (const Edge &edge : catalog_.edges)
      if (edge.kind == EdgeKind::listed_link && members.count(edge.owner) &&
          members.count(edge.dependent))
        throw UserError(
            "55000",
            "test_cleanup: the listed link from \"" + table(edge.owner).display_name + "\" to \"" +
                table(edge.dependent).display_name + "\" lies on a cycle",
            "Whether a listed row survives depends on the final set of its owners, which "
            "cannot be known while the owners themselves depend on the listed rows.",
            "Remove the listed link or one of the foreign keys or links that close the cycle.");

    // Everything that reaches the group from outside: its roots, its owners' doomed rows
    // and the rows its owners list.
    for (TableId id : group) add_gather_step(id, members);

    bool cyclic = group.size() > 1;
    for (const Edge &edge : catalog_.edges)
      if (edge.dooms_dependent() && members.count(edge.owner) && members.count(edge.dependent))
        cyclic = true;
    if (cyclic) add_cycle_step(group, members);
  }

  void add_gather_step(TableId id, const std::set<TableId> &group) {
    std::vector<TableId> inputs;
    std::vector<std::string> parts, conditions;  // conditions on `d`, a row of `id`
    const bool is_root =
        std::binary_search(catalog_.root_tables.begin(), catalog_.root_tables.end(), id);
    if (is_root) parts.push_back("SELECT unnest(" + input(inputs, id) + ")");

    std::vector<const Edge *> listed;
    // A link registered where a foreign key already joins the same columns finds the same
    // rows: read them once.
    std::set<std::tuple<TableId, std::vector<std::string>, std::vector<std::string>>> joins;
    for (const Edge *edge : dooming_edges_into(id)) {
      if (group.count(edge->owner)) continue;
      if (edge->kind == EdgeKind::listed_link) {
        listed.push_back(edge);
        continue;
      }
      if (!joins.emplace(edge->owner, edge->dependent_cols, edge->owner_cols).second) continue;
      conditions.push_back("(" + sql::columns("d", edge->dependent_cols) + ") IN (SELECT " +
                           sql::columns("o", edge->owner_cols) + " FROM ONLY " +
                           table(edge->owner).sql_name + " o WHERE o.ctid = ANY(" +
                           input(inputs, edge->owner) + "))");
    }
    if (!listed.empty()) conditions.push_back(listed_rows(listed, inputs));
    if (conditions.empty()) return;  // nothing reaches it from outside

    for (const std::string &condition : conditions)
      parts.push_back("SELECT d.ctid FROM ONLY " + table(id).sql_name + " d WHERE " + condition);
    std::string sql = "SELECT 0, coalesce(array_agg(s.t), '{}') FROM (";
    for (size_t i = 0; i < parts.size(); ++i) sql += (i ? " UNION " : "") + parts[i];
    add_step(Stage::closure, {id}, inputs, sql + ") s(t)");
    if (!is_root) gathers_[id] = Gather{std::move(conditions), std::move(inputs)};
  }

  // Rows `d` listed by a doomed owner and by no surviving one, across every listed link
  // into `id`. Keys are matched by their text form, as JSON holds them. Where a GIN index
  // holds the owners' lists, the survivors are probed per candidate key (may_list). Without
  // it every list is read; a single link then reads them once, as a set difference (a
  // correlated check risks one pass per candidate key: the planner expects 100 elements
  // per list and rarely hashes them).
  std::string listed_rows(const std::vector<const Edge *> &listed,
                          std::vector<TableId> &inputs) const {
    auto key = [](const Edge *edge) { return "d." + edge->dependent_cols.at(0) + "::text"; };
    auto keys = [this](const Edge *edge) {
      return "SELECT " + sql::listed_key("e", *edge) + " FROM ONLY " + table(edge->owner).sql_name +
             " o, " + sql::json_array_elements("o", *edge) + " e WHERE ";
    };
    if (listed.size() == 1 && !listed.front()->owner_lists_indexed) {
      const Edge *edge = listed.front();
      const std::string doomed = input(inputs, edge->owner);
      return key(edge) + " IN (" + keys(edge) + "o.ctid = ANY(" + doomed + ") EXCEPT " +
             keys(edge) + "o.ctid <> ALL(" + doomed + "))";
    }
    std::string listed_by_doomed, listed_by_survivor;
    for (const Edge *edge : listed) {
      const std::string doomed = input(inputs, edge->owner);
      listed_by_doomed += std::string(listed_by_doomed.empty() ? "" : " OR ") + key(edge) +
                          " IN (" + keys(edge) + "o.ctid = ANY(" + doomed + "))";
      listed_by_survivor +=
          " AND NOT EXISTS (" + keys(edge) +
          (edge->owner_lists_indexed ? sql::may_list("o", *edge, key(edge)) + " AND " : "") +
          "o.ctid <> ALL(" + doomed + ") AND " + sql::listed_key("e", *edge) + " = " + key(edge) +
          ")";
    }
    return "(" + listed_by_doomed + ")" + listed_by_survivor;
  }

  // Grows the doomed sets of a group of tables that reference each other (or themselves)
  // along the group's internal edges, in one recursive statement.
  void add_cycle_step(const Group &group, const std::set<TableId> &members) {
    auto position = [&group](TableId id) {
      return std::to_string(std::find(group.begin(), group.end(), id) - group.begin());
    };
    std::vector<TableId> inputs;
    std::string seeds, grow;
    for (TableId id : group)
      seeds += (seeds.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + position(id) +
               ", unnest(" + input(inputs, id) + ")";
    for (const Edge &edge : catalog_.edges) {
      if (!edge.dooms_dependent() || !members.count(edge.owner) || !members.count(edge.dependent))
        continue;
      grow += (grow.empty() ? "" : " UNION ALL ") + std::string("SELECT ") +
              position(edge.dependent) + ", d.ctid FROM ONLY " + table(edge.dependent).sql_name +
              " d WHERE c.tab = " + position(edge.owner) + " AND (" +
              sql::columns("d", edge.dependent_cols) + ") IN (SELECT " +
              sql::columns("o", edge.owner_cols) + " FROM ONLY " + table(edge.owner).sql_name +
              " o WHERE o.ctid = c.t)";
    }
    add_step(Stage::cycle, group, std::move(inputs),
             "WITH RECURSIVE closure(tab, t) AS (" + seeds +
                 " UNION SELECT n.tab, n.t FROM closure c CROSS JOIN LATERAL (" + grow +
                 ") n(tab, t)) SELECT tab, coalesce(array_agg(t), '{}') FROM closure GROUP BY tab");
  }

  // With foreign key triggers off, nothing may change under the cleanup (its tables are
  // locked, see add_lock_steps) and nothing PostgreSQL would have done may be left undone:
  // what ON DELETE SET NULL / SET DEFAULT would do to surviving rows is done before the
  // deletes, matched by key while the owners still exist (one UPDATE per key, so a row
  // that two keys update is found by both).
  void add_fk_bypass_steps() {
    // test_cleanup() has SET session_replication_role = origin: this SET LOCAL is undone
    // when it returns (and by the rollback on any error).
    add_step(Stage::triggers_off, {}, {},
             "SELECT set_config('session_replication_role', 'replica', true)");
    for (const Edge &edge : catalog_.edges)
      if (edge.kind == EdgeKind::foreign_key && !edge.dooms_dependent() && in_plan(edge.owner))
        add_set_null_step(edge);
  }

  void add_set_null_step(const Edge &edge) {
    const Table &dependent = table(edge.dependent);
    if (dependent.relkind != 'r' || edge.sets_some_columns)
      throw UserError("0A000",
                      "test_cleanup: test_cleanup.skip_fk_checks cannot apply " + edge.name +
                          " on \"" + dependent.display_name + "\"",
                      dependent.relkind != 'r'
                          ? "Its table is not an ordinary table."
                          : "It sets only some of its columns on delete, which the cleanup does "
                            "not reproduce with PostgreSQL's foreign key triggers off.",
                      "SET test_cleanup.skip_fk_checks = off for this database.");
    const std::string value = edge.on_delete == 'n' ? "NULL" : "DEFAULT";
    std::string assignments;
    for (const std::string &col : edge.dependent_cols)
      assignments += (assignments.empty() ? "" : ", ") + col + " = " + value;
    std::vector<TableId> inputs;
    std::string sql = "UPDATE ONLY " + dependent.sql_name + " d SET " + assignments + " WHERE (" +
                      sql::columns("d", edge.dependent_cols) + ") IN (SELECT " +
                      sql::columns("o", edge.owner_cols) + " FROM ONLY " +
                      table(edge.owner).sql_name + " o WHERE o.ctid = ANY(" +
                      input(inputs, edge.owner) + "))";
    if (in_plan(edge.dependent))  // a row that goes anyway keeps its place for the delete
      sql += " AND d.ctid <> ALL(" + input(inputs, edge.dependent) + ")";
    add_step(Stage::set_null, {edge.dependent}, std::move(inputs), sql);
  }

  void add_remove_step(const Group &group) {
    std::vector<TableId> inputs;
    std::vector<std::string> conditions;
    for (TableId id : group) conditions.push_back("d.ctid = ANY(" + input(inputs, id) + ")");
    add_step(Stage::remove, group, std::move(inputs), counted_deletes(group, conditions));
  }

  // One statement deleting the rows `d` of each table of `group` that meet its condition,
  // and returning (position in group, deleted, of which collateral).
  std::string counted_deletes(const Group &group,
                              const std::vector<std::string> &conditions) const {
    std::string deletes, counts;
    for (size_t i = 0; i < group.size(); ++i) {
      const Table &t = table(group[i]);
      const std::string cte = "d" + std::to_string(i);
      deletes += std::string(i ? ", " : "") + cte + " AS (DELETE FROM ONLY " + t.sql_name +
                 " d WHERE " + conditions[i] + " RETURNING " + sql::is_marked(t, "d") +
                 " AS marked)";
      counts += std::string(i ? " UNION ALL " : "") + "SELECT " + std::to_string(i) +
                ", count(*), count(*) FILTER (WHERE NOT marked) FROM " + cte;
    }
    return "WITH " + deletes + " " + counts;
  }

  // A table whose doomed set no other step reads (no dependents, no SET NULL bookkeeping)
  // needs no closure step of its own: its delete finds the rows from its owners' doomed
  // sets directly, one statement and one scan fewer. Its owners are still there then,
  // unmoved: the delete order puts dependents (and SET NULL referrers) first.
  void fuse_unread_closures() {
    for (auto &[id, gather] : gathers_) {
      auto is_own = [id = id](const Step &step, Stage stage) {
        return step.stage == stage && step.tables == std::vector<TableId>{id};
      };
      bool read = false;
      for (const Step &step : plan_.steps)
        if (!is_own(step, Stage::closure) && !is_own(step, Stage::remove) &&
            std::count(step.inputs.begin(), step.inputs.end(), id))
          read = true;
      const bool deleted_alone =
          std::any_of(plan_.steps.begin(), plan_.steps.end(),
                      [&](const Step &step) { return is_own(step, Stage::remove); });
      if (read || !deleted_alone) continue;
      auto &steps = plan_.steps;
      steps.erase(std::remove_if(steps.begin(), steps.end(),
                                 [&](const Step &step) { return is_own(step, Stage::closure); }),
                  steps.end());
      for (Step &step : steps) {
        if (!is_own(step, Stage::remove)) continue;
        std::string where;
        for (const std::string &condition : gather.conditions)
          where += (where.empty() ? "(" : " OR (") + condition + ")";
        step.inputs = gather.inputs;
        step.sql = counted_deletes({id}, {where});
      }
    }
  }

  struct Gather {
    std::vector<std::string> conditions;  // on `d`, a row of the table; any one dooms it
    std::vector<TableId> inputs;
  };

  const Catalog &catalog_;
  const bool by_session_;
  const bool skip_fk_checks_;
  std::set<TableId> in_plan_;
  std::map<TableId, Gather> gathers_;  // closure steps of tables that are not roots
  Plan plan_;
};

}  // namespace

Plan plan_cleanup(const Catalog &catalog, const Request &request) {
  return Planner(catalog, request).run();
}

}  // namespace test_cleanup
