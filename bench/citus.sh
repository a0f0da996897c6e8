#!/usr/bin/env bash
# bench/citus.py on a coordinator and two workers of its own (Citus built as the tests build
# it, from ../shared/vendor). Arguments go to citus.py (--users N, --runs R).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/test/citus_build.sh"
make -s -C "$repo" install >/dev/null
ports=(54350 54351 54352)
stop_nodes() { for port in "${ports[@]}"; do TC_PGPORT=$port bash "$repo/test/cluster.sh" stop; done; }
trap stop_nodes EXIT
for port in "${ports[@]}"; do TC_CITUS=1 TC_PGPORT=$port bash "$repo/test/cluster.sh" start; done
/usr/bin/python3 "$repo/bench/citus.py" "${ports[@]}" "$@"
