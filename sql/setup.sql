-- Runs first: installs the extension, opens the gate for this test database, loads the
-- reference schema (test/reference_schema.sql) that the other tests reset and clean.
CREATE EXTENSION test_cleanup;
SELECT format('ALTER DATABASE %I SET test_cleanup.enabled = on', current_database()) \gexec
\set ECHO none
\i test/reference_schema.sql
\set ECHO all

-- Where everything landed.
SELECT n.nspname, p.proname, p.prosecdef, pg_get_function_arguments(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('public', 'test_cleanup') AND p.proname NOT LIKE 'reference%' AND p.proname NOT LIKE '\_%'
 ORDER BY 1, 2;
SELECT * FROM test_cleanup.rules ORDER BY kind, id;
SELECT reference_data_load();
SELECT * FROM reference_summary;
