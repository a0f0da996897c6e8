#!/usr/bin/env bash
# Long mode only (TEST_CLEANUP_LONG=1): the pg_regress suite against a server running
# under valgrind memcheck, every backend included. Debian's PostgreSQL is not built with
# valgrind support and no suppression file ships with it, so the check is: no report with a
# frame of the extension. (Reports elsewhere -- the dynamic loader's strncmp over-read in
# dlopen, uninitialised padding PostgreSQL writes to disk -- are known false positives and
# are printed, not counted.)
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"
if [ "${TEST_CLEANUP_LONG:-0}" != 1 ]; then
  echo "# valgrind run skipped (TEST_CLEANUP_LONG=1 runs it)"
  exit 0
fi

dir=/tmp/test_cleanup-valgrind
port=55999
rm -rf "$dir"
mkdir -p "$dir"
chown postgres "$dir"
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
(cd / && runuser -u postgres -- "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null)
(cd / && runuser -u postgres -- valgrind --quiet --trace-children=yes --num-callers=30 \
  --log-file="$dir/vg.%p.log" "$bindir/postgres" -D "$dir/data" -k "$dir" \
  -p $port -c listen_addresses='' -c fsync=off >"$dir/server.log" 2>&1) &
server=$!
for _ in $(seq 1 120); do pg_isready -q -h "$dir" -p $port && break; sleep 1; done

if PGHOST=$dir PGPORT=$port PGUSER=postgres make -s installcheck >"$dir/regress.log" 2>&1; then
  ok "pg_regress under valgrind: $(grep -o 'All [0-9]* tests passed' "$dir/regress.log")"
else
  not_ok "pg_regress under valgrind"
  tail -20 "$dir/regress.log" | sed 's/^/    /'
fi
kill -TERM $server 2>/dev/null
pkill -TERM -f "postgres -D $dir/data" 2>/dev/null
sleep 5
# Our frames: symbols in namespace test_cleanup, the entry points (test_cleanup_*), a line
# of one of the extension's C++ files (anonymous-namespace helpers), or the library itself.
# A report counts when its stack has one of them, unless it is one of two known false
# positives below our frames: a fault inside the dynamic loader (the strncmp over-read of
# ld.so's is_dst; a statement the extension runs can make PostgreSQL dlopen a library,
# plpgsql for a user trigger or llvmjit), or PostgreSQL's regex cache moving its entries
# (RE_compile_and_cache calls memmove, which glibc's fortified build routes through
# __memcpy_chk, so valgrind reports an "overlap in memcpy_chk"; the catalog query's
# regexp_replace gets there once a backend has used more than 32 regular expressions).
ours_pattern='test_cleanup::|test_cleanup_[a-z_]+ \(|\((entry|boundary|catalog|execute|plan|plan_cache|spi|sql_text)\.[ch]pp:|test_cleanup\.so'
count_ours() {
  awk -v ours="$ours_pattern" '
    /^==[0-9]+== [A-Z]/ {
      if (report && mine && !known) n++
      report = 1; mine = 0; known = 0; overlap = ($0 ~ /overlap in memcpy_chk/); next
    }
    /^==[0-9]+==    (at|by) / {
      if ($0 ~ /\((dl-load|dl-open|dl-deps)\.c:/) known = 1
      if (overlap && $0 ~ /RE_compile_and_cache/) known = 1
      if ($0 ~ ours) mine = 1
    }
    END { if (report && mine && !known) n++; print n + 0 }' "$@"
}
ours=$(cat "$dir"/vg.*.log 2>/dev/null | count_ours)
others=$(cat "$dir"/vg.*.log 2>/dev/null | grep -cE '^==[0-9]+== (Invalid|Syscall param|Conditional jump|Use of uninit|Mismatched)')
echo "# valgrind: $others report(s) outside the extension (known false positives)"
expect_eq "valgrind: no report with a frame of the extension" "0" "$ours"
[ "$ours" = 0 ] || grep -B30 -A25 -E "$ours_pattern" "$dir"/vg.*.log | head -120
# TC_VALGRIND_KEEP=1 keeps the logs (to read the reports outside the extension).
[ "${TC_VALGRIND_KEEP:-0}" = 1 ] && echo "# logs kept in $dir" || rm -rf "$dir"
finish
