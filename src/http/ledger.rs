//! The ledger as each party may see it.

use super::AppState;
use super::auth::{CustomerAuth, OrgAuth};
use super::error::ApiError;
use super::extract::Json;
use super::extract::Path;
use super::transparency::hashes;
use crate::domain::ids::OrgId;
use crate::store::ledger_tx::Appended;
use crate::vault::history::OpenedEntry;
use crate::wire::ledger::{Entry, KeyLog, LedgerPage, LedgerRef};
use crate::wire::schema::ErrorBody;
use axum::extract::State;

impl From<Appended> for LedgerRef {
    fn from(a: Appended) -> Self {
        Self {
            index: a.index,
            leaf: a.leaf,
        }
    }
}

/// A party's events, each with its inclusion proof against the checkpoint clients are offered
/// (signed now; with witnesses, the newest carrying their quorum).
///
/// Invariant: every entry listed is below the checkpoint's size and has a proof. Without
/// witnesses that is every entry read (the checkpoint is signed after the read and only moves
/// forward); with witnesses, entries past the newest cosigned checkpoint are left out until
/// the witnesses cosign a newer one (their own sequence numbers show the client nothing was
/// skipped).
async fn page(s: &AppState, entries: Vec<OpenedEntry>) -> Result<LedgerPage, ApiError> {
    let (size, checkpoint) = s.vault.witnessed_checkpoint().await?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries.into_iter().filter(|e| e.index < size) {
        let proof = Some(hashes(&s.vault.inclusion_proof(e.index, size)?));
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

/// An organization's key log: its registration and every key change, with nonces (public) and
/// inclusion proofs against a fresh signed checkpoint. A device trusts an organization's keys
/// only from the newest entry of a log it verified (chain of `key_seq` 1, 2, …, each change
/// signed by the previous identity key); the organization monitors the same entries.
#[utoipa::path(
    get,
    path = "/v1/orgs/{id}/keys",
    operation_id = "org_key_log",
    tag = "organizations",
    params(("id" = OrgId, Path, description = "The organization")),
    responses(
        (status = 200, description = "The organization's key events", body = KeyLog),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 404, description = "`org_not_found`, `not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the checkpoint was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn org_keys(
    State(s): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<KeyLog>, ApiError> {
    let org_id = OrgId::parse(&raw)?;
    let (entries, _) = s.vault.org_key_log(&org_id)?;
    Ok(Json(KeyLog {
        org_id,
        page: page(&s, entries).await?,
    }))
}
