//! Operator endpoints: an admin token can register organizations and do nothing else.

use super::AppState;
use super::auth::AdminAuth;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::domain::controller::ControllerDetails;
use crate::domain::ids::OrgId;
use crate::vault::orgs::NewOrg;
use crate::wire::org::{OrgInfo, RegisterBody, Registered};
use crate::wire::schema::{Binary, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;

/// Register an organization (operator only).
#[utoipa::path(
    post,
    path = "/v1/admin/orgs",
    operation_id = "register_org",
    tag = "admin",
    security(("admin_token" = [])),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered", body = Registered),
        (status = 400, description = "`bad_json`, `bad_name`, `bad_signature`, `bad_key`, `bad_legal_name`, `bad_address`, `bad_email`, `bad_phone`, `bad_privacy_policy_url`, `bad_jurisdiction`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 409, description = "`org_exists`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn register_org(
    State(s): State<AppState>,
    _admin: AdminAuth,
    Json(b): Json<RegisterBody>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let (org, appended) = s
        .vault
        .register_org_with(
            NewOrg {
                org_id: b.org_id,
                name: b.name,
                ed25519_public: b.ed25519_public,
                x25519_public: b.x25519_public,
                key_signature: b.key_signature,
            },
            Some(b.controller),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            org: org.into(),
            ledger: appended.into(),
        }),
    ))
}

/// Set or replace an organization's controller details (operator only): for an organization
/// registered before they existed, or when they change. Receipts issued from then on state them.
#[utoipa::path(
    put,
    path = "/v1/admin/orgs/{id}/controller",
    operation_id = "set_org_controller",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = OrgId, Path, description = "The organization")),
    request_body(content = Object, description = "The controller details, as in `register_org`"),
    responses(
        (status = 200, description = "The organization with its new details", body = OrgInfo),
        (status = 400, description = "`bad_json`, `bad_id`, `bad_path`, `bad_legal_name`, `bad_address`, `bad_email`, `bad_phone`, `bad_privacy_policy_url`, `bad_jurisdiction`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`org_not_found`, `not_found`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn set_controller(
    State(s): State<AppState>,
    _admin: AdminAuth,
    Path(raw): Path<String>,
    Json(details): Json<ControllerDetails>,
) -> Result<Json<OrgInfo>, ApiError> {
    let id = OrgId::parse(&raw)?;
    let org = s.vault.set_org_controller(id, details, false).await?;
    Ok(Json(org.into()))
}

/// A consistent copy of the live database, streamed as a redb file. Made from one read
/// transaction, so the vault keeps serving while it runs.
#[utoipa::path(
    get,
    path = "/v1/admin/backup",
    operation_id = "backup",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The redb database file", body = Binary, content_type = "application/octet-stream",
            headers(("x-assent-ledger-size" = u64, description = "The ledger size in the copy"))),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
pub async fn backup(
    State(s): State<AppState>,
    _admin: AdminAuth,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    // Staged next to the data (`<data>/staging`, 0700), never in the shared temp directory.
    let path = s
        .vault
        .store()
        .staging_dir()
        .map_err(crate::vault::VaultError::from)?
        .join(format!(
            "assent-backup-{}.redb",
            crate::crypto::b64::encode(&crate::crypto::keys::random_array::<12>())
        ));
    let store = s.vault.store().clone();
    let target = path.clone();
    let (records, size) = tokio::task::spawn_blocking(move || store.backup_to(&target))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(crate::vault::VaultError::from)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::Internal)?;
    // The open handle keeps the data readable after the name is gone (POSIX unlink semantics).
    let _ = tokio::fs::remove_file(&path).await;
    tracing::info!(records, ledger_size = size, "backup streamed");
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/octet-stream".to_owned(),
            ),
            (
                axum::http::HeaderName::from_static("x-assent-ledger-size"),
                size.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}
