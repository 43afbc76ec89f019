//! Every redb table of the vault, in one place. Records are JSON (serde) unless noted;
//! `(a, b)` keys are tuples so a prefix scan on `a` lists an index.

use redb::TableDefinition;

/// Counters: [`LEDGER_SIZE`], [`INDEXED_UPTO`], `schema_version`.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// META key: the number of leaves in the ledger.
pub const LEDGER_SIZE: &str = "ledger_size";
/// META key: events `[0, indexed_upto)` are in `customer_events` and `org_events`; the rest
/// (appended since) are found by scanning `ledger_events`.
pub const INDEXED_UPTO: &str = "indexed_upto";
/// customer_id → `CustomerRecord`.
pub const CUSTOMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("customers");
/// handle → customer_id.
pub const HANDLES: TableDefinition<&str, &str> = TableDefinition::new("handles");
/// org_id → `OrgRecord`.
pub const ORGS: TableDefinition<&str, &[u8]> = TableDefinition::new("orgs");
/// (customer_id, label) → `EnvelopeRecord` (ciphertext and the owner's wrap).
pub const ENVELOPES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("envelopes");
/// (grant_id, label) → `GrantWrap`: the data key of the label's current version wrapped to the org.
pub const WRAPS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("wraps");
/// request_id → `AccessRequest`.
pub const REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("requests");
/// (customer_id, request_id) index.
pub const CUSTOMER_REQUESTS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("customer_requests");
/// (org_id, request_id) index.
pub const ORG_REQUESTS: TableDefinition<(&str, &str), ()> = TableDefinition::new("org_requests");
/// grant_id → `Grant`.
pub const GRANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("grants");
/// (customer_id, grant_id) index.
pub const CUSTOMER_GRANTS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("customer_grants");
/// (org_id ‖ "/" ‖ customer_id, grant_id) index: the read path's lookup.
pub const ORG_CUSTOMER_GRANTS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("org_customer_grants");
/// (level, index) → hash of the perfect subtree covering leaves [index·2^level, (index+1)·2^level).
/// Level 0 holds the RFC 9162 leaf hashes.
pub const LEDGER_NODES: TableDefinition<(u8, u64), [u8; 32]> = TableDefinition::new("ledger_nodes");
/// leaf index → nonce (32 bytes) ‖ JCS(event): readable only by the event's parties.
pub const LEDGER_EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("ledger_events");
/// (customer_id, leaf index) index, up to [`INDEXED_UPTO`].
pub const CUSTOMER_EVENTS: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("customer_events");
/// (org_id, leaf index) index, up to [`INDEXED_UPTO`].
pub const ORG_EVENTS: TableDefinition<(&str, u64), ()> = TableDefinition::new("org_events");
/// (org_id, leaf index) of each `org_registered` / `org_keys_changed` event: the org's key log,
/// written in the appending transaction (never deferred).
pub const ORG_KEY_EVENTS: TableDefinition<(&str, u64), ()> = TableDefinition::new("org_key_events");
/// party id (`cus_…` or `org_…`) → the sequence number of its newest ledger event.
pub const PARTY_SEQS: TableDefinition<&str, u64> = TableDefinition::new("party_seqs");
/// org_id ‖ "\n" ‖ jti → expiry (unix seconds) of client assertions already used (RFC 7523 §3).
pub const USED_JTIS: TableDefinition<&str, i64> = TableDefinition::new("used_jtis");
/// tree size → C2SP signed checkpoint note (text) for that size. Kept forever.
pub const CHECKPOINTS: TableDefinition<u64, &str> = TableDefinition::new("checkpoints");

/// 2: wire v2 (envelope AAD with content type, grants naming the org's keys), per-party
/// sequence numbers in every event, organizations' key logs.
pub const SCHEMA_VERSION: u64 = 2;

/// Every table name, for naming them in errors. Adding a table means adding it here, to
/// `init_schema` (ledger_tx.rs) and to `backup_to` (backup.rs).
pub const ALL: &[&str] = &[
    "meta",
    "customers",
    "handles",
    "orgs",
    "envelopes",
    "wraps",
    "requests",
    "customer_requests",
    "org_requests",
    "grants",
    "customer_grants",
    "org_customer_grants",
    "ledger_nodes",
    "ledger_events",
    "customer_events",
    "org_events",
    "org_key_events",
    "party_seqs",
    "used_jtis",
    "checkpoints",
];
