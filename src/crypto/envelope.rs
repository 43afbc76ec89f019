//! Envelope payload encryption: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha,
//! RFC 8439 AEAD) under a random per-envelope data key, 24-byte random nonce.

use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use rand::Rng as _;
use zeroize::Zeroizing;

use super::error::CryptoError;
use super::keys::random_array;

/// Length of the Poly1305 tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;
/// Length of an XChaCha20 nonce.
pub const NONCE_LEN: usize = 24;

/// A 32-byte data encryption key (DEK). Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *key);
        Self(key)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// AAD binding a payload to its owner, envelope, version, label and content type (wire v2):
/// `"assent/v2/envelope\n" customer_id "\n" envelope_id "\n" version "\n" label "\n"
/// content_type`, the content type exactly as stored and served.
///
/// Invariant (enforced by the domain's id rules and `check_content_type`): ids and content
/// types contain no '\n', so the encoding is unambiguous.
pub fn envelope_aad(
    customer_id: &str,
    envelope_id: &str,
    version: u64,
    label: &str,
    content_type: &str,
) -> Vec<u8> {
    format!("assent/v2/envelope\n{customer_id}\n{envelope_id}\n{version}\n{label}\n{content_type}")
        .into_bytes()
}

/// A sealed payload: ciphertext includes the 16-byte tag at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedPayload {
    pub nonce: [u8; 24],
    pub ciphertext: Vec<u8>,
}

/// Seals `plaintext` under `key` with a fresh random nonce.
pub fn seal_payload(
    key: &DataKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<SealedPayload, CryptoError> {
    let nonce = random_array::<NONCE_LEN>();
    let ciphertext = xchacha_seal(key.as_bytes(), &nonce, aad, plaintext)?;
    Ok(SealedPayload { nonce, ciphertext })
}

/// Opens a payload; the plaintext comes back in a zeroizing buffer.
pub fn open_payload(
    key: &DataKey,
    aad: &[u8],
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    xchacha_open(key.as_bytes(), nonce, aad, ciphertext)
}

/// XChaCha20-Poly1305 seal. The buffer is allocated once with room for the tag,
/// so no copy of the plaintext is left behind by a reallocation.
pub(crate) fn xchacha_seal(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| CryptoError::BadKey)?;
    let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
    buf.extend_from_slice(plaintext);
    let mut buf = Zeroizing::new(buf);
    cipher
        .encrypt_in_place(&XNonce::from(*nonce), aad, &mut *buf)
        .map_err(|_| CryptoError::Encrypt)?;
    Ok(std::mem::take(&mut *buf))
}

/// XChaCha20-Poly1305 open into a zeroizing buffer.
pub(crate) fn xchacha_open(
    key: &[u8; 32],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::BadLength {
        what: "nonce",
        expected: NONCE_LEN,
        got: nonce.len(),
    })?;
    if ciphertext.len() < TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| CryptoError::BadKey)?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(&nonce, aad, &mut *buf)
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(buf)
}
