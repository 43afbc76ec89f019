//! Every redb table of the vault, declared once: the `tables!` list below generates the
//! definitions, the list of names ([`ALL`]), the tables an append holds open ([`LEDGER`]) and
//! [`visit_all`], which schema creation and backup walk. Records are JSON (serde) unless noted;
//! `(a, b)` keys are tuples so a prefix scan on `a` lists an index. Only the aggregate modules
//! of `store` (customers.rs, grants.rs, …) name these tables.

use super::StoreError;
use redb::{Key, TableDefinition, Value};

/// Something done to every table in turn (see [`visit_all`]).
pub(crate) trait Visit {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError>;
}

/// The name of a table marked `ledger` (any other mark does not compile).
macro_rules! ledger_marked {
    (ledger, $s:literal) => {
        $s
    };
}

macro_rules! tables {
    ($( $(#[$doc:meta])* $name:ident: $k:ty => $v:ty = $s:literal $(, $ledger:ident)?; )*) => {
        $( $(#[$doc])* pub const $name: TableDefinition<'static, $k, $v> = TableDefinition::new($s); )*

        /// Every table name, in declaration order.
        pub const ALL: &[&str] = &[$($s),*];

        /// The tables `Tx::append` holds open for a whole batch (marked `ledger` below).
        pub(crate) const LEDGER: &[&str] = &[$($( ledger_marked!($ledger, $s), )?)*];

        /// Calls `v` with every table definition, in declaration order.
        pub(crate) fn visit_all(v: &mut impl Visit) -> Result<(), StoreError> {
            $( v.table($name)?; )*
            Ok(())
        }
    };
}

tables! {
    /// Counters: [`LEDGER_SIZE`], [`INDEXED_UPTO`], [`READS_FROM`], [`SCHEMA_VERSION_KEY`].
    META: &'static str => u64 = "meta", ledger;
    /// customer_id → `CustomerRecord`.
    CUSTOMERS: &'static str => &'static [u8] = "customers";
    /// handle → customer_id. Kept when an account is closed (the handle stays reserved).
    HANDLES: &'static str => &'static str = "handles";
    /// org_id → `OrgRecord`.
    ORGS: &'static str => &'static [u8] = "orgs";
    /// (customer_id, label) → `EnvelopeRecord` (ciphertext and the owner's wrap).
    ENVELOPES: (&'static str, &'static str) => &'static [u8] = "envelopes";
    /// (grant_id, label) → `GrantWrap`: the data key of the label's current version wrapped to
    /// the org.
    WRAPS: (&'static str, &'static str) => &'static [u8] = "wraps";
    /// request_id → `AccessRequest`.
    REQUESTS: &'static str => &'static [u8] = "requests";
    /// (customer_id, request_id) index.
    CUSTOMER_REQUESTS: (&'static str, &'static str) => () = "customer_requests";
    /// (org_id, request_id) index.
    ORG_REQUESTS: (&'static str, &'static str) => () = "org_requests";
    /// grant_id → `Grant`.
    GRANTS: &'static str => &'static [u8] = "grants";
    /// (customer_id, grant_id) index.
    CUSTOMER_GRANTS: (&'static str, &'static str) => () = "customer_grants";
    /// (org_id ‖ "/" ‖ customer_id, grant_id) index: the read path's lookup.
    ORG_CUSTOMER_GRANTS: (&'static str, &'static str) => () = "org_customer_grants";
    /// (level, index) → hash of the perfect subtree covering leaves
    /// [index·2^level, (index+1)·2^level). Level 0 holds the RFC 9162 leaf hashes.
    LEDGER_NODES: (u8, u64) => [u8; 32] = "ledger_nodes", ledger;
    /// leaf index → nonce (32 bytes) ‖ JCS(event): readable only by the event's parties.
    LEDGER_EVENTS: u64 => &'static [u8] = "ledger_events", ledger;
    /// (customer_id, leaf index) index, up to [`INDEXED_UPTO`].
    CUSTOMER_EVENTS: (&'static str, u64) => () = "customer_events", ledger;
    /// (org_id, leaf index) index, up to [`INDEXED_UPTO`].
    ORG_EVENTS: (&'static str, u64) => () = "org_events", ledger;
    /// (org_id, leaf index) of each `org_registered` / `org_keys_changed` event: the org's key
    /// log, written in the appending transaction (never deferred).
    ORG_KEY_EVENTS: (&'static str, u64) => () = "org_key_events", ledger;
    /// party id (`cus_…` or `org_…`) → the sequence number of its newest ledger event.
    PARTY_SEQS: &'static str => u64 = "party_seqs", ledger;
    /// grant_id → its `read` events in [[`READS_FROM`], [`INDEXED_UPTO`]): derived from the
    /// ledger, folded in with the per-party indexes (read_counts.rs).
    GRANT_READS: &'static str => u64 = "grant_reads", ledger;
    /// org_id ‖ "\n" ‖ jti → expiry (unix seconds) of client assertions already used
    /// (RFC 7523 §3).
    USED_JTIS: &'static str => i64 = "used_jtis";
    /// tree size → C2SP signed checkpoint note (text) for that size. Kept forever.
    CHECKPOINTS: u64 => &'static str = "checkpoints";
    /// grant_id → `ErasureRequest`: the customer's request to erase what was read under the
    /// grant, and the organization's signed answer.
    ERASURE_REQUESTS: &'static str => &'static [u8] = "erasure_requests";
    /// (org_id, grant_id) index of erasure requests.
    ORG_ERASURE_REQUESTS: (&'static str, &'static str) => () = "org_erasure_requests";
    /// delivery_id → `WebhookDelivery`: the webhook outbox (pending messages and dead letters).
    WEBHOOK_DELIVERIES: &'static str => &'static [u8] = "webhook_deliveries";
    /// (due, unix seconds; delivery_id) of every pending message: what the sender claims next.
    WEBHOOK_DUE: (i64, &'static str) => () = "webhook_due";
    /// (org_id, state, delivery_id) of every message: an organization's listing and counts.
    ORG_WEBHOOK_DELIVERIES: (&'static str, &'static str, &'static str) => () = "org_webhook_deliveries";
    /// org_id → how many webhook endpoints it has (only organizations with one): derived
    /// from the org records in the same transaction, so the scheduler skips everyone else.
    WEBHOOK_ORGS: &'static str => u64 = "webhook_orgs";
    /// [`WEBHOOK_CURSOR`] → the ledger index up to which events were turned into messages.
    WEBHOOK_STATE: &'static str => u64 = "webhook_state";
}

/// Creates, empty, the tables added since schema version 2 first shipped (erasure requests,
/// webhooks, derived read counts): a file written before them lacks them. `Store::open` creates every declared
/// table anyway; the audit calls this on its private copy, so an older backup still audits
/// (and restores) while any other missing table is still reported.
pub(crate) fn create_later(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(ERASURE_REQUESTS)?;
    txn.open_table(ORG_ERASURE_REQUESTS)?;
    txn.open_table(WEBHOOK_DELIVERIES)?;
    txn.open_table(WEBHOOK_DUE)?;
    txn.open_table(ORG_WEBHOOK_DELIVERIES)?;
    txn.open_table(WEBHOOK_ORGS)?;
    txn.open_table(WEBHOOK_STATE)?;
    txn.open_table(GRANT_READS)?;
    Ok(())
}

/// WEBHOOK_STATE key: events `[0, cursor)` have had their messages scheduled.
pub const WEBHOOK_CURSOR: &str = "cursor";

/// META key: the number of leaves in the ledger.
pub const LEDGER_SIZE: &str = "ledger_size";
/// META key: events `[0, indexed_upto)` are in `customer_events` and `org_events`; the rest
/// (appended since) are found by scanning `ledger_events`.
pub const INDEXED_UPTO: &str = "indexed_upto";
/// META key: reads logged below this index are counted in the grant records; those above it
/// in [`GRANT_READS`] and the tail (read_counts.rs). Absent in files written before: read as
/// the ledger size, and set to it when such a file is first opened.
pub const READS_FROM: &str = "reads_from";
/// META key: the schema version of the file.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";

/// 2: wire v2 (envelope AAD with content type, grants naming the org's keys), per-party
/// sequence numbers in every event, organizations' key logs.
pub const SCHEMA_VERSION: u64 = 2;

/// Table names are `'static` in every definition above; this recovers that for errors.
pub(crate) fn static_name(name: &str) -> &'static str {
    ALL.iter()
        .copied()
        .find(|n| *n == name)
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_every_table_once() {
        struct Names(Vec<String>);
        impl Visit for Names {
            fn table<K: Key + 'static, V: Value + 'static>(
                &mut self,
                def: TableDefinition<'static, K, V>,
            ) -> Result<(), StoreError> {
                use redb::TableHandle;
                self.0.push(def.name().to_owned());
                Ok(())
            }
        }
        let mut names = Names(Vec::new());
        visit_all(&mut names).unwrap();
        assert_eq!(names.0, ALL);
        let mut unique = names.0.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ALL.len());
        assert_eq!(LEDGER.len(), 8);
        assert!(LEDGER.iter().all(|n| ALL.contains(n)));
    }
}
