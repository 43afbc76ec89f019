//! Erasure requests: the customer asks under a grant; the organization lists and answers.

use super::AppState;
use super::auth::{CustomerAuth, OrgAuth};
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::domain::ids::GrantId;
use crate::vault::erasure::Answer;
use crate::wire::erasure::{AnswerBody, ErasureLogged, ErasureView};
use crate::wire::schema::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;

/// Ask the grant's organization to erase what it read under the grant (GDPR Art. 17). Logged
/// as `erasure_requested`, due after the vault's deadline (30 days unless configured).
#[utoipa::path(
    post,
    path = "/v1/me/grants/{id}/erasure",
    operation_id = "ask_erasure",
    tag = "customer",
    security(("customer_token" = [])),
    params(("id" = String, Path, description = "The grant (`grt_…`)")),
    responses(
        (status = 201, description = "Asked, with its ledger entry", body = ErasureLogged),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`grant_not_found`", body = ErrorBody),
        (status = 409, description = "`erasure_already_requested`", body = ErrorBody),
        (status = 503, description = "`unavailable`: not committed; retry", body = ErrorBody),
    ),
)]
pub async fn ask(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<ErasureLogged>), ApiError> {
    let gid = GrantId::parse(&raw)?;
    let (r, appended) = s.vault.ask_erasure(me, gid).await?;
    Ok((
        StatusCode::CREATED,
        Json(ErasureLogged {
            erasure: ErasureView::new(r, s.vault.now()),
            ledger: appended.into(),
        }),
    ))
}

/// Erasure requests made to this organization, with their deadlines and answers.
#[utoipa::path(
    get,
    path = "/v1/org/erasure-requests",
    operation_id = "list_erasure_requests",
    tag = "organizations",
    security(("org_token" = [])),
    responses(
        (status = 200, description = "Every erasure request made to this organization", body = Vec<ErasureView>),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
pub async fn list_org(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
) -> Result<Json<Vec<ErasureView>>, ApiError> {
    let now = s.vault.now();
    let all = s.vault.org_erasure_requests(&org)?;
    Ok(Json(
        all.into_iter().map(|r| ErasureView::new(r, now)).collect(),
    ))
}

/// Answer an erasure request: erased, or refused with the legal reason, signed by the
/// organization's identity key. Logged as `erasure_answered`; once per request.
#[utoipa::path(
    post,
    path = "/v1/org/erasure-requests/{grant_id}/answer",
    operation_id = "answer_erasure",
    tag = "organizations",
    security(("org_token" = [])),
    params(("grant_id" = String, Path, description = "The grant the request was made under")),
    request_body = AnswerBody,
    responses(
        (status = 201, description = "Answered, with its ledger entry", body = ErasureLogged),
        (status = 400, description = "`bad_json`, `bad_id`, `bad_path`, `reason_required`, `bad_reason`, `bad_signature`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`erasure_not_found`", body = ErrorBody),
        (status = 409, description = "`erasure_already_answered`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 503, description = "`unavailable`: not committed; retry", body = ErrorBody),
    ),
)]
pub async fn answer(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(raw): Path<String>,
    Json(b): Json<AnswerBody>,
) -> Result<(StatusCode, Json<ErasureLogged>), ApiError> {
    let gid = GrantId::parse(&raw)?;
    let answer = Answer {
        outcome: b.outcome,
        reason: b.reason,
        signature: b.signature,
    };
    let (r, appended) = s.vault.answer_erasure(org, gid, answer).await?;
    Ok((
        StatusCode::CREATED,
        Json(ErasureLogged {
            erasure: ErasureView::new(r, s.vault.now()),
            ledger: appended.into(),
        }),
    ))
}
