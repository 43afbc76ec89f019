//! Grants: listings, details, revocation, consent receipts.

use crate::crypto::b64::serde_bytes;
use crate::domain::catalog::Label;
use crate::domain::grant::{GrantState, GrantTerms};
use crate::domain::ids::RequestId;
use crate::domain::time::Timestamp;
use crate::wire::ledger::LedgerRef;
use crate::wire::schema::{Base64Url, Base64Url64};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A grant: the signed terms (flattened), the customer's signature and the vault's bookkeeping.
/// A device believes the terms only after checking the signature with its own key and finding
/// the `grant_created` entry in its verified ledger (`client::customer::Device::checked_grant`);
/// `state`, `reads`, `created_at`, `revoked_at` and `org_name` are the vault's word.
#[derive(Serialize, ToSchema, Debug)]
pub struct GrantView {
    #[serde(flatten)]
    pub terms: GrantTerms,
    /// The customer's Ed25519 signature over the terms.
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub signature: Vec<u8>,
    pub request_id: RequestId,
    pub state: GrantState,
    /// Reads made under this grant.
    pub reads: u32,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Timestamp)]
    pub revoked_at: Option<Timestamp>,
    /// Ledger index of the `grant_created` entry.
    pub ledger_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub org_name: Option<String>,
    /// The customer's erasure request under this grant, if any (display: the device checks
    /// its ledger entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erasure: Option<crate::wire::erasure::ErasureView>,
}

/// The fields of a listed grant that the customer signed (wire v2): read apart from the vault's
/// bookkeeping, since the signed terms refuse unknown fields.
const SIGNED_GRANT_FIELDS: [&str; 9] = [
    "grant_id",
    "customer_id",
    "org_id",
    "org_identity_key",
    "org_encryption_key",
    "labels",
    "purposes",
    "not_after",
    "max_reads",
];

impl<'de> Deserialize<'de> for GrantView {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        use serde_json::Value;
        let mut all = serde_json::Map::<String, Value>::deserialize(d)?;
        let mut signed = serde_json::Map::new();
        for k in SIGNED_GRANT_FIELDS {
            if let Some(v) = all.remove(k) {
                signed.insert(k.to_owned(), v);
            }
        }
        #[derive(Deserialize)]
        struct Rest {
            #[serde(with = "serde_bytes")]
            signature: Vec<u8>,
            request_id: RequestId,
            state: GrantState,
            reads: u32,
            created_at: Timestamp,
            #[serde(default)]
            revoked_at: Option<Timestamp>,
            ledger_index: u64,
            #[serde(default)]
            org_name: Option<String>,
            #[serde(default)]
            erasure: Option<crate::wire::erasure::ErasureView>,
        }
        let terms: GrantTerms =
            serde_json::from_value(Value::Object(signed)).map_err(D::Error::custom)?;
        let r: Rest = serde_json::from_value(Value::Object(all)).map_err(D::Error::custom)?;
        Ok(Self {
            terms,
            signature: r.signature,
            request_id: r.request_id,
            state: r.state,
            reads: r.reads,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            ledger_index: r.ledger_index,
            org_name: r.org_name,
            erasure: r.erasure,
        })
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct GrantDetail {
    #[serde(flatten)]
    pub grant: GrantView,
    /// Labels for which the organization still holds a wrapped key (empty once revoked).
    #[schema(value_type = Vec<Label>)]
    pub wrapped_labels: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Revoked {
    pub grant: GrantView,
    pub ledger: LedgerRef,
    /// Said plainly, every time: revocation stops future reads only.
    #[schema(value_type = String)]
    pub note: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct SignedDocument {
    #[schema(value_type = Object)]
    pub receipt: serde_json::Value,
    /// Ed25519 by the vault over `assent/v1/consent-receipt\n` ‖ JCS(receipt), base64url.
    #[schema(value_type = Base64Url64)]
    pub signature: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Receipts {
    /// Kantara Initiative Consent Receipt v1.1 (`KI-CR-v1.1.0`), valid against the working
    /// group's JSON schema.
    pub kantara: SignedDocument,
    /// ISO/IEC TS 27560 consent record, DPV profile (`dpv-27560:record`), JSON-LD with the
    /// vault's context at `/v1/ld/consent-v1.jsonld`.
    pub iso27560: SignedDocument,
    /// The vault's verifier key (C2SP signed-note form) that made the signatures.
    pub vault_key: String,
}
