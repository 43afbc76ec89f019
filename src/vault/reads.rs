//! The organization read: policy check, then the ledger entry, then — only once the batch
//! holding that entry is durable — the ciphertext and the org's wrap.

use super::consent::pair_key;
use super::{Vault, VaultError, random_nonce};
use crate::domain::catalog::{Label, Purpose};
use crate::domain::grant::{Grant, choose_grant};
use crate::domain::ids::{CustomerId, OrgId};
use crate::ledger::Event;
use crate::store::ledger_tx::Appended;
use crate::store::records::{EnvelopeRecord, GrantWrap};
use crate::store::tables::{ENVELOPES, GRANTS, ORG_CUSTOMER_GRANTS, WRAPS};
use crate::store::{Reads, Tx};

/// What an organization receives for one read.
pub struct ReadResult {
    pub envelope: EnvelopeRecord,
    pub wrap: GrantWrap,
    pub grant: Grant,
    pub purpose: Purpose,
    pub ledger: Appended,
    /// The time recorded in the `read` event.
    pub at: crate::domain::time::Timestamp,
}

impl Vault {
    pub async fn read_envelope(
        &self,
        org: OrgId,
        customer: CustomerId,
        label: Label,
        purpose: Purpose,
    ) -> Result<ReadResult, VaultError> {
        let now = Self::now();
        let nonce = random_nonce();
        self.store()
            .writer()
            .run(move |tx: &mut Tx<'_>| {
                let mut grants = Vec::new();
                for gid in tx.index2(ORG_CUSTOMER_GRANTS, &pair_key(&org, &customer))? {
                    if let Some(g) = tx.get_json::<_, Grant>(GRANTS, gid.as_str())? {
                        grants.push(g);
                    }
                }
                let mut grant = choose_grant(&grants, &label, &purpose, now)?.clone();
                let envelope: EnvelopeRecord = tx
                    .get_json(ENVELOPES, (customer.as_str(), label.as_str()))?
                    .ok_or_else(|| VaultError::not_found("envelope_not_found", format!("the customer has no `{label}` envelope")))?;
                let wrap: GrantWrap = tx
                    .get_json(WRAPS, (grant.terms.grant_id.as_str(), label.as_str()))?
                    .filter(|w: &GrantWrap| w.envelope_id == envelope.envelope_id && w.version == envelope.version)
                    .ok_or_else(|| {
                        VaultError::conflict("wrap_unavailable", "the customer's device has not yet wrapped this version for you; try again later")
                    })?;
                grant.reads = grant.reads.saturating_add(1);
                tx.put_json(GRANTS, grant.terms.grant_id.as_str(), &grant)?;
                let ledger = tx.append(
                    &Event::Read {
                        customer_id: customer.clone(),
                        org_id: org.clone(),
                        grant_id: grant.terms.grant_id.clone(),
                        envelope_id: envelope.envelope_id.clone(),
                        version: envelope.version,
                        label: label.clone(),
                        purpose: purpose.clone(),
                        at: now,
                    },
                    nonce,
                )?;
                Ok(ReadResult {
                    envelope,
                    wrap,
                    grant,
                    purpose,
                    ledger,
                    at: now,
                })
            })
            .await
    }
}
