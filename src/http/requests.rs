//! Access requests: created by organizations, answered by customers.

use super::AppState;
use super::auth::{CustomerAuth, OrgAuth};
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::crypto::wrap::Wrap;
use crate::domain::grant::Grant;
use crate::domain::ids::RequestId;
use crate::domain::request::{AccessRequest, RequestTerms};
use crate::domain::time::Timestamp;
use crate::vault::VaultError;
use crate::vault::consent::{Approval, ApprovalWrap, CustomerRef, TOO_MANY_PENDING};
use crate::wire::grants::GrantView;
use crate::wire::requests::{
    ApproveBody, Approved, CreateBody, Created, Declined, Granted, OrgRequestView, PurposeView,
    RequestView,
};
use crate::wire::schema::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Ask a customer for access to some labels, for some purposes, for some time.
#[utoipa::path(
    post,
    path = "/v1/org/requests",
    operation_id = "create_request",
    tag = "organizations",
    security(("org_token" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The request, pending the customer's answer", body = Created),
        (status = 400, description = "`bad_json`, `bad_customer`, `bad_list`, `bad_required_purposes`, `bad_duration`, `bad_justification`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`customer_not_found`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests by this organization this minute; `too_many_pending_requests`: too many of its requests are pending with this customer", body = ErrorBody,
            headers(("retry-after" = u32, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn create(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Json(b): Json<CreateBody>,
) -> Result<Response, ApiError> {
    // Each request is a ledger entry the customer has to read: an organization may make only
    // so many a minute, and have only so many pending with one customer.
    s.limits.check_request(org.as_str())?;
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
        required_purposes: b.required_purposes,
        duration_secs: b.duration_secs,
        justification: b.justification,
    };
    let max_pending = Some(s.limits.pending_per_customer());
    let (request, appended) = match s
        .vault
        .create_request_capped(org, customer, terms, max_pending)
        .await
    {
        Ok(created) => created,
        Err(VaultError::Conflict { code, message }) if code == TOO_MANY_PENDING => {
            return Ok(too_many_pending(message));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((
        StatusCode::CREATED,
        Json(Created {
            request,
            ledger: appended.into(),
        }),
    )
        .into_response())
}

/// How long an organization is told to wait when its requests to a customer are all pending:
/// they clear only when the customer answers, so there is no exact time.
const PENDING_RETRY_AFTER_SECS: &str = "600";

/// 429 `too_many_pending_requests`, with `Retry-After` (like `rate_limited`, but saying why).
fn too_many_pending(message: String) -> Response {
    metrics::counter!("assent_rate_limited_total", "endpoint" => "create_request_pending")
        .increment(1);
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(serde_json::json!({ "error": TOO_MANY_PENDING, "message": message })),
    )
        .into_response();
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static(PENDING_RETRY_AFTER_SECS),
    );
    res
}

/// The organization's requests.
#[utoipa::path(
    get,
    path = "/v1/org/requests",
    operation_id = "list_org_requests",
    tag = "organizations",
    security(("org_token" = [])),
    responses(
        (status = 200, description = "Every request this organization made", body = Vec<OrgRequestView>),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
pub async fn list_org(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
) -> Result<Json<Vec<OrgRequestView>>, ApiError> {
    let now = s.vault.now();
    Ok(Json(
        s.vault
            .org_requests(&org)?
            .into_iter()
            .map(|(request, grant)| OrgRequestView::new(request, grant, now))
            .collect(),
    ))
}

impl OrgRequestView {
    fn new(request: AccessRequest, grant: Option<Grant>, now: Timestamp) -> Self {
        let granted = grant.map(|g| Granted {
            state: g.state(now),
            grant_id: g.terms.grant_id,
            labels: g.terms.labels,
            purposes: g.terms.purposes,
            not_after: g.terms.not_after,
            max_reads: g.terms.max_reads,
        });
        Self { request, granted }
    }
}

fn request_id(raw: &str) -> Result<RequestId, ApiError> {
    Ok(RequestId::parse(raw)?)
}

/// One of the organization's requests.
#[utoipa::path(
    get,
    path = "/v1/org/requests/{id}",
    operation_id = "get_org_request",
    tag = "organizations",
    security(("org_token" = [])),
    params(("id" = RequestId, Path, description = "The request")),
    responses(
        (status = 200, description = "The request, with what was granted once approved", body = OrgRequestView),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`request_not_found` (also another organization's), `not_found`", body = ErrorBody),
    ),
)]
pub async fn get_org(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(raw): Path<String>,
) -> Result<Json<OrgRequestView>, ApiError> {
    let (request, grant) = s.vault.org_request(&request_id(&raw)?, &org)?;
    Ok(Json(OrgRequestView::new(request, grant, s.vault.now())))
}

/// Access requests to the customer, with the asking organization's keys and fingerprint.
#[utoipa::path(
    get,
    path = "/v1/me/requests",
    operation_id = "list_my_requests",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "Every request to this customer", body = Vec<RequestView>),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
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
                    words: p.words().into(),
                })
                .collect(),
            request,
            org: org.into(),
        })
        .collect();
    Ok(Json(views))
}

/// Approve a request with a signed grant and the wraps for the organization.
#[utoipa::path(
    post,
    path = "/v1/me/requests/{id}/approve",
    operation_id = "approve_request",
    tag = "customer",
    security(("customer_token" = [])),
    params(("id" = RequestId, Path, description = "The request")),
    request_body = ApproveBody,
    responses(
        (status = 201, description = "The grant", body = Approved),
        (status = 400, description = "`bad_json`, `bad_id`, `bad_path`, `grant_mismatch`, `grant_exceeds_request`, `bad_not_after`, `bad_max_reads`, `bad_signature`, `bad_wrap`, …", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`request_not_found`, `not_found`", body = ErrorBody),
        (status = 409, description = "`request_decided`, `grant_exists`, `version_conflict`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
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
            grant: GrantView::new(grant, s.vault.now()),
            ledger: appended.into(),
        }),
    ))
}

/// Decline a request.
#[utoipa::path(
    post,
    path = "/v1/me/requests/{id}/decline",
    operation_id = "decline_request",
    tag = "customer",
    security(("customer_token" = [])),
    params(("id" = RequestId, Path, description = "The request")),
    responses(
        (status = 200, description = "Declined", body = Declined),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`request_not_found`, `not_found`", body = ErrorBody),
        (status = 409, description = "`request_decided`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn decline(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<Declined>, ApiError> {
    let id = request_id(&raw)?;
    let appended = s.vault.decline(me, id.clone()).await?;
    Ok(Json(Declined {
        request_id: id,
        status: "declined".into(),
        ledger: appended.into(),
    }))
}
