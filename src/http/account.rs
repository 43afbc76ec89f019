//! The signed-in customer's account: change the passphrase, close the account. Both need the
//! login proof of the current passphrase as well as the session, and count as login attempts
//! (a wrong proof is charged like a failed login, per account and client network).

use super::AppState;
use super::auth::CustomerSession;
use super::error::ApiError;
use super::extract::Json;
use crate::vault::VaultError;
use crate::wire::customers::{CloseBody, ClosedAnswer, PassphraseBody, Profile};
use crate::wire::schema::ErrorBody;
use axum::extract::{ConnectInfo, State};
use std::net::SocketAddr;
use zeroize::{Zeroize, Zeroizing};

/// Charges the attempt like a login: refused while this account's failures from this network
/// are over the limit; a wrong proof counts as a failure.
async fn as_login<T>(
    s: &AppState,
    session: &CustomerSession,
    peer: SocketAddr,
    attempt: impl std::future::Future<Output = Result<T, VaultError>>,
) -> Result<T, ApiError> {
    let record = s.vault.customer(&session.id)?;
    let handle = record.handle.as_str();
    s.limits.check_account(handle, peer.ip(), "account")?;
    match attempt.await {
        Ok(v) => Ok(v),
        Err(e) => {
            if matches!(e, VaultError::Unauthorized { .. }) {
                s.limits.account_failed(handle, peer.ip());
            }
            Err(e.into())
        }
    }
}

/// Change the passphrase: the device re-seals the same keys under the new passphrase.
#[utoipa::path(
    post,
    path = "/v1/me/passphrase",
    operation_id = "change_passphrase",
    tag = "customer",
    security(("customer_token" = [])),
    request_body = PassphraseBody,
    responses(
        (status = 200, description = "Changed: the profile with the new sealed bundle", body = Profile),
        (status = 400, description = "`bad_json`, `weak_kdf_params`, `bad_bundle`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`, `unknown_customer`; `bad_credentials`: the current passphrase is not right", body = ErrorBody),
        (status = 409, description = "`passphrase_changed`: changed meanwhile", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong passphrases", body = ErrorBody,
            headers(("retry-after" = u32, description = "Seconds to wait"))),
    ),
)]
pub async fn change_passphrase(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: CustomerSession,
    Json(mut body): Json<PassphraseBody>,
) -> Result<Json<Profile>, ApiError> {
    let auth = Zeroizing::new(body.auth);
    let new_auth = Zeroizing::new(body.new_auth);
    body.auth.zeroize();
    body.new_auth.zeroize();
    let change = s
        .vault
        .change_passphrase(session.id.clone(), auth, new_auth, body.bundle);
    let record = as_login(&s, &session, peer, change).await?;
    Ok(Json(record.into()))
}

/// Close the account: every standing grant revoked, every pending request declined, every
/// envelope erased (each a ledger entry), then the account removed. The handle stays reserved.
#[utoipa::path(
    post,
    path = "/v1/me/close",
    operation_id = "close_account",
    tag = "customer",
    security(("customer_token" = [])),
    request_body = CloseBody,
    responses(
        (status = 200, description = "Closed", body = ClosedAnswer),
        (status = 400, description = "`bad_json`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`, `unknown_customer`; `bad_credentials`: the passphrase is not right", body = ErrorBody),
        (status = 409, description = "`passphrase_changed`: changed meanwhile", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong passphrases", body = ErrorBody,
            headers(("retry-after" = u32, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: not committed; retry", body = ErrorBody),
    ),
)]
pub async fn close(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: CustomerSession,
    Json(mut body): Json<CloseBody>,
) -> Result<Json<ClosedAnswer>, ApiError> {
    let auth = Zeroizing::new(body.auth);
    body.auth.zeroize();
    let close = s.vault.close_account(session.id.clone(), auth);
    let closed = as_login(&s, &session, peer, close).await?;
    Ok(Json(ClosedAnswer {
        grants_revoked: closed.grants_revoked,
        requests_declined: closed.requests_declined,
        envelopes_erased: closed.envelopes_erased,
    }))
}
