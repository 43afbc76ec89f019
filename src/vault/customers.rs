//! Customer accounts: sign-up, the KDF parameters a device needs to unlock, and login.

use super::{Vault, VaultError, random_id_bytes, random_nonce};
use crate::crypto::bundle::{KdfParams, SealedBundle};
use crate::crypto::password;
use crate::domain::ids::{CustomerId, Handle};
use crate::ledger::Event;
use crate::store::customers::StoredCustomer;
use crate::store::prelude::*;
use crate::store::records::CustomerRecord;
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

/// X25519 secret ‖ Ed25519 seed (64 bytes) plus the Poly1305 tag.
const SEALED_SECRETS_LEN: usize = 64 + 16;

/// The server cannot open a sealed bundle, but it can refuse one no device could open.
pub(super) fn check_bundle(bundle: &SealedBundle) -> Result<(), VaultError> {
    bundle.kdf.validate()?;
    if bundle.v != crate::crypto::bundle::BUNDLE_VERSION {
        return Err(VaultError::bad(
            "bad_bundle",
            "unsupported key bundle version",
        ));
    }
    if bundle.ct.len() != SEALED_SECRETS_LEN {
        return Err(VaultError::bad(
            "bad_bundle",
            "the sealed key bundle has the wrong length",
        ));
    }
    Ok(())
}

pub use crate::store::customers::DECOY_CUSTOMER_KEY;

/// An Argon2id PHC string with the server verifier's parameters (those of
/// `password::hash_auth`) and an all-zero 32-byte hash that no `auth` value produces.
pub fn decoy_phc() -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        password::SERVER_M_KIB,
        password::SERVER_T,
        password::SERVER_P,
        "AAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
}

/// The stored form of a customer record carrying [`decoy_phc`], decoded in place of a real
/// one when the handle is unknown (made once).
fn decoy_record() -> Result<&'static StoredCustomer, VaultError> {
    static DECOY: std::sync::OnceLock<StoredCustomer> = std::sync::OnceLock::new();
    if let Some(b) = DECOY.get() {
        return Ok(b);
    }
    let record = CustomerRecord {
        customer_id: CustomerId::from_random([0u8; 16]),
        handle: Handle::parse("decoy")?,
        auth_phc: decoy_phc(),
        bundle: SealedBundle {
            v: crate::crypto::bundle::BUNDLE_VERSION,
            kdf: KdfParams::new_default(),
            nonce: [0u8; 24],
            ct: vec![0u8; SEALED_SECRETS_LEN],
        },
        x25519_public: [0u8; 32],
        ed25519_public: [0u8; 32],
        created_at: crate::clock::now(),
    };
    let stored = StoredCustomer::encode(&record)?;
    Ok(DECOY.get_or_init(|| stored))
}

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
        if let Some(c) = self.store().read()?.customer_by_handle(handle)? {
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
        check_bundle(&s.bundle)?;
        crate::crypto::keys::verifying_key(&s.ed25519_public)
            .map_err(|_| VaultError::bad("bad_key", "ed25519_public is not a valid Ed25519 key"))?;
        crate::crypto::keys::check_x25519_public(&s.x25519_public)
            .map_err(|_| VaultError::bad("bad_key", "x25519_public is a low-order point"))?;
        let auth = s.auth.clone();
        let auth_phc = self
            .argon2(move || password::hash_auth(&auth[..]))
            .await??;
        let now = self.now();
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
            .act(move |tx: &mut dyn Batch| {
                if tx.customer_id_by_handle(&record.handle)?.is_some() {
                    return Err(VaultError::conflict(
                        "handle_taken",
                        "that handle is already taken",
                    ));
                }
                tx.put_customer(&record)?;
                tx.reserve_handle(&record.handle, &record.customer_id)?;
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

    /// Checks a login proof. An unknown handle gets the same error after the same work, by
    /// construction: the code path has no branch on whether the handle exists until the answer.
    /// Both do (1)–(2) the store's `customer_for_login`: one handle lookup, one record lookup —
    /// of the stored id, or of [`DECOY_CUSTOMER_KEY`], which is never stored — and one decode
    /// of a customer record: the stored one, or a decoy record of the same shape; (3) one `password::verify_auth` against
    /// that record's PHC string: the customer's, or [`decoy_phc`], an Argon2id hash with the
    /// very parameters `password::hash_auth` uses (so the same memory, passes and output
    /// length) that no `auth` matches. Only then does "known and verified" pick the answer.
    pub async fn log_in(
        &self,
        handle: &Handle,
        auth: Zeroizing<[u8; 32]>,
    ) -> Result<CustomerRecord, VaultError> {
        let (record, known) = self
            .store()
            .read()?
            .customer_for_login(handle, decoy_record()?)?;
        let phc = record.auth_phc.clone();
        let verified = self
            .argon2(move || password::verify_auth(&auth[..], &phc))
            .await?;
        if known && verified {
            Ok(record)
        } else {
            Err(VaultError::unauthorized(
                "bad_credentials",
                "the handle or passphrase is not right",
            ))
        }
    }

    /// Whether the account exists (one lookup, not decoded).
    pub fn customer_exists(&self, id: &CustomerId) -> Result<bool, VaultError> {
        Ok(self.store().read()?.customer_exists(id)?)
    }

    pub fn customer(&self, id: &CustomerId) -> Result<CustomerRecord, VaultError> {
        self.store().read()?.customer(id)?.ok_or_else(|| {
            VaultError::unauthorized("unknown_customer", "this account no longer exists")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_costs_what_a_stored_one_does_and_matches_nothing() {
        let decoy = argon2::PasswordHash::new(&decoy_phc()).unwrap();
        let stored_phc = password::hash_auth(&[1u8; 32]).unwrap();
        let stored = argon2::PasswordHash::new(&stored_phc).unwrap();
        assert_eq!(decoy.algorithm, stored.algorithm);
        assert_eq!(decoy.version, stored.version);
        assert_eq!(decoy.params, stored.params);
        assert_eq!(decoy.hash.map(|h| h.len()), stored.hash.map(|h| h.len()));
        assert!(!password::verify_auth(&[1u8; 32], &decoy_phc()));
        assert!(!password::verify_auth(&[0u8; 32], &decoy_phc()));
        let record = decoy_record().unwrap().decode().unwrap();
        assert_eq!(record.auth_phc, decoy_phc());
    }
}
