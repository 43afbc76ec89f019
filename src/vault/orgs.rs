//! Organizations: registered by an operator, identified by an Ed25519 key that also signs their
//! X25519 encryption key.

use super::{Vault, VaultError, random_nonce};
use crate::crypto::sign;
use crate::domain::ids::OrgId;
use crate::ledger::Event;
use crate::store::ledger_tx::Appended;
use crate::store::records::OrgRecord;
use crate::store::tables::ORGS;
use crate::store::{Reads, Tx};

pub struct NewOrg {
    pub org_id: OrgId,
    pub name: String,
    pub ed25519_public: [u8; 32],
    pub x25519_public: [u8; 32],
    pub key_signature: Vec<u8>,
}

impl Vault {
    /// Registers an organization after checking that its identity key signed its encryption key.
    pub async fn register_org(&self, o: NewOrg) -> Result<(OrgRecord, Appended), VaultError> {
        let name = o.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
            return Err(VaultError::bad(
                "bad_name",
                "an organization name is 1–120 characters of text",
            ));
        }
        crate::crypto::keys::verifying_key(&o.ed25519_public)
            .map_err(|_| VaultError::bad("bad_key", "ed25519_public is not a valid Ed25519 key"))?;
        crate::crypto::keys::check_x25519_public(&o.x25519_public)
            .map_err(|_| VaultError::bad("bad_key", "x25519_public is a low-order point"))?;
        sign::verify_org_key(&o.ed25519_public, &o.x25519_public, &o.key_signature)?;
        let now = Self::now();
        let record = OrgRecord {
            org_id: o.org_id,
            name,
            ed25519_public: o.ed25519_public,
            x25519_public: o.x25519_public,
            key_signature: o.key_signature,
            created_at: now,
        };
        let nonce = random_nonce();
        self.store()
            .writer()
            .run(move |tx: &mut Tx<'_>| {
                if tx
                    .get_json::<_, OrgRecord>(ORGS, record.org_id.as_str())?
                    .is_some()
                {
                    return Err(VaultError::conflict(
                        "org_exists",
                        format!("{} is already registered", record.org_id),
                    ));
                }
                tx.put_json(ORGS, record.org_id.as_str(), &record)?;
                let appended = tx.append(
                    &Event::OrgRegistered {
                        org_id: record.org_id.clone(),
                        at: now,
                    },
                    nonce,
                )?;
                Ok((record, appended))
            })
            .await
    }

    pub fn org(&self, id: &OrgId) -> Result<OrgRecord, VaultError> {
        self.store()
            .read()?
            .get_json(ORGS, id.as_str())?
            .ok_or_else(|| VaultError::not_found("org_not_found", format!("no organization {id}")))
    }

    /// Like [`Vault::org`], but `None` instead of an error.
    pub fn find_org(&self, id: &OrgId) -> Result<Option<OrgRecord>, VaultError> {
        Ok(self.store().read()?.get_json(ORGS, id.as_str())?)
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
        let now = Self::now().unix();
        self.store()
            .writer()
            .run(move |tx: &mut Tx<'_>| Ok::<_, VaultError>(tx.use_jti(&key, exp, now)?))
            .await
    }
}
