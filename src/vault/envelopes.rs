//! Envelopes: ciphertext written by the customer's device, one per label, versioned.

use super::{Vault, VaultError, random_nonce};
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::Label;
use crate::domain::grant::Grant;
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId};
use crate::domain::time::Timestamp;
use crate::ledger::Event;
use crate::store::Pinned;
use crate::store::ledger_tx::Appended;
use crate::store::prelude::*;
use crate::store::records::{EnvelopeRecord, GrantWrap};
use std::collections::BTreeSet;

/// HPKE X25519 `enc` length (RFC 9180 §7.1: Nenc = 32).
pub const WRAP_ENC_LEN: usize = 32;
/// A wrapped 32-byte data key plus the 16-byte ChaCha20-Poly1305 tag.
pub const WRAP_CT_LEN: usize = 48;
const POLY1305_TAG: usize = 16;

pub struct EnvelopeWrite {
    pub envelope_id: EnvelopeId,
    pub version: u64,
    pub content_type: String,
    pub nonce: [u8; 24],
    pub ciphertext: Vec<u8>,
    pub owner_wrap: Wrap,
    /// The new data key wrapped for every active grant that covers the label.
    pub grant_wraps: Vec<(GrantId, Wrap)>,
    /// True when this write re-encrypts under a new data key after a revocation.
    pub rotate: bool,
}

pub fn check_wrap(w: &Wrap) -> Result<(), VaultError> {
    if w.enc.len() != WRAP_ENC_LEN || w.ct.len() != WRAP_CT_LEN {
        return Err(VaultError::bad(
            "bad_wrap",
            format!("a wrap has a {WRAP_ENC_LEN}-byte `enc` and a {WRAP_CT_LEN}-byte `ct`"),
        ));
    }
    Ok(())
}

/// The grants a write of one label must match its wraps to, decided on some state: every
/// grant of the customer that covers the label, whatever its state.
///
/// Planned on a read snapshot, off the single writer (each of the customer's grants has its
/// labels read there, in parallel with other requests; only covering ones are decoded), then re-checked in the batch (invariant 12): the customer's
/// grant ids must be the planned ones (a grant approved since shows there) and each covering
/// grant must be stored byte for byte as planned (a revocation shows there). A grant with a
/// read quota is read again as it stands, since reads move its count without changing its
/// record. Anything else changed: the batch decides afresh.
struct Covering {
    ids: Vec<GrantId>,
    grants: Vec<Pinned<Grant>>,
}

impl Covering {
    fn plan<R: Reads + ?Sized>(
        r: &R,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Self, VaultError> {
        let (ids, grants) = r.grants_covering(customer, label)?;
        Ok(Self { ids, grants })
    }

    /// The planned grants as they stand in `tx`, or `None` if the plan no longer holds.
    fn recheck<R: Reads + ?Sized>(
        self,
        tx: &R,
        customer: &CustomerId,
    ) -> Result<Option<Vec<Grant>>, VaultError> {
        if tx.grant_ids_of(customer)? != self.ids {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.grants.len());
        for pinned in self.grants {
            if !tx.grant_unchanged(&pinned)? {
                return Ok(None);
            }
            if pinned.value.terms.max_reads.is_none() {
                out.push(pinned.value);
            } else if let Some(now) = tx.grant(&pinned.value.terms.grant_id)? {
                out.push(now);
            } else {
                return Ok(None);
            }
        }
        Ok(Some(out))
    }
}

/// Refuses a write whose grant wraps are not exactly one per grant that needs them: every
/// active grant covering `label` with reads left.
fn check_grant_wraps<'g>(
    covering: impl IntoIterator<Item = &'g Grant>,
    provided: &BTreeSet<GrantId>,
    label: &Label,
    now: Timestamp,
) -> Result<(), VaultError> {
    let required: BTreeSet<&GrantId> = covering
        .into_iter()
        .filter(|g| g.needs_wraps(now))
        .map(|g| &g.terms.grant_id)
        .collect();
    if let Some(extra) = provided.iter().find(|g| !required.contains(g)) {
        return Err(VaultError::bad(
            "unexpected_grant_wrap",
            format!("grant {extra} is not an active grant covering `{label}`"),
        ));
    }
    let missing: Vec<String> = required
        .iter()
        .filter(|g| !provided.contains(**g))
        .map(|g| g.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(VaultError::conflict(
            "grant_wraps_missing",
            format!(
                "wrap the new data key for the active grants: {}",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

impl Vault {
    /// Creates version 1 of a label's envelope, or its next version (optimistic concurrency:
    /// `version` must be the stored version + 1, so two devices cannot silently overwrite).
    pub async fn put_envelope(
        &self,
        customer: CustomerId,
        label: Label,
        w: EnvelopeWrite,
    ) -> Result<(EnvelopeRecord, Appended), VaultError> {
        if w.ciphertext.len() > self.limits().max_envelope_bytes {
            return Err(VaultError::TooLarge {
                message: format!(
                    "an envelope holds at most {} bytes",
                    self.limits().max_envelope_bytes
                ),
            });
        }
        if w.ciphertext.len() < POLY1305_TAG {
            return Err(VaultError::bad(
                "bad_ciphertext",
                "the ciphertext is shorter than its tag",
            ));
        }
        crate::domain::catalog::check_content_type(&w.content_type)?;
        check_wrap(&w.owner_wrap)?;
        let mut provided = BTreeSet::new();
        for (gid, wrap) in &w.grant_wraps {
            check_wrap(wrap)?;
            if !provided.insert(gid.clone()) {
                return Err(VaultError::bad(
                    "duplicate_grant_wrap",
                    format!("two wraps for grant {gid}"),
                ));
            }
        }
        let now = self.now();
        let nonce = random_nonce();
        let (customer_id, envelope_id, version) =
            (customer.clone(), w.envelope_id.clone(), w.version);
        let event = if w.rotate {
            Event::KeyRotated {
                customer_id,
                envelope_id,
                label: label.clone(),
                version,
                at: now,
            }
        } else {
            Event::EnvelopeWritten {
                customer_id,
                envelope_id,
                label: label.clone(),
                version,
                at: now,
            }
        };
        // A refusal on the snapshot is final: a grant approved or revoked before this request
        // began is visible in it.
        let planned = Covering::plan(&*self.store().read()?, &customer, &label)?;
        check_grant_wraps(
            planned.grants.iter().map(|g| &g.value),
            &provided,
            &label,
            now,
        )?;
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let existing = tx.envelope_head(&customer, &label)?;
                let expected = existing.as_ref().map_or(1, |e| e.version + 1);
                if w.version != expected {
                    return Err(VaultError::conflict(
                        "version_conflict",
                        format!("expected version {expected}; reload the envelope and try again"),
                    ));
                }
                if let Some(e) = &existing
                    && e.envelope_id != w.envelope_id
                {
                    return Err(VaultError::conflict(
                        "envelope_id_mismatch",
                        format!("the `{label}` envelope is {}", e.envelope_id),
                    ));
                }
                let covering = match planned.recheck(tx, &customer)? {
                    Some(covering) => covering,
                    None => Covering::plan(tx, &customer, &label)?
                        .grants
                        .into_iter()
                        .map(|g| g.value)
                        .collect(),
                };
                check_grant_wraps(&covering, &provided, &label, now)?;
                let record = EnvelopeRecord {
                    customer_id: customer.clone(),
                    envelope_id: w.envelope_id.clone(),
                    label: label.clone(),
                    version: w.version,
                    content_type: w.content_type,
                    nonce: w.nonce,
                    ciphertext: w.ciphertext,
                    owner_wrap: w.owner_wrap,
                    rotation_pending: false,
                    created_at: existing.as_ref().map_or(now, |e| e.created_at),
                    updated_at: now,
                };
                tx.put_envelope(&record)?;
                // Wraps of the old version for grants that get no new one (quota used up,
                // expired) open nothing that still exists; they go with it.
                for g in covering
                    .iter()
                    .filter(|g| !provided.contains(&g.terms.grant_id))
                {
                    tx.remove_wrap(&g.terms.grant_id, &label)?;
                }
                for (gid, wrap) in w.grant_wraps {
                    let gw = GrantWrap {
                        label: label.clone(),
                        envelope_id: record.envelope_id.clone(),
                        version: record.version,
                        wrap,
                    };
                    tx.put_wrap(&gid, &gw)?;
                }
                let appended = tx.append(&event, nonce)?;
                Ok((record, appended))
            })
            .await
    }

    pub fn envelopes(&self, customer: &CustomerId) -> Result<Vec<EnvelopeRecord>, VaultError> {
        Ok(self.store().read()?.envelopes_of(customer)?)
    }

    pub fn envelope(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<EnvelopeRecord, VaultError> {
        self.store()
            .read()?
            .envelope(customer, label)?
            .ok_or_else(|| {
                VaultError::not_found("envelope_not_found", format!("no `{label}` envelope"))
            })
    }

    /// Crypto-erase: the ciphertext and every wrap of the label are destroyed; the ledger keeps
    /// only its commitments.
    pub async fn erase_envelope(
        &self,
        customer: CustomerId,
        label: Label,
    ) -> Result<Appended, VaultError> {
        let now = self.now();
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let Some(existing) = tx.envelope_head(&customer, &label)? else {
                    return Err(VaultError::not_found(
                        "envelope_not_found",
                        format!("no `{label}` envelope"),
                    ));
                };
                let grants = tx.grant_ids_of(&customer)?;
                tx.remove_envelope(&customer, &label)?;
                for gid in &grants {
                    tx.remove_wrap(gid, &label)?;
                }
                Ok(tx.append(
                    &Event::EnvelopeErased {
                        customer_id: customer.clone(),
                        envelope_id: existing.envelope_id,
                        label: label.clone(),
                        at: now,
                    },
                    nonce,
                )?)
            })
            .await
    }
}
