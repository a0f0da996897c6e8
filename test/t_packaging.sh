#!/usr/bin/env bash
# Packaging facts that drift silently: META.json is valid PGXN metadata whose versions
# match the control file (the single source of truth), and the installed extension is
# that version.
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"

control_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" test_cleanup.control)
meta() { python3 -c "import json,sys; m=json.load(open('META.json')); print(eval(sys.argv[1]))" "$1"; }

expect_eq "META.json version matches the control file" "$control_version" "$(meta 'm["version"]')"
expect_eq "META.json provides the extension at that version" "$control_version" "$(meta 'm["provides"]["test_cleanup"]["version"]')"
expect_eq "META.json names files that exist" "True" "$(meta 'all(__import__("os").path.exists(m["provides"]["test_cleanup"][k]) for k in ("file", "docfile"))')"
expect_eq "META.json passes the PGXN meta spec (test/pgxn_meta.py)" "" "$(python3 test/pgxn_meta.py 2>&1)"
# The supported PostgreSQL versions, said in three places: the Makefile's check, META.json
# and README.
majors=$(sed -n 's/^SUPPORTED_PG_MAJORS = //p' Makefile)
first=${majors%% *} last=${majors##* }
expect_eq "META.json requires the PostgreSQL versions the Makefile accepts" \
  ">= $first.0.0, < $((last + 1)).0.0" "$(meta 'm["prereqs"]["runtime"]["requires"]["PostgreSQL"]')"
expect_eq "README states the PostgreSQL versions the Makefile accepts" "1" \
  "$(grep -c "^Supported: PostgreSQL $first to $last" README.md)"
expect_eq "the LICENSE file is the license META.json names" "1" \
  "$(grep -c '^test_cleanup is released under the PostgreSQL License' LICENSE)"
expect_eq "CHANGELOG.md has an entry for this version" "1" "$(grep -c "^## $control_version " CHANGELOG.md)"
db=tc_packaging
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
q "$db" "CREATE EXTENSION test_cleanup" >/dev/null
expect_eq "the installed extension has the control file's version" "$control_version" \
  "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'test_cleanup'")"
expect_eq "DROP EXTENSION removes the catalog schema too" "0" \
  "$(q "$db" "DROP EXTENSION test_cleanup; SELECT count(*) FROM pg_namespace WHERE nspname = 'test_cleanup'")"
dropdb "$db"

# Upgrades: 1.0.0 (its install script as released, from git history) with a rule and an
# audit row, then ALTER EXTENSION UPDATE, must equal a fresh install, rules and audit kept.
release_1_0_0=eb9f1bc
sharedir=$("${PG_CONFIG:-pg_config}" --sharedir)
old_script=$sharedir/extension/test_cleanup--1.0.0.sql
if ! git -C "$TC_REPO" cat-file -e "$release_1_0_0:extension/test_cleanup.sql" 2>/dev/null; then
  echo "ok - upgrade from 1.0.0 # skipped: no git history in this checkout"
else
  git -C "$TC_REPO" show "$release_1_0_0:extension/test_cleanup.sql" >"$old_script"
  # What an extension's objects are, install-independent: every function's definition
  # and every relation's columns in its schemas.
  objects() {
    q "$1" "SELECT md5(string_agg(d, E'\n' ORDER BY d)) FROM (
              SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p JOIN pg_depend dep ON dep.objid = p.oid
               WHERE dep.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'test_cleanup') AND dep.deptype = 'e'
              UNION ALL
              SELECT c.oid::regclass::text || ' ' || string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               WHERE c.relnamespace = 'test_cleanup'::regnamespace GROUP BY c.oid) x"
  }
  # The schema as pg_dump writes it (extension objects appear only where they differ from
  # the install: a user's GRANT on one), without the random key of \restrict lines.
  dump_schema() { pg_dump --schema-only "$1" | grep -v '^\\\(un\)\?restrict '; }
  for d in tc_upgrade tc_fresh; do dropdb --if-exists "$d" >/dev/null 2>&1; createdb "$d"; done
  q postgres "DO \$\$ BEGIN CREATE ROLE tc_upgrade_runner; EXCEPTION WHEN duplicate_object THEN END \$\$" >/dev/null
  user_schema="CREATE TABLE t (id int PRIMARY KEY, meta jsonb); SELECT test_cleanup.add_root('t', 'meta');"
  # 1.0.0 with a rule, an audit row, and a role granted the cleanup (test_cleanup(text),
  # which 1.1.0 replaces by test_cleanup(text, boolean): the grant must carry over).
  q tc_upgrade "CREATE EXTENSION test_cleanup VERSION '1.0.0'; $user_schema
                INSERT INTO test_cleanup.audit_log (role_name, deleted_counts, collateral_counts, duration_ms)
                VALUES ('someone', '{\"t\": 1}', '{}', 1);
                GRANT EXECUTE ON FUNCTION test_cleanup(text) TO tc_upgrade_runner" >/dev/null
  q tc_upgrade "ALTER EXTENSION test_cleanup UPDATE" >/dev/null
  q tc_fresh "CREATE EXTENSION test_cleanup; $user_schema
              GRANT EXECUTE ON FUNCTION test_cleanup(text, boolean) TO tc_upgrade_runner" >/dev/null
  expect_eq "ALTER EXTENSION UPDATE from 1.0.0 reaches the control file's version" "$control_version" \
    "$(q tc_upgrade "SELECT extversion FROM pg_extension WHERE extname = 'test_cleanup'")"
  expect_eq "an upgraded 1.0.0 has exactly a fresh install's functions and tables" \
    "$(objects tc_fresh)" "$(objects tc_upgrade)"
  expect_eq "rules and audit rows survive the upgrade" "1 1" \
    "$(q tc_upgrade "SELECT (SELECT count(*) FROM test_cleanup.root) || ' ' || (SELECT count(*) FROM test_cleanup.audit_log)")"
  expect_eq "the role granted test_cleanup(text) may run test_cleanup(text, boolean) after the upgrade" "t" \
    "$(q tc_upgrade "SELECT has_function_privilege('tc_upgrade_runner', 'test_cleanup(text, boolean)', 'EXECUTE')")"
  expect_eq "pg_dump of an upgraded 1.0.0 equals a fresh install's (grants included)" \
    "$(dump_schema tc_fresh)" "$(dump_schema tc_upgrade)"
  rm -f "$old_script"
  dropdb tc_upgrade; dropdb tc_fresh
  q postgres "DROP ROLE tc_upgrade_runner" >/dev/null
fi
finish
