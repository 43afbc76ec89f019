//! Ed25519 signatures (RFC 8032) over domain-separated messages:
//! grants (over RFC 8785 JCS bytes) and organization key bindings.

use ed25519_dalek::{Signature, Signer as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::error::CryptoError;
use super::keys::{SigningKey, verifying_key};

const GRANT_PREFIX: &[u8] = b"assent/v2/grant\n";
const ORG_KEY_PREFIX: &[u8] = b"assent/v1/org-key\n";
const ORG_KEY_CHANGE_PREFIX: &[u8] = b"assent/v2/org-key-change\n";

/// RFC 8785 JSON Canonicalization Scheme bytes of `value`.
pub fn jcs<T: Serialize>(value: &T) -> Result<Vec<u8>, CryptoError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CryptoError::Encoding(e.to_string()))
}

/// The signed message of a grant (wire v2): `"assent/v2/grant\n" ‖ JCS(grant)`.
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

/// What an organization's previous identity key signs to change its keys.
#[derive(Serialize)]
pub struct OrgKeyChange<'a> {
    pub org_id: &'a str,
    pub key_seq: u64,
    #[serde(with = "super::b64::serde_array")]
    pub identity_key: [u8; 32],
    #[serde(with = "super::b64::serde_array")]
    pub encryption_key: [u8; 32],
}

/// `"assent/v2/org-key-change\n" ‖ JCS({org_id, key_seq, identity_key, encryption_key})`.
pub fn org_key_change_message(change: &OrgKeyChange<'_>) -> Result<Vec<u8>, CryptoError> {
    Ok([ORG_KEY_CHANGE_PREFIX, &jcs(change)?].concat())
}

/// Signs a key change with the organization's previous identity key.
pub fn sign_org_key_change(
    previous: &SigningKey,
    change: &OrgKeyChange<'_>,
) -> Result<[u8; 64], CryptoError> {
    Ok(previous.sign(&org_key_change_message(change)?).to_bytes())
}

/// Verifies a key change against the previous identity key.
pub fn verify_org_key_change(
    previous_identity: &[u8; 32],
    change: &OrgKeyChange<'_>,
    signature: &[u8],
) -> Result<(), CryptoError> {
    verify_signature(
        previous_identity,
        &org_key_change_message(change)?,
        signature,
    )
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

/// Whether `given` (as a person typed or pasted it: any case, with or without spaces) is the
/// fingerprint of `public`: exactly 32 hex digits once white space is removed, compared as the
/// 16 bytes they spell.
pub fn fingerprint_matches(public: &[u8; 32], given: &str) -> bool {
    let hex: String = given.chars().filter(|c| !c.is_whitespace()).collect();
    let digest = Sha256::digest(public);
    hex.len() == 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && (0..16)
            .all(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).is_ok_and(|b| b == digest[i]))
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
