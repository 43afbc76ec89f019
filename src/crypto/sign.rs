//! Ed25519 signatures (RFC 8032) over domain-separated messages:
//! grants (over RFC 8785 JCS bytes) and organization key bindings.

use ed25519_dalek::{Signature, Signer as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::error::CryptoError;
use super::keys::{SigningKey, verifying_key};

const GRANT_PREFIX: &[u8] = b"assent/v1/grant\n";
const ORG_KEY_PREFIX: &[u8] = b"assent/v1/org-key\n";

/// RFC 8785 JSON Canonicalization Scheme bytes of `value`.
pub fn jcs<T: Serialize>(value: &T) -> Result<Vec<u8>, CryptoError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CryptoError::Encoding(e.to_string()))
}

/// The signed message of a grant: `"assent/v1/grant\n" ‖ JCS(grant)`.
pub fn grant_message(grant_jcs: &[u8]) -> Vec<u8> {
    [GRANT_PREFIX, grant_jcs].concat()
}

/// Signs a grant object (the customer's consent act).
pub fn sign_grant<T: Serialize>(key: &SigningKey, grant: &T) -> Result<[u8; 64], CryptoError> {
    let msg = grant_message(&jcs(grant)?);
    Ok(key.sign(&msg).to_bytes())
}

/// Verifies a grant signature against the customer's Ed25519 public key.
pub fn verify_grant<T: Serialize>(
    public: &[u8; 32],
    grant: &T,
    signature: &[u8],
) -> Result<(), CryptoError> {
    verify_signature(public, &grant_message(&jcs(grant)?), signature)
}

/// The signed message binding an org's X25519 key: `"assent/v1/org-key\n" ‖ key`.
pub fn org_key_message(x25519_public: &[u8; 32]) -> Vec<u8> {
    [ORG_KEY_PREFIX, x25519_public.as_slice()].concat()
}

/// Signs an organization's X25519 public key with its identity key.
pub fn sign_org_key(identity: &SigningKey, x25519_public: &[u8; 32]) -> [u8; 64] {
    identity.sign(&org_key_message(x25519_public)).to_bytes()
}

/// Verifies an organization's X25519 key binding.
pub fn verify_org_key(
    identity_public: &[u8; 32],
    x25519_public: &[u8; 32],
    signature: &[u8],
) -> Result<(), CryptoError> {
    verify_signature(identity_public, &org_key_message(x25519_public), signature)
}

/// Strict Ed25519 verification (`verify_strict`: rejects non-canonical and
/// small-order encodings, RFC 8032 §5.1.7 with cofactorless check).
pub fn verify_signature(
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let key = verifying_key(public)?;
    let sig = Signature::from_slice(signature).map_err(|_| CryptoError::BadLength {
        what: "signature",
        expected: 64,
        got: signature.len(),
    })?;
    key.verify_strict(message, &sig)
        .map_err(|_| CryptoError::BadSignature)
}

/// Human fingerprint of an identity key: first 16 bytes of SHA-256(key), lowercase
/// hex in groups of four characters, e.g. `"a1b2 c3d4 …"` (8 groups).
pub fn fingerprint(public: &[u8; 32]) -> String {
    let digest = Sha256::digest(public);
    let hex: Vec<String> = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    hex.chunks(2)
        .map(|pair| pair.concat())
        .collect::<Vec<_>>()
        .join(" ")
}
