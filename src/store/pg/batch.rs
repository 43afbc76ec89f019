//! The writes (every `*Writes` trait and [`Batch`]) on PostgreSQL, inside the writer's batch
//! transaction, which holds the ledger head row locked. Appends are numbered and hashed at
//! once (the use case needs its index and leaf) and written out together — one statement each
//! for events, tree nodes and sequence counters — before the batch commits or before any
//! ledger read in the batch (so a use case reads its own appends).

use super::super::batch::Batch;
use super::super::customers::CustomerWrites;
use super::super::envelopes::EnvelopeWrites;
use super::super::erasures::ErasureWrites;
use super::super::grants::GrantWrites;
use super::super::ledger_tx::Appended;
use super::super::orgs::OrgWrites;
use super::super::records::{CustomerRecord, EnvelopeRecord, GrantWrap, OrgRecord};
use super::super::requests::RequestWrites;
use super::super::webhooks::WebhookWrites;
use super::reads::{Pg, Side};
use super::{Conn, StoreError, i64_of, u64_of};
use crate::domain::catalog::Label;
use crate::domain::erasure::ErasureRequest;
use crate::domain::grant::Grant;
use crate::domain::ids::DeliveryId;
use crate::domain::ids::{CustomerId, GrantId, Handle};
use crate::domain::request::{AccessRequest, RequestStatus};
use crate::domain::webhook::WebhookDelivery;
use crate::ledger::merkle::{self, Frontier};
use crate::ledger::{Event, Prepared, Sequenced};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// The writer's side of a batch: the frontier read under the head lock, the appends not yet
/// written out, and each party's sequence number as this batch has moved it.
pub struct Batching {
    pub(super) frontier: Frontier,
    pending: RefCell<Pending>,
    /// party → newest sequence number (read once per party per batch, then counted here).
    seqs: HashMap<String, u64>,
    writes: u64,
    /// The leaves appended in this batch, in order (the batch a receipt covers).
    pub(super) leaves: Vec<[u8; 32]>,
}

#[derive(Default)]
struct Pending {
    idx: Vec<i64>,
    stored: Vec<Vec<u8>>,
    customer: Vec<Option<String>>,
    org: Vec<Option<String>>,
    key_event: Vec<bool>,
    node_level: Vec<i16>,
    node_idx: Vec<i64>,
    node_hash: Vec<Vec<u8>>,
    /// Parties whose counters moved since the last write-out.
    seqs: Vec<(String, i64)>,
}

pub type PgBatch = Pg<Batching>;

impl PgBatch {
    /// Opens the batch transaction on `conn` and takes the ledger head row: every node's
    /// batches run one at a time from here to their commit.
    pub(super) fn begin(conn: Conn) -> Result<Self, StoreError> {
        conn.batch("BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit TO on")?;
        let row = conn
            .row(
                "SELECT size, frontier FROM ledger_head WHERE id = 1 FOR UPDATE",
                &[],
            )?
            .ok_or(StoreError::Internal("the ledger head row is missing"))?;
        let size = u64_of(&row, 0)?;
        let packed: Vec<u8> = row.try_get(1).map_err(super::db_err)?;
        let subtrees = packed
            .chunks(32)
            .map(merkle::parse_hash)
            .collect::<Result<Vec<_>, _>>()?;
        let frontier = Frontier::from_subtrees(size, subtrees)?;
        Ok(Pg {
            conn,
            side: Batching {
                frontier,
                pending: RefCell::default(),
                seqs: HashMap::new(),
                writes: 0,
                leaves: Vec::new(),
            },
        })
    }

    /// Writes out the appends, moves the head to the new size and frontier, and commits; the
    /// size is announced to every node's listeners by the commit itself (NOTIFY is
    /// transactional). Returns the new size.
    pub(super) fn commit(mut self, head_moved: bool) -> Result<u64, StoreError> {
        self.side.settle(&self.conn)?;
        let size = self.side.frontier.size();
        if head_moved {
            let packed: Vec<u8> = self.side.frontier.subtrees().concat();
            self.conn.exec(
                "UPDATE ledger_head SET size = $1, frontier = $2 WHERE id = 1",
                &[&i64_of(size)?, &packed],
            )?;
            self.conn.exec(
                "SELECT pg_notify('assent_ledger', $1)",
                &[&size.to_string()],
            )?;
        }
        if self.conn.failed() {
            return Err(StoreError::Postgres(
                "a statement failed in this batch; it was rolled back".into(),
            ));
        }
        self.conn.commit()?;
        Ok(size)
    }

    /// A counted write (invariant 3: the writer aborts a batch whose use case failed after
    /// writing); returns the rows it touched.
    fn write(
        &mut self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.side.writes += 1;
        self.conn.exec(sql, params)
    }

    fn put<T: Serialize>(
        &mut self,
        table: &'static str,
        sql: &str,
        keys: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        value: &T,
    ) -> Result<(), StoreError> {
        let record = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            table,
            detail: e.to_string(),
        })?;
        let mut params = keys.to_vec();
        params.push(&record);
        self.write(sql, &params)?;
        Ok(())
    }

    fn next_seq(&mut self, party: &str) -> Result<u64, StoreError> {
        let current = match self.side.seqs.get(party) {
            Some(s) => *s,
            None => match self
                .conn
                .row("SELECT seq FROM party_seqs WHERE party = $1", &[&party])?
            {
                Some(r) => u64_of(&r, 0)?,
                None => 0,
            },
        };
        let next = current + 1;
        self.side.seqs.insert(party.to_owned(), next);
        self.side
            .pending
            .get_mut()
            .seqs
            .push((party.to_owned(), i64_of(next)?));
        Ok(next)
    }
}

impl Side for Batching {
    fn settle(&self, conn: &Conn) -> Result<(), StoreError> {
        let p = std::mem::take(&mut *self.pending.borrow_mut());
        if !p.idx.is_empty() {
            conn.exec(
                "INSERT INTO ledger_events (idx, stored, customer_id, org_id, org_key_event) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[], $4::text[], $5::boolean[])",
                &[&p.idx, &p.stored, &p.customer, &p.org, &p.key_event],
            )?;
        }
        if !p.node_idx.is_empty() {
            conn.exec(
                "INSERT INTO ledger_nodes (level, idx, hash) \
                 SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
                &[&p.node_level, &p.node_idx, &p.node_hash],
            )?;
        }
        if !p.seqs.is_empty() {
            // The last value of each party wins (a party may appear several times).
            let mut last: HashMap<&str, i64> = HashMap::new();
            for (party, seq) in &p.seqs {
                last.insert(party, *seq);
            }
            let (parties, seqs): (Vec<&str>, Vec<i64>) = last.into_iter().unzip();
            conn.exec(
                "INSERT INTO party_seqs (party, seq) SELECT * FROM unnest($1::text[], $2::bigint[]) \
                 ON CONFLICT (party) DO UPDATE SET seq = EXCLUDED.seq",
                &[&parties, &seqs],
            )?;
        }
        Ok(())
    }

    fn size(&self, _: &Conn) -> Result<u64, StoreError> {
        Ok(self.frontier.size())
    }
}

impl CustomerWrites for PgBatch {
    fn put_customer(&mut self, record: &CustomerRecord) -> Result<(), StoreError> {
        self.put(
            "customers",
            "INSERT INTO customers (customer_id, record) VALUES ($1, $2) \
             ON CONFLICT (customer_id) DO UPDATE SET record = EXCLUDED.record",
            &[&record.customer_id.as_str()],
            record,
        )
    }

    fn reserve_handle(&mut self, handle: &Handle, id: &CustomerId) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO handles (handle, customer_id) VALUES ($1, $2) \
             ON CONFLICT (handle) DO UPDATE SET customer_id = EXCLUDED.customer_id",
            &[&handle.as_str(), &id.as_str()],
        )?;
        Ok(())
    }

    fn remove_customer(&mut self, id: &CustomerId) -> Result<bool, StoreError> {
        Ok(self.write(
            "DELETE FROM customers WHERE customer_id = $1",
            &[&id.as_str()],
        )? > 0)
    }
}

impl OrgWrites for PgBatch {
    /// Also keeps `webhook_orgs` (organizations with endpoints) in step with the record.
    fn put_org(&mut self, record: &OrgRecord) -> Result<(), StoreError> {
        self.put(
            "orgs",
            "INSERT INTO orgs (org_id, record) VALUES ($1, $2) \
             ON CONFLICT (org_id) DO UPDATE SET record = EXCLUDED.record",
            &[&record.org_id.as_str()],
            record,
        )?;
        let id = record.org_id.as_str();
        match i32::try_from(record.webhooks.len()) {
            Ok(0) => self.write("DELETE FROM webhook_orgs WHERE org_id = $1", &[&id]),
            Ok(n) => self.write(
                "INSERT INTO webhook_orgs (org_id, endpoints) VALUES ($1, $2) \
                 ON CONFLICT (org_id) DO UPDATE SET endpoints = EXCLUDED.endpoints",
                &[&id, &n],
            ),
            Err(_) => Err(StoreError::Internal("endpoint count beyond i32")),
        }
        .map(|_| ())
    }
}

impl EnvelopeWrites for PgBatch {
    fn put_envelope(&mut self, record: &EnvelopeRecord) -> Result<(), StoreError> {
        self.put(
            "envelopes",
            "INSERT INTO envelopes (customer_id, label, record) VALUES ($1, $2, $3) \
             ON CONFLICT (customer_id, label) DO UPDATE SET record = EXCLUDED.record",
            &[&record.customer_id.as_str(), &record.label.as_str()],
            record,
        )
    }

    fn remove_envelope(
        &mut self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<bool, StoreError> {
        Ok(self.write(
            "DELETE FROM envelopes WHERE customer_id = $1 AND label = $2",
            &[&customer.as_str(), &label.as_str()],
        )? > 0)
    }
}

impl GrantWrites for PgBatch {
    fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        let t = &grant.terms;
        self.put(
            "grants",
            "INSERT INTO grants (grant_id, customer_id, org_id, record) VALUES ($1, $2, $3, $4)",
            &[
                &t.grant_id.as_str(),
                &t.customer_id.as_str(),
                &t.org_id.as_str(),
            ],
            grant,
        )
    }

    fn put_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        self.put(
            "grants",
            "UPDATE grants SET record = $2 WHERE grant_id = $1",
            &[&grant.terms.grant_id.as_str()],
            grant,
        )
    }

    /// PostgreSQL keeps the whole count in the grant row, written in the read's batch.
    fn count_read(&mut self, grant: &Grant) -> Result<(), StoreError> {
        let mut counted = grant.clone();
        counted.reads = counted.reads.saturating_add(1);
        self.put_grant(&counted)
    }

    fn put_wrap(&mut self, grant: &GrantId, wrap: &GrantWrap) -> Result<(), StoreError> {
        self.put(
            "wraps",
            "INSERT INTO wraps (grant_id, label, record) VALUES ($1, $2, $3) \
             ON CONFLICT (grant_id, label) DO UPDATE SET record = EXCLUDED.record",
            &[&grant.as_str(), &wrap.label.as_str()],
            wrap,
        )
    }

    fn remove_wrap(&mut self, grant: &GrantId, label: &Label) -> Result<bool, StoreError> {
        Ok(self.write(
            "DELETE FROM wraps WHERE grant_id = $1 AND label = $2",
            &[&grant.as_str(), &label.as_str()],
        )? > 0)
    }

    fn remove_wraps(&mut self, grant: &GrantId) -> Result<u64, StoreError> {
        self.write("DELETE FROM wraps WHERE grant_id = $1", &[&grant.as_str()])
    }
}

impl RequestWrites for PgBatch {
    fn insert_request(&mut self, request: &AccessRequest) -> Result<(), StoreError> {
        let pending = request.status == RequestStatus::Pending;
        self.put(
            "requests",
            "INSERT INTO requests (request_id, customer_id, org_id, pending, record) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &request.request_id.as_str(),
                &request.customer_id.as_str(),
                &request.org_id.as_str(),
                &pending,
            ],
            request,
        )
    }

    fn put_request(&mut self, request: &AccessRequest) -> Result<(), StoreError> {
        let pending = request.status == RequestStatus::Pending;
        self.put(
            "requests",
            "UPDATE requests SET pending = $2, record = $3 WHERE request_id = $1",
            &[&request.request_id.as_str(), &pending],
            request,
        )
    }
}

impl ErasureWrites for PgBatch {
    fn put_erasure_request(&mut self, r: &ErasureRequest) -> Result<(), StoreError> {
        self.put(
            "erasure_requests",
            "INSERT INTO erasure_requests (grant_id, org_id, record) VALUES ($1, $2, $3) \
             ON CONFLICT (grant_id) DO UPDATE SET record = EXCLUDED.record",
            &[&r.grant_id.as_str(), &r.org_id.as_str()],
            r,
        )
    }
}

impl WebhookWrites for PgBatch {
    fn put_delivery(&mut self, d: &WebhookDelivery) -> Result<(), StoreError> {
        let due = d.due();
        let state = super::super::webhooks::state_key(d.state);
        self.put(
            "webhook_deliveries",
            "INSERT INTO webhook_deliveries (delivery_id, org_id, state, due, record) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO UPDATE \
             SET state = EXCLUDED.state, due = EXCLUDED.due, record = EXCLUDED.record",
            &[&d.delivery_id.as_str(), &d.org_id.as_str(), &state, &due],
            d,
        )
    }

    fn remove_delivery(&mut self, id: &DeliveryId) -> Result<(), StoreError> {
        self.write(
            "DELETE FROM webhook_deliveries WHERE delivery_id = $1",
            &[&id.as_str()],
        )?;
        Ok(())
    }

    fn set_webhook_cursor(&mut self, index: u64) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO webhook_cursor (id, idx) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET idx = EXCLUDED.idx",
            &[&i64_of(index)?],
        )?;
        Ok(())
    }
}

impl Batch for PgBatch {
    fn append(&mut self, event: &Event, nonce: [u8; 32]) -> Result<Appended, StoreError> {
        let index = self.side.frontier.size();
        let customer_seq = event
            .customer()
            .map(|c| self.next_seq(c.as_str()))
            .transpose()?;
        let org_seq = event.org().map(|o| self.next_seq(o.as_str())).transpose()?;
        let prepared = Prepared::new(
            &Sequenced {
                event: event.clone(),
                customer_seq,
                org_seq,
            },
            nonce,
        )?;
        let created = self.side.frontier.push(merkle::leaf_hash(&prepared.leaf));
        self.side.writes += 1;
        self.side.leaves.push(prepared.leaf);
        let p = self.side.pending.get_mut();
        p.idx.push(i64_of(index)?);
        p.stored.push(prepared.stored());
        p.customer.push(event.customer().map(|c| c.to_string()));
        p.org.push(event.org().map(|o| o.to_string()));
        p.key_event.push(event.is_org_key_event());
        for (level, i, hash) in created {
            p.node_level.push(i16::from(level));
            p.node_idx.push(i64_of(i)?);
            p.node_hash.push(hash.to_vec());
        }
        Ok(Appended {
            index,
            leaf: prepared.leaf,
        })
    }

    /// Compare-and-set: stored only if no larger size is (checkpoints only move forward); the
    /// same size is replaced (a new vault key re-signs the current tree).
    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO checkpoints (size, note) SELECT $1, $2 \
             WHERE NOT EXISTS (SELECT 1 FROM checkpoints WHERE size > $1) \
             ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
            &[&i64_of(size)?, &note],
        )?;
        Ok(())
    }

    /// A used `jti` is refused on every node until it expires (the primary key).
    fn use_jti(&mut self, key: &str, exp: i64, now: i64) -> Result<bool, StoreError> {
        let changed = self.conn.exec(
            "INSERT INTO used_jtis (jti, exp) VALUES ($1, $2) \
             ON CONFLICT (jti) DO UPDATE SET exp = EXCLUDED.exp WHERE used_jtis.exp < $3",
            &[&key, &exp, &now],
        )?;
        if changed > 0 {
            self.side.writes += 1;
        }
        Ok(changed > 0)
    }

    fn writes(&self) -> u64 {
        self.side.writes
    }
}
