//! Organizations: registered by an operator, identified by an Ed25519 key that also signs their
//! X25519 encryption key. Registration and every later key change are ledger events (the
//! organization's key log, `org_key_events`), so devices check an org's keys against the
//! ledger rather than against what the vault says, and the org monitors what is logged under
//! its id.

use super::{Vault, VaultError, random_nonce};
use crate::crypto::sign;
use crate::domain::controller::ControllerDetails;
use crate::domain::ids::OrgId;
use crate::ledger::Event;
use crate::store::ledger_tx::Appended;
use crate::store::prelude::*;
use crate::store::records::OrgRecord;

/// An organization's new keys, signed by its current identity key.
pub struct KeyChange {
    pub identity_key: [u8; 32],
    pub encryption_key: [u8; 32],
    pub key_signature: Vec<u8>,
    pub change_signature: Vec<u8>,
}

/// A valid Ed25519 identity key, a contributory X25519 key, and the identity's signature over it.
fn check_keys(identity: &[u8; 32], encryption: &[u8; 32], sig: &[u8]) -> Result<(), VaultError> {
    crate::crypto::keys::verifying_key(identity)
        .map_err(|_| VaultError::bad("bad_key", "the identity key is not a valid Ed25519 key"))?;
    crate::crypto::keys::check_x25519_public(encryption)
        .map_err(|_| VaultError::bad("bad_key", "the encryption key is a low-order point"))?;
    sign::verify_org_key(identity, encryption, sig)?;
    Ok(())
}

pub struct NewOrg {
    pub org_id: OrgId,
    pub name: String,
    pub ed25519_public: [u8; 32],
    pub x25519_public: [u8; 32],
    pub key_signature: Vec<u8>,
}

impl Vault {
    /// Registers an organization without controller details (tests and benchmarks; the HTTP
    /// API always requires them, see [`Vault::register_org_with`]).
    pub async fn register_org(&self, o: NewOrg) -> Result<(OrgRecord, Appended), VaultError> {
        self.register_org_with(o, None).await
    }

    /// Registers an organization after checking that its identity key signed its encryption key
    /// and that its controller details are well-formed. The details are stored with the org
    /// (not in the ledger: they are the operator's registration, not keys a device trusts).
    pub async fn register_org_with(
        &self,
        o: NewOrg,
        controller: Option<ControllerDetails>,
    ) -> Result<(OrgRecord, Appended), VaultError> {
        let controller = controller.map(ControllerDetails::checked).transpose()?;
        let name = o.name.trim().to_owned();
        if name.is_empty()
            || name.chars().count() > 120
            || !name
                .chars()
                .all(|c| crate::domain::catalog::is_plain_text_char(c, false))
        {
            return Err(VaultError::bad(
                "bad_name",
                "an organization name is 1–120 characters of text, without control or format \
                 characters (such as bidi overrides or zero-width characters)",
            ));
        }
        check_keys(&o.ed25519_public, &o.x25519_public, &o.key_signature)?;
        let now = self.now();
        let record = OrgRecord {
            org_id: o.org_id,
            name,
            ed25519_public: o.ed25519_public,
            x25519_public: o.x25519_public,
            key_signature: o.key_signature,
            created_at: now,
            controller,
            webhooks: Vec::new(),
        };
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                if tx.org(&record.org_id)?.is_some() {
                    return Err(VaultError::conflict(
                        "org_exists",
                        format!("{} is already registered", record.org_id),
                    ));
                }
                tx.put_org(&record)?;
                let appended = tx.append(
                    &Event::OrgRegistered {
                        org_id: record.org_id.clone(),
                        name: record.name.clone(),
                        key_seq: 1,
                        identity_key: record.ed25519_public,
                        encryption_key: record.x25519_public,
                        key_signature: record.key_signature.clone(),
                        at: now,
                    },
                    nonce,
                )?;
                Ok((record, appended))
            })
            .await
    }

    /// Replaces an organization's keys. The change must be signed by its current identity key
    /// (the organization's own act: the operator cannot make one) and names the next `key_seq`;
    /// the new identity key must sign the new encryption key. Logged as `org_keys_changed`.
    pub async fn change_org_keys(
        &self,
        org: OrgId,
        c: KeyChange,
    ) -> Result<(u64, Appended), VaultError> {
        check_keys(&c.identity_key, &c.encryption_key, &c.key_signature)?;
        let now = self.now();
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut record = tx.org(&org)?.ok_or_else(|| {
                    VaultError::not_found("org_not_found", format!("no organization {org}"))
                })?;
                let key_seq = tx.org_key_event_indexes(&org)?.len() as u64 + 1;
                let change = sign::OrgKeyChange {
                    org_id: org.as_str(),
                    key_seq,
                    identity_key: c.identity_key,
                    encryption_key: c.encryption_key,
                };
                sign::verify_org_key_change(&record.ed25519_public, &change, &c.change_signature)
                    .map_err(|_| {
                    VaultError::bad(
                        "bad_change_signature",
                        format!(
                            "change_signature must be the current identity key's signature \
                                 over the change to key_seq {key_seq}"
                        ),
                    )
                })?;
                let previous = record.ed25519_public;
                record.ed25519_public = c.identity_key;
                record.x25519_public = c.encryption_key;
                record.key_signature = c.key_signature.clone();
                tx.put_org(&record)?;
                let appended = tx.append(
                    &Event::OrgKeysChanged {
                        org_id: org.clone(),
                        key_seq,
                        identity_key: c.identity_key,
                        encryption_key: c.encryption_key,
                        key_signature: c.key_signature,
                        previous_identity_key: previous,
                        change_signature: c.change_signature,
                        at: now,
                    },
                    nonce,
                )?;
                Ok((key_seq, appended))
            })
            .await
    }

    /// Sets an organization's controller details: for one registered before they existed, or
    /// when they change (receipts state the details current when they are issued). With
    /// `only_if_missing`, details already set are kept (the demo organization at start-up).
    pub async fn set_org_controller(
        &self,
        org: OrgId,
        details: ControllerDetails,
        only_if_missing: bool,
    ) -> Result<OrgRecord, VaultError> {
        let details = details.checked()?;
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut record = tx.org(&org)?.ok_or_else(|| {
                    VaultError::not_found("org_not_found", format!("no organization {org}"))
                })?;
                if !only_if_missing || record.controller.is_none() {
                    record.controller = Some(details);
                    tx.put_org(&record)?;
                }
                Ok(record)
            })
            .await
    }

    pub fn org(&self, id: &OrgId) -> Result<OrgRecord, VaultError> {
        self.store()
            .read()?
            .org(id)?
            .ok_or_else(|| VaultError::not_found("org_not_found", format!("no organization {id}")))
    }

    /// Like [`Vault::org`], but `None` instead of an error.
    pub fn find_org(&self, id: &OrgId) -> Result<Option<OrgRecord>, VaultError> {
        Ok(self.store().read()?.org(id)?)
    }
}

impl Vault {
    /// Records a client assertion's `jti` (RFC 7523 §3: the server may refuse replays);
    /// false if it was used before and has not expired.
    pub async fn use_assertion_jti(
        &self,
        org: &OrgId,
        jti: &str,
        exp: i64,
    ) -> Result<bool, VaultError> {
        let key = format!("{org}\n{jti}");
        let now = crate::clock::now().unix();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| Ok::<_, VaultError>(tx.use_jti(&key, exp, now)?))
            .await
    }
}
