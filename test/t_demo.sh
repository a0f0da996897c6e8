#!/usr/bin/env bash
# README's first command must stay true: `make demo` runs, shows the spec's response, and
# leaves nothing running.
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"

output=$(make -s demo 2>&1)
status=$?
expect_eq "make demo exits 0" "0" "$status"
expect_match "the demo shows the spec's response" '"message": "Test data cleanup completed"' "$output"
expect_match "the demo cleans session A by id" '"test_session_id": "test_session_1640995200_abc12345"' "$output"
expect_match "the demo ends with only production users" 'users +\| +6 \| 1,103,2,3,4,5' "$output"
if pgrep -f 'shim/test_cleanup_shim' >/dev/null; then not_ok "the demo leaves no shim running"; else ok "the demo leaves no shim running"; fi
if [ -e "$TC_REPO/.tmp/cluster-${TC_DEMO_PGPORT:-54339}.path" ]; then not_ok "the demo leaves no cluster behind"; else ok "the demo leaves no cluster behind"; fi
finish
