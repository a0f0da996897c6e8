#!/usr/bin/env bash
# End-to-end tests of the HTTP shim (test/shim_e2e.py) with Debian's python3-requests.
source "$(dirname "$0")/lib.sh"
exec /usr/bin/python3 "$TC_REPO/test/shim_e2e.py"
