#!/usr/bin/env bash
# The Citus suite (test/citus_test.py) on a coordinator and two workers of its own, when the
# Citus source is beside the repository (../shared/vendor): Citus is built once and cached
# (test/citus_build.sh). Without the source it says so in one line and passes.
source "$(dirname "$0")/lib.sh"
case "$(pg_major)" in
  15 | 16 | 17) ;;
  *) skip_script "Citus 13.2.2 supports PostgreSQL 15 to 17, not $(pg_major)" ;;
esac

build_output=$(bash "$TC_REPO/test/citus_build.sh" 2>&1)
case $? in
  0) ;;
  3) echo "$build_output"; exit 0 ;;
  *) echo "$build_output"; not_ok "Citus builds from ../shared/vendor"; finish ;;
esac

ports=(54340 54341 54342)
stop_nodes() {
  for port in "${ports[@]}"; do TC_PGPORT=$port bash "$TC_REPO/test/cluster.sh" stop; done
}
trap stop_nodes EXIT
for port in "${ports[@]}"; do
  TC_CITUS=1 TC_PGPORT=$port bash "$TC_REPO/test/cluster.sh" start || {
    not_ok "a Citus node starts on port $port"
    finish
  }
done

/usr/bin/python3 "$TC_REPO/test/citus_test.py" "${ports[@]}" || TC_FAILED=1

# The differential test in its Citus mode, in a database of its own on every node.
db=tc_citus_differential
for port in "${ports[@]}"; do
  psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $db" &&
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d "$db" -c "CREATE EXTENSION citus"
done
psql -X -q -h 127.0.0.1 -p "${ports[0]}" -U postgres -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]});
SELECT citus_add_node('127.0.0.1', ${ports[1]});
SELECT citus_add_node('127.0.0.1', ${ports[2]});
CREATE EXTENSION test_cleanup;
ALTER DATABASE $db SET test_cleanup.enabled = on;
SQL
cases=40
[ "${TEST_CLEANUP_LONG:-0}" = 1 ] && cases=300
PGHOST=127.0.0.1 PGPORT=${ports[0]} PGUSER=postgres /usr/bin/python3 "$TC_REPO/test/differential.py" \
  --dbname "$db" --cases "$cases" --citus ${TEST_CLEANUP_SEED:+--seed "$TEST_CLEANUP_SEED"} ||
  TC_FAILED=1

# A crashed backend on any node fails the suite.
for port in "${ports[@]}"; do
  log=$(TC_PGPORT=$port bash "$TC_REPO/test/cluster.sh" env | sed -n "s/.*TC_SERVER_LOG='\([^']*\)'.*/\1/p")
  if grep -E 'TRAP:|terminated by signal|was terminated by exception' "$log"; then
    not_ok "no Citus node's backend crashed (port $port)"
  fi
done
finish
