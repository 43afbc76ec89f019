//! Sign-up, unlock parameters, login and the customer's own profile.

use super::AppState;
use super::auth::{CustomerAuth, CustomerSession};
use super::error::ApiError;
use super::extract::{Json, Query};
use crate::domain::ids::Handle;
use crate::domain::time::Timestamp;
use crate::store::records::CustomerRecord;
use crate::tokens::{CUSTOMER_SESSION_MAX_SECS, CUSTOMER_TTL_SECS};
use crate::vault::customers::Signup;
use crate::wire::customers::{KdfAnswer, LogInBody, Profile, Renewed, Session, SignUpBody};
use crate::wire::schema::ErrorBody;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::net::SocketAddr;
use utoipa::IntoParams;
use zeroize::{Zeroize, Zeroizing};

impl From<CustomerRecord> for Profile {
    fn from(c: CustomerRecord) -> Self {
        Self {
            customer_id: c.customer_id,
            handle: c.handle,
            bundle: c.bundle,
            x25519_public: c.x25519_public,
            ed25519_public: c.ed25519_public,
            created_at: c.created_at,
        }
    }
}

/// Sign up: the device made the keys; the server gets the login proof and the sealed bundle.
#[utoipa::path(
    post,
    path = "/v1/customers",
    operation_id = "sign_up",
    tag = "customers",
    request_body = SignUpBody,
    responses(
        (status = 201, description = "Signed up", body = Profile),
        (status = 400, description = "`bad_json`, `bad_handle`, `weak_kdf_params`, `bad_crypto_input`, `bad_key`", body = ErrorBody),
        (status = 409, description = "`handle_taken`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per client IP)", body = ErrorBody,
            headers(("retry-after" = u32, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn sign_up(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(mut body): Json<SignUpBody>,
) -> Result<(StatusCode, Json<Profile>), ApiError> {
    s.limits.check_ip(peer.ip(), "sign_up")?;
    let auth = Zeroizing::new(body.auth);
    body.auth.zeroize();
    let handle = Handle::parse(&body.handle)?;
    let record = s
        .vault
        .sign_up(Signup {
            handle,
            auth,
            bundle: body.bundle,
            x25519_public: body.x25519_public,
            ed25519_public: body.ed25519_public,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KdfQuery {
    /// The login handle (unknown handles get decoy parameters).
    #[param(value_type = Handle)]
    pub handle: String,
}

/// What a device needs to derive keys from the passphrase. Answers for any well-formed handle.
#[utoipa::path(
    get,
    path = "/v1/customers/kdf",
    operation_id = "kdf_params",
    tag = "customers",
    params(KdfQuery),
    responses(
        (status = 200, description = "The Argon2id parameters and salt (decoys for unknown handles)", body = KdfAnswer),
        (status = 400, description = "`bad_query`, `bad_handle`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per client IP)", body = ErrorBody,
            headers(("retry-after" = u32, description = "Seconds to wait"))),
    ),
)]
pub async fn kdf_params(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<KdfQuery>,
) -> Result<Json<KdfAnswer>, ApiError> {
    s.limits.check_ip(peer.ip(), "kdf")?;
    let handle = Handle::parse(&q.handle)?;
    Ok(Json(KdfAnswer {
        kdf: s.vault.kdf_params(&handle)?,
    }))
}

/// Log in with the login proof: a customer token and the sealed bundle.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    operation_id = "log_in",
    tag = "customers",
    request_body = LogInBody,
    responses(
        (status = 200, description = "Logged in", body = Session),
        (status = 400, description = "`bad_json`", body = ErrorBody),
        (status = 401, description = "`bad_credentials` (unknown handles alike)", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per client network; failures per handle and client network; successes per handle)", body = ErrorBody,
            headers(("retry-after" = u32, description = "Seconds to wait"))),
    ),
)]
pub async fn log_in(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(mut body): Json<LogInBody>,
) -> Result<Json<Session>, ApiError> {
    s.limits.check_ip(peer.ip(), "log_in")?;
    let auth = Zeroizing::new(body.auth);
    body.auth.zeroize();
    let handle = Handle::parse(&body.handle).map_err(|_| {
        ApiError::Unauthorized(
            "bad_credentials",
            "the handle or passphrase is not right".into(),
        )
    })?;
    // Per handle and client network, known handle or not alike: only failures are charged and
    // only the network they came from is held back, so junk logins from one address cannot
    // lock the customer out from another; a success is charged to the handle alone.
    s.limits
        .check_account(handle.as_str(), peer.ip(), "log_in")?;
    let record = match s.vault.log_in(&handle, auth).await {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, crate::vault::VaultError::Unauthorized { .. }) {
                s.limits.account_failed(handle.as_str(), peer.ip());
            }
            return Err(e.into());
        }
    };
    s.limits.account_succeeded(handle.as_str());
    let now = crate::clock::now();
    let token = s
        .tokens
        .issue_customer(record.customer_id.as_str(), now.unix(), now.unix())?;
    Ok(Json(Session {
        token,
        token_type: "Bearer".into(),
        expires_in: CUSTOMER_TTL_SECS,
        renewable_until: now.plus(CUSTOMER_SESSION_MAX_SECS),
        profile: record.into(),
    }))
}

/// Renew the customer token while the page is in use: needs the current token, and works until
/// `CUSTOMER_SESSION_MAX_SECS` (12 h) after the passphrase was typed.
#[utoipa::path(
    post,
    path = "/v1/me/session",
    operation_id = "renew_session",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "A new token for the same session", body = Renewed),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`; `reauthenticate`: the session is over, unlock with the passphrase again", body = ErrorBody),
    ),
)]
pub async fn renew(
    State(s): State<AppState>,
    session: CustomerSession,
) -> Result<Json<Renewed>, ApiError> {
    let now = crate::clock::now().unix();
    // Tokens from before renewal existed carry no auth_time: their session began at `iat`.
    let auth_time = session.claims.auth_time.unwrap_or(session.claims.iat);
    let ends = auth_time.saturating_add(CUSTOMER_SESSION_MAX_SECS);
    if now >= ends || auth_time > now {
        return Err(ApiError::Unauthorized(
            "reauthenticate",
            "this session has lasted as long as it may; unlock with your passphrase again".into(),
        ));
    }
    // The customer still exists (an erased account's token renews nothing).
    s.vault.customer(&session.id)?;
    let token = s
        .tokens
        .issue_customer(session.id.as_str(), auth_time, now)?;
    Ok(Json(Renewed {
        token,
        token_type: "Bearer".into(),
        expires_in: (ends - now).min(CUSTOMER_TTL_SECS),
        renewable_until: Timestamp::from_unix_clamped(ends),
    }))
}

/// The signed-in customer's profile and sealed bundle.
#[utoipa::path(
    get,
    path = "/v1/me",
    operation_id = "me",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`, `unknown_customer`", body = ErrorBody),
    ),
)]
pub async fn me(
    State(s): State<AppState>,
    CustomerAuth(id): CustomerAuth,
) -> Result<Json<Profile>, ApiError> {
    Ok(Json(s.vault.customer(&id)?.into()))
}
