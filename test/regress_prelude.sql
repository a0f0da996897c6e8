\set ECHO none
-- The first lines of every pg_regress file (sql/*.sql), so that each file runs alone
-- (`make installcheck REGRESS=name`) or after any other: pg_regress has created the
-- extension (--load-extension); this opens the gate for the test database, loads the
-- reference schema (test/reference_schema.sql) unless an earlier file did, and reconnects
-- so the gate applies. Each file then (re)loads the reference data it needs.
\o /dev/null
SELECT format('ALTER DATABASE %I SET test_cleanup.enabled = on', current_database()) \gexec
SELECT to_regclass('public.reference_rows') IS NULL AS tc_load_reference \gset
\if :tc_load_reference
\i test/reference_schema.sql
\endif
\unset tc_load_reference
\o
\c
\set ECHO all
