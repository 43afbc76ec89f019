//! Access receipts: the vault's Ed25519 (RFC 8032) signature over the ledger entry of an
//! organization read, returned with the envelope so the reader can later prove the read was
//! recorded (DESIGN.md, promise 2).
//!
//! The signed message is the UTF-8 of
//! `"assent/v1/receipt\n" ‖ decimal(index) ‖ "\n" ‖ base64url_nopad(leaf) ‖ "\n" ‖ time`.
//! `time` is last, so the message is unambiguous whatever it holds; it is signed as given.
//!
//! Pure: no I/O, no clock (the time is a parameter).

use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};

use super::error::LedgerError;
use super::merkle::Hash;
use crate::crypto::{b64, verify_signature};

/// Domain-separation prefix of receipt messages.
pub const RECEIPT_PREFIX: &str = "assent/v1/receipt\n";

/// The ledger entry a receipt vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessReceipt {
    /// Index of the `read` entry in the ledger.
    pub index: u64,
    /// The entry's leaf commitment (before the RFC 9162 `0x00` leaf prefix).
    #[serde(with = "b64::serde_array")]
    pub leaf: Hash,
    /// When the read was recorded, RFC 3339, exactly as it is signed.
    pub time: String,
}

/// The exact bytes signed for `receipt`.
pub fn receipt_message(receipt: &AccessReceipt) -> Vec<u8> {
    format!(
        "{RECEIPT_PREFIX}{}\n{}\n{}",
        receipt.index,
        b64::encode(&receipt.leaf),
        receipt.time
    )
    .into_bytes()
}

/// Signs a receipt with the vault key (deterministic Ed25519, RFC 8032 §5.1.6).
pub fn sign_receipt(key: &SigningKey, receipt: &AccessReceipt) -> [u8; 64] {
    key.sign(&receipt_message(receipt)).to_bytes()
}

/// Verifies a receipt signature with strict Ed25519 verification (rejects non-canonical and
/// small-order encodings). Any failure, including a malformed key or signature, is
/// [`LedgerError::BadSignature`].
pub fn verify_receipt(
    public: &[u8; 32],
    receipt: &AccessReceipt,
    signature: &[u8],
) -> Result<(), LedgerError> {
    verify_signature(public, &receipt_message(receipt), signature)
        .map_err(|_| LedgerError::BadSignature)
}
