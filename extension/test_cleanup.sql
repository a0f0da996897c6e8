-- test_cleanup install script. Written once here; `make` copies it to
-- test_cleanup--<version>.sql (the version comes from test_cleanup.control).
-- The client's plain SQL install (client/install_sql.sh, for managed PostgreSQL where no C
-- extension can be installed) is this script without the blocks marked "extension only"
-- (C functions, pg_dump's extension configuration), plus client/client_only.sql.

\echo Use "CREATE EXTENSION test_cleanup" to load this file. \quit

-- The rule catalog and helpers live in their own schema; the cleanup function itself
-- lands in the extension's schema (default public) so `SELECT test_cleanup()` just works.
CREATE SCHEMA test_cleanup;
COMMENT ON SCHEMA test_cleanup IS 'Rule catalog, helpers and audit log of the test_cleanup extension';

--------------------------------------------------------------------------------------------
-- The rule catalog
--------------------------------------------------------------------------------------------

-- A root: rows of tbl whose `col #> path` is a test-metadata object carrying the marker.
CREATE TABLE test_cleanup.root (
    root_id serial PRIMARY KEY,
    tbl     regclass NOT NULL,
    col     name     NOT NULL,
    path    text[]   NOT NULL DEFAULT '{}',
    CONSTRAINT root_rule_unique UNIQUE (tbl, col, path),
    CHECK (array_position(path, NULL) IS NULL)
);
COMMENT ON TABLE test_cleanup.root IS
    'Tables whose rows carry test metadata: the object at col #> path holds test_marker and test_session_id';

-- A "belongs to" link without a foreign key: dependent(dependent_cols) -> owner(owner_cols).
CREATE TABLE test_cleanup.link (
    link_id        serial PRIMARY KEY,
    dependent      regclass NOT NULL,
    dependent_cols text[]   NOT NULL,
    owner          regclass NOT NULL,
    owner_cols     text[]   NOT NULL,
    CONSTRAINT link_rule_unique UNIQUE (dependent, dependent_cols, owner, owner_cols),
    CHECK (cardinality(dependent_cols) > 0 AND cardinality(dependent_cols) = cardinality(owner_cols))
);
COMMENT ON TABLE test_cleanup.link IS
    'Dependencies without a foreign key: a dependent row goes when the owner row it points at goes';

-- A "listed in" link: the owner lists dependent keys in a JSON array at owner_col #> array_path.
CREATE TABLE test_cleanup.listed_link (
    listed_link_id serial PRIMARY KEY,
    dependent      regclass NOT NULL,
    dependent_col  name     NOT NULL,
    owner          regclass NOT NULL,
    owner_col      name     NOT NULL,
    array_path     text[]   NOT NULL,
    element_key    text,
    CONSTRAINT listed_link_rule_unique UNIQUE NULLS NOT DISTINCT (dependent, dependent_col, owner, owner_col, array_path, element_key),
    CHECK (array_position(array_path, NULL) IS NULL)
);
COMMENT ON TABLE test_cleanup.listed_link IS
    'Owners that list dependent keys in a JSON array; a listed row goes only when no surviving owner lists it';

CREATE TABLE test_cleanup.report_key (
    tbl regclass PRIMARY KEY,
    key text NOT NULL CHECK (key <> '')
);
COMMENT ON TABLE test_cleanup.report_key IS
    'The name a table is counted under in deleted_counts (default: the table name)';

CREATE TABLE test_cleanup.audit_log (
    audit_id          bigserial PRIMARY KEY,
    cleaned_at        timestamptz NOT NULL DEFAULT now(),
    test_session_id   text,
    role_name         name NOT NULL,
    application_name  text,
    client_addr       inet,
    deleted_counts    jsonb NOT NULL,
    collateral_counts jsonb NOT NULL,
    duration_ms       double precision NOT NULL,
    -- The indexes the cleanup built for its own transaction and dropped (NULL: none), each
    -- with its table, columns and build time.
    transient_indexes jsonb
);
COMMENT ON TABLE test_cleanup.audit_log IS
    'One row per successful cleanup (test_session_id NULL means all test data was cleaned)';

-- extension only {
-- Rules and the audit trail are user data: pg_dump must carry them.
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.root', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.root_root_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.link', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.link_link_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.listed_link', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.listed_link_listed_link_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.report_key', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.audit_log_audit_id_seq', '');
-- extension only }

-- The SQL text that follows a jsonb column to `path`: ` -> 'public' -> 'test_metadata'`.
-- The planner and the index advisor both use it, so an advised index matches the query.
CREATE FUNCTION test_cleanup._json_path_sql(path text[])
RETURNS text LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT string_agg(' -> ' || quote_literal(p), '' ORDER BY i)
                   FROM unnest(path) WITH ORDINALITY AS u(p, i)), '');

-- extension only {
-- The marker (setting test_cleanup.marker) as the C side reads it: calling into the module
-- loads it, so a value set before it was loaded counts only if a superuser set it.
CREATE FUNCTION test_cleanup._marker()
RETURNS text
AS 'MODULE_PATHNAME', 'test_cleanup_marker'
LANGUAGE C STABLE;
-- extension only }

--------------------------------------------------------------------------------------------
-- Registration helpers: validate at registration so a typo fails here, not mid-cleanup.
--------------------------------------------------------------------------------------------

-- Fails unless tbl is an ordinary or partitioned table; returns its printable name.
CREATE FUNCTION test_cleanup._check_table(tbl regclass, role text)
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

-- Fails unless tbl has column col; returns the column's type.
CREATE FUNCTION test_cleanup._column_type(tbl regclass, col name, role text)
RETURNS regtype LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    typ regtype;
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION 'test_cleanup: the % column must not be NULL', role
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.atttypid::regtype INTO typ
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF typ IS NULL THEN
        RAISE EXCEPTION 'test_cleanup: column "%" of % table "%" does not exist', col, role, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN typ;
END $$;

CREATE FUNCTION test_cleanup._check_path(path text[], what text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF array_ndims(path) > 1 THEN
        RAISE EXCEPTION 'test_cleanup: % must be a one-dimensional text array, got %', what, path
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF path IS NULL OR array_position(path, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'test_cleanup: % must be a text array without NULL elements (use ''{}'' for the top level)', what
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
END $$;

CREATE FUNCTION test_cleanup.add_root(tbl regclass, col name, path text[] DEFAULT '{}')
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    typ regtype;
    id integer;
BEGIN
    PERFORM test_cleanup._check_table(tbl, 'root');
    typ := test_cleanup._column_type(tbl, col, 'root');
    IF typ <> 'jsonb'::regtype THEN
        RAISE EXCEPTION 'test_cleanup: column "%" of root table "%" is of type %, but test metadata must be in a jsonb column', col, tbl, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = format('Convert it with: ALTER TABLE %s ALTER COLUMN %I TYPE jsonb', tbl, col);
    END IF;
    PERFORM test_cleanup._check_path(path, 'the path');
    path := coalesce(path, '{}');
    INSERT INTO test_cleanup.root (tbl, col, path) VALUES ($1, $2, path)
        ON CONFLICT ON CONSTRAINT root_rule_unique DO NOTHING
        RETURNING root_id INTO id;
    IF id IS NULL THEN
        SELECT r.root_id INTO id FROM test_cleanup.root r
         WHERE r.tbl = $1 AND r.col = $2 AND r.path = add_root.path;
    END IF;
    RETURN id;
END $$;
COMMENT ON FUNCTION test_cleanup.add_root(regclass, name, text[]) IS
    'Registers rows of tbl whose col #> path holds test metadata as cleanup roots; returns the rule id';

CREATE FUNCTION test_cleanup.add_link(dependent regclass, dependent_cols text[],
                                      owner regclass, owner_cols text[])
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    dep_type regtype;
    own_type regtype;
    id integer;
BEGIN
    PERFORM test_cleanup._check_table(dependent, 'dependent');
    PERFORM test_cleanup._check_table(owner, 'owner');
    IF coalesce(cardinality(dependent_cols), 0) = 0 OR coalesce(cardinality(owner_cols), 0) = 0 THEN
        RAISE EXCEPTION 'test_cleanup: a link needs at least one column on each side'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cardinality(dependent_cols) <> cardinality(owner_cols) THEN
        RAISE EXCEPTION 'test_cleanup: the link has % dependent column(s) but % owner column(s)',
            cardinality(dependent_cols), cardinality(owner_cols)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('dependent %s%s, owner %s%s', dependent, dependent_cols, owner, owner_cols);
    END IF;
    FOR i IN 1 .. cardinality(dependent_cols) LOOP
        dep_type := test_cleanup._column_type(dependent, dependent_cols[i], 'dependent');
        own_type := test_cleanup._column_type(owner, owner_cols[i], 'owner');
        IF dep_type <> own_type THEN
            RAISE EXCEPTION 'test_cleanup: link column % has mismatched types: %.% is % but %.% is %',
                i, dependent, dependent_cols[i], dep_type, owner, owner_cols[i], own_type
                USING ERRCODE = 'datatype_mismatch';
        END IF;
    END LOOP;
    INSERT INTO test_cleanup.link (dependent, dependent_cols, owner, owner_cols)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT ON CONSTRAINT link_rule_unique DO NOTHING
        RETURNING link_id INTO id;
    IF id IS NULL THEN
        SELECT l.link_id INTO id FROM test_cleanup.link l
         WHERE l.dependent = $1 AND l.dependent_cols = $2 AND l.owner = $3 AND l.owner_cols = $4;
    END IF;
    RETURN id;
END $$;
COMMENT ON FUNCTION test_cleanup.add_link(regclass, text[], regclass, text[]) IS
    'Registers a dependency without a foreign key: dependent rows go with the owner row they point at';

CREATE FUNCTION test_cleanup.add_listed_link(dependent regclass, dependent_col name,
                                             owner regclass, owner_col name,
                                             array_path text[], element_key text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    typ regtype;
    id integer;
BEGIN
    PERFORM test_cleanup._check_table(dependent, 'dependent');
    PERFORM test_cleanup._check_table(owner, 'owner');
    PERFORM test_cleanup._column_type(dependent, dependent_col, 'dependent');
    typ := test_cleanup._column_type(owner, owner_col, 'owner');
    IF typ <> 'jsonb'::regtype THEN
        RAISE EXCEPTION 'test_cleanup: column "%" of owner table "%" is of type %, but a listed link needs a jsonb column', owner_col, owner, typ
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    PERFORM test_cleanup._check_path(array_path, 'the array path');
    IF cardinality(array_path) = 0 THEN
        RAISE EXCEPTION 'test_cleanup: the array path must name where the JSON array sits, e.g. ''{public,downloadableFiles}'''
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF element_key = '' THEN
        RAISE EXCEPTION 'test_cleanup: element_key must be NULL (elements are the keys) or a non-empty key name'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO test_cleanup.listed_link (dependent, dependent_col, owner, owner_col, array_path, element_key)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT ON CONSTRAINT listed_link_rule_unique DO NOTHING
        RETURNING listed_link_id INTO id;
    IF id IS NULL THEN
        SELECT l.listed_link_id INTO id FROM test_cleanup.listed_link l
         WHERE l.dependent = $1 AND l.dependent_col = $2 AND l.owner = $3 AND l.owner_col = $4
           AND l.array_path = $5 AND l.element_key IS NOT DISTINCT FROM $6;
    END IF;
    RETURN id;
END $$;
COMMENT ON FUNCTION test_cleanup.add_listed_link(regclass, name, regclass, name, text[], text) IS
    'Registers owners that list dependent keys in a JSON array; a listed row goes only when no surviving row lists it';

CREATE FUNCTION test_cleanup.set_report_key(tbl regclass, key text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM test_cleanup._check_table($1, 'reported');
    IF $2 IS NULL OR $2 = '' THEN
        RAISE EXCEPTION 'test_cleanup: the report key for "%" must be a non-empty name', $1
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO test_cleanup.report_key (tbl, key) VALUES ($1, $2)
        ON CONFLICT ON CONSTRAINT report_key_pkey DO UPDATE SET key = excluded.key;
END $$;
COMMENT ON FUNCTION test_cleanup.set_report_key(regclass, text) IS
    'Sets the name under which a table is counted in deleted_counts (default: the table name)';

-- Removes every rule that names tbl (as root, dependent, owner or report key); returns how
-- many. For a table that was dropped, pass its OID: test_cleanup.remove_rules(16384).
CREATE FUNCTION test_cleanup.remove_rules(tbl regclass)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    removed integer := 0;
    n integer;
BEGIN
    DELETE FROM test_cleanup.root r WHERE r.tbl = $1;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed + n;
    DELETE FROM test_cleanup.link l WHERE $1 IN (l.dependent, l.owner);
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed + n;
    DELETE FROM test_cleanup.listed_link l WHERE $1 IN (l.dependent, l.owner);
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed + n;
    DELETE FROM test_cleanup.report_key k WHERE k.tbl = $1;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed + n;
    RETURN removed;
END $$;
COMMENT ON FUNCTION test_cleanup.remove_rules(regclass) IS
    'Removes every rule that names the table; returns how many were removed';

-- Every registered rule in one readable list.
CREATE VIEW test_cleanup.rules AS
    SELECT 'root' AS kind, root_id AS id, tbl::text AS "table",
           quote_ident(col) || test_cleanup._json_path_sql(path) AS rule
      FROM test_cleanup.root
    UNION ALL
    SELECT 'link', link_id, dependent::text,
           format('(%s) -> %s(%s)', array_to_string(dependent_cols, ', '), owner, array_to_string(owner_cols, ', '))
      FROM test_cleanup.link
    UNION ALL
    SELECT 'listed_link', listed_link_id, dependent::text,
           format('%I listed in %s.%I%s[*]%s', dependent_col, owner, owner_col,
                  test_cleanup._json_path_sql(array_path),
                  CASE WHEN element_key IS NULL THEN '' ELSE format(' ->> %L', element_key) END)
      FROM test_cleanup.listed_link
    UNION ALL
    SELECT 'report_key', NULL, tbl::text, format('counted as %L', key)
      FROM test_cleanup.report_key;

--------------------------------------------------------------------------------------------
-- The index advisor
--------------------------------------------------------------------------------------------

-- An index definition reduced to what decides whether it serves a query: no spaces,
-- parentheses, quotes or casts to text. Used to recognise an index that already exists.
CREATE FUNCTION test_cleanup._index_shape(definition text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
RETURN regexp_replace(lower(definition), '::text|[\s()"]', '', 'g');

-- Does tbl have an index whose leading columns are exactly cols (in any order)?
CREATE FUNCTION test_cleanup._has_leading_index(tbl regclass, cols name[])
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

-- Does tbl have a GIN index on the expression expr (which then answers @> on it)?
CREATE FUNCTION test_cleanup._has_gin_index(tbl regclass, expr text)
RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM pg_index i
     WHERE i.indrelid = tbl AND i.indpred IS NULL AND i.indisvalid
       AND strpos(test_cleanup._index_shape(pg_get_indexdef(i.indexrelid)),
                  'usinggin' || test_cleanup._index_shape(expr)) > 0);

-- How an advised index is created: CONCURRENTLY where PostgreSQL allows it, which is not
-- on a partitioned table (there a plain CREATE INDEX, which blocks writes while it builds).
CREATE FUNCTION test_cleanup._create_index_sql(tbl regclass)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN (SELECT relkind FROM pg_class WHERE oid = tbl) = 'p'
            THEN 'CREATE INDEX ON ' ELSE 'CREATE INDEX CONCURRENTLY ON ' END || tbl::text;

-- One row per index a cleanup would use and the database lacks, with the statement that
-- creates it. Tables are those a cleanup can reach, found as the planner finds them.
CREATE FUNCTION test_cleanup.advise_indexes()
RETURNS TABLE ("table" regclass, kind text, reason text, statement text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
-- Its catalog query is large and its row estimates high: JIT compiled it for ~0.9 s a call.
SET jit = off AS $$
DECLARE
    marker text := test_cleanup._marker();
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
COMMENT ON FUNCTION test_cleanup.advise_indexes() IS
    'Lists the indexes a cleanup would use that the database lacks, with the CREATE INDEX statement for each';

--------------------------------------------------------------------------------------------
-- A shared test database: which test sessions are present, and which are still alive.
--------------------------------------------------------------------------------------------

CREATE TABLE test_cleanup.heartbeat (
    test_session_id text PRIMARY KEY CHECK (test_session_id <> ''),
    last_heartbeat  timestamptz NOT NULL
);
COMMENT ON TABLE test_cleanup.heartbeat IS
    'The last sign of life of each running test session (test_cleanup.heartbeat(session))';
-- extension only {
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.heartbeat', '');
-- extension only }

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
    PERFORM test_cleanup._require_enabled();
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

-- The table a rule names, as queries reach it: where Citus turned a registered table into a
-- Citus local table, the registered OID is now its shard, and the rows are read through the
-- Citus table (the C++ catalog does the same mapping).
CREATE FUNCTION test_cleanup._rule_table(tbl regclass)
RETURNS regclass LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    citus_table regclass;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_shard') IS NULL THEN
        RETURN tbl;
    END IF;
    EXECUTE $q$
        SELECT s.logicalrelid FROM pg_dist_shard s
          JOIN pg_class c ON c.oid = s.logicalrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE to_regclass(CASE WHEN n.nspname = 'public' THEN 'public.' ELSE '' END ||
                           shard_name(s.logicalrelid, s.shardid)) = $1$q$
        INTO citus_table USING tbl;
    RETURN coalesce(citus_table, tbl);
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
    marker text := test_cleanup._marker();
    -- Per root table: (session, report key, row, timestamp text) of each marked row. Spec
    -- timestamps sort as text (only those are kept), so only min and max are parsed.
    parts text[] := '{}';
    r record;
BEGIN
    FOR r IN SELECT ro.tbl, coalesce(k.key, c.relname::text) AS report,
                    string_agg(format('(x.%I%s)', ro.col, test_cleanup._json_path_sql(ro.path)), ', '
                               ORDER BY ro.root_id) AS objects
               FROM (SELECT rt.root_id, test_cleanup._rule_table(rt.tbl) AS tbl, rt.col, rt.path FROM test_cleanup.root rt) ro
               JOIN pg_class c ON c.oid = ro.tbl
               LEFT JOIN test_cleanup.report_key k ON test_cleanup._rule_table(k.tbl) = ro.tbl
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

--------------------------------------------------------------------------------------------
-- Protected tables: a cleanup may delete only their marked rows.
--------------------------------------------------------------------------------------------

CREATE TABLE test_cleanup.protected (
    tbl          regclass PRIMARY KEY,
    protected_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE test_cleanup.protected IS
    'Tables a cleanup must not delete unmarked rows from (test_cleanup.protect(tbl))';
-- extension only {
SELECT pg_catalog.pg_extension_config_dump('test_cleanup.protected', '');
-- extension only }

-- Returns true when tbl was not protected before.
CREATE FUNCTION test_cleanup.protect(tbl regclass)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM test_cleanup._check_table(tbl, 'protected');
    -- A cleanup deletes a partition's rows through its partitioned table (and a partition
    -- of a protected table is protected with it): a protected partition would be a promise
    -- the plan does not see.
    IF (SELECT c.relispartition FROM pg_class c WHERE c.oid = tbl) THEN
        RAISE EXCEPTION 'test_cleanup: "%" is a partition; protect its partitioned table "%" instead',
            tbl, pg_partition_root(tbl)
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Protection applies to a partitioned table as a whole, partitions included.';
    END IF;
    INSERT INTO test_cleanup.protected (tbl) VALUES ($1) ON CONFLICT ON CONSTRAINT protected_pkey DO NOTHING;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION test_cleanup.protect(regclass) IS
    'A cleanup that would delete a row of tbl that is not marked as test data fails (SQLSTATE TCP01) before deleting anything';

-- Returns true when tbl was protected. Takes an OID for a table that was dropped.
CREATE FUNCTION test_cleanup.unprotect(tbl regclass)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'test_cleanup: the protected table must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM test_cleanup.protected p WHERE p.tbl = $1;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION test_cleanup.unprotect(regclass) IS
    'Lifts test_cleanup.protect(tbl)';

--------------------------------------------------------------------------------------------
-- After a cleanup: is anything left, or left dangling?
--------------------------------------------------------------------------------------------

-- A row's key as text for messages: its primary key, else its physical address.
CREATE FUNCTION test_cleanup._key_text_sql(tbl regclass, alias text)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN coalesce(
    (SELECT 'ROW(' || string_agg(format('%I.%I', alias, a.attname), ', ' ORDER BY k.i) || ')::text'
       FROM pg_index x
      CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, i)
       JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
      WHERE x.indrelid = tbl AND x.indisprimary),
    format('%I.ctid::text', alias));

-- One row per problem found: marked rows still present (of `session`, or of any session),
-- rows whose foreign key or registered link points at a missing owner (foreign keys into
-- tables a cleanup deletes from: with test_cleanup.skip_fk_checks PostgreSQL does not check
-- them), and keys listed by a registered listed link whose row is missing. Reads each of
-- those tables once; empty after a correct cleanup.
CREATE FUNCTION test_cleanup.verify(session text DEFAULT NULL)
RETURNS TABLE (table_name text, problem text, row_count bigint, sample_keys text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    marker text := test_cleanup._marker();
    r record;
    found_rows bigint;
    keys text;
    -- `SELECT count(*), the first three keys FROM (rows) l(k, n)`
    counted constant text := 'SELECT count(*), string_agg(k, '', '') FILTER (WHERE n <= 3) FROM (%s) l(k, n)';
BEGIN
    IF session = '' THEN
        RAISE EXCEPTION 'test_cleanup: the test session id must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL (or no argument) to verify every session.';
    END IF;
    -- Marked rows, per root table (all of its root rules).
    FOR r IN SELECT ro.tbl,
                    string_agg(format('(x.%I%s)', ro.col, test_cleanup._json_path_sql(ro.path)), ', '
                               ORDER BY ro.root_id) AS objects
               FROM (SELECT rt.root_id, test_cleanup._rule_table(rt.tbl) AS tbl, rt.col, rt.path FROM test_cleanup.root rt) ro
              GROUP BY ro.tbl ORDER BY ro.tbl LOOP
        EXECUTE format(counted, format(
            'SELECT %s, row_number() OVER () FROM %s x WHERE EXISTS (SELECT FROM (VALUES %s) o(m) '
            'WHERE o.m ->> ''test_marker'' = $1 AND ($2::text IS NULL OR o.m ->> ''test_session_id'' = $2))',
            test_cleanup._key_text_sql(r.tbl, 'x'), r.tbl, r.objects))
            INTO found_rows, keys USING marker, session;
        IF found_rows > 0 THEN
            RETURN QUERY SELECT r.tbl::text, 'marked rows still present', found_rows, keys;
        END IF;
    END LOOP;
    -- Links and foreign keys whose owner is missing. A foreign key counts where its owner
    -- is a table a cleanup deletes from: a root, or reached from one by a foreign key that
    -- cascades or blocks, or by a link.
    FOR r IN WITH RECURSIVE edge(dependent, owner) AS (
                 SELECT conrelid, confrelid FROM pg_constraint
                  WHERE contype = 'f' AND conparentid = 0 AND confdeltype IN ('a', 'r', 'c')
                 UNION ALL SELECT l.dependent, l.owner FROM (SELECT lt.link_id, test_cleanup._rule_table(lt.dependent) AS dependent, lt.dependent_cols,
                            test_cleanup._rule_table(lt.owner) AS owner, lt.owner_cols FROM test_cleanup.link lt) l
                 UNION ALL SELECT l.dependent, l.owner FROM (SELECT lt.listed_link_id, test_cleanup._rule_table(lt.dependent) AS dependent, lt.dependent_col,
                            test_cleanup._rule_table(lt.owner) AS owner, lt.owner_col, lt.array_path, lt.element_key
                       FROM test_cleanup.listed_link lt) l),
             reach(tbl) AS (
                 SELECT ro.tbl::oid FROM (SELECT rt.root_id, test_cleanup._rule_table(rt.tbl) AS tbl, rt.col, rt.path FROM test_cleanup.root rt) ro
                 UNION SELECT e.dependent FROM edge e JOIN reach ON e.owner = reach.tbl)
             SELECT 'foreign key ' || quote_ident(c.conname) AS what, c.conrelid::regclass AS dependent,
                    c.confrelid::regclass AS owner,
                    array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS dependent_cols,
                    array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS owner_cols
               FROM pg_constraint c
              WHERE c.contype = 'f' AND c.conparentid = 0 AND c.confrelid IN (SELECT tbl FROM reach)
             UNION ALL
             SELECT 'link (' || array_to_string(l.dependent_cols, ', ') || ')', l.dependent, l.owner,
                    l.dependent_cols, l.owner_cols
               FROM (SELECT lt.link_id, test_cleanup._rule_table(lt.dependent) AS dependent, lt.dependent_cols,
                            test_cleanup._rule_table(lt.owner) AS owner, lt.owner_cols FROM test_cleanup.link lt) l
             ORDER BY 2, 1 LOOP
        -- The owners' keys are read once (materialized): an anti-join of two tables that
        -- Citus distributes differently is one it refuses to run.
        EXECUTE format(counted, format(
            'WITH o AS MATERIALIZED (SELECT %s FROM %s%s o) '
            'SELECT %s, row_number() OVER () FROM %s%s d WHERE %s AND NOT EXISTS (SELECT FROM o WHERE %s)',
            (SELECT string_agg(format('o.%I', oc), ', ') FROM unnest(r.owner_cols) oc),
            CASE WHEN (SELECT relkind FROM pg_class WHERE oid = r.owner) = 'r' THEN 'ONLY ' ELSE '' END,
            r.owner,
            test_cleanup._key_text_sql(r.dependent, 'd'),
            CASE WHEN (SELECT relkind FROM pg_class WHERE oid = r.dependent) = 'r' THEN 'ONLY ' ELSE '' END,
            r.dependent,
            (SELECT string_agg(format('d.%I IS NOT NULL', c), ' AND ') FROM unnest(r.dependent_cols) c),
            (SELECT string_agg(format('o.%I = d.%I', oc, dc), ' AND ')
               FROM unnest(r.owner_cols, r.dependent_cols) u(oc, dc))))
            INTO found_rows, keys;
        IF found_rows > 0 THEN
            RETURN QUERY SELECT r.dependent::text,
                format('%s points at a missing row of %s (%s)', r.what, r.owner,
                       array_to_string(r.owner_cols, ', ')), found_rows, keys;
        END IF;
    END LOOP;
    -- Listed keys whose row is missing (keys compare by their text form, as the cleanup's).
    FOR r IN SELECT l.* FROM (SELECT lt.listed_link_id, test_cleanup._rule_table(lt.dependent) AS dependent, lt.dependent_col,
                            test_cleanup._rule_table(lt.owner) AS owner, lt.owner_col, lt.array_path, lt.element_key
                       FROM test_cleanup.listed_link lt) l ORDER BY l.listed_link_id LOOP
        EXECUTE format(counted, format(
            'WITH listed(k) AS MATERIALIZED (SELECT DISTINCT %s FROM %s o, '
            'jsonb_array_elements(CASE WHEN jsonb_typeof(o.%I #> %L) = ''array'' THEN o.%I #> %L END) e), '
            'present(k) AS MATERIALIZED (SELECT d.%I::text FROM %s d) '
            'SELECT k, row_number() OVER () FROM listed '
            'WHERE k IS NOT NULL AND NOT EXISTS (SELECT FROM present p WHERE p.k = listed.k)',
            CASE WHEN r.element_key IS NULL THEN 'e #>> ''{}''' ELSE format('e ->> %L', r.element_key) END,
            r.owner, r.owner_col, r.array_path, r.owner_col, r.array_path, r.dependent_col, r.dependent))
            INTO found_rows, keys;
        IF found_rows > 0 THEN
            RETURN QUERY SELECT r.owner::text,
                format('%I%s lists missing rows of %s (%I)', r.owner_col,
                       test_cleanup._json_path_sql(r.array_path), r.dependent, r.dependent_col),
                found_rows, keys;
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION test_cleanup.verify(text) IS
    'After a cleanup: marked rows still present, links and foreign keys pointing at missing rows, listed keys whose row is missing';

-- extension only {
--------------------------------------------------------------------------------------------
-- The reaper: sessions that stopped showing signs of life, cleaned in one transaction.
--------------------------------------------------------------------------------------------

CREATE FUNCTION test_cleanup.reap(older_than interval, dry_run boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cutoff timestamptz;
    due text[];
    last_signs jsonb;
    unknown_age bigint;
    alive bigint;
    unnamed bigint;
    results jsonb;
    result jsonb;
BEGIN
    IF older_than IS NULL OR older_than <= interval '0' THEN
        RAISE EXCEPTION 'test_cleanup: older_than must be a positive interval, got %', coalesce(older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example: SELECT test_cleanup.reap(''2 hours'');';
    END IF;
    cutoff := now() - older_than;
    SELECT coalesce(array_agg(s.test_session_id ORDER BY s.test_session_id)
                        FILTER (WHERE s.test_session_id IS NOT NULL
                                  AND greatest(s.last_seen, s.last_heartbeat) < cutoff), '{}'),
           coalesce(jsonb_object_agg(s.test_session_id, to_char(greatest(s.last_seen, s.last_heartbeat)
                                                                AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                        FILTER (WHERE s.test_session_id IS NOT NULL
                                  AND greatest(s.last_seen, s.last_heartbeat) < cutoff), '{}'),
           count(*) FILTER (WHERE s.test_session_id IS NOT NULL
                              AND s.last_seen IS NULL AND s.last_heartbeat IS NULL),
           count(*) FILTER (WHERE greatest(s.last_seen, s.last_heartbeat) >= cutoff),
           count(*) FILTER (WHERE s.test_session_id IS NULL)
      INTO due, last_signs, unknown_age, alive, unnamed
      FROM test_cleanup.sessions() s;
    -- The heartbeats of the sessions found dead are locked (a new beat of theirs waits for
    -- the reaper to end) and read again: one that arrived meanwhile is a sign of life. Only
    -- those rows: a table lock would make the reaper and a running suite's own cleanup
    -- wait for each other.
    PERFORM FROM test_cleanup.heartbeat h WHERE h.test_session_id = ANY (due) FOR UPDATE;
    SELECT coalesce(array_agg(d ORDER BY d), '{}'),
           alive + cardinality(due) - count(*)
      INTO due, alive
      FROM unnest(due) d
     WHERE NOT EXISTS (SELECT FROM test_cleanup.heartbeat h
                        WHERE h.test_session_id = d AND h.last_heartbeat >= cutoff);
    -- Always called, even for no session: the gate is checked either way.
    results := test_cleanup._clean_sessions(due, dry_run);
    SELECT jsonb_build_object(
               'deleted_counts', coalesce((SELECT jsonb_object_agg(key, total) FROM (
                   SELECT c.key, sum(c.value::bigint) AS total
                     FROM jsonb_each(results) r, jsonb_each_text(r.value -> 'deleted_counts') c
                    GROUP BY c.key) t), '{}'),
               'collateral_counts', coalesce((SELECT jsonb_object_agg(key, total) FROM (
                   SELECT c.key, sum(c.value::bigint) AS total
                     FROM jsonb_each(results) r, jsonb_each_text(r.value -> 'collateral_counts') c
                    GROUP BY c.key) t), '{}'),
               'reaped_sessions', coalesce((SELECT jsonb_object_agg(r.key,
                   jsonb_build_object('deleted_counts', r.value -> 'deleted_counts',
                                      'collateral_counts', r.value -> 'collateral_counts',
                                      'last_sign_of_life', last_signs -> r.key))
                     FROM jsonb_each(results) r), '{}'),
               'older_than_seconds', extract(epoch FROM older_than)::float8,
               'skipped_unknown_age', unknown_age,
               'skipped_alive', alive,
               'skipped_without_session_id', unnamed)
      INTO result;
    IF dry_run THEN
        result := result || jsonb_build_object('dry_run', true, 'warnings', coalesce(
            (SELECT jsonb_agg(w.value || jsonb_build_object('test_session_id', r.key))
               FROM jsonb_each(results) r, jsonb_array_elements(r.value -> 'warnings') w), '[]'));
    END IF;
    RAISE LOG 'test_cleanup: reap%: % session(s) older than % cleaned, % alive, % of unknown age',
        CASE WHEN dry_run THEN ' dry run (rolled back)' ELSE '' END,
        cardinality(due), older_than, alive, unknown_age;
    RETURN result;
END $$;
COMMENT ON FUNCTION test_cleanup.reap(interval, boolean) IS
    'Cleans every test session whose last sign of life (test_timestamp, heartbeat) is older than older_than';
-- extension only }

REVOKE ALL ON FUNCTION test_cleanup.protect(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION test_cleanup.unprotect(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION test_cleanup.verify(text) FROM PUBLIC;
-- extension only {
REVOKE ALL ON FUNCTION test_cleanup.reap(interval, boolean) FROM PUBLIC;
-- extension only }

--------------------------------------------------------------------------------------------
-- Tagging what the application writes: a session id, its metadata, and a trigger that
-- marks the rows a connection with test_cleanup.session set inserts.
--------------------------------------------------------------------------------------------

-- A new test session id in the spec's format: test_session_<unix seconds>_<8 hex>.
CREATE FUNCTION test_cleanup.new_session()
RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
RETURN 'test_session_' || floor(extract(epoch FROM clock_timestamp()))::bigint::text || '_' ||
       left(replace(gen_random_uuid()::text, '-', ''), 8);
COMMENT ON FUNCTION test_cleanup.new_session() IS
    'Returns a new test session id (test_session_<unix seconds>_<8 hex>)';

-- The spec's test metadata object for `session`, with the configured marker and the time
-- now (UTC, the spec's format).
CREATE FUNCTION test_cleanup.metadata(session text, data_type text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF session IS NULL OR session = '' THEN
        RAISE EXCEPTION 'test_cleanup: the test session id must not be empty or NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'test_session_id', session,
        'test_timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        'test_marker', test_cleanup._marker(),
        'created_by_test', true,
        'test_data_type', data_type));
END $$;
COMMENT ON FUNCTION test_cleanup.metadata(text, text) IS
    'Returns the test metadata object (spec format) that marks a row as test data of the session';

-- extension only {
-- The auto-tag trigger's body, called by the C trigger function below only when the
-- inserting connection has test_cleanup.session set and the gate is open (otherwise an
-- insert costs that check only). TG_ARGV: the root rule's column and path. Merges the
-- metadata into what the row holds (creating the path's objects), leaves a row that
-- already carries test metadata as written, and refuses a path through something that is
-- not an object. SECURITY DEFINER so that the inserting role needs no privilege on schema
-- test_cleanup (it reads only the new row and the settings); the C function calls it
-- without a privilege check, so no one else needs EXECUTE.
CREATE FUNCTION test_cleanup._auto_tag()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    col constant text := TG_ARGV[0];
    path constant text[] := TG_ARGV[1]::text[];
    session constant text := current_setting('test_cleanup.session', true);
    doc jsonb := to_jsonb(NEW) -> col;
    here jsonb;
    meta jsonb;
BEGIN
    here := CASE WHEN cardinality(path) = 0 THEN doc ELSE doc #> path END;
    IF jsonb_typeof(here) = 'object' AND here ? 'test_marker' THEN
        RETURN NEW;
    END IF;
    meta := test_cleanup.metadata(session, TG_TABLE_NAME::text);
    IF doc IS NULL OR doc = 'null' THEN
        doc := '{}';
    END IF;
    FOR i IN 0 .. cardinality(path) LOOP
        here := CASE WHEN i = 0 THEN doc ELSE doc #> path[1:i] END;
        IF here IS NULL OR here = 'null' THEN
            doc := jsonb_set(doc, path[1:i], '{}');
        ELSIF jsonb_typeof(here) <> 'object' THEN
            RAISE EXCEPTION 'test_cleanup: cannot tag a row of %: %.% holds a JSON %, not an object',
                TG_TABLE_NAME, col, array_to_string(path[1:i], '.'), jsonb_typeof(here)
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Unset test_cleanup.session for this insert, or write test metadata into the row yourself.';
        END IF;
    END LOOP;
    doc := CASE WHEN cardinality(path) = 0 THEN doc || meta
                ELSE jsonb_set(doc, path, (doc #> path) || meta) END;
    RETURN jsonb_populate_record(NEW, jsonb_build_object(col, doc));
END $$;

CREATE FUNCTION test_cleanup._auto_tag_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'test_cleanup_auto_tag_trigger'
LANGUAGE C;

-- Enables (or, with false, removes) auto-tagging of tbl's inserts at its first root rule.
CREATE FUNCTION test_cleanup.auto_tag(tbl regclass, enabled boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rule record;
BEGIN
    PERFORM test_cleanup._check_table(tbl, 'auto-tagged');
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'test_cleanup: enabled must be true or false'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = 'test_cleanup_auto_tag') THEN
        EXECUTE format('DROP TRIGGER test_cleanup_auto_tag ON %s', tbl);
    END IF;
    IF NOT enabled THEN
        RETURN;
    END IF;
    SELECT r.col, r.path INTO rule FROM test_cleanup.root r WHERE r.tbl = $1 ORDER BY r.root_id LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'test_cleanup: table "%" has no root rule, so there is nowhere to put test metadata', tbl
            USING ERRCODE = 'undefined_object',
                  HINT = format('Register one first, e.g. SELECT test_cleanup.add_root(%L, ''test_metadata'');', tbl::text);
    END IF;
    EXECUTE format(
        'CREATE TRIGGER test_cleanup_auto_tag BEFORE INSERT ON %s FOR EACH ROW '
        'EXECUTE FUNCTION test_cleanup._auto_tag_trigger(%L, %L)', tbl, rule.col, rule.path);
END $$;
COMMENT ON FUNCTION test_cleanup.auto_tag(regclass, boolean) IS
    'Tags the rows a connection with test_cleanup.session set inserts into tbl (false: stop tagging)';

REVOKE ALL ON FUNCTION test_cleanup.auto_tag(regclass, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION test_cleanup._auto_tag() FROM PUBLIC;
-- extension only }

-- extension only {
--------------------------------------------------------------------------------------------
-- The cleanup itself (C++). SECURITY DEFINER so that a role may be granted just EXECUTE;
-- a fixed search_path keeps the generated SQL's operators in pg_catalog.
--------------------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.test_cleanup(session text DEFAULT NULL, dry_run boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'test_cleanup_run'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Foreign key triggers fire during a cleanup whatever the caller set, except when
-- test_cleanup.skip_fk_checks turns them off; either way the caller's value is back after.
SET session_replication_role = origin
-- Its statements are many and short: compiling them costs more (10 ms of a 20 ms tiny
-- session) than it saves, even when a clean-all's row estimates pass jit_above_cost.
SET jit = off;
COMMENT ON FUNCTION @extschema@.test_cleanup(text, boolean) IS
    'Deletes rows marked as integration-test data (all, or one test_session_id) and their dependents; returns counts (dry_run: counts only, nothing changes)';

-- The gate (test_cleanup.enabled), for what writes outside a cleanup: refuses as a
-- cleanup does when it is closed.
CREATE FUNCTION test_cleanup._require_enabled()
RETURNS void
AS 'MODULE_PATHNAME', 'test_cleanup_require_enabled'
LANGUAGE C VOLATILE;

-- The reaper's cleanups: one per session, in order, in the caller's transaction (dry run:
-- all of them rolled back together, so each counts what the real run would).
CREATE FUNCTION test_cleanup._clean_sessions(sessions text[], dry_run boolean)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'test_cleanup_clean_sessions'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET session_replication_role = origin
SET jit = off;

-- The plan a cleanup would run, step by step, without running it.
CREATE FUNCTION test_cleanup.explain(session text DEFAULT NULL)
RETURNS TABLE (step integer, stage text, tables text, sql text)
AS 'MODULE_PATHNAME', 'test_cleanup_explain'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION test_cleanup.explain(text) IS
    'Shows the SQL steps test_cleanup(session) would run, in order, without deleting anything';

REVOKE ALL ON FUNCTION @extschema@.test_cleanup(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION test_cleanup._clean_sessions(text[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION test_cleanup.explain(text) FROM PUBLIC;
-- extension only }
