//! The organization read: policy check, then the ledger entry, then — only once the batch
//! holding that entry is durable — the ciphertext and the org's wrap.
//!
//! The decision is planned on a read snapshot, off the single writer (index scan, JSON decoding
//! run in parallel with other requests). The event is canonicalized and hashed in the writer,
//! where it takes the customer's and the organization's next sequence numbers. Inside the
//! write batch the plan is checked against the authoritative state: the chosen grant is decided
//! again as it stands now (revoked, expired or out of quota refuses), and the envelope and wrap
//! must be byte-for-byte what was planned (a grant still stored byte-for-byte as planned is the
//! planned value, not decoded again). If anything changed, the read is decided afresh
//! inside the batch. So a read never succeeds on a grant whose revocation was acknowledged.

use super::{Vault, VaultError, random_nonce};
use crate::domain::catalog::{Label, Purpose};
use crate::domain::grant::{Grant, choose_grant};
use crate::domain::ids::{CustomerId, OrgId};
use crate::domain::time::Timestamp;
use crate::ledger::Event;
use crate::store::Pinned;
use crate::store::ledger_tx::Appended;
use crate::store::prelude::*;
use crate::store::records::{EnvelopeRecord, GrantWrap};

/// What an organization receives for one read.
pub struct ReadResult {
    pub envelope: EnvelopeRecord,
    pub wrap: GrantWrap,
    pub grant: Grant,
    pub purpose: Purpose,
    pub ledger: Appended,
    /// The time recorded in the `read` event.
    pub at: Timestamp,
    /// The batch the read was committed in (its receipt covers the batch).
    pub batch: std::sync::Arc<crate::store::writer::Committed>,
}

/// One read's request, fixed before any lookup.
struct Ask {
    org: OrgId,
    customer: CustomerId,
    label: Label,
    purpose: Purpose,
    now: Timestamp,
    nonce: [u8; 32],
}

/// A read decided on some state, with the records it relied on as they were stored.
struct Plan {
    grant: Pinned<Grant>,
    envelope: Pinned<EnvelopeRecord>,
    wrap: Pinned<GrantWrap>,
    event: Event,
}

impl Ask {
    /// Decides the read on `r`'s state: the first grant allowing it, the envelope, the org's
    /// wrap of the envelope's current version, and the `read` event to log.
    fn plan(&self, r: &(impl Reads + ?Sized)) -> Result<Plan, VaultError> {
        let mut pinned = r.grants_for(&self.org, &self.customer)?;
        // After an organization changed its keys, a grant naming its current encryption key is
        // preferred: its wraps open with the key the organization holds now. A grant naming
        // older keys still serves when it is the only one that allows the read.
        if pinned.len() > 1
            && let Some(org) = r.org(&self.org)?
        {
            pinned.sort_by_key(|g| g.value.terms.org_encryption_key != org.x25519_public);
        }
        let grant = choose_grant(&pinned, &self.label, &self.purpose, self.now)?.clone();
        let label = &self.label;
        let envelope = r.envelope_pinned(&self.customer, label)?.ok_or_else(|| {
            VaultError::not_found(
                "envelope_not_found",
                format!("the customer has no `{label}` envelope"),
            )
        })?;
        let unavailable = || {
            VaultError::conflict(
                "wrap_unavailable",
                "the customer's device has not yet wrapped this version for you; try again later",
            )
        };
        let wrap = r
            .wrap_pinned(&grant.value.terms.grant_id, label)?
            .ok_or_else(unavailable)?;
        let (w, e) = (&wrap.value, &envelope.value);
        if w.envelope_id != e.envelope_id || w.version != e.version {
            return Err(unavailable());
        }
        let event = Event::Read {
            customer_id: self.customer.clone(),
            org_id: self.org.clone(),
            grant_id: grant.value.terms.grant_id.clone(),
            envelope_id: envelope.value.envelope_id.clone(),
            version: envelope.value.version,
            label: label.clone(),
            purpose: self.purpose.clone(),
            at: self.now,
        };
        Ok(Plan {
            grant,
            envelope,
            wrap,
            event,
        })
    }

    /// `plan` with its grant as it stands in `tx`, if the plan still holds there.
    fn recheck(
        &self,
        tx: &(impl Reads + ?Sized),
        mut plan: Plan,
    ) -> Result<Option<Plan>, VaultError> {
        let Some(current) = tx.grant_if_unchanged(
            &plan.grant,
            &self.customer,
            &self.label,
            &plan.envelope,
            &plan.wrap,
        )?
        else {
            return Ok(None);
        };
        let holds = choose_grant(
            std::slice::from_ref(&current),
            &self.label,
            &self.purpose,
            self.now,
        )
        .is_ok();
        if !holds {
            return Ok(None);
        }
        plan.grant.value = current;
        Ok(Some(plan))
    }
}

impl Vault {
    pub async fn read_envelope(
        &self,
        org: OrgId,
        customer: CustomerId,
        label: Label,
        purpose: Purpose,
    ) -> Result<ReadResult, VaultError> {
        let ask = Ask {
            org,
            customer,
            label,
            purpose,
            now: self.now(),
            nonce: random_nonce(),
        };
        // A refusal on the snapshot is final: a grant approved before this request began is
        // visible in it, and refused reads are not logged.
        let planned = ask.plan(&*self.store().read()?)?;
        let (read, batch) = self
            .store()
            .writer()
            .act_committed(move |tx: &mut dyn Batch| {
                let mut plan = match ask.recheck(tx, planned)? {
                    Some(plan) => plan,
                    None => ask.plan(tx)?,
                };
                tx.count_read(&plan.grant.value)?;
                let grant = &mut plan.grant.value;
                grant.reads = grant.reads.saturating_add(1);
                let ledger = tx.append(&plan.event, ask.nonce)?;
                Ok::<_, VaultError>((plan, ask.purpose, ledger, ask.now))
            })
            .await?;
        let (plan, purpose, ledger, at) = read;
        Ok(ReadResult {
            envelope: plan.envelope.value,
            wrap: plan.wrap.value,
            grant: plan.grant.value,
            purpose,
            ledger,
            at,
            batch,
        })
    }
}
