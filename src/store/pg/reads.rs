//! The typed reads (every `*Reads` trait) on PostgreSQL, once for both readers: a snapshot
//! ([`PgView`]) and the writer's batch ([`super::PgBatch`]). Records are the JSON bytes the
//! redb store keeps, decoded by the same code.

use super::super::access::{decode, stored_id};
use super::super::customers::{CustomerReads, DECOY_CUSTOMER_KEY, StoredCustomer};
use super::super::envelopes::EnvelopeReads;
use super::super::erasures::ErasureReads;
use super::super::grants::GrantReads;
use super::super::ledger_reads::LedgerReads;
use super::super::orgs::OrgReads;
use super::super::pinned::Pinned;
use super::super::records::{CustomerRecord, EnvelopeHead, EnvelopeRecord, GrantWrap, OrgRecord};
use super::super::requests::RequestReads;
use super::super::webhooks::WebhookReads;
use super::{Conn, StoreError, db_err, i64_of, u64_of};
use crate::domain::catalog::Label;
use crate::domain::erasure::ErasureRequest;
use crate::domain::grant::Grant;
use crate::domain::ids::DeliveryId;
use crate::domain::ids::{CustomerId, GrantId, Handle, OrgId, RequestId};
use crate::domain::request::AccessRequest;
use crate::domain::webhook::{DeliveryState, WebhookDelivery};
use crate::ledger::LedgerError;
use crate::ledger::merkle::{Hash, NodeReader};
use serde::de::DeserializeOwned;
use tokio_postgres::Row;

/// A connection and what kind of reader holds it.
pub struct Pg<S> {
    pub(super) conn: Conn,
    pub(super) side: S,
}

/// What differs between a snapshot and a batch when reading.
pub trait Side {
    /// Before a ledger read: a batch writes out the appends it holds; a snapshot has none.
    fn settle(&self, conn: &Conn) -> Result<(), StoreError>;
    /// The ledger size as this reader sees it.
    fn size(&self, conn: &Conn) -> Result<u64, StoreError>;
}

/// A `REPEATABLE READ READ ONLY` transaction: every read sees one committed state, whichever
/// node committed it. Rolled back when dropped.
pub struct Snapshot;

pub type PgView = Pg<Snapshot>;

impl PgView {
    pub(super) fn begin(mut conn: Conn) -> Result<Self, StoreError> {
        conn.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        Ok(Pg {
            conn,
            side: Snapshot,
        })
    }
}

impl Side for Snapshot {
    fn settle(&self, _: &Conn) -> Result<(), StoreError> {
        Ok(())
    }

    fn size(&self, conn: &Conn) -> Result<u64, StoreError> {
        let row = conn
            .row("SELECT size FROM ledger_head WHERE id = 1", &[])?
            .ok_or(StoreError::Internal("the ledger head row is missing"))?;
        u64_of(&row, 0)
    }
}

fn bytes(row: &Row, col: usize) -> Result<Vec<u8>, StoreError> {
    row.try_get(col).map_err(db_err)
}

fn text(row: &Row, col: usize) -> Result<String, StoreError> {
    row.try_get(col).map_err(db_err)
}

impl<S: Side> Pg<S> {
    /// The stored bytes of the first column of the first row, if any.
    fn raw(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .row(sql, params)?
            .map(|r| bytes(&r, 0))
            .transpose()
    }

    fn json<T: DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<T>, StoreError> {
        self.raw(sql, params)?
            .map(|b| decode(table, &b))
            .transpose()
    }

    fn json_list<T: DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<T>, StoreError> {
        self.conn
            .rows(sql, params)?
            .iter()
            .map(|r| decode(table, &bytes(r, 0)?))
            .collect()
    }

    /// The grants the statement selects (first column: the stored record), each with its
    /// stored form.
    fn pinned_list(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Pinned<Grant>>, StoreError> {
        let rows = self.conn.rows(sql, params)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.extend(Pinned::of("grants", Some(bytes(r, 0)?))?);
        }
        Ok(out)
    }

    fn indexes(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<u64>, StoreError> {
        self.side.settle(&self.conn)?;
        self.conn
            .rows(sql, params)?
            .iter()
            .map(|r| u64_of(r, 0))
            .collect()
    }
}

impl<S: Side> CustomerReads for Pg<S> {
    fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        self.json(
            "customers",
            "SELECT record FROM customers WHERE customer_id = $1",
            &[&id.as_str()],
        )
    }

    fn customer_exists(&self, id: &CustomerId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .row(
                "SELECT 1 FROM customers WHERE customer_id = $1",
                &[&id.as_str()],
            )?
            .is_some())
    }

    fn customer_id_by_handle(&self, handle: &Handle) -> Result<Option<CustomerId>, StoreError> {
        self.conn
            .row(
                "SELECT customer_id FROM handles WHERE handle = $1",
                &[&handle.as_str()],
            )?
            .map(|r| stored_id("handles", &text(&r, 0)?, CustomerId::parse))
            .transpose()
    }

    fn customer_by_handle(&self, handle: &Handle) -> Result<Option<CustomerRecord>, StoreError> {
        self.json(
            "customers",
            "SELECT c.record FROM handles h JOIN customers c ON c.customer_id = h.customer_id \
             WHERE h.handle = $1",
            &[&handle.as_str()],
        )
    }

    fn customer_for_login(
        &self,
        handle: &Handle,
        decoy: &StoredCustomer,
    ) -> Result<(CustomerRecord, bool), StoreError> {
        // The same statements whether or not the handle is known (see the trait).
        let id = self
            .conn
            .row(
                "SELECT customer_id FROM handles WHERE handle = $1",
                &[&handle.as_str()],
            )?
            .map(|r| text(&r, 0))
            .transpose()?;
        let stored = self.raw(
            "SELECT record FROM customers WHERE customer_id = $1",
            &[&id.as_deref().unwrap_or(DECOY_CUSTOMER_KEY)],
        )?;
        let known = id.is_some() && stored.is_some();
        let record = match stored {
            Some(b) => decode("customers", &b)?,
            None => decoy.decode()?,
        };
        Ok((record, known))
    }
}

impl<S: Side> OrgReads for Pg<S> {
    fn org(&self, id: &OrgId) -> Result<Option<OrgRecord>, StoreError> {
        self.json(
            "orgs",
            "SELECT record FROM orgs WHERE org_id = $1",
            &[&id.as_str()],
        )
    }
}

const ENVELOPE: &str = "SELECT record FROM envelopes WHERE customer_id = $1 AND label = $2";

impl<S: Side> EnvelopeReads for Pg<S> {
    fn envelope(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<EnvelopeRecord>, StoreError> {
        self.json(
            "envelopes",
            ENVELOPE,
            &[&customer.as_str(), &label.as_str()],
        )
    }

    fn envelope_head(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<EnvelopeHead>, StoreError> {
        self.json(
            "envelopes",
            ENVELOPE,
            &[&customer.as_str(), &label.as_str()],
        )
    }

    fn envelopes_of(&self, customer: &CustomerId) -> Result<Vec<EnvelopeRecord>, StoreError> {
        self.json_list(
            "envelopes",
            "SELECT record FROM envelopes WHERE customer_id = $1 ORDER BY label",
            &[&customer.as_str()],
        )
    }

    fn envelope_pinned(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<Pinned<EnvelopeRecord>>, StoreError> {
        Pinned::of(
            "envelopes",
            self.raw(ENVELOPE, &[&customer.as_str(), &label.as_str()])?,
        )
    }

    fn envelope_unchanged(
        &self,
        customer: &CustomerId,
        label: &Label,
        pinned: &Pinned<EnvelopeRecord>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .row(
                "SELECT 1 FROM envelopes WHERE customer_id = $1 AND label = $2 AND record = $3",
                &[&customer.as_str(), &label.as_str(), &pinned.stored],
            )?
            .is_some())
    }
}

const WRAP: &str = "SELECT record FROM wraps WHERE grant_id = $1 AND label = $2";

impl<S: Side> GrantReads for Pg<S> {
    fn grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        self.json(
            "grants",
            "SELECT record FROM grants WHERE grant_id = $1",
            &[&id.as_str()],
        )
    }

    fn grant_ids_of(&self, customer: &CustomerId) -> Result<Vec<GrantId>, StoreError> {
        self.conn
            .rows(
                "SELECT grant_id FROM grants WHERE customer_id = $1 ORDER BY grant_id",
                &[&customer.as_str()],
            )?
            .iter()
            .map(|r| stored_id("grants", &text(r, 0)?, GrantId::parse))
            .collect()
    }

    fn grants_of(&self, customer: &CustomerId) -> Result<Vec<Grant>, StoreError> {
        self.json_list(
            "grants",
            "SELECT record FROM grants WHERE customer_id = $1 ORDER BY grant_id",
            &[&customer.as_str()],
        )
    }

    fn grants_for(
        &self,
        org: &OrgId,
        customer: &CustomerId,
    ) -> Result<Vec<Pinned<Grant>>, StoreError> {
        self.pinned_list(
            "SELECT record FROM grants WHERE org_id = $1 AND customer_id = $2 ORDER BY grant_id",
            &[&org.as_str(), &customer.as_str()],
        )
    }

    fn grants_covering(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<(Vec<GrantId>, Vec<Pinned<Grant>>), StoreError> {
        let rows = self.conn.rows(
            "SELECT grant_id, record FROM grants WHERE customer_id = $1 ORDER BY grant_id",
            &[&customer.as_str()],
        )?;
        let (mut ids, mut covering) = (Vec::with_capacity(rows.len()), Vec::new());
        for r in &rows {
            ids.push(stored_id("grants", &text(r, 0)?, GrantId::parse)?);
            let stored = bytes(r, 1)?;
            if super::super::grants::names_label(&stored, label)? {
                covering.extend(Pinned::of("grants", Some(stored))?);
            }
        }
        Ok((ids, covering))
    }

    fn grant_unchanged(&self, pinned: &Pinned<Grant>) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .row(
                "SELECT 1 FROM grants WHERE grant_id = $1 AND record = $2",
                &[&pinned.value.terms.grant_id.as_str(), &pinned.stored],
            )?
            .is_some())
    }

    fn all_grants(&self) -> Result<Vec<Grant>, StoreError> {
        self.json_list("grants", "SELECT record FROM grants ORDER BY grant_id", &[])
    }

    fn wraps_of(&self, grant: &GrantId) -> Result<Vec<GrantWrap>, StoreError> {
        self.json_list(
            "wraps",
            "SELECT record FROM wraps WHERE grant_id = $1 ORDER BY label",
            &[&grant.as_str()],
        )
    }

    fn wrap_pinned(
        &self,
        grant: &GrantId,
        label: &Label,
    ) -> Result<Option<Pinned<GrantWrap>>, StoreError> {
        Pinned::of(
            "wraps",
            self.raw(WRAP, &[&grant.as_str(), &label.as_str()])?,
        )
    }

    fn wrap_unchanged(
        &self,
        grant: &GrantId,
        label: &Label,
        pinned: &Pinned<GrantWrap>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .row(
                "SELECT 1 FROM wraps WHERE grant_id = $1 AND label = $2 AND record = $3",
                &[&grant.as_str(), &label.as_str(), &pinned.stored],
            )?
            .is_some())
    }
}

impl<S: Side> super::super::grants::ReadRecheck for Pg<S> {
    /// One statement: the grant, only if the envelope and the wrap are byte for byte as planned.
    fn grant_if_unchanged(
        &self,
        grant: &Pinned<Grant>,
        customer: &CustomerId,
        label: &Label,
        envelope: &Pinned<EnvelopeRecord>,
        wrap: &Pinned<GrantWrap>,
    ) -> Result<Option<Grant>, StoreError> {
        self.json(
            "grants",
            "SELECT g.record FROM grants g WHERE g.grant_id = $1 \
             AND EXISTS (SELECT 1 FROM envelopes e \
                         WHERE e.customer_id = $2 AND e.label = $3 AND e.record = $4) \
             AND EXISTS (SELECT 1 FROM wraps w \
                         WHERE w.grant_id = $1 AND w.label = $3 AND w.record = $5)",
            &[
                &grant.value.terms.grant_id.as_str(),
                &customer.as_str(),
                &label.as_str(),
                &envelope.stored,
                &wrap.stored,
            ],
        )
    }
}

impl<S: Side> RequestReads for Pg<S> {
    fn request(&self, id: &RequestId) -> Result<Option<AccessRequest>, StoreError> {
        self.json(
            "requests",
            "SELECT record FROM requests WHERE request_id = $1",
            &[&id.as_str()],
        )
    }

    fn requests_of_customer(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<AccessRequest>, StoreError> {
        self.json_list(
            "requests",
            "SELECT record FROM requests WHERE customer_id = $1 ORDER BY request_id",
            &[&customer.as_str()],
        )
    }

    fn requests_of_org(&self, org: &OrgId) -> Result<Vec<AccessRequest>, StoreError> {
        self.json_list(
            "requests",
            "SELECT record FROM requests WHERE org_id = $1 ORDER BY request_id",
            &[&org.as_str()],
        )
    }

    fn pending_requests(&self, customer: &CustomerId, org: &OrgId) -> Result<u32, StoreError> {
        let row = self
            .conn
            .row(
                "SELECT count(*) FROM requests WHERE customer_id = $1 AND org_id = $2 AND pending",
                &[&customer.as_str(), &org.as_str()],
            )?
            .ok_or(StoreError::Internal("count(*) returned no row"))?;
        let n = u64_of(&row, 0)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

impl<S: Side> LedgerReads for Pg<S> {
    fn ledger_size(&self) -> Result<u64, StoreError> {
        self.side.size(&self.conn)
    }

    /// Every event is listed under its parties in the transaction that appends it.
    fn indexed_upto(&self) -> Result<u64, StoreError> {
        self.side.size(&self.conn)
    }

    fn event(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.side.settle(&self.conn)?;
        self.raw(
            "SELECT stored FROM ledger_events WHERE idx = $1",
            &[&i64_of(index)?],
        )
    }

    fn events_between(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.side.settle(&self.conn)?;
        self.conn
            .rows(
                "SELECT idx, stored FROM ledger_events WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                &[&i64_of(from)?, &i64_of(to.min(i64::MAX as u64))?],
            )?
            .iter()
            .map(|r| Ok((u64_of(r, 0)?, bytes(r, 1)?)))
            .collect()
    }

    fn customer_event_indexes(&self, customer: &CustomerId) -> Result<Vec<u64>, StoreError> {
        self.indexes(
            "SELECT idx FROM ledger_events WHERE customer_id = $1 ORDER BY idx",
            &[&customer.as_str()],
        )
    }

    fn org_event_indexes(&self, org: &OrgId) -> Result<Vec<u64>, StoreError> {
        self.indexes(
            "SELECT idx FROM ledger_events WHERE org_id = $1 ORDER BY idx",
            &[&org.as_str()],
        )
    }

    fn org_key_event_indexes(&self, org: &OrgId) -> Result<Vec<u64>, StoreError> {
        self.indexes(
            "SELECT idx FROM ledger_events WHERE org_id = $1 AND org_key_event ORDER BY idx",
            &[&org.as_str()],
        )
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        self.side.settle(&self.conn)?;
        node(&self.conn, level, index)
    }

    fn nodes(&self) -> Result<Box<dyn NodeReader + '_>, StoreError> {
        self.side.settle(&self.conn)?;
        Ok(Box::new(Nodes(&self.conn)))
    }

    fn upper_nodes(&self, min_level: u8, limit: usize) -> Result<Vec<(u8, u64, Hash)>, StoreError> {
        self.side.settle(&self.conn)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn
            .rows(
                "SELECT level, idx, hash FROM ledger_nodes WHERE level >= $1 \
                 ORDER BY level DESC, idx LIMIT $2",
                &[&i16::from(min_level), &limit],
            )?
            .iter()
            .map(|r| {
                let level: i16 = r.try_get(0).map_err(db_err)?;
                let level = u8::try_from(level).map_err(|_| StoreError::Corrupt {
                    table: "ledger_nodes",
                    detail: format!("level {level}"),
                })?;
                let hash = crate::ledger::merkle::parse_hash(&bytes(r, 2)?)?;
                Ok((level, u64_of(r, 1)?, hash))
            })
            .collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.conn
            .row(
                "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )?
            .map(|r| Ok((u64_of(&r, 0)?, text(&r, 1)?)))
            .transpose()
    }

    fn recent_checkpoints(&self, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn
            .rows(
                "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT $1",
                &[&limit],
            )?
            .iter()
            .map(|r| Ok((u64_of(r, 0)?, text(r, 1)?)))
            .collect()
    }
}

fn node(conn: &Conn, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
    conn.row(
        "SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2",
        &[&i16::from(level), &i64_of(index)?],
    )?
    .map(|r| {
        let b = bytes(&r, 0)?;
        crate::ledger::merkle::parse_hash(&b).map_err(StoreError::from)
    })
    .transpose()
}

/// Tree nodes read one statement each (a root or proof needs O(log n) of them).
struct Nodes<'a>(&'a Conn);

impl NodeReader for Nodes<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        node(self.0, level, index)
            .map_err(|e| LedgerError::Store(e.to_string()))?
            .ok_or_else(|| LedgerError::Store(format!("missing tree node ({level}, {index})")))
    }
}

impl<S: Side> WebhookReads for Pg<S> {
    fn webhook_cursor(&self) -> Result<Option<u64>, StoreError> {
        self.conn
            .row("SELECT idx FROM webhook_cursor WHERE id = 1", &[])?
            .map(|r| u64_of(&r, 0))
            .transpose()
    }

    fn webhook_orgs(&self) -> Result<Vec<OrgId>, StoreError> {
        self.conn
            .rows("SELECT org_id FROM webhook_orgs ORDER BY org_id", &[])?
            .iter()
            .map(|r| stored_id("webhook_orgs", &text(r, 0)?, OrgId::parse))
            .collect()
    }

    fn delivery(&self, id: &DeliveryId) -> Result<Option<WebhookDelivery>, StoreError> {
        self.json(
            "webhook_deliveries",
            "SELECT record FROM webhook_deliveries WHERE delivery_id = $1",
            &[&id.as_str()],
        )
    }

    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<WebhookDelivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.json_list(
            "webhook_deliveries",
            "SELECT record FROM webhook_deliveries WHERE due IS NOT NULL AND due <= $1 \
             ORDER BY due, delivery_id LIMIT $2",
            &[&now, &limit],
        )
    }

    fn org_deliveries(
        &self,
        org: &OrgId,
        state: DeliveryState,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let state = super::super::webhooks::state_key(state);
        self.json_list(
            "webhook_deliveries",
            "SELECT record FROM webhook_deliveries WHERE org_id = $1 AND state = $2 \
             ORDER BY delivery_id LIMIT $3",
            &[&org.as_str(), &state, &limit],
        )
    }

    fn org_delivery_count(&self, org: &OrgId, state: DeliveryState) -> Result<u64, StoreError> {
        let state = super::super::webhooks::state_key(state);
        let row = self
            .conn
            .row(
                "SELECT count(*) FROM webhook_deliveries WHERE org_id = $1 AND state = $2",
                &[&org.as_str(), &state],
            )?
            .ok_or(StoreError::Internal("count(*) returned no row"))?;
        u64_of(&row, 0)
    }
}

impl<S: Side> ErasureReads for Pg<S> {
    fn erasure_request(&self, grant: &GrantId) -> Result<Option<ErasureRequest>, StoreError> {
        self.json(
            "erasure_requests",
            "SELECT record FROM erasure_requests WHERE grant_id = $1",
            &[&grant.as_str()],
        )
    }

    fn org_erasure_requests(&self, org: &OrgId) -> Result<Vec<ErasureRequest>, StoreError> {
        self.json_list(
            "erasure_requests",
            "SELECT record FROM erasure_requests WHERE org_id = $1 ORDER BY grant_id",
            &[&org.as_str()],
        )
    }
}
