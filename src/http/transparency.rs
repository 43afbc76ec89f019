//! The public face of the ledger: signed checkpoints, the verifier key, and RFC 9162 proofs.
//! None of these reveal a customer id or event content: only hashes of commitments.

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Query};
use crate::crypto::b64;
use crate::ledger::merkle::Hash;
use crate::wire::ledger::{ConsistencyProof, InclusionProof, KeyHistory};
use crate::wire::schema::ErrorBody;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;

const TEXT: &str = "text/plain; charset=utf-8";

/// The newest C2SP tlog-checkpoint signed note clients are offered (signs one first if the
/// tree has none). With witnesses, the newest carrying their quorum of `cosignature/v1` lines
/// (C2SP tlog-cosignature) after the vault's own signature line. Clients check both: the vault
/// line against the key they pinned, the cosignatures against the witness policy they pinned.
#[utoipa::path(
    get,
    path = "/v1/ledger/checkpoint",
    operation_id = "ledger_checkpoint",
    tag = "ledger",
    responses(
        (status = 200, description = "The newest signed checkpoint: origin, tree size, base64 root, blank line, the vault's signature line, then any witnesses' cosignature lines",
            body = String, content_type = "text/plain"),
        (status = 503, description = "`unavailable`: the first checkpoint was not committed; `unwitnessed`: no checkpoint carries the witnesses' quorum yet; retry", body = ErrorBody),
    ),
)]
pub async fn checkpoint(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let (_, note) = s.vault.witnessed_checkpoint().await?;
    Ok(([(header::CONTENT_TYPE, TEXT)], note))
}

/// The witness policy this vault follows: `witness <verifier key>` lines and `quorum <k>`
/// (`quorum 0` without witnesses). A device pins it on first use, like the vault key; after
/// that, this answer is only compared with the pin, never believed over it.
#[utoipa::path(
    get,
    path = "/v1/ledger/witnesses",
    operation_id = "ledger_witnesses",
    tag = "ledger",
    responses(
        (status = 200, description = "The witness policy (text)", body = String, content_type = "text/plain"),
    ),
)]
pub async fn witnesses(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, TEXT)],
        s.vault.witness_policy().to_text(),
    )
}

/// The C2SP signed-note verifier key: `name+hexkeyid+base64(0x01‖pub)`.
#[utoipa::path(
    get,
    path = "/v1/ledger/key",
    operation_id = "ledger_key",
    tag = "ledger",
    responses(
        (status = 200, description = "The vault's verifier key and a newline", body = String, content_type = "text/plain"),
    ),
)]
pub async fn key(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, TEXT)],
        format!("{}\n", s.vault.signer().verifier_key()),
    )
}

/// How the vault's signing key changed: the statements a client needs to move its pin.
#[utoipa::path(
    get,
    path = "/v1/ledger/key/rotations",
    operation_id = "ledger_key_rotations",
    tag = "ledger",
    responses(
        (status = 200, description = "The current key and the signed rotation statements", body = KeyHistory),
    ),
)]
pub async fn rotations(State(s): State<AppState>) -> Json<KeyHistory> {
    let signer = s.vault.signer();
    Json(KeyHistory {
        current: signer.verifier_key(),
        rotations: signer.rotations.clone(),
    })
}

pub fn hashes(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(|h| b64::encode(h)).collect()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The leaf index (below `size`).
    pub index: u64,
    /// The tree size (1 ≤ size ≤ the current tree size).
    pub size: u64,
}

/// RFC 9162 §2.1.3 inclusion proof.
#[utoipa::path(
    get,
    path = "/v1/ledger/proof/inclusion",
    operation_id = "inclusion_proof",
    tag = "ledger",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The audit path", body = InclusionProof),
        (status = 400, description = "`bad_query`, `bad_size`, `bad_index`", body = ErrorBody),
    ),
)]
pub async fn inclusion(
    State(s): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    let proof = s.vault.inclusion_proof(q.index, q.size)?;
    Ok(Json(InclusionProof {
        index: q.index,
        size: q.size,
        proof: hashes(&proof),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size (0 < from ≤ to).
    pub from: u64,
    /// The newer tree size (≤ the current tree size).
    pub to: u64,
}

/// RFC 9162 §2.1.4 consistency proof.
#[utoipa::path(
    get,
    path = "/v1/ledger/proof/consistency",
    operation_id = "consistency_proof",
    tag = "ledger",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The consistency proof", body = ConsistencyProof),
        (status = 400, description = "`bad_query`, `bad_size`, `bad_sizes`", body = ErrorBody),
    ),
)]
pub async fn consistency(
    State(s): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let proof = s.vault.consistency_proof(q.from, q.to)?;
    Ok(Json(ConsistencyProof {
        from: q.from,
        to: q.to,
        proof: hashes(&proof),
    }))
}
