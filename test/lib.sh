# Helpers for the test/t_*.sh scripts: TAP-style "ok - ..." / "not ok - ..." lines that
# test/run_all.sh counts, and psql with the settings of the throwaway cluster.
set -uo pipefail

TC_FAILED=0

ok() { echo "ok - $1"; }
not_ok() {
  echo "not ok - $1"
  TC_FAILED=1
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
  if [ "$2" == "$3" ]; then
    ok "$1"
  else
    not_ok "$1"
    printf '    expected: %s\n    actual:   %s\n' "$2" "$3"
  fi
}

# expect_match DESCRIPTION REGEX ACTUAL
expect_match() {
  if [[ "$3" =~ $2 ]]; then
    ok "$1"
  else
    not_ok "$1"
    printf '    expected to match: %s\n    actual: %s\n' "$2" "$3"
  fi
}

# q DB SQL...: runs SQL, prints unaligned tuples only, stops on the first error
q() {
  local db=$1
  shift
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$@"
}

# A fresh database with the extension and the gate open.
fresh_extension_db() {
  local db=$1
  dropdb --if-exists "$db" >/dev/null 2>&1
  createdb "$db"
  q "$db" "CREATE EXTENSION test_cleanup" >/dev/null
  q "$db" "ALTER DATABASE \"$db\" SET test_cleanup.enabled = on" >/dev/null
}

# The same with the reference schema loaded.
fresh_reference_db() {
  local db=$1
  fresh_extension_db "$db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$TC_REPO/test/reference_schema.sql" >/dev/null
  q "$db" "SELECT reference_data_load()" >/dev/null
}

finish() { exit "$TC_FAILED"; }

# The major version of the PostgreSQL under test (test/run_all.sh sets PG_CONFIG).
pg_major() { "${PG_CONFIG:-pg_config}" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p'; }

# skip_script REASON: a whole script does not apply to this PostgreSQL; one line says why.
skip_script() {
  echo "skipped: $1"
  exit 0
}
