-- Composite keys, several foreign keys between the same tables, a schema other than
-- public, and identifiers that need quoting everywhere (schema, tables, columns, JSON keys).
\i test/regress_prelude.sql
SELECT reference_unregister();
CREATE SCHEMA "Shop Data";
CREATE TABLE "Shop Data"."Order" (
    "Tenant"    int,
    "Order Id"  int,
    "Meta Data" jsonb,
    PRIMARY KEY ("Tenant", "Order Id")
);
CREATE TABLE "Shop Data"."Order Line" (
    "Tenant"   int,
    "Order Id" int,
    line       int,
    PRIMARY KEY ("Tenant", "Order Id", line),
    FOREIGN KEY ("Tenant", "Order Id") REFERENCES "Shop Data"."Order" ON DELETE CASCADE
);
-- Linked without a foreign key, by a composite key; one column is a reserved word.
CREATE TABLE "Shop Data"."Shipment" (tenant int, "order" int, note text);
-- Two foreign keys to the same table: a transfer goes when either order goes.
CREATE TABLE "Shop Data".transfer (
    id int PRIMARY KEY,
    from_tenant int, from_order int,
    to_tenant int, to_order int,
    FOREIGN KEY (from_tenant, from_order) REFERENCES "Shop Data"."Order",
    FOREIGN KEY (to_tenant, to_order) REFERENCES "Shop Data"."Order"
);

SELECT test_cleanup.add_root('"Shop Data"."Order"', 'Meta Data', '{"it''s", "test metadata"}') > 0 AS root;
SELECT test_cleanup.add_link('"Shop Data"."Shipment"', '{tenant,order}', '"Shop Data"."Order"', '{Tenant,Order Id}') > 0 AS link;
SELECT test_cleanup.set_report_key('"Shop Data"."Order"', 'orders');

-- Order 10 exists in tenants 1 and 2: only tenant 1's is marked.
INSERT INTO "Shop Data"."Order" VALUES
    (1, 10, jsonb_build_object('it''s', jsonb_build_object('test metadata', reference_metadata('comp_s1', 'order')))),
    (2, 10, NULL),
    (1, 11, '{"it''s": {"test metadata": {"test_marker": "integration_test_data"}}}'),  -- no session
    (2, 11, NULL);
INSERT INTO "Shop Data"."Order Line" VALUES (1, 10, 1), (1, 10, 2), (2, 10, 1), (1, 11, 1), (2, 11, 1);
INSERT INTO "Shop Data"."Shipment" VALUES (1, 10, 't1'), (2, 10, 'prod'), (1, 11, 't1-no-session');
INSERT INTO "Shop Data".transfer VALUES (1, 2, 10, 1, 10), (2, 1, 10, 2, 11), (3, 2, 10, 2, 11);

SELECT jsonb_pretty(test_cleanup('comp_s1'));
SELECT * FROM "Shop Data"."Order" ORDER BY 1, 2;
SELECT * FROM "Shop Data"."Order Line" ORDER BY 1, 2, 3;
SELECT * FROM "Shop Data"."Shipment" ORDER BY 1, 2;
SELECT id FROM "Shop Data".transfer ORDER BY 1;

-- A marked row without a session id goes only when all sessions are cleaned.
SELECT test_cleanup() -> 'deleted_counts' AS deleted;
SELECT "Tenant", "Order Id" FROM "Shop Data"."Order" ORDER BY 1, 2;

SELECT test_cleanup.remove_rules(t) FROM unnest('{"\"Shop Data\".\"Order\"","\"Shop Data\".\"Shipment\""}'::regclass[]) AS t;
DROP SCHEMA "Shop Data" CASCADE;
SELECT reference_register();
