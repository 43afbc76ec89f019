//! Envelopes: summaries, the full envelope, writes and erasures.

use crate::crypto::b64::{serde_array, serde_bytes};
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::Label;
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId};
use crate::domain::time::Timestamp;
use crate::wire::ledger::LedgerRef;
use crate::wire::schema::{Base64Url, Base64Url24, Base64Url32, Base64Url48};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct EnvelopeSummary {
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    /// The plaintext's media type, as the device declared it.
    pub content_type: String,
    /// Ciphertext length in bytes.
    pub size: usize,
    /// A grant on this label was revoked: the device must re-encrypt under a new data key.
    pub rotation_pending: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An org that holds an active grant on this label. Display only: the device wraps each new data
/// key to the `org_encryption_key` of the grant it verified itself
/// (`client::customer::Device::checked_grant`), never to the keys listed here.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Recipient {
    pub grant_id: GrantId,
    pub org_id: OrgId,
    pub org_name: String,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub ed25519_public: [u8; 32],
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub key_signature: Vec<u8>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct EnvelopeFull {
    pub customer_id: CustomerId,
    #[serde(flatten)]
    pub summary: EnvelopeSummary,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url24)]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub ciphertext: Vec<u8>,
    pub owner_wrap: Wrap,
    pub recipients: Vec<Recipient>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct GrantWrapBody {
    pub grant_id: GrantId,
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url32)]
    pub enc: Vec<u8>,
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url48)]
    pub ct: Vec<u8>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PutBody {
    pub envelope_id: EnvelopeId,
    /// The stored version + 1 (1 for a new label).
    pub version: u64,
    /// `type/subtype` of the plaintext.
    pub content_type: String,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url24)]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub ciphertext: Vec<u8>,
    pub owner_wrap: Wrap,
    /// The new data key wrapped for exactly the active grants on the label.
    #[serde(default)]
    pub grant_wraps: Vec<GrantWrapBody>,
    /// True when re-encrypting under a new data key after a revocation.
    #[serde(default)]
    pub rotate: bool,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Written {
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub ledger: LedgerRef,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Erased {
    pub label: Label,
    pub erased: bool,
    pub ledger: LedgerRef,
}
