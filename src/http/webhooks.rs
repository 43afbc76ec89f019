//! An organization's webhooks: endpoints, and the messages waiting or given up.

use super::AppState;
use super::auth::OrgAuth;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use crate::domain::ids::{DeliveryId, WebhookId};
use crate::domain::webhook::DeliveryState;
use crate::wire::schema::ErrorBody;
use crate::wire::webhooks::{DeliveryView, WebhookBody, WebhookRemoved, WebhookView};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

/// Register an endpoint. It is told of acts committed from now on, signed with the vault key
/// (Standard Webhooks, `v1a`).
#[utoipa::path(
    post,
    path = "/v1/org/webhooks",
    operation_id = "add_webhook",
    tag = "webhooks",
    security(("org_token" = [])),
    request_body = WebhookBody,
    responses(
        (status = 201, description = "The endpoint", body = WebhookView),
        (status = 400, description = "`bad_json`, `bad_webhook_url` (not https, credentials, a private or loopback address), `bad_kinds`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 409, description = "`webhook_exists`, `too_many_webhooks`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 503, description = "`unavailable`: not committed; retry", body = ErrorBody),
    ),
)]
pub async fn add(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Json(b): Json<WebhookBody>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let e = s.vault.add_webhook(org, &b.url, b.kinds).await?;
    Ok((StatusCode::CREATED, Json(e.into())))
}

/// The organization's endpoints.
#[utoipa::path(
    get,
    path = "/v1/org/webhooks",
    operation_id = "list_webhooks",
    tag = "webhooks",
    security(("org_token" = [])),
    responses(
        (status = 200, description = "Every endpoint", body = Vec<WebhookView>),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
pub async fn list(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let all = s.vault.webhooks(&org)?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// Remove an endpoint and the messages still addressed to it.
#[utoipa::path(
    delete,
    path = "/v1/org/webhooks/{id}",
    operation_id = "remove_webhook",
    tag = "webhooks",
    security(("org_token" = [])),
    params(("id" = String, Path, description = "The endpoint (`whk_…`)")),
    responses(
        (status = 200, description = "Removed", body = WebhookRemoved),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`no_webhook`", body = ErrorBody),
        (status = 503, description = "`unavailable`: not committed; retry", body = ErrorBody),
    ),
)]
pub async fn remove(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(raw): Path<String>,
) -> Result<Json<WebhookRemoved>, ApiError> {
    let id = WebhookId::parse(&raw)?;
    s.vault.remove_webhook(org, id.clone()).await?;
    Ok(Json(WebhookRemoved {
        webhook_id: id,
        removed: true,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending` (default: waiting for an attempt), `scheduled` (`grant.expired` messages
    /// waiting for the grant's end) or `dead` (given up).
    #[param(value_type = Option<DeliveryState>)]
    pub state: Option<DeliveryState>,
}

/// Messages waiting for delivery, scheduled, or dead letters, oldest first (at most 1,000).
#[utoipa::path(
    get,
    path = "/v1/org/webhooks/deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    security(("org_token" = [])),
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "The messages", body = Vec<DeliveryView>),
        (status = 400, description = "`bad_query`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
pub async fn deliveries(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let state = q.state.unwrap_or(DeliveryState::Pending);
    let all = s.vault.webhook_deliveries(&org, state)?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// Queue a dead letter again, due now with a fresh retry schedule.
#[utoipa::path(
    post,
    path = "/v1/org/webhooks/deliveries/{id}/retry",
    operation_id = "retry_webhook_delivery",
    tag = "webhooks",
    security(("org_token" = [])),
    params(("id" = String, Path, description = "The message (`msg_…`)")),
    responses(
        (status = 200, description = "The message, pending again", body = DeliveryView),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`no_delivery`", body = ErrorBody),
        (status = 409, description = "`not_dead`, `queue_full`", body = ErrorBody),
        (status = 503, description = "`unavailable`: not committed; retry", body = ErrorBody),
    ),
)]
pub async fn retry(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(raw): Path<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    let id = DeliveryId::parse(&raw)?;
    Ok(Json(s.vault.retry_webhook_delivery(org, id).await?.into()))
}
