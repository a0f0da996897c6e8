#!/usr/bin/env bash
# Developer helper: after reviewing results/NAME.out, copy it to expected/NAME.out.
# Usage: test/accept_regress.sh NAME...
set -euo pipefail
cd "$(dirname "$0")/.."
for name in "$@"; do cp "results/$name.out" "expected/$name.out"; done
