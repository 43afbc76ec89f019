//! Organizations: public identity, tokens, the read, key changes.

use crate::crypto::b64::{serde_array, serde_array_vec, serde_bytes};
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::{Label, Purpose};
use crate::domain::controller::ControllerDetails;
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId};
use crate::domain::time::Timestamp;
use crate::wire::ledger::LedgerRef;
use crate::wire::schema::{Base64Url, Base64Url24, Base64Url32, Base64Url64};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An organization's public identity, as the vault describes it. Display only: a device takes
/// an organization's keys from its verified key log (`GET /v1/orgs/{id}/keys`, checked by
/// `client::verify::org_key_log`), computes the fingerprint itself, and refuses a description
/// that contradicts the log (`client::customer::Device::approve`).
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct OrgInfo {
    pub org_id: OrgId,
    pub name: String,
    /// The identity key (Ed25519).
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub ed25519_public: [u8; 32],
    /// The encryption key (X25519) data keys are wrapped to.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub x25519_public: [u8; 32],
    /// Identity over `assent/v1/org-key\n` ‖ x25519_public.
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub key_signature: Vec<u8>,
    /// Of the identity key, for people to compare.
    pub fingerprint: String,
    /// The organization's controller details (legal name, address, contacts, privacy policy,
    /// jurisdiction) as the operator registered them. The operator's claims: the vault checks
    /// their form only, they are not in the ledger, and no client can verify them; show them
    /// as "registered by the vault operator". Absent for an organization registered before
    /// they existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub controller: Option<crate::domain::controller::ControllerDetails>,
}

/// RFC 6749 §4.4 client credentials with an RFC 7523 `private_key_jwt` client assertion.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct TokenForm {
    /// `client_credentials` (`unsupported_grant_type` otherwise).
    #[serde(default)]
    #[schema(required = true, schema_with = crate::wire::schema::grant_type_schema)]
    pub grant_type: String,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[serde(default)]
    #[schema(required = true, schema_with = crate::wire::schema::client_assertion_type_schema)]
    pub client_assertion_type: String,
    /// EdDSA JWT: iss = sub = org id, aud = `<public url>/v1/oauth/token`, exp ≤ 5 min, unique jti.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 8192)]
    pub client_assertion: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct TokenAnswer {
    /// The organization token (EdDSA JWT) for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

/// The wire format of an organization read (see README, "Wire format"). Checked by
/// `client::org::OrgClient::read`: customer, label and purpose must be what was asked; the wrap
/// info and AAD are built from what was asked (so an answer about anything else does not open);
/// the receipt must verify under the PINNED vault key (not `receipt.vault_key`, which is display
/// only) and name the answer's ledger entry.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ReadResponse {
    pub customer_id: CustomerId,
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub content_type: String,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url24)]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub ciphertext: Vec<u8>,
    pub wrap: Wrap,
    pub grant_id: GrantId,
    pub purpose: Purpose,
    pub ledger: LedgerRef,
    /// Proof the access was logged: the read's place in a batch the vault signed.
    pub receipt: ReadReceipt,
}

/// Proof that a read was logged (wire v2): the vault signs each committed batch once, and each
/// read gets the inclusion proof of its leaf in that batch. The org client checks it against
/// the pinned vault key (`ledger::receipt::verify_access_receipt`).
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ReadReceipt {
    pub index: u64,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub leaf: [u8; 32],
    pub batch: ReceiptBatch,
    /// RFC 9162 inclusion proof of `index − batch.first` in a tree of `batch.size` leaves.
    #[serde(with = "serde_array_vec")]
    #[schema(value_type = Vec<Base64Url32>)]
    pub path: Vec<[u8; 32]>,
    /// The signing key, in C2SP signed-note verifier form (display: clients verify with the key
    /// they pinned).
    pub vault_key: String,
}

/// The batch a read was committed in, as the vault signed it.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ReceiptBatch {
    /// Ledger index of the batch's first entry.
    pub first: u64,
    /// How many entries the batch appended.
    pub size: u64,
    /// RFC 9162 tree hash over the batch's leaves (leaf hash `SHA-256(0x00 ‖ leaf)`).
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub root: [u8; 32],
    /// When the batch was sealed (signed as given).
    #[schema(value_type = Timestamp)]
    pub time: String,
    /// Ed25519 by the vault key over `assent/v2/receipt-batch\n` first `\n` size `\n`
    /// base64url(root) `\n` time.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url64)]
    pub signature: [u8; 64],
}

impl ReceiptBatch {
    pub fn new(head: &crate::ledger::receipt::BatchHead, signature: [u8; 64]) -> Self {
        Self {
            first: head.first,
            size: head.size,
            root: head.root,
            time: head.time.clone(),
            signature,
        }
    }

    /// The signed head.
    pub fn head(&self) -> crate::ledger::receipt::BatchHead {
        crate::ledger::receipt::BatchHead {
            first: self.first,
            size: self.size,
            root: self.root,
            time: self.time.clone(),
        }
    }
}

/// An organization's new keys, with its current identity key's signature over the change.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct KeyChangeBody {
    /// The new Ed25519 identity key.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub identity_key: [u8; 32],
    /// The new X25519 encryption key.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub encryption_key: [u8; 32],
    /// The NEW identity key over `assent/v1/org-key\n` ‖ encryption_key.
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub key_signature: Vec<u8>,
    /// The CURRENT identity key over `assent/v2/org-key-change\n` ‖
    /// JCS({org_id, key_seq, identity_key, encryption_key}), key_seq being the next one.
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub change_signature: Vec<u8>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct KeysChanged {
    pub org_id: OrgId,
    /// The position of these keys in the organization's key log (1 = registration).
    pub key_seq: u64,
    pub ledger: LedgerRef,
}
#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub org_id: OrgId,
    pub name: String,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub ed25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub x25519_public: [u8; 32],
    /// Ed25519 (identity key) over `assent/v1/org-key\n` ‖ x25519_public.
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub key_signature: Vec<u8>,
    /// The controller details consent receipts state: `legal_name`, `address`
    /// (`street_address`, `locality`, optional `region` and `postal_code`, `country` ISO 3166-1
    /// alpha-2), `email`, `phone` (E.164), `privacy_policy_url` (https) and `jurisdiction`
    /// (ISO 3166-1 alpha-2 or `EU`).
    #[schema(value_type = Object)]
    pub controller: ControllerDetails,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Registered {
    #[serde(flatten)]
    pub org: OrgInfo,
    pub ledger: LedgerRef,
}
