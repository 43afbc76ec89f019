//! The ledger as its parties see it: their own events with the nonces that open the commitments.

use super::{Vault, VaultError};
use crate::domain::ids::{CustomerId, OrgId};
use crate::ledger::{Event, leaf_commitment};
use crate::store::Reads;
use crate::store::tables::{CUSTOMER_EVENTS, LEDGER_EVENTS, ORG_EVENTS};

/// One ledger entry, opened.
pub struct OpenedEntry {
    pub index: u64,
    pub nonce: [u8; 32],
    pub event: Event,
    /// The exact canonical bytes committed to (so a client can recompute the leaf).
    pub canonical: Vec<u8>,
    pub leaf: [u8; 32],
}

impl Vault {
    pub fn customer_ledger(
        &self,
        customer: &CustomerId,
    ) -> Result<(Vec<OpenedEntry>, u64), VaultError> {
        self.opened(CUSTOMER_EVENTS, customer.as_str())
    }

    pub fn org_ledger(&self, org: &OrgId) -> Result<(Vec<OpenedEntry>, u64), VaultError> {
        self.opened(ORG_EVENTS, org.as_str())
    }

    pub fn ledger_size(&self) -> Result<u64, VaultError> {
        Ok(self.store().read()?.ledger_size()?)
    }

    fn opened(
        &self,
        index: crate::store::access::EventIndex,
        party: &str,
    ) -> Result<(Vec<OpenedEntry>, u64), VaultError> {
        let view = self.store().read()?;
        let size = view.ledger_size()?;
        let mut out = Vec::new();
        for i in view.event_index(index, party)? {
            let stored = view
                .get_bytes_u64(LEDGER_EVENTS, i)?
                .ok_or_else(|| VaultError::Internal(format!("ledger event {i} missing")))?;
            let (nonce, canonical) = crate::ledger::event::split_stored(&stored)
                .ok_or_else(|| VaultError::Internal(format!("ledger event {i} truncated")))?;
            let event: Event = serde_json::from_slice(canonical)
                .map_err(|e| VaultError::Internal(format!("ledger event {i}: {e}")))?;
            out.push(OpenedEntry {
                index: i,
                nonce: *nonce,
                leaf: leaf_commitment(nonce, canonical),
                canonical: canonical.to_vec(),
                event,
            });
        }
        Ok((out, size))
    }
}

impl Vault {
    /// Grants active now (a scan: for the metrics gauge, not for hot paths).
    pub fn count_active_grants(&self) -> Result<u64, VaultError> {
        use crate::domain::grant::GrantState;
        let now = Vault::now();
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
            .run(|_tx: &mut crate::store::Tx<'_>| Ok::<_, VaultError>(()))
            .await
    }
}
