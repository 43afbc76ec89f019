//! The public face of the ledger: signed checkpoints, the verifier key, and RFC 9162 proofs.
//! None of these reveal a customer id or event content: only hashes of commitments.

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Query};
use crate::crypto::b64;
use crate::ledger::merkle::Hash;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

const TEXT: &str = "text/plain; charset=utf-8";

/// The newest C2SP tlog-checkpoint signed note (signs one first if the tree has none).
pub async fn checkpoint(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let note = match s.vault.latest_checkpoint()? {
        Some((_, note)) => note,
        None => s.vault.checkpoint_now().await?.1,
    };
    Ok(([(header::CONTENT_TYPE, TEXT)], note))
}

/// The C2SP signed-note verifier key: `name+hexkeyid+base64(0x01‖pub)`.
pub async fn key(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, TEXT)],
        format!("{}\n", s.vault.signer().verifier_key()),
    )
}

pub fn hashes(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(|h| b64::encode(h)).collect()
}

#[derive(Deserialize)]
pub struct InclusionQuery {
    pub index: u64,
    pub size: u64,
}

#[derive(Serialize)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub proof: Vec<String>,
}

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

#[derive(Deserialize)]
pub struct ConsistencyQuery {
    pub from: u64,
    pub to: u64,
}

#[derive(Serialize)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub proof: Vec<String>,
}

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
