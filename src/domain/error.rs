use thiserror::Error;

/// Why a value or an action is refused by the consent rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// Malformed input: `code` is a stable machine-readable reason.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The action does not fit the current state (already decided, already revoked, …).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// An organization read that the grant does not allow.
    #[error("{message}")]
    Denied { code: &'static str, message: String },
}

impl DomainError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
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

    pub fn denied(code: &'static str, message: impl Into<String>) -> Self {
        Self::Denied {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. }
            | Self::Conflict { code, .. }
            | Self::Denied { code, .. } => code,
        }
    }
}
