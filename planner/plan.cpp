// Plans a cleanup: which tables can lose rows, in which order their doomed sets are
// computed (owners first), and in which order rows are deleted (dependents first). A
// doomed set names rows by key values (see Table::key), so a row that a trigger updates
// before its turn is still found. Tables that reference each other form a strongly
// connected group: their doomed sets grow in one recursive statement and their rows go in
// one statement, so cycles terminate and foreign key checks (which run at the end of a
// statement) see a consistent state.
#include "plan.hpp"

#include <algorithm>
#include <cmath>
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
    case Stage::skip_fk_checks:
      return "skip_fk_checks";
    case Stage::remove:
      return "delete";
    case Stage::set_null:
      return "set null";
    case Stage::verify:
      return "verify";
    case Stage::protect:
      return "protect";
    case Stage::index:
      return "transient index";
    case Stage::drop_index:
      return "drop transient indexes";
    case Stage::sweep:
      return "sweep";
  }
  return "unknown";
}

bool transient_index_pays(std::int64_t lookups, double pages, double tuples) {
  // PostgreSQL's default costs: a page read 1, a row 0.01 (cpu_tuple_cost); a sort
  // comparison 0.005 (2 * cpu_operator_cost) each of n log2 n.
  const double scan = pages + 0.01 * tuples;
  const double build = scan + 0.005 * tuples * std::log2(std::max(tuples, 2.0)) + 0.01 * tuples +
                       500;  // the DDL, its catalog rows and its drop: about 2 ms here
  return static_cast<double>(lookups) * scan > 2 * build;
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

// The parameters of one step: each input table's carried columns, in order.
class Inputs {
 public:
  explicit Inputs(const std::map<TableId, std::vector<Column>> &carried,
                  int first = kFirstInputParam)
      : carried_(carried), next_(first) {}

  int next_param() const { return next_; }

  // The $n of each carried column of `id` (added on first use).
  const std::vector<std::string> &of(TableId id) {
    auto found = params_.find(id);
    if (found != params_.end()) return found->second;
    tables_.push_back(id);
    std::vector<std::string> &params = params_[id];
    for (size_t i = 0; i < carried_.at(id).size(); ++i)
      params.push_back("$" + std::to_string(next_++));
    return params;
  }

  // The $n of the carried columns of `id` named like `cols`, position by position.
  std::vector<std::string> of(TableId id, const std::vector<Column> &cols) {
    const std::vector<std::string> &params = of(id);
    const std::vector<Column> &carried = carried_.at(id);
    std::vector<std::string> picked;
    for (const Column &col : cols)
      picked.push_back(params.at(std::find(carried.begin(), carried.end(), col) - carried.begin()));
    return picked;
  }

  std::vector<TableId> tables() const { return tables_; }

 private:
  const std::map<TableId, std::vector<Column>> &carried_;
  std::map<TableId, std::vector<std::string>> params_;
  std::vector<TableId> tables_;
  int next_;
};

class Planner {
 public:
  Planner(const Catalog &catalog, const PlanOptions &options)
      : catalog_(catalog),
        by_session_(!options.all_sessions),
        skip_fk_checks_(options.skip_fk_checks),
        lock_tables_(options.lock_tables) {
    for (const Edge &edge : catalog_.edges) {
      edges_from_[edge.owner].push_back(&edge);
      edges_into_[edge.dependent].push_back(&edge);
    }
  }

  Plan run() {
    if (catalog_.root_tables.empty())
      throw UserError("55000", "test_cleanup: no root table is registered",
                      "A cleanup starts from rows marked with test metadata, and no table has "
                      "been registered as carrying it.",
                      "Register one with SELECT test_cleanup.add_root('users', 'test_metadata');");
    find_plan_tables();
    check_citus_tables();
    // Citus refuses row locks across shards and the fast mode turns off the checks that row
    // locks rely on: both lock the tables instead, as the opt-in does.
    row_locks_ = !lock_tables_ && !skip_fk_checks_ && !citus_;
    plan_.row_locks = row_locks_;
    find_carried_columns();

    std::vector<Group> owners_first = closure_groups();
    for (const Group &group : owners_first)
      plan_.tables.insert(plan_.tables.end(), group.begin(), group.end());

    add_lock_steps();
    add_seed_steps();
    for (const Group &group : owners_first) add_closure_steps(group);
    for (TableId id : plan_.tables)
      if (table(id).is_protected) add_protect_step(id);
    // PostgreSQL's foreign key triggers look up the dependents of each deleted owner row
    // (unless skip_fk_checks turns them off).
    if (skip_fk_checks_) {
      add_skip_fk_checks_step();
    } else {
      std::vector<const Edge *> checked;
      for (const Edge &edge : catalog_.edges)
        if (edge.kind == EdgeKind::foreign_key && in_plan(edge.owner)) checked.push_back(&edge);
      add_index_step(checked);
    }
    const std::vector<Group> dependents_first = delete_groups();
    add_set_null_steps(dependents_first);
    for (const Group &group : dependents_first) add_remove_steps(group);
    fuse_unread_closures();
    for (TableId id : plan_.tables) add_verify_step(id);
    add_sweep_steps(owners_first, dependents_first);
    if (std::any_of(plan_.steps.begin(), plan_.steps.end(),
                    [](const Step &step) { return step.stage == Stage::index; }))
      add_step(Stage::drop_index, Result::none, {}, {}, "");
    return std::move(plan_);
  }

 private:
  const Table &table(TableId id) const { return catalog_.tables.at(id); }
  bool in_plan(TableId id) const { return in_plan_.count(id) > 0; }
  const std::vector<Column> &carried(TableId id) const { return plan_.carried.at(id); }

  // Every edge whose owner (from) or dependent (into) is `id`, in catalog order.
  const std::vector<const Edge *> &edges_from(TableId id) const {
    auto found = edges_from_.find(id);
    return found == edges_from_.end() ? no_edges_ : found->second;
  }
  const std::vector<const Edge *> &edges_into(TableId id) const {
    auto found = edges_into_.find(id);
    return found == edges_into_.end() ? no_edges_ : found->second;
  }

  // Edges whose both ends are in the plan and along which deletion spreads.
  std::vector<const Edge *> dooming_edges_into(TableId dependent) const {
    std::vector<const Edge *> edges;
    for (const Edge *edge : edges_into(dependent))
      if (edge->dooms_dependent() && in_plan(edge->owner)) edges.push_back(edge);
    return edges;
  }

  void find_plan_tables() {
    std::vector<TableId> queue(catalog_.root_tables);
    in_plan_.insert(queue.begin(), queue.end());
    while (!queue.empty()) {
      TableId owner = queue.back();
      queue.pop_back();
      for (const Edge *edge : edges_from(owner))
        if (edge->dooms_dependent() && in_plan_.insert(edge->dependent).second)
          queue.push_back(edge->dependent);
    }
  }

  // Tables the cleanup deletes from or updates.
  std::set<TableId> written_tables() const {
    std::set<TableId> written(in_plan_.begin(), in_plan_.end());
    for (const Edge &edge : catalog_.edges)
      if (in_plan(edge.owner) && edge.kind == EdgeKind::foreign_key) written.insert(edge.dependent);
    return written;
  }

  // Citus runs each statement on the shards that hold a table's rows: rows are named by key
  // there (a ctid is unique only within one shard or placement), row locks on many shards
  // are refused, and with foreign key triggers off on the coordinator they would still
  // fire on the workers.
  void check_citus_tables() {
    for (TableId id : written_tables()) {
      const Table &t = table(id);
      if (t.citus == CitusKind::none) continue;
      citus_ = true;
      if (t.citus == CitusKind::distributed) distributed_ = true;
      if (skip_fk_checks_)
        throw UserError("0A000",
                        "test_cleanup: test_cleanup.skip_fk_checks does not work on Citus "
                        "tables (\"" +
                            t.display_name + "\")",
                        "Foreign key checks run on the workers, where the coordinator's "
                        "session_replication_role does not reach.",
                        "SET test_cleanup.skip_fk_checks = off for this database.");
      if (t.by_ctid)
        throw UserError("0A000",
                        "test_cleanup: Citus table \"" + t.display_name +
                            "\" has no primary key or unique key over NOT NULL columns",
                        "Its rows can be named only by their physical address, which is unique "
                        "only within one shard or placement.",
                        "Give the table a primary key (on a distributed table it includes the "
                        "distribution column).");
    }
  }

  // A doomed row carries its key, and every column a dependent is matched on (a foreign
  // key may reference a unique key other than the one rows are named by).
  void find_carried_columns() {
    for (TableId id : in_plan_) {
      std::vector<Column> cols = table(id).key;
      for (const Edge *edge : edges_from(id)) {
        if (edge->kind == EdgeKind::listed_link) continue;
        for (const Column &col : edge->owner_cols)
          if (std::find(cols.begin(), cols.end(), col) == cols.end()) cols.push_back(col);
      }
      plan_.carried[id] = std::move(cols);
    }
  }

  // Groups of tables whose doomed sets depend on each other, owners' groups first.
  std::vector<Group> closure_groups() const {
    GroupFinder finder([this](TableId owner) {
      std::vector<TableId> next;
      for (const Edge *edge : edges_from(owner))
        if (edge->dooms_dependent() && in_plan(edge->dependent)) next.push_back(edge->dependent);
      return next;
    });
    std::vector<Group> groups = finder.run(sorted_plan_tables());
    std::reverse(groups.begin(), groups.end());
    return groups;
  }

  // Groups of tables that must lose their rows in one statement, dependents' groups first.
  // Every foreign key counts here, SET NULL too: deleting an owner first would let
  // PostgreSQL update a doomed dependent row before we delete it.
  std::vector<Group> delete_groups() const {
    GroupFinder finder([this](TableId owner) {
      std::vector<TableId> next;
      for (const Edge *edge : edges_from(owner))
        if (in_plan(edge->dependent) && edge->dependent != owner) next.push_back(edge->dependent);
      return next;
    });
    return finder.run(sorted_plan_tables());
  }

  std::vector<TableId> sorted_plan_tables() const {
    return std::vector<TableId>(in_plan_.begin(), in_plan_.end());
  }

  void add_step(Stage stage, Result result, std::vector<TableId> tables,
                std::vector<TableId> inputs, std::string sql) {
    plan_.steps.push_back(
        Step{stage, result, std::move(tables), std::move(inputs), std::move(sql)});
  }

  // True for the rows `alias` of `id` that are among its doomed rows.
  std::string own_rows(TableId id, const std::string &alias, Inputs &inputs) const {
    const std::vector<Column> &key = table(id).key;
    return match(id, alias, key, key, inputs.of(id, key));
  }

  // True for the owner rows `o` of a listed link that are doomed (none where the cleanup
  // never reaches the owner).
  std::string doomed_owner(const Edge &listed, Inputs &inputs) const {
    return in_plan(listed.owner) ? own_rows(listed.owner, "o", inputs) : "false";
  }

  // True for the rows `alias` of the edge's dependent whose owner row is doomed.
  std::string owned_rows(const Edge &edge, const std::string &alias, Inputs &inputs) const {
    return owned_rows(edge, alias, inputs.of(edge.owner, edge.owner_cols));
  }
  std::string owned_rows(const Edge &edge, const std::string &alias,
                         const std::vector<std::string> &params) const {
    return match(edge.dependent, alias, edge.dependent_cols, edge.owner_cols, params);
  }

  // sql::match() for rows of `id`. Citus sends the doomed rows to every shard as constant
  // arrays, where a shard's planner, misjudging a multi-column match, compares each row
  // with every doomed key: the first column alone (a hashed `= ANY`) first narrows the
  // rows to those sharing it (on a distributed table, the distribution column), and its
  // negation lets most rows pass a NOT quickly.
  std::string match(TableId id, const std::string &alias, const std::vector<Column> &cols,
                    const std::vector<Column> &equals,
                    const std::vector<std::string> &params) const {
    const std::string rows = sql::match(alias, cols, equals, params);
    if (table(id).citus == CitusKind::none || cols.size() < 2) return rows;
    return "(" + alias + "." + cols[0].name + " " + equals[0].equals + " ANY (" + params[0] +
           ") AND " + rows + ")";
  }

  // `SELECT pg_catalog.array_agg(s.c0), ... FROM (rows) s(c0, ...)`: one array per carried
  // column of `id`, from a query yielding those columns.
  std::string aggregate(TableId id, const std::string &rows) const {
    std::string aggregates;
    for (size_t i = 0; i < carried(id).size(); ++i)
      aggregates +=
          (i ? ", pg_catalog.array_agg(s.c" : "pg_catalog.array_agg(s.c") + std::to_string(i) + ")";
    return "SELECT " + aggregates + " FROM (" + rows + ") s(" + names_of_carried(id) + ")";
  }

  void add_lock_steps() {
    // One cleanup per session at a time; cleaning everything excludes all others.
    add_step(Stage::lock, Result::none, {}, {},
             by_session_ ? "SELECT pg_catalog.pg_advisory_xact_lock_shared(" + sql::kLockSpace +
                               ", 0), pg_catalog.pg_advisory_xact_lock(" + sql::kLockSpace +
                               ", pg_catalog.hashtext($2))"
                         : "SELECT pg_catalog.pg_advisory_xact_lock(" + sql::kLockSpace + ", 0)");
    // Citus refuses to write a reference or Citus local table after it read or wrote a
    // distributed table over several connections in the same transaction: one connection
    // per worker, set before any statement reaches a Citus table (function-local, as the
    // search_path is).
    if (distributed_ && std::any_of(in_plan_.begin(), in_plan_.end(), [this](TableId id) {
          return table(id).citus == CitusKind::reference || table(id).citus == CitusKind::local;
        }))
      add_step(Stage::lock, Result::none, {}, {},
               "SELECT pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true)");

    // Row locks keep new children away from doomed owners only where a foreign key
    // checks. Without row locks (test_cleanup.lock_tables, Citus), tables that point at
    // their owner without one, and owners whose JSON lists decide whether a listed row
    // survives, are locked against writes for the cleanup; with them, the sweep finds what
    // attached meanwhile (add_sweep_steps).
    std::set<TableId> guarded;
    for (const Edge &edge : catalog_.edges) {
      if (row_locks_ || !in_plan(edge.owner) || !in_plan(edge.dependent)) continue;
      if (edge.kind == EdgeKind::link) guarded.insert(edge.dependent);
      if (edge.kind == EdgeKind::listed_link) guarded.insert(edge.owner);
    }
    // With foreign key triggers off nothing else protects the doomed rows, and Citus
    // refuses row locks on many shards at once: then every table the cleanup deletes from
    // or updates is locked against writes instead (one lock per table, where row locks
    // would write every doomed row once more).
    if (skip_fk_checks_ || distributed_) {
      const std::set<TableId> written = written_tables();
      guarded.insert(written.begin(), written.end());
    }
    if (guarded.empty()) return;
    std::string names;
    for (TableId id : guarded)
      names += (names.empty() ? "" : ", ") + std::string(table(id).only() ? "ONLY " : "") +
               table(id).sql_name;
    add_step(Stage::lock, Result::none, std::vector<TableId>(guarded.begin(), guarded.end()), {},
             "LOCK TABLE " + names + " IN SHARE ROW EXCLUSIVE MODE");
  }

  // The marked rows of every root table, locked: one statement for all of them (a schema
  // with 49 root tables paid 49 statements for a cleanup that found nothing), whose row
  // holds each root's arrays in turn. On Citus, one statement per root: it would plan a
  // join of several tables' aggregates through intermediate results.
  void add_seed_steps() {
    if (citus_) {
      for (TableId root : catalog_.root_tables)
        add_step(Stage::seed, Result::doomed, {root}, {}, aggregate(root, marked_rows(root)));
      return;
    }
    std::string columns, from;
    for (size_t r = 0; r < catalog_.root_tables.size(); ++r) {
      const TableId root = catalog_.root_tables[r];
      const std::string alias = "r" + std::to_string(r);
      for (size_t c = 0; c < carried(root).size(); ++c)
        columns += (columns.empty() ? "" : ", ") + alias + ".c" + std::to_string(c);
      from += (from.empty() ? "(" : " CROSS JOIN (") + aggregate(root, marked_rows(root)) + ") " +
              alias + "(" + names_of_carried(root) + ")";
    }
    add_step(Stage::seed, Result::doomed, catalog_.root_tables, {},
             "SELECT " + columns + " FROM " + from);
  }

  // A root's marked rows, locked in key order. Inheritance children have root rules of
  // their own (see the catalog): ONLY here. Where every table is locked (a Citus distributed
  // table in the plan), no row lock.
  std::string marked_rows(TableId root) const {
    const Table &t = table(root);
    return "SELECT " + sql::columns("x", carried(root)) + " FROM " + sql::from(t, "x") + " WHERE " +
           sql::metadata_match(t, "x", by_session_) +
           (distributed_ ? "" : " ORDER BY " + sql::columns("x", t.key) + " FOR UPDATE OF x");
  }

  // `c0, c1, ...`: one name per carried column of `id`.
  std::string names_of_carried(TableId id) const {
    std::string names;
    for (size_t c = 0; c < carried(id).size(); ++c) names += (c ? ", c" : "c") + std::to_string(c);
    return names;
  }

  // The edges between members of a group, in catalog order.
  std::vector<const Edge *> internal_edges(const Group &group,
                                           const std::set<TableId> &members) const {
    std::vector<const Edge *> edges;
    for (TableId id : group)
      for (const Edge *edge : edges_from(id))
        if (members.count(edge->dependent)) edges.push_back(edge);
    std::sort(edges.begin(), edges.end());  // pointers into catalog_.edges: catalog order
    return edges;
  }

  void add_closure_steps(const Group &group) {
    std::set<TableId> members(group.begin(), group.end());
    const std::vector<const Edge *> internal = internal_edges(group, members);
    for (const Edge *edge_ptr : internal)
      if (const Edge &edge = *edge_ptr; edge.kind == EdgeKind::listed_link)
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

    const bool cyclic = std::any_of(internal.begin(), internal.end(),
                                    [](const Edge *e) { return e->dooms_dependent(); });
    const bool distributed = std::any_of(group.begin(), group.end(), [this](TableId id) {
      return table(id).citus == CitusKind::distributed;
    });
    if (cyclic && distributed) {
      add_iterated_cycle_step(group, internal);
    } else if (cyclic) {
      // The recursive statement looks up the dependents of each row it adds.
      std::vector<const Edge *> growing;
      for (const Edge *edge : internal)
        if (edge->dooms_dependent()) growing.push_back(edge);
      add_index_step(growing);
      add_cycle_step(group, internal);
      // A recursive statement cannot lock its rows: each member's go next, in key order.
      if (row_locks_)
        for (TableId id : group) {
          Inputs inputs(plan_.carried);
          add_step(
              Stage::cycle, Result::none, {id}, {id},
              "SELECT pg_catalog.count(*) FROM (" + locked(id, own_rows(id, "d", inputs)) + ") l");
        }
    }
  }

  // The carried columns of the rows `parts` yield and the rows of `id` that `conditions`
  // (on `d`) select, as a UNION (each part can use an index of its own). With row locks,
  // those rows locked in key order (locked()); where `recheck` (on `d`) is given, only
  // while they still meet it: a row that a writer points elsewhere while the cleanup waits
  // for its lock is left (PostgreSQL rechecks the updated row).
  std::string found_rows(TableId id, const std::vector<std::string> &parts,
                         const std::vector<std::string> &conditions,
                         const std::string &recheck) const {
    std::string rows;
    for (const std::string &part : parts) rows += (rows.empty() ? "" : " UNION ") + part;
    for (const std::string &condition : conditions)
      rows += (rows.empty() ? "" : " UNION ") + std::string("SELECT ") +
              sql::columns("d", carried(id)) + " FROM " + sql::from(table(id), "d") + " WHERE " +
              condition;
    if (!row_locks_) return rows;
    return locked(id, key_among(id, "d", rows) + (recheck.empty() ? "" : " AND " + recheck));
  }

  // `(a) OR (b) ...` of `first` (when not empty) and `conditions`.
  static std::string any_of_conditions(const std::string &first,
                                       const std::vector<std::string> &conditions) {
    std::string any = first.empty() ? "" : "(" + first + ")";
    for (const std::string &condition : conditions)
      any += (any.empty() ? "(" : " OR (") + condition + ")";
    return any.empty() ? "" : "(" + any + ")";
  }

  // The rows `alias` of `id` whose key is among those `rows` yields (its carried columns,
  // key first): one array probe for a single-column key (an index or TID scan).
  std::string key_among(TableId id, const std::string &alias, const std::string &rows) const {
    const std::vector<Column> &key = table(id).key;
    const std::string found = "(" + rows + ") f(" + names_of_carried(id) + ")";
    if (key.size() == 1)
      return alias + "." + key[0].name + " " + key[0].equals + " ANY (ARRAY(SELECT f.c0 FROM " +
             found + "))";
    std::string pairs;
    for (size_t c = 0; c < key.size(); ++c)
      pairs += (c ? " AND f.c" : "f.c") + std::to_string(c) + " " + key[c].equals + " " + alias +
               "." + key[c].name;
    return "EXISTS (SELECT FROM " + found + " WHERE " + pairs + ")";
  }

  // The carried columns of the rows `d` of `id` meeting `condition`, locked FOR UPDATE in
  // key order: cleanups that lock overlapping rows take them table by table in plan order
  // and in one order within a table, so none waits for another that waits for it.
  std::string locked(TableId id, const std::string &condition) const {
    return "SELECT " + sql::columns("d", carried(id)) + " FROM " + sql::from(table(id), "d") +
           " WHERE " + condition + " ORDER BY " + sql::columns("d", table(id).key) +
           " FOR UPDATE OF d";
  }

  // A step that builds, where they pay, the indexes the lookups along `edges` need and the
  // database lacks: one per table and set of columns. Citus tables get none (their
  // lookups run on the workers).
  void add_index_step(const std::vector<const Edge *> &edges) {
    std::vector<TransientIndex> indexes;
    auto same_columns = [](std::vector<Column> a, std::vector<Column> b) {
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      return a == b;
    };
    for (const Edge *edge : edges) {
      if (edge->dependent_indexed || table(edge->dependent).citus != CitusKind::none ||
          table(edge->owner).citus != CitusKind::none)
        continue;
      auto found = std::find_if(indexes.begin(), indexes.end(), [&](const TransientIndex &index) {
        return index.table == edge->dependent && same_columns(index.columns, edge->dependent_cols);
      });
      if (found == indexes.end()) {
        indexes.push_back(
            TransientIndex{edge->dependent, edge->dependent_cols, edge->dependent_names, {}, ""});
        found = std::prev(indexes.end());
      }
      if (std::find(found->owners.begin(), found->owners.end(), edge->owner) == found->owners.end())
        found->owners.push_back(edge->owner);
      found->used_by += (found->used_by.empty() ? "" : ", ") + edge->name;
    }
    if (indexes.empty()) return;
    // Its tables are its indexes' (an error names the one being built).
    add_step(Stage::index, Result::none, {}, {}, "");
    plan_.steps.back().indexes = std::move(indexes);
  }

  void add_gather_step(TableId id, const std::set<TableId> &group) {
    Inputs inputs(plan_.carried);
    std::vector<std::string> parts, conditions;  // conditions on `d`, a row of `id`
    const bool is_root =
        std::binary_search(catalog_.root_tables.begin(), catalog_.root_tables.end(), id);
    if (is_root) parts.push_back("SELECT * FROM " + sql::rows_of(inputs.of(id), "u"));

    std::vector<const Edge *> listed;
    // A link registered where a foreign key already joins the same columns finds the same
    // rows: read them once.
    std::set<std::tuple<TableId, std::vector<Column>, std::vector<Column>>> joins;
    for (const Edge *edge : dooming_edges_into(id)) {
      if (group.count(edge->owner)) continue;
      if (edge->kind == EdgeKind::listed_link) {
        listed.push_back(edge);
        continue;
      }
      if (!joins.emplace(edge->owner, edge->dependent_cols, edge->owner_cols).second) continue;
      conditions.push_back(owned_rows(*edge, "d", inputs));
    }
    // A row listed by a doomed owner survives while any owner lists it, also through a link
    // whose owners the cleanup never reaches (all of them survive).
    if (!listed.empty())
      for (const Edge *edge : edges_into(id))
        if (edge->kind == EdgeKind::listed_link && !in_plan(edge->owner)) listed.push_back(edge);
    // Citus runs no subquery that joins a distributed table's lists to other rows, nor a
    // correlated one over a reference table: there the lists are read by CTEs of their own,
    // which it runs first. So are several links' lists into one column where no GIN index
    // answers a probe per key (a correlated check per candidate row would read every list
    // per row).
    const bool citus = std::any_of(listed.begin(), listed.end(), [this, id](const Edge *edge) {
      return table(edge->owner).citus != CitusKind::none || table(id).citus != CitusKind::none;
    });
    const bool unindexed =
        listed.size() > 1 && std::all_of(listed.begin(), listed.end(), [&listed](const Edge *edge) {
          return !edge->owner_lists_indexed &&
                 edge->dependent_cols == listed.front()->dependent_cols;
        });
    const bool by_ctes = citus || unindexed;
    std::string ctes;
    if (by_ctes)
      conditions.push_back(listed_rows_by_ctes(listed, inputs, ctes));
    else if (!listed.empty())
      conditions.push_back(listed_rows(listed, inputs, false));
    if (conditions.empty()) return;  // nothing reaches it from outside

    // A row of a root table is also found by its own (seeded) key.
    std::string recheck;
    if (listed.empty())
      recheck = any_of_conditions(is_root ? own_rows(id, "d", inputs) : "", conditions);
    auto statement = [&](const std::vector<std::string> &where) {
      return ctes + aggregate(id, found_rows(id, parts, where, recheck));
    };
    add_step(Stage::closure, Result::doomed, {id}, inputs.tables(), statement(conditions));
    if (!listed.empty() && !by_ctes) {
      std::vector<std::string> few = conditions;
      few.back() = listed_rows(listed, inputs, true);
      if (few.back() != conditions.back()) plan_.steps.back().sql_for_few = statement(few);
    }
    // A listed table keeps its closure: its lists are read once there, and its delete and
    // verify then probe its key (fused, both would read the lists again).
    if (!is_root && listed.empty()) gathers_[id] = Gather{std::move(conditions), inputs.tables()};
  }

  // Rows `d` listed by a doomed owner and by no surviving one, across every listed link
  // into `id`. Keys are matched by their text form, as JSON holds them. Where a GIN index
  // holds the owners' lists, the survivors are probed per candidate key (may_list). Without
  // it every list is read; a single link then reads them once, as a set difference (a
  // correlated check risks one pass per candidate key: the planner expects 100 elements
  // per list and rarely hashes them).
  // `few`: for a handful of doomed owners, where the survivors are probed per key.
  // `correlated`: never the set difference (the sweep's candidates are few or none, and a
  // set difference reads every surviving list even then).
  std::string listed_rows(const std::vector<const Edge *> &listed, Inputs &inputs, bool few,
                          bool correlated = false) const {
    // `SELECT what FROM owner o, its list's elements e WHERE `
    auto lists = [this](const Edge *edge, const std::string &what) {
      return "SELECT " + what + " FROM " + sql::from(table(edge->owner), "o") + ", " +
             sql::json_array_elements("o", *edge) + " e WHERE ";
    };
    auto keys = [&](const Edge *edge) { return lists(edge, sql::listed_key("e", *edge)); };
    if (listed.size() == 1 && !listed.front()->owner_lists_indexed && !correlated) {
      const Edge *edge = listed.front();
      const std::string doomed = doomed_owner(*edge, inputs);
      return sql::listed_column("d", *edge) + " " + sql::kEquals + " ANY (" + keys(edge) + doomed +
             " EXCEPT " + keys(edge) + "NOT " + doomed + ")";
    }
    std::string listed_by_doomed, listed_by_survivor;
    for (const Edge *edge : listed) {
      const std::string doomed = doomed_owner(*edge, inputs);
      const std::string key = sql::listed_column("d", *edge);
      listed_by_doomed += std::string(listed_by_doomed.empty() ? "" : " OR ") + key + " " +
                          sql::kEquals + " ANY (" + keys(edge) + doomed + ")";
      const std::string survivor_lists_key =
          "NOT " + doomed + " AND " + sql::listed_key("e", *edge) + " " + sql::kEquals + " " + key;
      // For a few candidate keys, with the GIN index, one probe per key is the plan, and a
      // scalar count keeps it so: the planner's estimate for a list probe is 2 % of the
      // owners, so it may turn NOT EXISTS into a hash anti join over every list, or a
      // LIMIT 1 into a sequential scan expecting an early hit (0.2 s for a 5-user session).
      // For many, that anti join is the right plan, and per-key probes add up.
      listed_by_survivor +=
          few && edge->owner_lists_indexed
              ? " AND (" + lists(edge, "pg_catalog.count(*)") + sql::may_list("o", *edge, key) +
                    " AND " + survivor_lists_key + ") " + sql::kEquals + " 0"
              : " AND NOT EXISTS (" + lists(edge, "1") +
                    (edge->owner_lists_indexed ? sql::may_list("o", *edge, key) + " AND " : "") +
                    survivor_lists_key + ")";
    }
    return "(" + listed_by_doomed + ")" + listed_by_survivor;
  }

  // listed_rows() by CTEs (on Citus, and for several links no GIN index answers): the keys
  // each link's doomed owners list, and those its surviving owners list, are read by
  // materialized CTEs (set in `ctes`, as `WITH ... `). Per listed column of `d`: listed by a
  // doomed owner and by no surviving one is a set difference (hashed or sorted, where a NOT
  // IN over every surviving list may not be). Where links list different columns of `d`, no
  // other column may be listed by a surviving owner either.
  std::string listed_rows_by_ctes(const std::vector<const Edge *> &listed, Inputs &inputs,
                                  std::string &ctes) const {
    std::map<std::string, std::pair<std::string, std::string>> by_column;  // doomed, kept
    for (size_t i = 0; i < listed.size(); ++i) {
      const Edge *edge = listed[i];
      const std::string doomed = doomed_owner(*edge, inputs);
      const std::string keys = "SELECT " + sql::listed_key("e", *edge) + " FROM " +
                               sql::from(table(edge->owner), "o") + ", " +
                               sql::json_array_elements("o", *edge) + " e WHERE ";
      const std::string n = std::to_string(i);
      ctes += std::string(ctes.empty() ? "WITH " : ", ") + "listed_" + n + "(k) AS MATERIALIZED (" +
              keys + doomed + "), kept_" + n + "(k) AS MATERIALIZED (" + keys + "NOT " + doomed +
              ")";
      auto &[by_doomed, by_survivors] = by_column[sql::listed_column("d", *edge)];
      by_doomed +=
          (by_doomed.empty() ? "SELECT k FROM listed_" : " UNION SELECT k FROM listed_") + n;
      by_survivors +=
          (by_survivors.empty() ? "SELECT k FROM kept_" : " UNION SELECT k FROM kept_") + n;
    }
    ctes += " ";
    std::string any_listed, none_kept;
    for (const auto &[column, sets] : by_column) {
      any_listed += std::string(any_listed.empty() ? "" : " OR ") + column + " " + sql::kEquals +
                    " ANY (SELECT k FROM (" + sets.first + ") l EXCEPT SELECT k FROM (" +
                    sets.second + ") s)";
      if (by_column.size() > 1)
        none_kept += " AND NOT " + column + " " + sql::kEquals + " ANY (SELECT k FROM (" +
                     sets.second + ") s WHERE k IS NOT NULL)";
    }
    return "(" + any_listed + ")" + none_kept;
  }

  // Grows the doomed sets of a group of tables that reference each other (or themselves)
  // along the group's internal edges, in one recursive statement. Each member has its own
  // columns in the working table (its carried columns), NULL in other members' rows.
  void add_cycle_step(const Group &group, const std::vector<const Edge *> &internal) {
    auto position = [&group](TableId id) {
      return static_cast<size_t>(std::find(group.begin(), group.end(), id) - group.begin());
    };
    auto column = [](size_t member, size_t col) {
      return "t" + std::to_string(member) + "_" + std::to_string(col);
    };
    Inputs inputs(plan_.carried);
    // The row of member `m` whose own columns are `values`; other members' columns hold a
    // typed NULL (an element of their input array that does not exist).
    auto row = [&](size_t m, const std::vector<std::string> &values) {
      std::string out = std::to_string(m);
      for (size_t other = 0; other < group.size(); ++other) {
        const std::vector<std::string> &params = inputs.of(group[other]);
        for (size_t c = 0; c < params.size(); ++c)
          out += ", " + (other == m ? values[c] : "(" + params[c] + ")[0]");
      }
      return out;
    };
    std::string names = "tab", seeds, grow, aggregates;
    for (size_t m = 0; m < group.size(); ++m) {
      std::vector<std::string> values;
      for (size_t c = 0; c < carried(group[m]).size(); ++c) {
        names += ", " + column(m, c);
        values.push_back("u.c" + std::to_string(c));
        aggregates += std::string(aggregates.empty() ? "" : ", ") + "pg_catalog.array_agg(" +
                      column(m, c) + ") FILTER (WHERE tab " + sql::kEquals + " " +
                      std::to_string(m) + ")";
      }
      seeds += (seeds.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + row(m, values) +
               " FROM " + sql::rows_of(inputs.of(group[m]), "u");
    }
    for (const Edge *edge_ptr : internal) {
      const Edge &edge = *edge_ptr;
      if (!edge.dooms_dependent()) continue;
      const size_t d = position(edge.dependent), o = position(edge.owner);
      // Values that come from columns take the default collation, as the seeds' values
      // (parameters) have: a recursive term must agree with its seed on collations. The
      // join below still compares with the column's own collation.
      std::vector<std::string> values;
      for (const Column &col : carried(edge.dependent))
        values.push_back("d." + col.name +
                         (col.collatable ? " COLLATE pg_catalog.\"default\"" : ""));
      std::string join;
      const std::vector<Column> &owner_carried = carried(edge.owner);
      for (size_t i = 0; i < edge.owner_cols.size(); ++i) {
        const size_t c = std::find(owner_carried.begin(), owner_carried.end(), edge.owner_cols[i]) -
                         owner_carried.begin();
        join += " AND c." + column(o, c) + " " + edge.owner_cols[i].equals + " d." +
                edge.dependent_cols[i].name;
      }
      grow += (grow.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + row(d, values) +
              " FROM " + sql::from(table(edge.dependent), "d") + " WHERE c.tab " + sql::kEquals +
              " " + std::to_string(o) + join;
    }
    add_step(Stage::cycle, Result::doomed, group, inputs.tables(),
             "WITH RECURSIVE closure(" + names + ") AS (" + seeds +
                 " UNION SELECT n.* FROM closure c CROSS JOIN LATERAL (" + grow + ") n) SELECT " +
                 aggregates + " FROM closure");
  }

  // The same growth, one round per run (see Step::iterate), for groups Citus cannot run a
  // recursive statement on: the rows an internal edge reaches from the rows the previous
  // round added, that are not doomed yet.
  void add_iterated_cycle_step(const Group &group, const std::vector<const Edge *> &internal) {
    Inputs known(plan_.carried);
    for (TableId id : group) known.of(id);
    Inputs added(plan_.carried, known.next_param());
    for (TableId id : group) added.of(id);
    std::string names = "tab", rounds, aggregates;
    for (size_t m = 0; m < group.size(); ++m)
      for (size_t c = 0; c < carried(group[m]).size(); ++c) {
        const std::string name = "t" + std::to_string(m) + "_" + std::to_string(c);
        names += ", " + name;
        aggregates += std::string(aggregates.empty() ? "" : ", ") + "pg_catalog.array_agg(" + name +
                      ") FILTER (WHERE tab " + sql::kEquals + " " + std::to_string(m) + ")";
      }
    for (const Edge *edge_ptr : internal) {
      const Edge &edge = *edge_ptr;
      if (!edge.dooms_dependent()) continue;
      const size_t d = static_cast<size_t>(std::find(group.begin(), group.end(), edge.dependent) -
                                           group.begin());
      std::string values = std::to_string(d);  // the member's columns, typed NULLs for others
      for (size_t other = 0; other < group.size(); ++other) {
        const std::vector<std::string> &params = known.of(group[other]);
        for (size_t c = 0; c < params.size(); ++c)
          values += ", " + (other == d ? "d." + carried(edge.dependent)[c].name
                                       : "(" + params[c] + ")[0]");
      }
      rounds += (rounds.empty() ? "" : " UNION ") + std::string("SELECT ") + values + " FROM " +
                sql::from(table(edge.dependent), "d") + " WHERE " +
                owned_rows(edge, "d", added.of(edge.owner, edge.owner_cols)) + " AND NOT " +
                own_rows(edge.dependent, "d", known);
    }
    add_step(Stage::cycle, Result::doomed, group, known.tables(),
             "SELECT " + aggregates + " FROM (" + rounds + ") round(" + names + ")");
    plan_.steps.back().iterate = true;
  }

  // With foreign key triggers off, nothing may change under the cleanup: its tables are
  // locked (see add_lock_steps).
  void add_skip_fk_checks_step() {
    // test_cleanup() has SET session_replication_role = origin: this SET LOCAL is undone
    // when it returns (and by the rollback on any error).
    add_step(Stage::skip_fk_checks, Result::none, {}, {},
             "SELECT pg_catalog.set_config('session_replication_role', 'replica', true)");
  }

  // What ON DELETE SET NULL / SET DEFAULT does to surviving rows is done before the
  // deletes, matched by key while the owners still exist (one UPDATE per key, so a row
  // that two keys update is found by both). With foreign key triggers off nothing else
  // would do it. With them on, PostgreSQL's action fires per deleted owner row, after the
  // statement that deleted it: a user trigger that touches such a row in between (twice,
  // so its key is re-checked) finds it pointing at a deleted row, and whether that happens
  // depends on the order rows are deleted in (a native DELETE fails or not by row order).
  // So it is done first wherever user code runs during the deletes (a DELETE trigger or a
  // rule on a table of the plan) or a dependent lies in its owner's delete group; elsewhere
  // PostgreSQL's action alone does it (doing it here too would cost an UPDATE on top of
  // its per-row queries). Keys that set only some columns are then left to PostgreSQL.
  // `owners`: only edges from these tables (the sweep's), when given.
  void add_set_null_steps(const std::vector<Group> &delete_groups,
                          const std::set<TableId> *owners = nullptr) {
    std::map<TableId, size_t> group_of;
    for (size_t i = 0; i < delete_groups.size(); ++i)
      for (TableId id : delete_groups[i]) group_of[id] = i;
    const bool user_code = std::any_of(in_plan_.begin(), in_plan_.end(), [this](TableId id) {
      return table(id).runs_code_on_delete;
    });
    for (const Edge &edge : catalog_.edges) {
      if (edge.kind != EdgeKind::foreign_key || edge.dooms_dependent() || !in_plan(edge.owner) ||
          (owners && !owners->count(edge.owner)))
        continue;
      const bool same_group =
          in_plan(edge.dependent) && group_of.at(edge.dependent) == group_of.at(edge.owner);
      if (skip_fk_checks_ || ((user_code || same_group) && !edge.sets_some_columns))
        add_set_null_step(edge);
    }
  }

  void add_set_null_step(const Edge &edge) {
    const Table &dependent = table(edge.dependent);
    if (edge.sets_some_columns)
      throw UserError("0A000",
                      "test_cleanup: test_cleanup.skip_fk_checks cannot apply " + edge.name +
                          " on \"" + dependent.display_name + "\"",
                      "It sets only some of its columns on delete, which the cleanup does not "
                      "reproduce with PostgreSQL's foreign key triggers off.",
                      "SET test_cleanup.skip_fk_checks = off for this database.");
    const std::string value = edge.on_delete == 'n' ? "NULL" : "DEFAULT";
    std::string assignments;
    for (const Column &col : edge.dependent_cols)
      assignments += (assignments.empty() ? "" : ", ") + col.name + " = " + value;
    Inputs inputs(plan_.carried);
    std::string sql = "UPDATE " + sql::from(dependent, "d") + " SET " + assignments + " WHERE " +
                      owned_rows(edge, "d", inputs);
    if (in_plan(edge.dependent))  // a row that goes anyway is left for the delete
      sql += " AND NOT " + own_rows(edge.dependent, "d", inputs);
    add_step(Stage::set_null, Result::none, {edge.dependent}, inputs.tables(), sql);
  }

  void add_remove_steps(const Group &group) {
    Inputs inputs(plan_.carried);
    std::vector<std::string> conditions;
    for (TableId id : group) conditions.push_back(own_rows(id, "d", inputs));
    for (Step &step : counted_deletes(group, inputs.tables(), conditions))
      plan_.steps.push_back(std::move(step));
  }

  // Deletes the rows `d` of each table of `group` that meet its condition, counting them
  // (position in group, deleted, of which collateral). One statement for the group; a
  // table with ON DELETE rules, whose DELETE can neither sit in a WITH nor return rows, is
  // counted by one statement and deleted by the next (the verify step then proves it).
  std::vector<Step> counted_deletes(const Group &group, const std::vector<TableId> &inputs,
                                    const std::vector<std::string> &conditions) const {
    if (group.size() == 1 && table(group[0]).has_delete_rules) {
      const Table &t = table(group[0]);
      return {Step{Stage::remove, Result::counts, group, inputs,
                   "SELECT 0, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NOT " +
                       sql::is_marked(t, "d") + ") FROM " + sql::from(t, "d") + " WHERE " +
                       conditions[0]},
              Step{Stage::remove, Result::none, group, inputs,
                   "DELETE FROM " + sql::from(t, "d") + " WHERE " + conditions[0]}};
    }
    // Citus runs each DELETE of a WITH as a statement of its own: a foreign key action of
    // one may remove rows another would count. There the rows are counted first.
    const bool citus =
        group.size() > 1 && std::any_of(group.begin(), group.end(), [this](TableId id) {
          return table(id).citus != CitusKind::none;
        });
    std::string deletes, counts, citus_counts;
    for (size_t i = 0; i < group.size(); ++i) {
      const Table &t = table(group[i]);
      if (t.has_delete_rules)
        throw UserError("0A000",
                        "test_cleanup: table \"" + t.display_name +
                            "\" has ON DELETE rules and lies on a cycle of foreign keys",
                        "The tables of a cycle are deleted in one statement, and a DELETE that "
                        "rules rewrite cannot be part of one.",
                        "Replace the rule with a trigger, or break the cycle.");
      const std::string cte = "d" + std::to_string(i);
      deletes += std::string(i ? ", " : "") + cte + " AS (DELETE FROM " + sql::from(t, "d") +
                 " WHERE " + conditions[i] + " RETURNING " + sql::is_marked(t, "d") + " AS marked)";
      counts += std::string(i ? " UNION ALL " : "") + "SELECT " + std::to_string(i) +
                ", pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NOT marked) FROM " + cte;
      citus_counts += std::string(i ? " UNION ALL " : "") + "SELECT " + std::to_string(i) +
                      ", pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NOT " +
                      sql::is_marked(t, "d") + ") FROM " + sql::from(t, "d") + " WHERE " +
                      conditions[i];
    }
    if (citus) {
      std::vector<Step> steps{Step{Stage::remove, Result::counts, group, inputs, citus_counts}};
      for (size_t i : citus_delete_order(group))
        steps.push_back(
            Step{Stage::remove,
                 Result::none,
                 {group[i]},
                 inputs,
                 "DELETE FROM " + sql::from(table(group[i]), "d") + " WHERE " + conditions[i]});
      return steps;
    }
    return {Step{Stage::remove, Result::counts, group, inputs, "WITH " + deletes + " " + counts}};
  }

  // The order in which Citus deletes a group's tables, one statement each (positions in
  // `group`). Each statement checks its NO ACTION and RESTRICT keys at its end, and its
  // cascades remove rows of other members (already counted): a table goes only when no
  // remaining member still refers, by such a key, to a row that its delete or the cascades
  // it starts remove, and no table its cascades reach refers to itself by one. Where no
  // table can go first, the cleanup refuses.
  std::vector<size_t> citus_delete_order(const Group &group) const {
    auto fk_in_group = [&](const Edge *edge, bool cascading) {
      return edge->kind == EdgeKind::foreign_key && edge->dependent != edge->owner &&
             (cascading ? edge->on_delete == 'c'
                        : edge->on_delete == 'a' || edge->on_delete == 'r') &&
             std::find(group.begin(), group.end(), edge->dependent) != group.end();
    };
    std::vector<size_t> order;
    std::set<TableId> done;
    while (order.size() < group.size()) {
      const size_t before = order.size();
      for (size_t i = 0; i < group.size() && order.size() == before; ++i) {
        if (done.count(group[i])) continue;
        std::set<TableId> reached{group[i]};  // what the delete and its cascades remove
        std::vector<TableId> queue{group[i]};
        bool blocked = false;
        while (!queue.empty() && !blocked) {
          const TableId owner = queue.back();
          queue.pop_back();
          for (const Edge *edge : edges_from(owner)) {
            if (done.count(edge->dependent)) continue;
            if (fk_in_group(edge, false)) blocked = true;
            // A cascade removes only some rows of a table it reaches: those rows' own
            // referencing rows (a NO ACTION or RESTRICT self-reference) may still be there.
            if (edge->kind == EdgeKind::foreign_key && edge->dependent == edge->owner &&
                owner != group[i] && (edge->on_delete == 'a' || edge->on_delete == 'r'))
              blocked = true;
            if (fk_in_group(edge, true) && reached.insert(edge->dependent).second)
              queue.push_back(edge->dependent);
          }
        }
        if (blocked) continue;
        order.push_back(i);
        done.insert(group[i]);
      }
      if (order.size() == before)
        throw UserError("0A000",
                        "test_cleanup: Citus tables " + names_of(group) +
                            " reference each other with NO ACTION or RESTRICT foreign keys",
                        "Citus runs the deletes of several tables as separate statements, each "
                        "checking its foreign keys at its end, and no order of them passes.",
                        "Make the NO ACTION or RESTRICT foreign keys between them ON DELETE "
                        "CASCADE.");
    }
    return order;
  }

  std::string names_of(const Group &group) const {
    std::string names;
    for (TableId id : group)
      names += (names.empty() ? "\"" : ", \"") + table(id).display_name + "\"";
    return names;
  }

  // After the deletes, none of a table's doomed rows may still exist: a BEFORE DELETE
  // trigger that returned NULL or a DO INSTEAD rule would otherwise end in a silent partial
  // cleanup. Only such tables can keep a row their delete matched; for the others the
  // probe runs only when the delete came up short (a row a cascade or trigger removed first
  // is fine; one whose key a trigger changed is found missing here, as it is). A table
  // deleted straight from its owners (fused) is verified by its owners' rows, and only if
  // it can keep rows at all.
  void add_verify_step(TableId id) {
    const Table &t = table(id);
    Inputs inputs(plan_.carried);
    auto fused = fused_.find(id);
    if (fused != fused_.end()) {
      if (t.may_keep_rows)
        add_step(Stage::verify, Result::leftovers, {id}, fused->second.inputs,
                 leftovers(t, fused->second.conditions.at(0)));
      return;
    }
    // A delete whose rows were counted by an earlier statement (rules, a Citus group) says
    // nothing of what it removed: verified always.
    const bool counted_apart =
        std::any_of(plan_.steps.begin(), plan_.steps.end(), [id](const Step &step) {
          return step.stage == Stage::remove && step.result == Result::none &&
                 step.tables == std::vector<TableId>{id};
        });
    add_step(Stage::verify, Result::leftovers, {id}, {id}, leftovers(t, own_rows(id, "d", inputs)));
    plan_.steps.back().only_if_short = !t.may_keep_rows && !counted_apart;
  }

  // With row locks, a row may point at a doomed owner through a link (nothing waits for the
  // owner's lock there) and commit while the cleanup runs. After the deletes, the sweep
  // finds such rows in a fresh snapshot, locked as the rest, with every row that depends on
  // them, and removes them as the cleanup did its own: protect, set null, delete, verify.
  // Its executor repeats it until a round adds no row. It reads the link owners' whole
  // doomed sets and, along every other edge, only the rows the round added: a foreign key
  // child of a locked row cannot commit, so a table reached only through foreign keys
  // costs no statement unless a round found something above it.
  void add_sweep_steps(const std::vector<Group> &owners_first,
                       const std::vector<Group> &dependents_first) {
    if (!row_locks_) return;
    std::set<TableId> swept;
    std::vector<TableId> queue;
    for (const Edge &edge : catalog_.edges)
      if (edge.kind == EdgeKind::link && in_plan(edge.owner) && swept.insert(edge.dependent).second)
        queue.push_back(edge.dependent);
    while (!queue.empty()) {
      const TableId owner = queue.back();
      queue.pop_back();
      for (const Edge *edge : edges_from(owner))
        if (edge->dooms_dependent() && in_plan(edge->dependent) &&
            swept.insert(edge->dependent).second)
          queue.push_back(edge->dependent);
    }
    if (swept.empty()) return;
    plan_.sweep_begin = plan_.steps.size();
    add_sweep_probe_step();
    for (const Group &group : owners_first)
      for (TableId id : group)
        if (swept.count(id)) add_sweep_find_step(id, swept);
    // The rest works on the round's additions only: the same steps as before, their inputs
    // read from those.
    const size_t rest = plan_.steps.size();
    for (TableId id : plan_.tables)
      if (swept.count(id) && table(id).is_protected) add_protect_step(id);
    add_set_null_steps(dependents_first, &swept);
    for (const Group &group : dependents_first)
      if (std::any_of(group.begin(), group.end(), [&swept](TableId id) { return swept.count(id); }))
        add_remove_steps(group);
    for (TableId id : plan_.tables)
      if (swept.count(id)) {
        Inputs inputs(plan_.carried);
        add_step(Stage::verify, Result::leftovers, {id}, {id},
                 leftovers(table(id), own_rows(id, "d", inputs)));
      }
    for (size_t i = rest; i < plan_.steps.size(); ++i) {
      Step &step = plan_.steps[i];
      step.added = std::move(step.inputs);
      step.inputs.clear();
    }
    plan_.sweep_end = plan_.steps.size();
  }

  // Whether any row reaches a doomed row through a link, in one statement: a count per
  // link, which the planner answers by index probes of the doomed keys. (An EXISTS invites
  // a sequential scan that expects an early hit, and after the deletes there is none: it
  // read every row of a 20,000-row table per cleanup.)
  void add_sweep_probe_step() {
    Inputs all(plan_.carried);
    std::vector<std::string> conditions;
    std::set<std::tuple<TableId, TableId, std::vector<Column>, std::vector<Column>>> joins;
    for (const Edge &edge : catalog_.edges)
      if (edge.kind == EdgeKind::link && in_plan(edge.owner) &&
          joins.emplace(edge.dependent, edge.owner, edge.dependent_cols, edge.owner_cols).second)
        conditions.push_back("(SELECT pg_catalog.count(*) FROM " +
                             sql::from(table(edge.dependent), "d") + " WHERE " +
                             owned_rows(edge, "d", all) + ")");
    std::string sum;
    for (const std::string &condition : conditions)
      sum += (sum.empty() ? "" : " OPERATOR(pg_catalog.+) ") + condition;
    add_step(Stage::sweep, Result::any_rows, {}, all.tables(),
             "SELECT " + sum + " OPERATOR(pg_catalog.>) 0");
  }

  // The rows of `id` that are not doomed yet and reach a doomed row: through a link, to any
  // doomed owner row; through another edge, to a row this round added.
  void add_sweep_find_step(TableId id, const std::set<TableId> &swept) {
    std::vector<std::string> conditions;
    std::set<std::tuple<TableId, std::vector<Column>, std::vector<Column>>> joins;
    Inputs all(plan_.carried);
    for (const Edge *edge : dooming_edges_into(id))
      if (edge->kind == EdgeKind::link &&
          joins.emplace(edge->owner, edge->dependent_cols, edge->owner_cols).second)
        conditions.push_back(owned_rows(*edge, "d", all));
    Inputs added(plan_.carried, all.next_param());
    bool listed = false;
    for (const Edge *edge : dooming_edges_into(id)) {
      if (edge->kind == EdgeKind::link || !swept.count(edge->owner)) continue;
      if (edge->kind == EdgeKind::listed_link)
        listed = true;
      else if (joins.emplace(edge->owner, edge->dependent_cols, edge->owner_cols).second)
        conditions.push_back(owned_rows(*edge, "d", added));
    }
    if (listed) {  // a row an added owner lists, and no surviving owner lists
      std::vector<const Edge *> links;
      for (const Edge *edge : edges_into(id))
        if (edge->kind == EdgeKind::listed_link) links.push_back(edge);
      conditions.push_back(listed_rows(links, added, true, true));
    }
    add_step(Stage::sweep, Result::doomed, {id}, all.tables(),
             aggregate(id, found_rows(id, {}, conditions,
                                      listed ? "" : any_of_conditions("", conditions))));
    plan_.steps.back().added = added.tables();
    plan_.steps.back().appends = true;
  }

  // Before anything is written: the doomed rows of a protected table that no marker
  // makes test data (a cascade or link reached them). Reading the doomed set keeps the
  // table's closure step (it is not fused into its delete).
  void add_protect_step(TableId id) {
    const Table &t = table(id);
    Inputs inputs(plan_.carried);
    const std::string condition = own_rows(id, "d", inputs) + " AND NOT " + sql::is_marked(t, "d");
    add_step(Stage::protect, Result::protected_rows, {id}, inputs.tables(),
             leftovers(t, condition));
  }

  std::string leftovers(const Table &t, const std::string &condition) const {
    return "SELECT pg_catalog.count(*), pg_catalog.string_agg(k, ', ') FILTER (WHERE n " +
           std::string("OPERATOR(pg_catalog.<=) 3) FROM (SELECT ROW(") + sql::columns("d", t.key) +
           ")::pg_catalog.text, pg_catalog.row_number() OVER () FROM " + sql::from(t, "d") +
           " WHERE " + condition + ") l(k, n)";
  }

  // A table whose doomed set no other step reads (no dependents, no SET NULL bookkeeping,
  // no transient index whose estimate counts its rows), reached through foreign keys and links
  // only, needs no closure step of its own: its delete finds the rows from its owners' doomed sets
  // directly, one statement and one scan fewer. Replacing a closure by a delete with the same
  // inputs changes what no other table's decision depends on, so one pass does.
  void fuse_unread_closures() {
    auto own = [](const Step &step, TableId id) {
      return (step.stage == Stage::closure || step.stage == Stage::remove) &&
             step.tables == std::vector<TableId>{id};
    };
    std::set<TableId> read_elsewhere, deleted_alone;
    for (const Step &step : plan_.steps) {
      for (TableId id : step.inputs)
        if (!own(step, id)) read_elsewhere.insert(id);
      for (const TransientIndex &index : step.indexes)  // counts its owners' doomed rows
        read_elsewhere.insert(index.owners.begin(), index.owners.end());
      // Counted alone: a table Citus deletes apart from its group is counted with it.
      if (step.stage == Stage::remove && step.result == Result::counts && step.tables.size() == 1)
        deleted_alone.insert(step.tables[0]);
    }
    for (const auto &[id, gather] : gathers_) {
      if (read_elsewhere.count(id) || !deleted_alone.count(id)) continue;
      fused_[id] = Gather{{any_of_conditions("", gather.conditions)}, gather.inputs};
    }
    std::vector<Step> steps;
    for (Step &step : plan_.steps) {
      const TableId id = step.tables.size() == 1 ? step.tables[0] : 0;
      auto fused = fused_.find(id);
      if (fused == fused_.end() || !own(step, id)) {
        steps.push_back(std::move(step));
      } else if (step.stage == Stage::remove && step.result == Result::counts) {
        const std::string &where = fused->second.conditions.at(0);
        for (Step &replacement :
             counted_deletes({id}, fused->second.inputs,
                             {row_locks_ ? key_among(id, "d", locked(id, where)) : where}))
          steps.push_back(std::move(replacement));
      }
    }
    plan_.steps = std::move(steps);
  }

  struct Gather {
    std::vector<std::string> conditions;  // on `d`, a row of the table; any one dooms it
    std::vector<TableId> inputs;
  };

  const Catalog &catalog_;
  const bool by_session_;
  const bool skip_fk_checks_;
  const bool lock_tables_;
  bool citus_ = false;        // a Citus table the cleanup writes
  bool distributed_ = false;  // a Citus distributed table in the plan
  bool row_locks_ = true;     // Plan::row_locks
  std::set<TableId> in_plan_;
  std::map<TableId, Gather> gathers_;  // closure steps of non-root tables, found by key only
  std::map<TableId, Gather> fused_;    // deleted straight from their owners' rows: one condition
  std::map<TableId, std::vector<const Edge *>> edges_from_, edges_into_;
  const std::vector<const Edge *> no_edges_;
  Plan plan_;
};

}  // namespace

Plan plan_cleanup(const Catalog &catalog, const PlanOptions &options) {
  return Planner(catalog, options).run();
}

}  // namespace test_cleanup
