#!/usr/bin/env bash
# Load on loopback with wrk: the rate limiter on (only 200s and 429s may come back) and
# off (only 200s), no socket errors, the shim's memory flat across runs, p99 reported.
# 5 s per run; TEST_CLEANUP_LONG=1: 60 s.
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"

db=tc_load
fresh_reference_db "$db"
seconds=5
[ "${TEST_CLEANUP_LONG:-0}" = 1 ] && seconds=60
work=$(mktemp -d)
trap 'kill -TERM $shim 2>/dev/null; rm -rf "$work"' EXIT

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

for limiter in on off; do
  rate=$([ $limiter = on ] && echo 50 || echo 0)
  TEST_CLEANUP_ENV=test TEST_CLEANUP_DB="dbname=$db" TEST_CLEANUP_RATE_LIMIT=$rate \
    shim/test_cleanup_shim --port 0 >"$work/shim.log" 2>&1 &
  shim=$!
  for _ in $(seq 1 50); do grep -q listening "$work/shim.log" && break; sleep 0.1; done
  port=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["port"])' "$work/shim.log")
  wrk -t2 -c8 -d2s -s test/load.lua "http://127.0.0.1:$port" >/dev/null 2>&1  # warm up
  rss_before=$(rss_kb $shim)
  wrk -t2 -c8 -d${seconds}s --latency -s test/load.lua "http://127.0.0.1:$port" >"$work/wrk.out" 2>&1
  rss_after=$(rss_kb $shim)
  kill -TERM $shim
  wait $shim
  statuses=$(awk '/^status/ {printf "%s=%s ", $2, $3}' "$work/wrk.out")
  p99=$(awk '/^p99_ms/ {print $2}' "$work/wrk.out")
  total=$(awk '/^requests/ {print $2}' "$work/wrk.out")
  echo "# limiter $limiter: $total requests in ${seconds}s, statuses: $statuses p99 ${p99} ms, RSS ${rss_before} -> ${rss_after} kB"
  allowed=$([ $limiter = on ] && echo '^(200|429)$' || echo '^200$')
  unexpected=$(awk -v re="$allowed" '/^status/ && $2 !~ re {print $2}' "$work/wrk.out")
  expect_eq "limiter $limiter: only $( [ $limiter = on ] && echo '200 and 429' || echo 200) answers" "" "$unexpected"
  expect_eq "limiter $limiter: no socket errors" "0" "$(awk '/^socket_errors/ {print $2}' "$work/wrk.out")"
  if [ $limiter = on ]; then
    expect_match "limiter on: some requests were limited" 'status 429 [0-9]+' "$(cat "$work/wrk.out")"
  fi
  growth=$((rss_after - rss_before))
  if [ "$growth" -lt 20000 ]; then
    ok "limiter $limiter: memory flat over the run (${growth} kB growth)"
  else
    not_ok "limiter $limiter: memory grew by ${growth} kB"
  fi
done
dropdb "$db"
finish
