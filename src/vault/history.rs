//! The ledger as its parties see it: their own events with the nonces that open the commitments.

use super::{Vault, VaultError};
use crate::domain::ids::{CustomerId, OrgId};
use crate::ledger::{Event, Sequenced, leaf_commitment};
use crate::store::prelude::*;

/// One ledger entry, opened.
pub struct OpenedEntry {
    pub index: u64,
    pub nonce: [u8; 32],
    /// The event with its parties' sequence numbers, as committed.
    pub event: Sequenced,
    /// The exact canonical bytes committed to (so a client can recompute the leaf).
    pub canonical: Vec<u8>,
    pub leaf: [u8; 32],
}

impl Vault {
    pub fn customer_ledger(
        &self,
        customer: &CustomerId,
    ) -> Result<(Vec<OpenedEntry>, u64), VaultError> {
        self.opened(
            customer.as_str(),
            |v| v.customer_event_indexes(customer),
            |e| e.customer() == Some(customer),
        )
    }

    pub fn org_ledger(&self, org: &OrgId) -> Result<(Vec<OpenedEntry>, u64), VaultError> {
        self.opened(
            org.as_str(),
            |v| v.org_event_indexes(org),
            |e| e.org() == Some(org),
        )
    }

    /// An organization's key log: its `org_registered` and `org_keys_changed` events, in ledger
    /// order, and the ledger size they were read at. Public: their nonces open them to anyone.
    pub fn org_key_log(&self, org: &OrgId) -> Result<(Vec<OpenedEntry>, u64), VaultError> {
        let view = self.store().read()?;
        let size = view.ledger_size()?;
        let out = opened_entries(&*view, view.org_key_event_indexes(org)?)?;
        if out.is_empty() {
            return Err(VaultError::not_found(
                "org_not_found",
                format!("no organization {org}"),
            ));
        }
        Ok((out, size))
    }

    /// The customer's events among ledger entries `from..to` (what a live stream announces
    /// after each commit: a scan of only the new entries).
    pub fn customer_events_between(
        &self,
        customer: &CustomerId,
        from: u64,
        to: u64,
    ) -> Result<Vec<OpenedEntry>, VaultError> {
        let view = self.store().read()?;
        let mut out = Vec::new();
        for (i, stored) in view.events_between(from, to)? {
            if !mentions(&stored, customer.as_str()) {
                continue;
            }
            let entry = open_entry(i, &stored)?;
            if entry.event.event.customer() == Some(customer) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Follows the durable ledger size.
    pub fn ledger_size_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store().writer().ledger_size()
    }

    pub fn ledger_size(&self) -> Result<u64, VaultError> {
        Ok(self.store().read()?.ledger_size()?)
    }

    /// A party's events: those in its index (below the `indexed_upto` watermark), then those
    /// appended since, found by scanning the few records above the watermark.
    /// `party` is the party's id: an event that concerns it names it in its canonical bytes,
    /// so the scan skips the others without parsing them.
    fn opened(
        &self,
        party: &str,
        indexed: impl Fn(&dyn Reads) -> Result<Vec<u64>, crate::store::StoreError>,
        concerns: impl Fn(&Event) -> bool,
    ) -> Result<(Vec<OpenedEntry>, u64), VaultError> {
        let view = self.store().read()?;
        let size = view.ledger_size()?;
        let upto = view.indexed_upto()?.min(size);
        let mut out = opened_entries(&*view, indexed(&*view)?)?;
        for (i, stored) in view.events_between(upto, size)? {
            if !mentions(&stored, party) {
                continue;
            }
            let entry = open_entry(i, &stored)?;
            if concerns(&entry.event.event) {
                out.push(entry);
            }
        }
        Ok((out, size))
    }
}

/// Whether a stored event's bytes contain `id` (ids are long and distinct: a party's id
/// appears only in events that name it). A filter before parsing, never the decision.
fn mentions(stored: &[u8], id: &str) -> bool {
    let id = id.as_bytes();
    !id.is_empty() && stored.windows(id.len()).any(|w| w == id)
}

/// The events at `indexes`, opened, in that order.
fn opened_entries(view: &dyn Reads, indexes: Vec<u64>) -> Result<Vec<OpenedEntry>, VaultError> {
    let mut out = Vec::with_capacity(indexes.len());
    for i in indexes {
        let stored = view
            .event(i)?
            .ok_or_else(|| VaultError::Internal(format!("ledger event {i} missing")))?;
        out.push(open_entry(i, &stored)?);
    }
    Ok(out)
}

fn open_entry(index: u64, stored: &[u8]) -> Result<OpenedEntry, VaultError> {
    let (nonce, canonical) = crate::ledger::event::split_stored(stored)
        .ok_or_else(|| VaultError::Internal(format!("ledger event {index} truncated")))?;
    let event = crate::ledger::event::parse_canonical(canonical)
        .map_err(|e| VaultError::Internal(format!("ledger event {index}: {e}")))?;
    Ok(OpenedEntry {
        index,
        nonce: *nonce,
        leaf: leaf_commitment(nonce, canonical),
        canonical: canonical.to_vec(),
        event,
    })
}

impl Vault {
    /// Grants active now (a scan: for the metrics gauge, not for hot paths).
    pub fn count_active_grants(&self) -> Result<u64, VaultError> {
        use crate::domain::grant::GrantState;
        let now = self.now();
        let grants = self.store().read()?.all_grants()?;
        Ok(grants
            .iter()
            .filter(|g| g.state(now) == GrantState::Active)
            .count() as u64)
    }

    /// A durable no-op write through the group-commit writer (readiness probe).
    pub async fn probe_write(&self) -> Result<(), VaultError> {
        self.store()
            .writer()
            .act(|_tx: &mut dyn crate::store::Batch| Ok::<_, VaultError>(()))
            .await
    }
}
