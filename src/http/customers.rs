//! Sign-up, unlock parameters, login and the customer's own profile.

use super::AppState;
use super::auth::CustomerAuth;
use super::error::ApiError;
use super::extract::{Json, Query};
use crate::crypto::b64::serde_array;
use crate::crypto::bundle::{KdfParams, SealedBundle};
use crate::domain::ids::{CustomerId, Handle};
use crate::domain::time::Timestamp;
use crate::store::records::CustomerRecord;
use crate::tokens::{Audience, CUSTOMER_TTL_SECS};
use crate::vault::Vault;
use crate::vault::customers::Signup;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use zeroize::{Zeroize, Zeroizing};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpBody {
    pub handle: String,
    /// HKDF(master, "assent/v1/auth"): the login proof. Never the passphrase.
    #[serde(with = "serde_array")]
    pub auth: [u8; 32],
    pub bundle: SealedBundle,
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
}

#[derive(Serialize)]
pub struct Profile {
    pub customer_id: CustomerId,
    pub handle: Handle,
    pub bundle: SealedBundle,
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
    pub created_at: Timestamp,
}

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

#[derive(Deserialize)]
pub struct KdfQuery {
    pub handle: String,
}

#[derive(Serialize)]
pub struct KdfAnswer {
    pub kdf: KdfParams,
}

/// What a device needs to derive keys from the passphrase. Answers for any well-formed handle.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogInBody {
    pub handle: String,
    #[serde(with = "serde_array")]
    pub auth: [u8; 32],
}

#[derive(Serialize)]
pub struct Session {
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(flatten)]
    pub profile: Profile,
}

pub async fn log_in(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(mut body): Json<LogInBody>,
) -> Result<Json<Session>, ApiError> {
    s.limits.check_ip(peer.ip(), "log_in")?;
    // Per handle too (known or not, alike), so one account cannot be ground from many IPs.
    s.limits.check_account(&body.handle, "log_in")?;
    let auth = Zeroizing::new(body.auth);
    body.auth.zeroize();
    let handle = Handle::parse(&body.handle).map_err(|_| {
        ApiError::Unauthorized(
            "bad_credentials",
            "the handle or passphrase is not right".into(),
        )
    })?;
    let record = s.vault.log_in(&handle, auth).await?;
    let token = s.tokens.issue(
        Audience::Customer,
        record.customer_id.as_str(),
        CUSTOMER_TTL_SECS,
        Vault::now().unix(),
    )?;
    Ok(Json(Session {
        token,
        token_type: "Bearer",
        expires_in: CUSTOMER_TTL_SECS,
        profile: record.into(),
    }))
}

pub async fn me(
    State(s): State<AppState>,
    CustomerAuth(id): CustomerAuth,
) -> Result<Json<Profile>, ApiError> {
    Ok(Json(s.vault.customer(&id)?.into()))
}
