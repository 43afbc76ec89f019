//! A customer's own account: changing the passphrase, and closing the account.
//!
//! Both need the login proof of the current passphrase, not just a session token: a stolen or
//! left-open session cannot lock the customer out or destroy their data.

use super::{Vault, VaultError, random_nonce};
use crate::crypto::bundle::SealedBundle;
use crate::crypto::password;
use crate::domain::ids::CustomerId;
use crate::domain::request::RequestStatus;
use crate::ledger::Event;
use crate::store::prelude::*;
use crate::store::records::CustomerRecord;
use zeroize::Zeroizing;

/// What closing an account did, each act a ledger entry of the customer's.
#[derive(Debug, Default)]
pub struct Closed {
    pub grants_revoked: usize,
    pub requests_declined: usize,
    pub envelopes_erased: usize,
}

impl Vault {
    /// The customer's record if `auth` is the login proof of the current passphrase.
    async fn prove(
        &self,
        id: &CustomerId,
        auth: Zeroizing<[u8; 32]>,
    ) -> Result<CustomerRecord, VaultError> {
        let record = self.customer(id)?;
        let phc = record.auth_phc.clone();
        if self
            .argon2(move || password::verify_auth(&auth[..], &phc))
            .await?
        {
            Ok(record)
        } else {
            Err(VaultError::unauthorized(
                "bad_credentials",
                "the passphrase is not right",
            ))
        }
    }

    /// Replaces the login proof and the sealed bundle (the same keys, sealed on the device under
    /// the new passphrase). Refused if the passphrase changed meanwhile.
    pub async fn change_passphrase(
        &self,
        id: CustomerId,
        auth: Zeroizing<[u8; 32]>,
        new_auth: Zeroizing<[u8; 32]>,
        bundle: SealedBundle,
    ) -> Result<CustomerRecord, VaultError> {
        super::customers::check_bundle(&bundle)?;
        let before = self.prove(&id, auth).await?;
        let auth_phc = self
            .argon2(move || password::hash_auth(&new_auth[..]))
            .await??;
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut record = current(tx, &id)?;
                if record.auth_phc != before.auth_phc {
                    return Err(changed_meanwhile());
                }
                record.auth_phc = auth_phc;
                record.bundle = bundle;
                tx.put_customer(&record)?;
                Ok(record)
            })
            .await
    }

    /// Closes the account in one transaction: every grant still standing is revoked, every
    /// pending request declined and every envelope erased (ciphertext and wraps), each act a
    /// ledger entry; then the account record goes. The handle stays reserved, so nobody can
    /// take it and be mistaken for this customer; the ledger keeps its commitments (they
    /// reveal nothing without the nonces, which only the parties held).
    pub async fn close_account(
        &self,
        id: CustomerId,
        auth: Zeroizing<[u8; 32]>,
    ) -> Result<Closed, VaultError> {
        let before = self.prove(&id, auth).await?;
        let now = self.now();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let record = current(tx, &id)?;
                if record.auth_phc != before.auth_phc {
                    return Err(changed_meanwhile());
                }
                let mut closed = Closed::default();
                for mut grant in tx.grants_of(&id)? {
                    tx.remove_wraps(&grant.terms.grant_id)?;
                    if grant.revoked_at.is_some() {
                        continue;
                    }
                    grant.revoked_at = Some(now);
                    tx.put_grant(&grant)?;
                    tx.append(
                        &Event::GrantRevoked {
                            customer_id: id.clone(),
                            org_id: grant.terms.org_id.clone(),
                            grant_id: grant.terms.grant_id.clone(),
                            at: now,
                        },
                        random_nonce(),
                    )?;
                    closed.grants_revoked += 1;
                }
                for mut r in tx.requests_of_customer(&id)? {
                    if r.status != RequestStatus::Pending {
                        continue;
                    }
                    r.status = RequestStatus::Declined;
                    r.decided_at = Some(now);
                    tx.put_request(&r)?;
                    tx.append(
                        &Event::RequestDeclined {
                            customer_id: id.clone(),
                            org_id: r.org_id.clone(),
                            request_id: r.request_id.clone(),
                            at: now,
                        },
                        random_nonce(),
                    )?;
                    closed.requests_declined += 1;
                }
                for e in tx.envelopes_of(&id)? {
                    tx.remove_envelope(&id, &e.label)?;
                    tx.append(
                        &Event::EnvelopeErased {
                            customer_id: id.clone(),
                            envelope_id: e.envelope_id,
                            label: e.label,
                            at: now,
                        },
                        random_nonce(),
                    )?;
                    closed.envelopes_erased += 1;
                }
                tx.remove_customer(&id)?;
                Ok(closed)
            })
            .await
    }
}

fn current(tx: &(impl Reads + ?Sized), id: &CustomerId) -> Result<CustomerRecord, VaultError> {
    tx.customer(id)?.ok_or_else(|| {
        VaultError::unauthorized("unknown_customer", "this account no longer exists")
    })
}

fn changed_meanwhile() -> VaultError {
    VaultError::conflict(
        "passphrase_changed",
        "the passphrase was changed meanwhile; unlock again and retry",
    )
}
