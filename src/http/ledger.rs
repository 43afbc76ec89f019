//! The ledger as each party may see it.

use super::AppState;
use super::auth::{CustomerAuth, OrgAuth};
use super::error::ApiError;
use super::extract::Json;
use super::openapi::{Base64Url32, ErrorBody};
use super::transparency::hashes;
use crate::crypto::b64::serde_array;
use crate::ledger::Event;
use crate::store::ledger_tx::Appended;
use crate::vault::history::OpenedEntry;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

/// Where an act landed in the ledger.
#[derive(Serialize, Clone, Copy, ToSchema)]
pub struct LedgerRef {
    pub index: u64,
    /// SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event)).
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub leaf: [u8; 32],
}

impl From<Appended> for LedgerRef {
    fn from(a: Appended) -> Self {
        Self {
            index: a.index,
            leaf: a.leaf,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Entry {
    pub index: u64,
    /// Opens the commitment: leaf = SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event)).
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub nonce: [u8; 32],
    /// The event, tagged by `type` (`customer_registered`, `envelope_written`, `envelope_erased`,
    /// `key_rotated`, `org_registered`, `request_created`, `request_declined`, `grant_created`,
    /// `grant_revoked`, `read`).
    #[schema(value_type = Object)]
    pub event: Event,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub leaf: [u8; 32],
    /// RFC 9162 inclusion proof of this leaf in the tree of `size` leaves (the checkpoint);
    /// `null` for entries newer than the checkpoint.
    #[schema(value_type = Option<Vec<Base64Url32>>)]
    pub proof: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerPage {
    /// The signed checkpoint (C2SP tlog-checkpoint note) the proofs are against.
    pub checkpoint: String,
    /// Its tree size.
    pub size: u64,
    pub entries: Vec<Entry>,
}

/// A party's events, each with its inclusion proof against a fresh signed checkpoint.
async fn page(s: &AppState, entries: Vec<OpenedEntry>) -> Result<LedgerPage, ApiError> {
    let (size, checkpoint) = s.vault.checkpoint_now().await?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let proof = if e.index < size {
            Some(hashes(&s.vault.inclusion_proof(e.index, size)?))
        } else {
            None
        };
        out.push(Entry {
            index: e.index,
            nonce: e.nonce,
            event: e.event,
            leaf: e.leaf,
            proof,
        });
    }
    Ok(LedgerPage {
        checkpoint,
        size,
        entries: out,
    })
}

/// The customer's own events with nonces, leaves and inclusion proofs against a fresh checkpoint.
#[utoipa::path(
    get,
    path = "/v1/me/ledger",
    operation_id = "my_ledger",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "The customer's ledger entries", body = LedgerPage),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the checkpoint was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn mine(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
) -> Result<Json<LedgerPage>, ApiError> {
    let (entries, _) = s.vault.customer_ledger(&me)?;
    Ok(Json(page(&s, entries).await?))
}

/// The events naming this organization, with inclusion proofs against a fresh checkpoint.
#[utoipa::path(
    get,
    path = "/v1/org/ledger",
    operation_id = "org_ledger",
    tag = "organizations",
    security(("org_token" = [])),
    responses(
        (status = 200, description = "The organization's ledger entries", body = LedgerPage),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the checkpoint was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn org(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
) -> Result<Json<LedgerPage>, ApiError> {
    let (entries, _) = s.vault.org_ledger(&org)?;
    Ok(Json(page(&s, entries).await?))
}
