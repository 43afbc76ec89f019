-- Assent on PostgreSQL, schema 1 (wire v2). Records are the same JSON bytes the redb store
-- keeps (so a read planned on a snapshot can be compared byte for byte in the batch); ids are
-- text in the "C" collation, so listings come out in the same byte order on both backends.

-- The ledger head: the one row every batch locks (FOR UPDATE) before it appends, so the ledger
-- is sequenced by the database across nodes. `frontier` is the RFC 9162 frontier of `size`
-- leaves: the roots of its perfect subtrees, 32 bytes each, largest first.
CREATE TABLE ledger_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    size bigint NOT NULL CHECK (size >= 0),
    frontier bytea NOT NULL
);
INSERT INTO ledger_head (id, size, frontier) VALUES (1, 0, '');

-- leaf index → nonce (32 bytes) ‖ JCS(event), with the parties it concerns (the per-party
-- listings are these columns' indexes, written in the appending transaction).
CREATE TABLE ledger_events (
    idx bigint PRIMARY KEY CHECK (idx >= 0),
    stored bytea NOT NULL,
    customer_id text COLLATE "C",
    org_id text COLLATE "C",
    org_key_event boolean NOT NULL
);
CREATE INDEX ledger_events_by_customer ON ledger_events (customer_id, idx) WHERE customer_id IS NOT NULL;
CREATE INDEX ledger_events_by_org ON ledger_events (org_id, idx) WHERE org_id IS NOT NULL;
CREATE INDEX ledger_events_org_keys ON ledger_events (org_id, idx) WHERE org_key_event;

-- (level, index) → hash of the perfect subtree over leaves [index·2^level, (index+1)·2^level).
CREATE TABLE ledger_nodes (
    level smallint NOT NULL CHECK (level >= 0 AND level < 64),
    idx bigint NOT NULL CHECK (idx >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- tree size → C2SP signed checkpoint note. Only a size larger than the newest is ever added.
CREATE TABLE checkpoints (
    size bigint PRIMARY KEY,
    note text NOT NULL
);

-- party id (cus_… / org_…) → the sequence number of its newest ledger event.
CREATE TABLE party_seqs (
    party text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL CHECK (seq > 0)
);

-- org_id ‖ "\n" ‖ jti → expiry (unix seconds) of client assertions already used (RFC 7523 §3):
-- the primary key refuses a replay on every node.
CREATE TABLE used_jtis (
    jti text COLLATE "C" PRIMARY KEY,
    exp bigint NOT NULL
);

CREATE TABLE customers (
    customer_id text COLLATE "C" PRIMARY KEY,
    record bytea NOT NULL
);

-- Kept when an account is closed: the handle stays reserved.
CREATE TABLE handles (
    handle text COLLATE "C" PRIMARY KEY,
    customer_id text COLLATE "C" NOT NULL
);

CREATE TABLE orgs (
    org_id text COLLATE "C" PRIMARY KEY,
    record bytea NOT NULL
);

CREATE TABLE envelopes (
    customer_id text COLLATE "C" NOT NULL,
    label text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (customer_id, label)
);

CREATE TABLE grants (
    grant_id text COLLATE "C" PRIMARY KEY,
    customer_id text COLLATE "C" NOT NULL,
    org_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX grants_by_customer ON grants (customer_id, grant_id);
CREATE INDEX grants_by_org_customer ON grants (org_id, customer_id, grant_id);

CREATE TABLE wraps (
    grant_id text COLLATE "C" NOT NULL,
    label text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (grant_id, label)
);

CREATE TABLE requests (
    request_id text COLLATE "C" PRIMARY KEY,
    customer_id text COLLATE "C" NOT NULL,
    org_id text COLLATE "C" NOT NULL,
    pending boolean NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX requests_by_customer ON requests (customer_id, request_id);
CREATE INDEX requests_by_org ON requests (org_id, request_id);
