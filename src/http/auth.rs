//! Bearer-token extractors, one per audience. A handler that takes `CustomerAuth` can only be
//! reached with a customer token, and so on: the route table states who may call what.

use super::AppState;
use super::error::ApiError;
use crate::domain::ids::{CustomerId, OrgId};
use crate::tokens::{self, Audience};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "missing_token",
                "send `Authorization: Bearer <token>`".into(),
            )
        })?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 4096)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "invalid_token",
                "the Authorization header is not a bearer token".into(),
            )
        })
}

/// A customer session.
pub struct CustomerAuth(pub CustomerId);

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(
            CustomerSession::from_request_parts(parts, state).await?.id,
        ))
    }
}

/// A customer session with its verified claims (for renewing it and for streams that end
/// when the token does).
pub struct CustomerSession {
    pub id: CustomerId,
    pub claims: crate::tokens::Claims,
}

impl FromRequestParts<AppState> for CustomerSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = state.tokens.verify(bearer(parts)?, Audience::Customer)?;
        let id = CustomerId::parse(&claims.sub)
            .map_err(|_| ApiError::Unauthorized("invalid_token", "bad subject".into()))?;
        // A closed account's tokens, still unexpired, open nothing.
        if !state.vault.customer_exists(&id)? {
            return Err(ApiError::Unauthorized(
                "unknown_customer",
                "this account no longer exists".into(),
            ));
        }
        Ok(Self { id, claims })
    }
}

/// An organization's access token.
pub struct OrgAuth(pub OrgId);

impl FromRequestParts<AppState> for OrgAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = state.tokens.verify(bearer(parts)?, Audience::Org)?;
        let id = OrgId::parse(&claims.sub)
            .map_err(|_| ApiError::Unauthorized("invalid_token", "bad subject".into()))?;
        Ok(Self(id))
    }
}

/// An operator token signed by the admin key. It can register organizations and nothing else.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        tokens::verify_admin(bearer(parts)?, &state.admin_public)?;
        Ok(Self)
    }
}
