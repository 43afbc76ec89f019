use crate::crypto::CryptoError;
use crate::domain::DomainError;
use crate::store::StoreError;
use thiserror::Error;

/// Why a use case failed. Each variant maps to exactly one HTTP status (see `http::error`).
#[derive(Debug, Error)]
pub enum VaultError {
    #[error("{message}")]
    BadInput { code: &'static str, message: String },
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    TooLarge { message: String },
    /// Too many expensive operations (Argon2id) at once; try again shortly.
    #[error("busy")]
    Busy,
    /// No checkpoint carries the witnesses' quorum yet (they are down or behind).
    #[error("{0}")]
    Unwitnessed(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl VaultError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadInput {
            code,
            message: message.into(),
        }
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<DomainError> for VaultError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { code, message } => Self::BadInput { code, message },
            DomainError::Conflict { code, message } => Self::Conflict { code, message },
            DomainError::Denied { code, message } => Self::Forbidden { code, message },
        }
    }
}

impl From<CryptoError> for VaultError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::BadSignature => {
                Self::bad("bad_signature", "the signature does not verify")
            }
            CryptoError::WeakKdfParams(m) => Self::bad("weak_kdf_params", m),
            other => Self::bad("bad_crypto_input", other.to_string()),
        }
    }
}
