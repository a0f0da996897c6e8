-- The database gate: off by default, superuser-only, and a clear error when closed.
\i test/regress_prelude.sql
SELECT reference_data_load();

SET test_cleanup.enabled = off;
SELECT test_cleanup();
SELECT count(*) AS rows_left FROM reference_rows;
RESET test_cleanup.enabled;
SHOW test_cleanup.enabled;

-- Ordinary roles can neither open the gate nor call the cleanup unless granted EXECUTE.
CREATE ROLE regress_tc_app;
SET ROLE regress_tc_app;
SET test_cleanup.enabled = on;
SELECT test_cleanup();
RESET ROLE;

-- Granted EXECUTE, a role needs no privilege on the tables (SECURITY DEFINER), and the
-- audit trail records that role, not the function's owner.
GRANT EXECUTE ON FUNCTION test_cleanup(text, boolean) TO regress_tc_app;
SET ROLE regress_tc_app;
SELECT test_cleanup('test_session_1640995200_abc12345') -> 'deleted_counts' -> 'users' AS users;
SELECT count(*) FROM users;
RESET ROLE;
SELECT role_name, test_session_id FROM test_cleanup.audit_log ORDER BY audit_id DESC LIMIT 1;

-- The settings are documented.
SELECT name, setting, context, short_desc FROM pg_settings WHERE name LIKE 'test\_cleanup.%' ORDER BY name;

REVOKE EXECUTE ON FUNCTION test_cleanup(text, boolean) FROM regress_tc_app;
DROP ROLE regress_tc_app;
