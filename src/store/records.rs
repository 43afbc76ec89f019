//! Stored records that are not pure domain values. Binary fields are base64url in JSON.

use crate::crypto::b64::{serde_array, serde_bytes};
use crate::crypto::bundle::SealedBundle;
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::Label;
use crate::domain::ids::{CustomerId, EnvelopeId, Handle, OrgId};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub customer_id: CustomerId,
    pub handle: Handle,
    /// Argon2id PHC string of the client's `auth` key; never the key itself.
    pub auth_phc: String,
    /// The private keys, sealed on the device under the passphrase.
    pub bundle: SealedBundle,
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRecord {
    pub org_id: OrgId,
    pub name: String,
    /// Identity key: verifies the org's client assertions and its encryption-key binding.
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
    /// HPKE recipient key for wraps.
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    /// Ed25519 (identity) over `assent/v1/org-key\n` ‖ x25519_public.
    #[serde(with = "serde_bytes")]
    pub key_signature: Vec<u8>,
    pub created_at: Timestamp,
    /// The controller details receipts state (the operator's registration, not verified by
    /// clients). Absent in organizations registered before they existed: an additive field,
    /// so schema version 2 files keep opening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<crate::domain::controller::ControllerDetails>,
    /// The organization's webhook endpoints (its own configuration, not logged; additive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<crate::domain::webhook::WebhookEndpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeRecord {
    pub customer_id: CustomerId,
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub content_type: String,
    #[serde(with = "serde_array")]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    /// The data key wrapped to the customer's own X25519 key (`grant_id` = `owner`).
    pub owner_wrap: Wrap,
    /// Set when a grant covering this label is revoked: the device must re-encrypt under a new
    /// data key so the revoked org's old wrap opens nothing new.
    pub rotation_pending: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The fields of a stored [`EnvelopeRecord`] that a write checks, decoded without the
/// ciphertext and wraps (serde skips them unparsed).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EnvelopeHead {
    pub envelope_id: EnvelopeId,
    pub version: u64,
    pub created_at: Timestamp,
}

/// A data key wrapped to an organization for one grant and one envelope version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantWrap {
    pub label: Label,
    pub envelope_id: EnvelopeId,
    pub version: u64,
    pub wrap: Wrap,
}
