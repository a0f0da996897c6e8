-- test_cleanup 1.0.0 -> 1.1.0: rows are named by key (the C++ side); partitioned tables
-- can be registered; advise_indexes() advises no CONCURRENTLY on partitioned tables,
-- counts only valid indexes, lets only an index with the marker's own predicate stand for
-- the marker advice, and runs without JIT; the audit log records the transient indexes a
-- cleanup built; sessions() and heartbeat() list the test sessions present.

\echo Use "ALTER EXTENSION test_cleanup UPDATE TO '1.1.0'" to load this file. \quit

ALTER TABLE test_cleanup.audit_log ADD COLUMN transient_indexes jsonb;

-- Fails unless tbl is an ordinary or partitioned table; returns its printable name.
CREATE OR REPLACE FUNCTION test_cleanup._check_table(tbl regclass, role text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind "char";
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'test_cleanup: the % table must not be NULL', role
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = tbl;
    IF kind IS NULL THEN
        RAISE EXCEPTION 'test_cleanup: % table with OID % does not exist', role, tbl::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'test_cleanup: % "%" is not a table', role, tbl
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary and partitioned tables can be cleaned; views, foreign tables and other relations cannot.';
    END IF;
    RETURN tbl::text;
END $$;

-- Does tbl have an index whose leading columns are exactly cols (in any order)?
CREATE OR REPLACE FUNCTION test_cleanup._has_leading_index(tbl regclass, cols name[])
RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM pg_index i
     WHERE i.indrelid = tbl AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
       AND (SELECT array_agg(a.attname ORDER BY a.attname)
              FROM unnest((i.indkey::int2[])[0:cardinality(cols) - 1]) AS k(attnum)
              JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = k.attnum)
           = (SELECT array_agg(c ORDER BY c) FROM unnest(cols) AS c));

-- Whether a lookup by cols in tbl has an index: 'y' (one whose leading columns are cols);
-- else whether a cleanup may build one for its own transaction: 'n' yes; 'p' no, tbl is
-- partitioned and a partition has an index led by cols (a CREATE INDEX on tbl would adopt
-- it, and dropping that would drop the user's) or is a foreign table (which takes none).
CREATE FUNCTION test_cleanup._index_state(tbl regclass, cols name[])
RETURNS "char" LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN test_cleanup._has_leading_index(tbl, cols) THEN 'y'
    WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) <> 'p' THEN 'n'
    WHEN EXISTS (SELECT FROM pg_partition_tree(tbl) p JOIN pg_class pc ON pc.oid = p.relid
                  WHERE p.relid <> tbl
                    AND (pc.relkind = 'f' OR EXISTS (
                        SELECT FROM pg_index i
                         WHERE i.indrelid = p.relid
                           AND (SELECT array_agg(a.attname ORDER BY a.attname)
                                  FROM unnest((i.indkey::int2[])[0:cardinality(cols) - 1]) AS k(attnum)
                                  JOIN pg_attribute a ON a.attrelid = p.relid AND a.attnum = k.attnum)
                               = (SELECT array_agg(n ORDER BY n) FROM unnest(cols) AS n))))
    THEN 'p'
    ELSE 'n' END;

-- How an advised index is created: CONCURRENTLY where PostgreSQL allows it, which is not
-- on a partitioned table (there a plain CREATE INDEX, which blocks writes while it builds).
CREATE OR REPLACE FUNCTION test_cleanup._create_index_sql(tbl regclass)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN (SELECT relkind FROM pg_class WHERE oid = tbl) = 'p'
            THEN 'CREATE INDEX ON ' ELSE 'CREATE INDEX CONCURRENTLY ON ' END || tbl::text;

-- One row per index a cleanup would use and the database lacks, with the statement that
-- creates it. Tables are those a cleanup can reach, found as the planner finds them.
CREATE OR REPLACE FUNCTION test_cleanup.advise_indexes()
RETURNS TABLE ("table" regclass, kind text, reason text, statement text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
-- Its catalog query is large and its row estimates high: JIT compiled it for ~0.9 s a call.
SET jit = off AS $$
DECLARE
    marker text := coalesce(current_setting('test_cleanup.marker', true), 'integration_test_data');
BEGIN
    RETURN QUERY
    WITH RECURSIVE
    -- Every edge along which deletion spreads (dependent -> owner), with its key columns.
    edges(dependent, owner, cols, dooms, via) AS (
        SELECT con.conrelid::regclass, con.confrelid::regclass,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
               con.confdeltype IN ('a', 'r', 'c'), 'foreign key ' || quote_ident(con.conname)
          FROM pg_constraint con WHERE con.contype = 'f' AND con.conparentid = 0
        UNION ALL
        SELECT l.dependent, l.owner, l.dependent_cols::name[], true, 'link ' || l.link_id
          FROM test_cleanup.link l
        UNION ALL
        SELECT l.dependent, l.owner, ARRAY[l.dependent_col], true, 'listed link ' || l.listed_link_id
          FROM test_cleanup.listed_link l),
    reach(tbl) AS (
        SELECT r.tbl FROM test_cleanup.root r
        UNION
        SELECT e.dependent FROM edges e JOIN reach ON e.owner = reach.tbl WHERE e.dooms),
    root_indexes AS (
        -- A partial btree index holding only the marked rows: small (test rows only), it
        -- serves cleaning everything (a scan of the whole index) and one session (the
        -- session id is its key). The marker is a constant in the cleanup's plan, so the
        -- planner can prove the partial predicate.
        SELECT r.tbl,
               format('(%s ->> %L)', quote_ident(r.col) || test_cleanup._json_path_sql(r.path), 'test_session_id') AS expr,
               format('%s ->> %L = %L', quote_ident(r.col) || test_cleanup._json_path_sql(r.path), 'test_marker', marker) AS predicate
          FROM test_cleanup.root r),
    candidates AS (
        SELECT ri.tbl, 'btree, partial'::text AS kind,
               'finds the marked rows of a root rule without scanning the table; keyed by session id'::text AS reason,
               format('%s (%s) WHERE %s', test_cleanup._create_index_sql(ri.tbl), ri.expr, ri.predicate) AS statement,
               -- Present: a valid index on the expression, whole or with the same predicate.
               EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = ri.tbl AND i.indisvalid
                          AND strpos(test_cleanup._index_shape(pg_get_indexdef(i.indexrelid)),
                                     test_cleanup._index_shape(ri.expr)) > 0
                          AND (i.indpred IS NULL
                               OR test_cleanup._index_shape(pg_get_expr(i.indpred, i.indrelid))
                                  = test_cleanup._index_shape(ri.predicate))) AS present
          FROM root_indexes ri
        UNION ALL
        SELECT DISTINCT ON (e.dependent, e.cols) e.dependent, 'btree',
               format('%s: each deleted %s row is looked up (or cascaded) through these columns',
                      e.via, e.owner),
               format('%s (%s)', test_cleanup._create_index_sql(e.dependent),
                      (SELECT string_agg(quote_ident(c), ', ') FROM unnest(e.cols) c)),
               test_cleanup._has_leading_index(e.dependent, e.cols)
          FROM edges e JOIN reach ON reach.tbl = e.owner
         WHERE e.via NOT LIKE 'listed link%'
        UNION ALL
        -- Listed keys are matched by their text form: a key of another type needs an
        -- expression index on col::text.
        SELECT l.dependent, 'btree, expression',
               format('listed link %s: listed keys are matched as text', l.listed_link_id),
               format('%s ((%I::text))', test_cleanup._create_index_sql(l.dependent), l.dependent_col),
               a.atttypid IN ('text'::regtype, 'varchar'::regtype)
                   AND test_cleanup._has_leading_index(l.dependent, ARRAY[l.dependent_col])
               OR EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = l.dependent AND i.indisvalid
                             AND strpos(test_cleanup._index_shape(pg_get_indexdef(i.indexrelid)),
                                        test_cleanup._index_shape(format('%I::text', l.dependent_col))) > 0
                             AND i.indexprs IS NOT NULL)
          FROM test_cleanup.listed_link l
          JOIN pg_attribute a ON a.attrelid = l.dependent AND a.attname = l.dependent_col
        UNION ALL
        -- Whether a listed row is still listed by a surviving owner is asked per key with
        -- @> (containment), which only a GIN index answers without reading every list.
        SELECT DISTINCT ON (l.owner, la.expr) l.owner, 'gin, expression',
               format('listed link %s: finds the owners that still list a key', l.listed_link_id),
               format('%s USING gin ((%s) jsonb_path_ops)', test_cleanup._create_index_sql(l.owner), la.expr),
               test_cleanup._has_gin_index(l.owner, la.expr)
          FROM test_cleanup.listed_link l
         CROSS JOIN LATERAL (SELECT quote_ident(l.owner_col) || test_cleanup._json_path_sql(l.array_path) AS expr) la)
    SELECT c.tbl, c.kind, c.reason, c.statement FROM candidates c
     WHERE NOT c.present
     ORDER BY c.tbl::text, c.statement;
END $$;

--------------------------------------------------------------------------------------------
-- A shared test database: which test sessions are present, and which are still alive.
--------------------------------------------------------------------------------------------

CREATE TABLE test_cleanup.heartbeat (
    test_session_id text PRIMARY KEY CHECK (test_session_id <> ''),
    last_heartbeat  timestamptz NOT NULL
);
COMMENT ON TABLE test_cleanup.heartbeat IS
    'The last sign of life of each running test session (test_cleanup.heartbeat(session))';
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.heartbeat', '');

-- A running suite says it is alive; returns the time it recorded.
CREATE FUNCTION test_cleanup.heartbeat(session text)
RETURNS timestamptz LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    beat timestamptz;
BEGIN
    IF session IS NULL OR session = '' THEN
        RAISE EXCEPTION 'test_cleanup: the test session id must not be empty or NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO test_cleanup.heartbeat AS h VALUES (session, clock_timestamp())
    ON CONFLICT (test_session_id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat
    RETURNING h.last_heartbeat INTO beat;
    RETURN beat;
END $$;
COMMENT ON FUNCTION test_cleanup.heartbeat(text) IS
    'Records that a running test session is alive (the reaper leaves it alone)';

-- A test_timestamp as the spec writes it ("2024-01-01T12:00:00.000000", no zone: UTC);
-- NULL for anything else, never an error.
CREATE FUNCTION test_cleanup._utc(ts text)
RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF ts !~ '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?$' THEN
        RETURN NULL;
    END IF;
    RETURN ts::timestamp AT TIME ZONE 'UTC';
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END $$;

-- One row per test session present (marked rows, or a heartbeat): its marked rows per root
-- table (report key), the oldest and newest test_timestamp of those rows, and its last
-- heartbeat. Marked rows without a session id are one row with a NULL id. A row two root
-- rules mark counts once per session.
CREATE FUNCTION test_cleanup.sessions()
RETURNS TABLE (test_session_id text, marked_rows jsonb, first_seen timestamptz,
               last_seen timestamptz, last_heartbeat timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    marker text := coalesce(current_setting('test_cleanup.marker', true), 'integration_test_data');
    -- Per root table: (session, report key, row, timestamp text) of each marked row. Spec
    -- timestamps sort as text (only those are kept), so only min and max are parsed.
    parts text[] := '{}';
    r record;
BEGIN
    FOR r IN SELECT ro.tbl, coalesce(k.key, c.relname::text) AS report,
                    string_agg(format('(x.%I%s)', ro.col, test_cleanup._json_path_sql(ro.path)), ', '
                               ORDER BY ro.root_id) AS objects
               FROM test_cleanup.root ro
               JOIN pg_class c ON c.oid = ro.tbl
               LEFT JOIN test_cleanup.report_key k ON k.tbl = ro.tbl
              GROUP BY ro.tbl, k.key, c.relname
              ORDER BY ro.tbl LOOP
        parts := parts || format(
            'SELECT o.m ->> %L, %L, (x.tableoid, x.ctid)::text, CASE WHEN o.m ->> %L ~ %L '
            'THEN translate(o.m ->> %L, %L, %L) END FROM %s x, LATERAL (VALUES %s) o(m) '
            'WHERE o.m ->> %L = $1',
            'test_session_id', r.report, 'test_timestamp',
            '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?$', 'test_timestamp', ' ', 'T',
            r.tbl, r.objects, 'test_marker');
    END LOOP;
    IF cardinality(parts) = 0 THEN
        parts := ARRAY['SELECT NULL::text, NULL::text, NULL::text, NULL::text WHERE false'];
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH marked(s, t, n, lo, hi) AS (
            SELECT s, t, count(DISTINCT k), min(ts), max(ts)
              FROM (%s) m(s, t, k, ts) GROUP BY s, t),
        by_session(s, counts, lo, hi) AS (
            SELECT s, jsonb_object_agg(t, n), min(lo), max(hi) FROM marked GROUP BY s)
        SELECT coalesce(b.s, h.test_session_id), coalesce(b.counts, '{}'::jsonb),
               test_cleanup._utc(b.lo), test_cleanup._utc(b.hi), h.last_heartbeat
          FROM by_session b
          FULL JOIN test_cleanup.heartbeat h ON h.test_session_id = b.s
         ORDER BY 1 NULLS FIRST$q$, array_to_string(parts, ' UNION ALL ')) USING marker;
END $$;
COMMENT ON FUNCTION test_cleanup.sessions() IS
    'Lists the test sessions present: marked rows per root table, first and last test_timestamp, last heartbeat';

REVOKE ALL ON FUNCTION test_cleanup.heartbeat(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION test_cleanup.sessions() FROM PUBLIC;
