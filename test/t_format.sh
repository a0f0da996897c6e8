#!/usr/bin/env bash
# The C++ sources are as clang-format (.clang-format) writes them: `make format` fixes them.
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"
if output=$(make -s format-check 2>&1); then
  ok "the C++ sources are clang-formatted"
else
  not_ok "the C++ sources are clang-formatted (run make format)"
  echo "$output" | head -20
fi
finish
