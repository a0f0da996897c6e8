#!/usr/bin/env bash
# Transient indexes under concurrency (test/transient_test.py): writers wait and succeed,
# lock_timeout is respected, a cancelled cleanup leaves no index behind.
source "$(dirname "$0")/lib.sh"

db=tc_transient
fresh_extension_db "$db"
/usr/bin/python3 "$TC_REPO/test/transient_test.py" --dbname "$db"
status=$?
dropdb "$db"
exit $status
