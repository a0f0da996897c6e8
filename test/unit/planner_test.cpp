// The planner alone, without a server: catalogs built in C++ (the model plan_cleanup()
// reads), plans checked for the decisions the executors rely on: which locks a cleanup
// takes, whether and how it sweeps, the order of its steps. Prints TAP lines; exits 1 when
// a check fails. Built and run by `make planner-test` (the first thing `make test` runs).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "model.hpp"
#include "plan.hpp"

namespace tc = test_cleanup;

namespace {

int failures = 0;

void check(bool ok, const std::string &what) {
  std::printf("%s - planner: %s\n", ok ? "ok" : "not ok", what.c_str());
  if (!ok) ++failures;
}

const std::string kEquals = "OPERATOR(pg_catalog.=)";

tc::Column int8_column(const std::string &name) {
  return tc::Column{"\"" + name + "\"", 20, kEquals, false};
}

// A schema built table by table: `id` of "public.<name>", keyed by "id".
class Schema {
 public:
  tc::Table &table(tc::TableId id, const std::string &name) {
    tc::Table &t = catalog.tables[id];
    t.id = id;
    t.sql_name = "public.\"" + name + "\"";
    t.display_name = "public." + name;
    t.report_key = name;
    t.key = {int8_column("id")};
    return t;
  }
  void root(tc::TableId id) {
    catalog.tables.at(id).metadata_objects = {"d.\"test_metadata\""};
    catalog.root_tables.push_back(id);
    std::sort(catalog.root_tables.begin(), catalog.root_tables.end());
  }
  // dependent.<column> -> owner.id, as a foreign key (on_delete as in pg_constraint) or a link.
  void edge(tc::EdgeKind kind, tc::TableId dependent, const std::string &column, tc::TableId owner,
            char on_delete = 'c') {
    tc::Edge e;
    e.kind = kind;
    e.name = kind == tc::EdgeKind::link ? "link" : column + "_fkey";
    e.dependent = dependent;
    e.owner = owner;
    e.on_delete = on_delete;
    e.dependent_cols = {int8_column(column)};
    e.owner_cols = {int8_column("id")};
    e.dependent_names = column;
    catalog.edges.push_back(e);
  }
  tc::Catalog catalog;
};

enum : tc::TableId { users = 1, searchables = 2, invoices = 3, notes = 4, profiles = 5 };

// The reference schema's shape in small: two roots, a link (invoices -> searchables), a
// foreign key below the link (notes -> invoices) and one beside it (profiles -> users).
Schema linked_schema() {
  Schema s;
  s.table(users, "users");
  s.table(searchables, "searchables");
  s.table(invoices, "invoices");
  s.table(notes, "notes");
  s.table(profiles, "profiles");
  s.root(users);
  s.root(searchables);
  s.edge(tc::EdgeKind::link, invoices, "searchable_id", searchables);
  s.edge(tc::EdgeKind::foreign_key, invoices, "buyer_id", users, 'a');
  s.edge(tc::EdgeKind::foreign_key, notes, "invoice_id", invoices, 'c');
  s.edge(tc::EdgeKind::foreign_key, profiles, "user_id", users, 'c');
  return s;
}

tc::Plan plan(const tc::Catalog &catalog, bool lock_tables = false, bool skip_fk_checks = false) {
  return tc::plan_cleanup(catalog, tc::PlanOptions{false, skip_fk_checks, lock_tables});
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// The index of the first step meeting `pred`, or -1.
long find_step(const tc::Plan &p, const std::function<bool(const tc::Step &)> &pred) {
  for (size_t i = 0; i < p.steps.size(); ++i)
    if (pred(p.steps[i])) return static_cast<long>(i);
  return -1;
}

bool on(const tc::Step &step, tc::TableId id) {
  return std::find(step.tables.begin(), step.tables.end(), id) != step.tables.end();
}

void row_locks_by_default() {
  const tc::Plan p = plan(linked_schema().catalog);
  check(p.row_locks, "row locks are the default");
  check(find_step(p, [](const tc::Step &s) { return contains(s.sql, "LOCK TABLE"); }) < 0,
        "no table is locked by default");
  const long seed = find_step(p, [](const tc::Step &s) { return s.stage == tc::Stage::seed; });
  check(seed >= 0 && on(p.steps[seed], users) && on(p.steps[seed], searchables) &&
            contains(p.steps[seed].sql, "ORDER BY x.\"id\" FOR UPDATE OF x"),
        "one seed step locks every root's marked rows in key order");
  const long closure = find_step(p, [](const tc::Step &s) {
    return s.stage == tc::Stage::closure && s.tables == std::vector<tc::TableId>{invoices};
  });
  check(closure >= 0 && contains(p.steps[closure].sql, "ORDER BY d.\"id\" FOR UPDATE OF d") &&
            contains(p.steps[closure].sql, "AND ((d.\"searchable_id\""),
        "a closure locks its rows in key order and rechecks what found them");
}

void the_sweep() {
  const tc::Plan p = plan(linked_schema().catalog);
  check(p.sweep_begin < p.sweep_end && p.sweep_end <= p.steps.size(), "a link makes a sweep");
  const tc::Step &probe = p.steps[p.sweep_begin];
  check(probe.result == tc::Result::any_rows &&
            probe.inputs == std::vector<tc::TableId>{searchables} &&
            contains(probe.sql, "pg_catalog.count(*)") && !contains(probe.sql, "EXISTS"),
        "the sweep starts with one probe counting rows linked to doomed owners");
  auto find_of = [&p](tc::TableId id) {
    for (size_t i = p.sweep_begin; i < p.sweep_end; ++i)
      if (p.steps[i].stage == tc::Stage::sweep && p.steps[i].tables == std::vector<tc::TableId>{id})
        return static_cast<long>(i);
    return -1L;
  };
  const long inv = find_of(invoices), note = find_of(notes);
  check(inv >= 0 && p.steps[inv].appends &&
            p.steps[inv].inputs == std::vector<tc::TableId>{searchables} &&
            p.steps[inv].added.empty(),
        "a link dependent is found from its link owners' whole doomed sets (not from owners the "
        "sweep never reaches), and appended");
  check(note > inv && p.steps[note].inputs.empty() &&
            p.steps[note].added == std::vector<tc::TableId>{invoices},
        "below it, a foreign key dependent reads only the round's additions, after its owner");
  check(find_of(profiles) < 0 && find_of(users) < 0, "tables no link reaches are not swept");
  const long removed = find_step(p, [&p](const tc::Step &s) {
    return &s - p.steps.data() > static_cast<long>(p.sweep_begin) && s.stage == tc::Stage::remove &&
           on(s, invoices);
  });
  check(removed > 0 && p.steps[removed].inputs.empty() && !p.steps[removed].added.empty(),
        "the sweep deletes only what its round added");
}

void opt_in_table_locks() {
  const tc::Plan p = plan(linked_schema().catalog, true);
  check(!p.row_locks && p.sweep_begin == p.sweep_end, "lock_tables: no row locks, no sweep");
  check(find_step(p,
                  [](const tc::Step &s) {
                    return s.stage == tc::Stage::lock &&
                           contains(
                               s.sql,
                               "LOCK TABLE ONLY public.\"invoices\" IN SHARE ROW EXCLUSIVE MODE");
                  }) >= 0,
        "lock_tables: the link's dependent table is locked");
  const tc::Plan fast = plan(linked_schema().catalog, false, true);
  check(!fast.row_locks && fast.sweep_begin == fast.sweep_end,
        "skip_fk_checks: tables locked, no sweep");
}

void no_links_no_sweep() {
  Schema s = linked_schema();
  s.catalog.edges.erase(s.catalog.edges.begin());  // the link
  const tc::Plan p = plan(s.catalog);
  check(p.sweep_begin == p.sweep_end, "foreign keys only: nothing to sweep");
}

void citus_keeps_table_locks() {
  Schema s = linked_schema();
  s.catalog.tables.at(searchables).citus = tc::CitusKind::reference;
  const tc::Plan p = plan(s.catalog);
  check(!p.row_locks && p.sweep_begin == p.sweep_end,
        "a Citus table in the plan: table locks, no sweep");
  check(std::count_if(p.steps.begin(), p.steps.end(),
                      [](const tc::Step &st) { return st.stage == tc::Stage::seed; }) == 2,
        "on Citus, one seed step per root");
}

void order_of_steps() {
  const tc::Plan p = plan(linked_schema().catalog);
  auto removal = [&p](tc::TableId id) {
    return find_step(p,
                     [id](const tc::Step &s) { return s.stage == tc::Stage::remove && on(s, id); });
  };
  check(removal(notes) < removal(invoices) && removal(invoices) < removal(searchables) &&
            removal(profiles) < removal(users) && removal(invoices) < removal(users),
        "dependents are deleted before their owners");
  const long last_remove = removal(users);
  check(last_remove >= 0 && static_cast<size_t>(last_remove) < p.sweep_begin,
        "the sweep comes after the deletes");
}

void listed_link_on_a_cycle_is_refused() {
  Schema s = linked_schema();
  tc::Edge listed;
  listed.kind = tc::EdgeKind::listed_link;
  listed.name = "listed link";
  listed.dependent = searchables;
  listed.owner = notes;
  listed.dependent_cols = {int8_column("id")};
  listed.owner_cols = {tc::Column{"\"payload\"", 3802, kEquals, false}};
  s.catalog.edges.push_back(listed);
  bool refused = false;
  try {
    plan(s.catalog);
  } catch (const tc::UserError &error) {
    refused = contains(error.what(), "lies on a cycle");
  }
  check(refused, "a listed link on a cycle is refused with a clear error");
}

}  // namespace

int main() {
  row_locks_by_default();
  the_sweep();
  opt_in_table_locks();
  no_links_no_sweep();
  citus_keeps_table_locks();
  order_of_steps();
  listed_link_on_a_cycle_is_refused();
  return failures ? 1 : 0;
}
