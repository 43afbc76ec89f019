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
const ERASURE_ANSWER_PREFIX: &[u8] = b"assent/v2/erasure-answer\n";

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

/// `"assent/v2/erasure-answer\n" ‖ JCS(statement)`: what an organization signs to answer an
/// erasure request.
pub fn erasure_answer_message(
    statement: &crate::domain::erasure::AnswerStatement<'_>,
) -> Result<Vec<u8>, CryptoError> {
    Ok([ERASURE_ANSWER_PREFIX, &jcs(statement)?].concat())
}

/// Signs an erasure answer with the organization's identity key.
pub fn sign_erasure_answer(
    identity: &SigningKey,
    statement: &crate::domain::erasure::AnswerStatement<'_>,
) -> Result<[u8; 64], CryptoError> {
    Ok(identity
        .sign(&erasure_answer_message(statement)?)
        .to_bytes())
}

/// Verifies an erasure answer against the identity key that signed it.
pub fn verify_erasure_answer(
    identity: &[u8; 32],
    statement: &crate::domain::erasure::AnswerStatement<'_>,
    signature: &[u8],
) -> Result<(), CryptoError> {
    verify_signature(identity, &erasure_answer_message(statement)?, signature)
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

/// Whether `given` (as a person typed or pasted it) is the fingerprint of `public`: either its
/// 12 words ([`fingerprint_words`], any case, separated by white space) or exactly 32 hex
/// digits once white space is removed (any case), compared as the 16 bytes they spell.
pub fn fingerprint_matches(public: &[u8; 32], given: &str) -> bool {
    let words: Vec<String> = given.split_whitespace().map(str::to_lowercase).collect();
    if words.len() == 12 {
        return fingerprint_words(public)
            .split(' ')
            .eq(words.iter().map(String::as_str));
    }
    let hex: String = given.chars().filter(|c| !c.is_whitespace()).collect();
    let digest = Sha256::digest(public);
    hex.len() == 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && (0..16)
            .all(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).is_ok_and(|b| b == digest[i]))
}

/// The fingerprint as people compare it: the 12-word BIP-39 English mnemonic of its 16 bytes
/// (128 bits and a 4-bit checksum), e.g. what an organization prints on its website and the
/// page shows next to its name. Same bytes as [`fingerprint`], easier to read aloud.
pub fn fingerprint_words(public: &[u8; 32]) -> String {
    let digest = Sha256::digest(public);
    // 16 bytes is a valid BIP-39 entropy length, so this cannot fail; an empty string would
    // match nothing.
    bip39::Mnemonic::from_entropy_in(bip39::Language::English, &digest[..16])
        .map(|m| m.to_string())
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_words_are_the_bip39_mnemonic_of_the_fingerprint() {
        // BIP-39's first English test vector: sixteen zero bytes.
        let zero = bip39::Mnemonic::from_entropy_in(bip39::Language::English, &[0u8; 16])
            .unwrap()
            .to_string();
        assert_eq!(
            zero,
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon about"
        );
        let key = [7u8; 32];
        let words = fingerprint_words(&key);
        assert_eq!(words.split(' ').count(), 12);
        assert!(fingerprint_matches(&key, &words));
        assert!(fingerprint_matches(
            &key,
            &words.to_uppercase().replace(' ', "\n  ")
        ));
        assert!(fingerprint_matches(&key, &fingerprint(&key)));
        let mut swapped: Vec<&str> = words.split(' ').collect();
        swapped.swap(0, 11);
        if swapped[0] != swapped[11] {
            assert!(!fingerprint_matches(&key, &swapped.join(" ")));
        }
        assert!(!fingerprint_matches(&[8u8; 32], &words));
    }
}
