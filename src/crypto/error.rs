//! The one error type of the crypto layer. Messages never contain secret bytes.

/// Why a cryptographic operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Input was not strict base64url without padding.
    #[error("invalid base64url (expected URL-safe alphabet, no padding)")]
    BadBase64,
    /// A binary field had the wrong length.
    #[error("{what} must be {expected} bytes, got {got}")]
    BadLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// AEAD or HPKE open failed: wrong key, wrong context, or tampered data.
    #[error("decryption failed (wrong key, wrong context or tampered data)")]
    Decrypt,
    /// An Ed25519 signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A public key was malformed or unusable (e.g. a low-order point).
    #[error("invalid or unusable key")]
    BadKey,
    /// KDF parameters are outside the accepted range.
    #[error("key derivation parameters refused: {0}")]
    WeakKdfParams(String),
    /// The KDF itself failed.
    #[error("key derivation failed: {0}")]
    Kdf(String),
    /// Serialization (JSON/JCS) failed.
    #[error("encoding failed: {0}")]
    Encoding(String),
    /// A versioned structure carried a version this code does not know.
    #[error("unsupported {what} version {got}")]
    UnsupportedVersion { what: &'static str, got: u64 },
    /// Encryption (AEAD seal or HPKE encapsulation) failed.
    #[error("encryption failed")]
    Encrypt,
}
