//! Access requests: created by organizations, answered by customers.

use super::AppState;
use super::auth::{CustomerAuth, OrgAuth};
use super::error::ApiError;
use super::extract::{Json, Path};
use super::grants::GrantView;
use super::ledger::LedgerRef;
use super::org::OrgInfo;
use crate::crypto::b64::serde_bytes;
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::{Label, Purpose};
use crate::domain::grant::GrantTerms;
use crate::domain::ids::{CustomerId, EnvelopeId, Handle, RequestId};
use crate::domain::request::{AccessRequest, RequestTerms};
use crate::vault::Vault;
use crate::vault::consent::{Approval, ApprovalWrap, CustomerRef, Party};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Exactly one of `customer_id` and `customer_handle`.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    #[serde(default)]
    pub customer_handle: Option<Handle>,
    pub labels: Vec<Label>,
    pub purposes: Vec<Purpose>,
    pub duration_secs: u64,
    pub justification: String,
}

#[derive(Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub request: AccessRequest,
    pub ledger: LedgerRef,
}

pub async fn create(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Json(b): Json<CreateBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let customer = match (b.customer_id, b.customer_handle) {
        (Some(id), None) => CustomerRef::Id(id),
        (None, Some(h)) => CustomerRef::Handle(h),
        _ => {
            return Err(ApiError::bad(
                "bad_customer",
                "give exactly one of customer_id and customer_handle",
            ));
        }
    };
    let terms = RequestTerms {
        labels: b.labels,
        purposes: b.purposes,
        duration_secs: b.duration_secs,
        justification: b.justification,
    };
    let (request, appended) = s.vault.create_request(org, customer, terms).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            request,
            ledger: appended.into(),
        }),
    ))
}

pub async fn list_org(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
) -> Result<Json<Vec<AccessRequest>>, ApiError> {
    Ok(Json(s.vault.org_requests(&org)?))
}

fn request_id(raw: &str) -> Result<RequestId, ApiError> {
    Ok(RequestId::parse(raw)?)
}

pub async fn get_org(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(raw): Path<String>,
) -> Result<Json<AccessRequest>, ApiError> {
    Ok(Json(
        s.vault.request_for(&request_id(&raw)?, Party::Org(&org))?,
    ))
}

#[derive(Serialize)]
pub struct PurposeView {
    pub id: Purpose,
    pub words: &'static str,
}

/// A request as the customer sees it: who asks (with the keys to check), what, why, how long.
#[derive(Serialize)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: AccessRequest,
    pub org: OrgInfo,
    pub purpose_words: Vec<PurposeView>,
}

pub async fn list_mine(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    let views = s
        .vault
        .customer_requests(&me)?
        .into_iter()
        .map(|(request, org)| RequestView {
            purpose_words: request
                .purposes
                .iter()
                .map(|p| PurposeView {
                    id: p.clone(),
                    words: p.words(),
                })
                .collect(),
            request,
            org: org.into(),
        })
        .collect();
    Ok(Json(views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrapBody {
    pub label: Label,
    pub envelope_id: EnvelopeId,
    pub version: u64,
    #[serde(with = "serde_bytes")]
    pub enc: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub ct: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    pub grant: GrantTerms,
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
    #[serde(default)]
    pub wraps: Vec<WrapBody>,
}

#[derive(Serialize)]
pub struct Approved {
    pub grant: GrantView,
    pub ledger: LedgerRef,
}

pub async fn approve(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
    Json(b): Json<ApproveBody>,
) -> Result<(StatusCode, Json<Approved>), ApiError> {
    let id = request_id(&raw)?;
    let approval = Approval {
        terms: b.grant,
        signature: b.signature,
        wraps: b
            .wraps
            .into_iter()
            .map(|w| ApprovalWrap {
                label: w.label,
                envelope_id: w.envelope_id,
                version: w.version,
                wrap: Wrap {
                    enc: w.enc,
                    ct: w.ct,
                },
            })
            .collect(),
    };
    let (grant, appended) = s.vault.approve(me, id, approval).await?;
    Ok((
        StatusCode::CREATED,
        Json(Approved {
            grant: GrantView::new(grant, Vault::now()),
            ledger: appended.into(),
        }),
    ))
}

#[derive(Serialize)]
pub struct Declined {
    pub request_id: RequestId,
    pub status: &'static str,
    pub ledger: LedgerRef,
}

pub async fn decline(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<Declined>, ApiError> {
    let id = request_id(&raw)?;
    let appended = s.vault.decline(me, id.clone()).await?;
    Ok(Json(Declined {
        request_id: id,
        status: "declined",
        ledger: appended.into(),
    }))
}
