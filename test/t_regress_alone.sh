#!/usr/bin/env bash
# Every pg_regress file passes alone, in a database of its own, as README says one can run
# it (`make installcheck REGRESS=name`): no file depends on what another left behind. (The
# full suite, in one database and alphabetical order, is run by test/run_all.sh.)
source "$(dirname "$0")/lib.sh"
cd "$TC_REPO"
mkdir -p .tmp/alone

for file in sql/*.sql; do
  name=$(basename "$file" .sql)
  # pg_regress drops and creates its database (contrib_regression, named in some expected
  # outputs) for each file; the output is kept apart from the main run's results/.
  if make -s installcheck REGRESS="$name" \
    REGRESS_OPTS="--inputdir=. --load-extension=test_cleanup --dbname=contrib_regression --outputdir=.tmp/alone" \
    >".tmp/alone-$name.log" 2>&1; then
    ok "pg_regress $name passes alone"
  else
    not_ok "pg_regress $name passes alone"
    head -40 .tmp/alone/regression.diffs 2>/dev/null | sed 's/^/    /'
  fi
done
finish
