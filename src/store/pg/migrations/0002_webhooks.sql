-- Assent on PostgreSQL, schema 2: the webhook outbox. A pending or scheduled message has `due`
-- (unix seconds of its next attempt); a dead letter has none. Records are the JSON bytes redb
-- keeps.
CREATE TABLE webhook_deliveries (
    delivery_id text COLLATE "C" PRIMARY KEY,
    org_id text COLLATE "C" NOT NULL,
    state text COLLATE "C" NOT NULL CHECK (state IN ('pending', 'scheduled', 'dead')),
    due bigint,
    record bytea NOT NULL,
    CHECK ((state = 'dead') = (due IS NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due, delivery_id) WHERE due IS NOT NULL;
CREATE INDEX webhook_deliveries_by_org ON webhook_deliveries (org_id, state, delivery_id);

-- The ledger index up to which events have had their messages scheduled (no row: never ran).
CREATE TABLE webhook_cursor (
    id smallint PRIMARY KEY CHECK (id = 1),
    idx bigint NOT NULL CHECK (idx >= 0)
);
