//! The customer's grants and one-tap revocation.

use super::AppState;
use super::auth::CustomerAuth;
use super::error::ApiError;
use super::extract::{Json, Path};
use super::ledger::LedgerRef;
use crate::crypto::b64::serde_bytes;
use crate::domain::grant::{Grant, GrantState, GrantTerms};
use crate::domain::ids::{GrantId, RequestId};
use crate::domain::time::Timestamp;
use crate::vault::Vault;
use crate::vault::consent::Party;
use axum::extract::State;
use serde::Serialize;

#[derive(Serialize)]
pub struct GrantView {
    #[serde(flatten)]
    pub terms: GrantTerms,
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
    pub request_id: RequestId,
    pub state: GrantState,
    pub reads: u32,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    pub ledger_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
}

impl GrantView {
    pub fn new(g: Grant, now: Timestamp) -> Self {
        Self {
            state: g.state(now),
            terms: g.terms,
            signature: g.signature,
            request_id: g.request_id,
            reads: g.reads,
            created_at: g.created_at,
            revoked_at: g.revoked_at,
            ledger_index: g.ledger_index,
            org_name: None,
        }
    }

    fn named(mut self, vault: &Vault) -> Result<Self, ApiError> {
        self.org_name = vault.find_org(&self.terms.org_id)?.map(|o| o.name);
        Ok(self)
    }
}

pub async fn list_mine(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
) -> Result<Json<Vec<GrantView>>, ApiError> {
    let now = Vault::now();
    let grants = s.vault.customer_grants(&me)?;
    let views = grants
        .into_iter()
        .map(|g| GrantView::new(g, now).named(&s.vault))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(views))
}

fn grant_id(raw: &str) -> Result<GrantId, ApiError> {
    Ok(GrantId::parse(raw)?)
}

#[derive(Serialize)]
pub struct GrantDetail {
    #[serde(flatten)]
    pub grant: GrantView,
    /// Labels for which the organization still holds a wrapped key (empty once revoked).
    pub wrapped_labels: Vec<String>,
}

pub async fn get_mine(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<GrantDetail>, ApiError> {
    let id = grant_id(&raw)?;
    let g = s.vault.grant_for(&id, Party::Customer(&me))?;
    let labels = s
        .vault
        .grant_wraps(&id)?
        .into_iter()
        .map(|w| w.label.to_string())
        .collect();
    Ok(Json(GrantDetail {
        grant: GrantView::new(g, Vault::now()).named(&s.vault)?,
        wrapped_labels: labels,
    }))
}

#[derive(Serialize)]
pub struct Revoked {
    pub grant: GrantView,
    pub ledger: LedgerRef,
    /// Said plainly, every time: revocation stops future reads only.
    pub note: &'static str,
}

pub async fn revoke(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    let id = grant_id(&raw)?;
    let (grant, appended) = s.vault.revoke(me, id).await?;
    Ok(Json(Revoked {
        grant: GrantView::new(grant, Vault::now()).named(&s.vault)?,
        ledger: appended.into(),
        note: "The organization can no longer read this data. Data it already read cannot be recalled.",
    }))
}
