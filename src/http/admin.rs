//! Operator endpoints: an admin token can register organizations and do nothing else.

use super::AppState;
use super::auth::AdminAuth;
use super::error::ApiError;
use super::extract::Json;
use super::ledger::LedgerRef;
use super::org::OrgInfo;
use crate::crypto::b64::{serde_array, serde_bytes};
use crate::domain::ids::OrgId;
use crate::vault::orgs::NewOrg;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub org_id: OrgId,
    pub name: String,
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    /// Ed25519 (identity key) over `assent/v1/org-key\n` ‖ x25519_public.
    #[serde(with = "serde_bytes")]
    pub key_signature: Vec<u8>,
}

#[derive(Serialize)]
pub struct Registered {
    #[serde(flatten)]
    pub org: OrgInfo,
    pub ledger: LedgerRef,
}

pub async fn register_org(
    State(s): State<AppState>,
    _admin: AdminAuth,
    Json(b): Json<RegisterBody>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let (org, appended) = s
        .vault
        .register_org(NewOrg {
            org_id: b.org_id,
            name: b.name,
            ed25519_public: b.ed25519_public,
            x25519_public: b.x25519_public,
            key_signature: b.key_signature,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            org: org.into(),
            ledger: appended.into(),
        }),
    ))
}
