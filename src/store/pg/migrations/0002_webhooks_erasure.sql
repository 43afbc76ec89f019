-- Assent on PostgreSQL, schema 2: the webhook outbox and erasure requests.
-- The webhook outbox: A pending or scheduled message has `due`
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

-- The organizations with at least one webhook endpoint (derived from their records, written
-- with them): the scheduler looks at no one else.
CREATE TABLE webhook_orgs (
    org_id text COLLATE "C" PRIMARY KEY,
    endpoints integer NOT NULL CHECK (endpoints > 0)
);

-- The ledger index up to which events have had their messages scheduled (no row: never ran).
CREATE TABLE webhook_cursor (
    id smallint PRIMARY KEY CHECK (id = 1),
    idx bigint NOT NULL CHECK (idx >= 0)
);

-- grant_id → erasure request (and the organization's signed answer), derived from the
-- `erasure_requested` / `erasure_answered` ledger events in the same transaction.
CREATE TABLE erasure_requests (
    grant_id text COLLATE "C" PRIMARY KEY,
    org_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX erasure_requests_by_org ON erasure_requests (org_id, grant_id);
