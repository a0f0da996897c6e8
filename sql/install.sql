-- What the extension installs (pg_regress created it, --load-extension), and the
-- reference schema's rules and data.
\i test/regress_prelude.sql

-- Where the extension's functions landed (the internal ones, named _*, aside).
SELECT n.nspname, p.proname, p.prosecdef, pg_get_function_arguments(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'test_cleanup')
   AND p.proname NOT LIKE '\_%'
 ORDER BY 1, 2;
-- The reference schema's rules (their ids depend on what ran before).
SELECT kind, "table", rule FROM test_cleanup.rules ORDER BY kind, "table", rule;
SELECT reference_data_load();
SELECT * FROM reference_summary;
