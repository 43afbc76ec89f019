//! Access requests: created by organizations, answered by customers.

use crate::crypto::b64::serde_bytes;
use crate::domain::catalog::{Label, Purpose};
use crate::domain::grant::{GrantState, GrantTerms};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, Handle, RequestId};
use crate::domain::request::AccessRequest;
use crate::domain::time::Timestamp;
use crate::wire::grants::GrantView;
use crate::wire::ledger::LedgerRef;
use crate::wire::org::OrgInfo;
use crate::wire::schema::{Base64Url, Base64Url32, Base64Url48};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Exactly one of `customer_id` and `customer_handle`.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    #[serde(default)]
    pub customer_handle: Option<Handle>,
    /// 1–32 distinct labels.
    #[schema(value_type = Vec<Label>, min_items = 1)]
    pub labels: Vec<Label>,
    /// 1–8 distinct purposes.
    #[schema(value_type = Vec<Purpose>, min_items = 1)]
    pub purposes: Vec<Purpose>,
    /// The purposes the service needs (a subset of `purposes`; default none): the customer's
    /// grant must include them. The others the customer may leave out.
    #[serde(default)]
    pub required_purposes: Vec<Purpose>,
    /// How long the access would last (60 s to ten years).
    pub duration_secs: u64,
    /// Why, in words the customer reads (1–1000 characters).
    pub justification: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Created {
    #[serde(flatten)]
    pub request: AccessRequest,
    pub ledger: LedgerRef,
}

/// What the customer granted in answer to a request: exactly the signed terms, which may be
/// narrower than the request (fewer labels or purposes, less time, a read cap).
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Granted {
    pub grant_id: GrantId,
    pub labels: Vec<Label>,
    pub purposes: Vec<Purpose>,
    pub not_after: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_reads: Option<u32>,
    pub state: GrantState,
}

/// A request as its organization sees it, with what was granted once the customer approved.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct OrgRequestView {
    #[serde(flatten)]
    pub request: AccessRequest,
    /// Present once approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted: Option<Granted>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PurposeView {
    pub id: Purpose,
    /// The purpose in plain words.
    #[schema(value_type = String)]
    pub words: String,
}

/// A request as the customer sees it: who asks (with the keys to check), what, why, how long.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: AccessRequest,
    pub org: OrgInfo,
    pub purpose_words: Vec<PurposeView>,
}

/// A data key wrapped to the organization, for one granted label at its current version.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct WrapBody {
    pub label: Label,
    pub envelope_id: EnvelopeId,
    pub version: u64,
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url32)]
    pub enc: Vec<u8>,
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url48)]
    pub ct: Vec<u8>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The terms the customer signs (no more than the request asked for).
    pub grant: GrantTerms,
    /// Ed25519 over `assent/v1/grant\n` ‖ JCS(grant).
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub signature: Vec<u8>,
    #[serde(default)]
    pub wraps: Vec<WrapBody>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Approved {
    pub grant: GrantView,
    pub ledger: LedgerRef,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Declined {
    pub request_id: RequestId,
    #[schema(value_type = String, example = "declined")]
    pub status: String,
    pub ledger: LedgerRef,
}
