#!/usr/bin/env bash
# README's test command (`make test`): installs what it needs, builds and installs the
# extension and the shim, starts a throwaway cluster, runs pg_regress and every test/t_*
# script against it, stops the cluster, and exits non-zero on any failure.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash test/install_deps.sh || exit 1
# The tests build with warnings as errors (a user's build is not stopped by them).
export WERROR=-Werror
make -s all >/dev/null || exit 1
make -s install >/dev/null || exit 1

bash test/cluster.sh start || exit 1
trap 'bash test/cluster.sh stop' EXIT
eval "$(bash test/cluster.sh env)"
export TC_REPO=$repo

passed=0
failed=0
count() {  # counts the "ok ..." / "not ok ..." lines of a test's output
  passed=$((passed + $(grep -c '^ok ' "$1")))
  failed=$((failed + $(grep -c '^not ok ' "$1")))
}

echo "== pg_regress"
regress_log=$repo/.tmp/regress.log
make -s installcheck >"$regress_log" 2>&1
regress_status=$?
cat "$regress_log"
sed -n 's/^\(test\| \)* *\([a-z_0-9]*\) *\.\.\. ok.*/ok - pg_regress \2/p; s/^\(test\| \)* *\([a-z_0-9]*\) *\.\.\. FAILED.*/not ok - pg_regress \2/p' \
  "$regress_log" >"$repo/.tmp/regress.tap"
count "$repo/.tmp/regress.tap"
if [ $regress_status -ne 0 ]; then
  [ -f regression.diffs ] && cat regression.diffs
  grep -q '^not ok' "$repo/.tmp/regress.tap" || { echo "not ok - pg_regress did not run"; failed=$((failed + 1)); }
fi

for script in test/t_*.sh; do
  echo "== $script"
  output=$repo/.tmp/$(basename "$script").tap
  bash "$script" 2>&1 | tee "$output"
  status=${PIPESTATUS[0]}
  count "$output"
  if [ "$status" -ne 0 ] && ! grep -q '^not ok ' "$output"; then
    echo "not ok - $script exited with status $status"
    failed=$((failed + 1))
  fi
done

# A crashed backend fails the run even if every check happened to pass.
if grep -E 'TRAP:|terminated by signal|was terminated by exception' "$TC_SERVER_LOG"; then
  echo "not ok - the server log shows a crashed backend"
  failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
