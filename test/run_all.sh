#!/usr/bin/env bash
# README's test command (`make test`): installs what it needs, then for each PostgreSQL major
# version in $PG (default "15 18"): gets that PostgreSQL (Debian's 15; 18 built once from
# ../shared/vendor, test/pg_build.sh), builds and installs the extension and the shim against
# it, starts a throwaway cluster, runs pg_regress and every test/t_* script, stops the
# cluster. Exits non-zero on any failure. A version whose source is absent is skipped with
# one line.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash test/install_deps.sh || exit 1
# The tests build with warnings as errors (a user's build is not stopped by them).
export WERROR=-Werror
export TC_REPO=$repo
mkdir -p "$repo/.tmp"
base_path=$PATH

passed=0
failed=0
# Seconds per script and version, printed as a table at the end: a slow test shows where it
# is added (issue 25's budget: 15 minutes warm, 25 from a fresh clone).
timings=$repo/.tmp/timings
: >"$timings"
timed() {  # label, seconds
  printf '%s\t%s\n' "$1" "$2" >>"$timings"
}
count() {  # counts the "ok ..." / "not ok ..." lines of a test's output
  passed=$((passed + $(grep -c '^ok ' "$1")))
  failed=$((failed + $(grep -c '^not ok ' "$1")))
}
fail() {
  echo "not ok - $1"
  failed=$((failed + 1))
}

# Runs the whole suite against the PostgreSQL of pg_config $2 (major version $1).
run_suite() {
  local major=$1 label="[PG $1]" started=$SECONDS
  export PG_CONFIG=$2
  # psql, pg_dump, pgbench... of the same version as the server.
  export PATH="$("$PG_CONFIG" --bindir):$base_path"
  echo "== PostgreSQL $major: $("$PG_CONFIG" --version), $PG_CONFIG"
  make -s -j"$(nproc)" all shim >/dev/null && make -s install >/dev/null || {
    fail "$label the extension builds and installs"
    return
  }
  bash test/cluster.sh start || {
    fail "$label a throwaway cluster starts"
    return
  }
  eval "$(bash test/cluster.sh env)"
  # Every TAP line names the version it ran against.
  local tap="s/^\(not \)\?ok - /&$label /"

  echo "== $label pg_regress"
  local regress_log=$repo/.tmp/regress.log step_started=$SECONDS
  make -s installcheck >"$regress_log" 2>&1
  local regress_status=$?
  timed "$label pg_regress" $((SECONDS - step_started))
  cat "$regress_log"
  # pg_regress 15 prints "test NAME ... ok" / "... FAILED"; 16 and later print TAP,
  # "ok N - NAME" / "not ok N - NAME".
  sed -n -e 's/^\(test\| \)* *\([a-z_0-9]*\) *\.\.\. ok.*/ok - pg_regress \2/p' \
    -e 's/^\(test\| \)* *\([a-z_0-9]*\) *\.\.\. FAILED.*/not ok - pg_regress \2/p' \
    -e 's/^\(not \)\?ok [0-9][0-9]* *[-+] \([a-z_0-9]*\) .*/\1ok - pg_regress \2/p' \
    "$regress_log" | sed "$tap" >"$repo/.tmp/regress.tap"
  cat "$repo/.tmp/regress.tap"
  count "$repo/.tmp/regress.tap"
  if [ $regress_status -ne 0 ]; then
    [ -f regression.diffs ] && cat regression.diffs
    grep -q '^not ok' "$repo/.tmp/regress.tap" || fail "$label pg_regress did not run"
  fi

  local script output status
  for script in test/t_*.sh; do
    echo "== $label $script"
    output=$repo/.tmp/$(basename "$script").tap
    step_started=$SECONDS
    bash "$script" 2>&1 | sed -u "$tap" | tee "$output"
    status=${PIPESTATUS[0]}
    timed "$label $script" $((SECONDS - step_started))
    count "$output"
    if [ "$status" -ne 0 ] && ! grep -q '^not ok ' "$output"; then
      fail "$label $script exited with status $status"
    fi
  done

  # A crashed backend fails the run even if every check happened to pass.
  if grep -E 'TRAP:|terminated by signal|was terminated by exception' "$TC_SERVER_LOG"; then
    fail "$label the server log shows a crashed backend"
  fi
  bash test/cluster.sh stop
  timed "$label in all" $((SECONDS - started))
  echo "== PostgreSQL $major: $((SECONDS - started)) s"
}

# The planner alone first: seconds, no server.
echo "== the planner's unit tests"
started=$SECONDS
make -s planner-test WERROR=-Werror 2>&1 | tee "$repo/.tmp/planner-test.tap"
[ "${PIPESTATUS[0]}" -eq 0 ] || grep -q '^not ok ' "$repo/.tmp/planner-test.tap" ||
  fail "the planner's unit tests build and run"
count "$repo/.tmp/planner-test.tap"
timed "planner unit tests" $((SECONDS - started))

trap 'bash test/cluster.sh stop' EXIT
for major in ${PG:-15 18}; do
  pg_config=$(bash test/pg_build.sh "$major")
  case $? in
    0) run_suite "$major" "$pg_config" ;;
    3) ;;  # no source for this version here: test/pg_build.sh said so in one line
    *) fail "[PG $major] PostgreSQL $major is available to test against" ;;
  esac
done

echo
echo "== seconds per script, slowest first"
sort -t "$(printf '\t')" -k2,2nr "$timings" | awk -F '\t' '{ printf "%6d s  %s\n", $2, $1 }'
echo "== make test: $SECONDS s in all"
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
