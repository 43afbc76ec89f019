//! Key types: X25519 (HPKE recipient, RFC 7748 / RFC 9180) and Ed25519 (RFC 8032).

use rand::Rng as _;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::error::CryptoError;

pub use ed25519_dalek::{SigningKey, VerifyingKey};

/// An X25519 private key. Zeroized on drop (`StaticSecret` is `ZeroizeOnDrop`);
/// `Debug` shows only the public key.
///
/// Invariant: holds the raw 32 bytes as given; X25519 clamps at use, so the
/// public key is the same as the HPKE crate computes from these bytes.
#[derive(Clone)]
pub struct X25519Secret(StaticSecret);

impl X25519Secret {
    /// A fresh random key from the thread CSPRNG.
    pub fn generate() -> Self {
        Self(StaticSecret::random_from_rng(&mut rand::rng()))
    }

    /// Loads a key from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = Zeroizing::new(bytes);
        Self(StaticSecret::from(std::mem::take(&mut *bytes)))
    }

    /// The matching public key.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }

    /// The raw private bytes, in a zeroizing buffer.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }
}

impl std::fmt::Debug for X25519Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X25519Secret")
            .field("public", &super::b64::encode(&self.public()))
            .finish_non_exhaustive()
    }
}

/// A fresh random Ed25519 signing key.
pub fn generate_signing_key() -> SigningKey {
    SigningKey::generate(&mut rand::rng())
}

/// Parses an Ed25519 public key; refuses encodings that are not a curve point.
pub fn verifying_key(bytes: &[u8; 32]) -> Result<VerifyingKey, CryptoError> {
    VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::BadKey)
}

/// Refuses an X25519 public key that is low-order (RFC 7748 §6.1: the shared secret with any
/// peer would be all zeros), so nothing can be wrapped to a key no one can open.
pub fn check_x25519_public(bytes: &[u8; 32]) -> Result<(), CryptoError> {
    let probe = X25519Secret::generate();
    let shared = x25519_dalek::StaticSecret::from(*probe.to_bytes())
        .diffie_hellman(&x25519_dalek::PublicKey::from(*bytes));
    if shared.was_contributory() {
        Ok(())
    } else {
        Err(CryptoError::BadKey)
    }
}

/// `N` random bytes from the thread CSPRNG (nonces, salts; for secrets the caller
/// must wrap the result in `Zeroizing`).
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    out
}
