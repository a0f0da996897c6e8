#!/usr/bin/env bash
# The release: `make dist` builds the PGXN archive from git (the committed tree, HEAD); unpacked
# in an empty directory, it holds valid PGXN metadata, and it builds, installs and passes the
# regression suite on its own. The working tree's build is installed again afterwards.
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"
git rev-parse --git-dir >/dev/null 2>&1 || skip_script "not a git checkout: make dist archives git's HEAD"

version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" test_cleanup.control)
work=$(mktemp -d)
trap 'rm -rf "$work"; make -s -C "$TC_REPO" install >/dev/null' EXIT

if make -s dist >"$work/dist.log" 2>&1 && mv "test_cleanup-$version.zip" "$work/"; then
  ok "make dist writes test_cleanup-$version.zip"
else
  not_ok "make dist writes test_cleanup-$version.zip"
  sed 's/^/    /' "$work/dist.log"
  finish
fi
mkdir "$work/unpacked"
python3 -m zipfile -e "$work/test_cleanup-$version.zip" "$work/unpacked"
expect_eq "the archive holds one directory named for the version" "test_cleanup-$version" \
  "$(ls "$work/unpacked")"
dir=$work/unpacked/test_cleanup-$version
expect_eq "its META.json passes the PGXN meta spec" "" "$(cd "$dir" && python3 test/pgxn_meta.py 2>&1)"
expect_eq "it holds LICENSE, CHANGELOG.md and README.md, and no CI files" "LICENSE CHANGELOG.md README.md none" \
  "$(for f in LICENSE CHANGELOG.md README.md; do [ -f "$dir/$f" ] && printf '%s ' "$f"; done; [ -e "$dir/.ci" ] && echo .ci || echo none)"

if make -s -j"$(nproc)" -C "$dir" >"$work/build.log" 2>&1 && make -s -C "$dir" install >>"$work/build.log" 2>&1; then
  ok "the unpacked archive builds and installs (make, make install)"
else
  not_ok "the unpacked archive builds and installs (make, make install)"
  tail -30 "$work/build.log" | sed 's/^/    /'
  finish
fi
if make -s -C "$dir" installcheck >"$work/regress.log" 2>&1; then
  ok "the unpacked archive passes its regression suite (make installcheck)"
else
  not_ok "the unpacked archive passes its regression suite (make installcheck)"
  # Indented: pg_regress 16 and later print TAP lines of their own.
  tail -30 "$work/regress.log" | sed 's/^/    /'
  head -60 "$dir/regression.diffs" 2>/dev/null | sed 's/^/    /'
fi
finish
