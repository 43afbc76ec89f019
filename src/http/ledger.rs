//! The ledger as each party may see it.

use super::AppState;
use super::auth::{CustomerAuth, OrgAuth};
use super::error::ApiError;
use super::extract::Json;
use crate::crypto::b64::serde_array;
use crate::ledger::Event;
use crate::store::ledger_tx::Appended;
use crate::vault::history::OpenedEntry;
use axum::extract::State;
use serde::Serialize;

/// Where an act landed in the ledger.
#[derive(Serialize, Clone, Copy)]
pub struct LedgerRef {
    pub index: u64,
    #[serde(with = "serde_array")]
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

#[derive(Serialize)]
pub struct Entry {
    pub index: u64,
    /// Opens the commitment: leaf = SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event)).
    #[serde(with = "serde_array")]
    pub nonce: [u8; 32],
    pub event: Event,
    #[serde(with = "serde_array")]
    pub leaf: [u8; 32],
}

#[derive(Serialize)]
pub struct LedgerPage {
    /// Tree size when this listing was read.
    pub size: u64,
    pub entries: Vec<Entry>,
}

fn page((entries, size): (Vec<OpenedEntry>, u64)) -> LedgerPage {
    LedgerPage {
        size,
        entries: entries
            .into_iter()
            .map(|e| Entry {
                index: e.index,
                nonce: e.nonce,
                event: e.event,
                leaf: e.leaf,
            })
            .collect(),
    }
}

pub async fn mine(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
) -> Result<Json<LedgerPage>, ApiError> {
    Ok(Json(page(s.vault.customer_ledger(&me)?)))
}

pub async fn org(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
) -> Result<Json<LedgerPage>, ApiError> {
    Ok(Json(page(s.vault.org_ledger(&org)?)))
}
