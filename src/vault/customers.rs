//! Customer accounts: sign-up, the KDF parameters a device needs to unlock, and login.

use super::{Vault, VaultError, random_id_bytes, random_nonce};
use crate::crypto::bundle::{KdfParams, SealedBundle};
use crate::crypto::password;
use crate::domain::ids::{CustomerId, Handle};
use crate::ledger::Event;
use crate::store::records::CustomerRecord;
use crate::store::tables::{CUSTOMERS, HANDLES};
use crate::store::{Reads, Tx};
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

/// X25519 secret ‖ Ed25519 seed (64 bytes) plus the Poly1305 tag.
const SEALED_SECRETS_LEN: usize = 64 + 16;

pub struct Signup {
    pub handle: Handle,
    pub auth: Zeroizing<[u8; 32]>,
    pub bundle: SealedBundle,
    pub x25519_public: [u8; 32],
    pub ed25519_public: [u8; 32],
}

impl Vault {
    /// The KDF parameters (with salt) stored in the handle's key bundle. Unknown handles get
    /// stable decoy parameters, so this endpoint does not reveal who has an account.
    pub fn kdf_params(&self, handle: &Handle) -> Result<KdfParams, VaultError> {
        let view = self.store().read()?;
        if let Some(id) = view.get_str(HANDLES, handle.as_str())?
            && let Some(c) = view.get_json::<_, CustomerRecord>(CUSTOMERS, id.as_str())?
        {
            return Ok(c.bundle.kdf);
        }
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.decoy_key[..])
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        mac.update(b"assent/v1/decoy-salt\n");
        mac.update(handle.as_str().as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut salt = [0u8; 16];
        salt.copy_from_slice(tag.get(..16).unwrap_or(&[0u8; 16]));
        let mut params = KdfParams::new_default();
        params.salt = salt;
        Ok(params)
    }

    /// Registers a customer. The server receives only public keys, the sealed bundle and the
    /// login proof `auth`, of which it keeps only an Argon2id hash.
    pub async fn sign_up(&self, s: Signup) -> Result<CustomerRecord, VaultError> {
        s.bundle.kdf.validate()?;
        // The server cannot open the bundle, but it can refuse one no device could open.
        if s.bundle.v != crate::crypto::bundle::BUNDLE_VERSION {
            return Err(VaultError::bad(
                "bad_bundle",
                "unsupported key bundle version",
            ));
        }
        if s.bundle.ct.len() != SEALED_SECRETS_LEN {
            return Err(VaultError::bad(
                "bad_bundle",
                "the sealed key bundle has the wrong length",
            ));
        }
        crate::crypto::keys::verifying_key(&s.ed25519_public)
            .map_err(|_| VaultError::bad("bad_key", "ed25519_public is not a valid Ed25519 key"))?;
        crate::crypto::keys::check_x25519_public(&s.x25519_public)
            .map_err(|_| VaultError::bad("bad_key", "x25519_public is a low-order point"))?;
        let auth = s.auth.clone();
        let auth_phc = self
            .argon2(move || password::hash_auth(&auth[..]))
            .await??;
        let now = Self::now();
        let record = CustomerRecord {
            customer_id: CustomerId::from_random(random_id_bytes()),
            handle: s.handle,
            auth_phc,
            bundle: s.bundle,
            x25519_public: s.x25519_public,
            ed25519_public: s.ed25519_public,
            created_at: now,
        };
        let nonce = random_nonce();
        self.store()
            .writer()
            .run(move |tx: &mut Tx<'_>| {
                if tx.get_str(HANDLES, record.handle.as_str())?.is_some() {
                    return Err(VaultError::conflict(
                        "handle_taken",
                        "that handle is already taken",
                    ));
                }
                let id = record.customer_id.as_str();
                tx.put_json(CUSTOMERS, id, &record)?;
                tx.put_str(HANDLES, record.handle.as_str(), id)?;
                tx.append(
                    &Event::CustomerRegistered {
                        customer_id: record.customer_id.clone(),
                        at: now,
                    },
                    nonce,
                )?;
                Ok(record)
            })
            .await
    }

    /// Checks a login proof. Unknown handles cost the same Argon2id work and get the same error.
    pub async fn log_in(
        &self,
        handle: &Handle,
        auth: Zeroizing<[u8; 32]>,
    ) -> Result<CustomerRecord, VaultError> {
        let view = self.store().read()?;
        let record = match view.get_str(HANDLES, handle.as_str())? {
            Some(id) => view.get_json::<_, CustomerRecord>(CUSTOMERS, id.as_str())?,
            None => None,
        };
        let phc = record.as_ref().map(|r| r.auth_phc.clone());
        let ok = self
            .argon2(move || match phc {
                Some(phc) => password::verify_auth(&auth[..], &phc),
                None => {
                    password::dummy_verify(&auth[..]);
                    false
                }
            })
            .await?;
        match record {
            Some(r) if ok => Ok(r),
            _ => Err(VaultError::unauthorized(
                "bad_credentials",
                "the handle or passphrase is not right",
            )),
        }
    }

    pub fn customer(&self, id: &CustomerId) -> Result<CustomerRecord, VaultError> {
        self.store()
            .read()?
            .get_json(CUSTOMERS, id.as_str())?
            .ok_or_else(|| {
                VaultError::unauthorized("unknown_customer", "this account no longer exists")
            })
    }
}
