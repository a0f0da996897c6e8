--------------------------------------------------------------------------------------------
-- Client mode only: what the extension keeps in C, as plain SQL its owner role can run.
--------------------------------------------------------------------------------------------

-- The gate and the marker, as one row the owner role writes (test_cleanup_client --enable /
-- --disable): on a managed database nobody may set test_cleanup.enabled for a database
-- (PostgreSQL 15 refuses a non-superuser's ALTER DATABASE ... SET of an unknown parameter).
-- `version` is the version of the plain install, for test_cleanup_client --install.
CREATE TABLE test_cleanup.client_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   text NOT NULL,
    enabled   boolean NOT NULL DEFAULT false,
    marker    text NOT NULL DEFAULT 'integration_test_data' CHECK (marker <> '')
);
COMMENT ON TABLE test_cleanup.client_settings IS
    'Client mode: the gate (enabled, off by default) and the test_marker value that marks a row as test data';
INSERT INTO test_cleanup.client_settings (version) VALUES ('@VERSION@');
REVOKE ALL ON TABLE test_cleanup.client_settings FROM PUBLIC;

-- The marker as the extension's setting test_cleanup.marker gives it.
CREATE FUNCTION test_cleanup._marker()
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (SELECT s.marker FROM test_cleanup.client_settings s);

-- The gate, for what writes outside a cleanup (heartbeat, new sessions): refuses as the
-- extension's does when it is closed.
CREATE FUNCTION test_cleanup._require_enabled()
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT coalesce((SELECT s.enabled FROM test_cleanup.client_settings s), false) THEN
        RAISE EXCEPTION 'test_cleanup is disabled in this database'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The gate (test_cleanup.client_settings.enabled) is off. It is off by default so that no production database can lose data by accident.',
                  HINT = 'On a test database, the role that installed test_cleanup opens it with: test_cleanup_client --db URI --enable';
    END IF;
END $$;

-- Client mode's plans, kept under a fingerprint of the catalogs and rules they were read from
-- (client/compiled_plan.hpp): a cleanup reads and plans the schema only when it changed.
-- Only ever a cache: deleting its rows is always safe.
CREATE TABLE test_cleanup.client_plan_cache (
    all_sessions boolean PRIMARY KEY,
    fingerprint  text NOT NULL,
    plan         jsonb NOT NULL,
    planned_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE test_cleanup.client_plan_cache IS
    'Client mode: the plan of the last cleanup of every session (all_sessions) or of one session, with the fingerprint of the catalogs it was read from';
REVOKE ALL ON TABLE test_cleanup.client_plan_cache FROM PUBLIC;
