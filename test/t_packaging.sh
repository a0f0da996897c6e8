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
expect_eq "META.json has the fields PGXN requires" "True" \
  "$(meta 'all(k in m for k in ("name","abstract","version","maintainer","license","provides","meta-spec"))')"
db=tc_packaging
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
q "$db" "CREATE EXTENSION test_cleanup" >/dev/null
expect_eq "the installed extension has the control file's version" "$control_version" \
  "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'test_cleanup'")"
expect_eq "DROP EXTENSION removes the catalog schema too" "0" \
  "$(q "$db" "DROP EXTENSION test_cleanup; SELECT count(*) FROM pg_namespace WHERE nspname = 'test_cleanup'")"
dropdb "$db"
finish
