//! The API's one error type. Every variant has one status; bodies are
//! `{"error": "<stable code>", "message": "<for humans>"}` and never carry internals.

use crate::tokens::TokenError;
use crate::vault::VaultError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    BadRequest(&'static str, String),
    Unauthorized(&'static str, String),
    Forbidden(&'static str, String),
    NotFound(&'static str, String),
    MethodNotAllowed,
    Conflict(&'static str, String),
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    TooManyRequests,
    Unavailable,
    /// 503: no checkpoint carries the witnesses' quorum yet.
    Unwitnessed(String),
    Internal,
}

impl ApiError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest(code, message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(..) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(..) => StatusCode::FORBIDDEN,
            Self::NotFound(..) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(..) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::Unwitnessed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn parts(&self) -> (&'static str, String) {
        match self {
            Self::BadRequest(c, m)
            | Self::Unauthorized(c, m)
            | Self::Forbidden(c, m)
            | Self::NotFound(c, m)
            | Self::Conflict(c, m) => (c, m.clone()),
            Self::MethodNotAllowed => (
                "method_not_allowed",
                "this method is not allowed here".into(),
            ),
            Self::PayloadTooLarge(m) => ("body_too_large", m.clone()),
            Self::UnsupportedMediaType(m) => ("unsupported_media_type", m.clone()),
            Self::TooManyRequests => (
                "rate_limited",
                "too many attempts; wait a minute and try again".into(),
            ),
            Self::Unavailable => ("unavailable", "the vault is busy; try again".into()),
            Self::Unwitnessed(m) => ("unwitnessed", m.clone()),
            Self::Internal => (
                "internal",
                "something went wrong on our side; it has been logged".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, message) = self.parts();
        let mut res = (
            self.status(),
            Json(json!({ "error": code, "message": message })),
        )
            .into_response();
        if let Self::TooManyRequests = self {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
        }
        if let Self::Unauthorized(..) = self {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::BadInput { code, message } => Self::BadRequest(code, message),
            VaultError::Unauthorized { code, message } => Self::Unauthorized(code, message),
            VaultError::Forbidden { code, message } => Self::Forbidden(code, message),
            VaultError::NotFound { code, message } => Self::NotFound(code, message),
            VaultError::Conflict { code, message } => Self::Conflict(code, message),
            VaultError::TooLarge { message } => Self::PayloadTooLarge(message),
            VaultError::Store(
                crate::store::StoreError::WriterGone | crate::store::StoreError::Aborted,
            ) => {
                tracing::error!(error = %e, "write not committed");
                Self::Unavailable
            }
            VaultError::Busy => Self::Unavailable,
            VaultError::Unwitnessed(m) => Self::Unwitnessed(m),
            VaultError::Store(_) | VaultError::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                Self::Internal
            }
        }
    }
}

impl From<crate::domain::DomainError> for ApiError {
    fn from(e: crate::domain::DomainError) -> Self {
        VaultError::from(e).into()
    }
}

impl From<crate::crypto::CryptoError> for ApiError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        VaultError::from(e).into()
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => Self::Unauthorized(
                "token_expired",
                "the token has expired; get a new one".into(),
            ),
            TokenError::Invalid(_) => {
                Self::Unauthorized("invalid_token", "the token is not valid here".into())
            }
            TokenError::Signing(_) => {
                tracing::error!(error = %e, "token signing failed");
                Self::Internal
            }
        }
    }
}
