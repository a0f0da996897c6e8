#!/usr/bin/env bash
# The shim's end-to-end tests again, with the shim built with AddressSanitizer and
# UndefinedBehaviorSanitizer (leak checking on): any report fails the run.
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"
make -s shim/test_cleanup_shim_asan >/dev/null || { not_ok "the sanitizer build of the shim"; finish; }
export TC_SHIM=$TC_REPO/shim/test_cleanup_shim_asan
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
/usr/bin/python3 test/shim_e2e.py | sed 's/^\(not \)\{0,1\}ok - /&[asan+ubsan] /'
exit "${PIPESTATUS[0]}"
