#!/usr/bin/env bash
# libFuzzer on the shim's request handling (test/fuzz/fuzz_request.cpp): replays the
# committed seed corpus, then fuzzes for a bounded time (15 s; TEST_CLEANUP_LONG=1: 300 s).
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"

make -s test/fuzz/fuzz_request >/dev/null || { not_ok "the fuzz target builds"; finish; }
work=$TC_REPO/.tmp/fuzz-work
rm -rf "$work"
mkdir -p "$work"
seconds=15
[ "${TEST_CLEANUP_LONG:-0}" = 1 ] && seconds=300

if test/fuzz/fuzz_request -runs=0 test/fuzz/corpus >"$work/replay.log" 2>&1; then
  ok "the seed corpus ($(ls test/fuzz/corpus | wc -l) inputs) replays without a finding"
else
  not_ok "the seed corpus replays without a finding"
  tail -30 "$work/replay.log"
fi
if test/fuzz/fuzz_request -max_total_time="$seconds" -max_len=8192 -artifact_prefix="$work/" \
  "$work" test/fuzz/corpus >"$work/fuzz.log" 2>&1; then
  ok "fuzzing request handling for ${seconds}s: $(grep -o 'Done [0-9]* runs' "$work/fuzz.log" | tail -1), no crash"
else
  not_ok "fuzzing request handling for ${seconds}s found a crash (inputs in $work)"
  tail -40 "$work/fuzz.log"
fi
finish
