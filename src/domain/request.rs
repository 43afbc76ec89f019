//! An organization's access request: what it asks for, why, and for how long.

use super::DomainError;
use super::catalog::{Label, Purpose, distinct_sorted};
use super::ids::{CustomerId, GrantId, OrgId, RequestId};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

pub const MIN_DURATION_SECS: u64 = 60;
/// Ten years: consent for longer than that should be asked for again.
pub const MAX_DURATION_SECS: u64 = 10 * 366 * 24 * 3600;
pub const MAX_JUSTIFICATION_CHARS: usize = 1000;
pub const MAX_LABELS: usize = 32;
pub const MAX_PURPOSES: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Declined,
}

/// An organization's access request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessRequest {
    pub request_id: RequestId,
    pub org_id: OrgId,
    pub customer_id: CustomerId,
    pub labels: Vec<Label>,
    pub purposes: Vec<Purpose>,
    /// The purposes the organization says its service needs (a sorted subset of `purposes`):
    /// a grant must include them all, so the customer takes them or declines. The others are
    /// the customer's free choice, none chosen in advance (GDPR Art. 7, recital 43: granular).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_purposes: Vec<Purpose>,
    pub duration_secs: u64,
    pub justification: String,
    pub created_at: Timestamp,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<GrantId>,
}

/// What an organization sends; checked by [`AccessRequest::new`].
pub struct RequestTerms {
    pub labels: Vec<Label>,
    pub purposes: Vec<Purpose>,
    pub required_purposes: Vec<Purpose>,
    pub duration_secs: u64,
    pub justification: String,
}

impl AccessRequest {
    pub fn new(
        request_id: RequestId,
        org_id: OrgId,
        customer_id: CustomerId,
        terms: RequestTerms,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let labels = distinct_sorted(&terms.labels, "labels", MAX_LABELS)?;
        // New requests name purposes by their current DPV 2.x terms only.
        let current = |ps: &[Purpose]| ps.iter().map(Purpose::current).collect::<Vec<_>>();
        let purposes = distinct_sorted(&current(&terms.purposes), "purposes", MAX_PURPOSES)?;
        let required_purposes = if terms.required_purposes.is_empty() {
            Vec::new()
        } else {
            distinct_sorted(
                &current(&terms.required_purposes),
                "required_purposes",
                MAX_PURPOSES,
            )?
        };
        if let Some(extra) = required_purposes.iter().find(|p| !purposes.contains(p)) {
            return Err(DomainError::invalid(
                "bad_required_purposes",
                format!("required purpose `{extra}` is not one of the requested purposes"),
            ));
        }
        if !(MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(&terms.duration_secs) {
            return Err(DomainError::invalid(
                "bad_duration",
                format!(
                    "duration_secs must be between {MIN_DURATION_SECS} and {MAX_DURATION_SECS}"
                ),
            ));
        }
        let justification = terms.justification.trim().to_owned();
        let chars = justification.chars().count();
        if chars == 0
            || chars > MAX_JUSTIFICATION_CHARS
            || !justification
                .chars()
                .all(|c| super::catalog::is_plain_text_char(c, true))
        {
            return Err(DomainError::invalid(
                "bad_justification",
                format!(
                    "justification must be 1–{MAX_JUSTIFICATION_CHARS} characters of text telling the customer why, without control or format characters (such as bidi overrides or zero-width characters)"
                ),
            ));
        }
        Ok(Self {
            request_id,
            org_id,
            customer_id,
            labels,
            purposes,
            required_purposes,
            duration_secs: terms.duration_secs,
            justification,
            created_at: now,
            status: RequestStatus::Pending,
            decided_at: None,
            grant_id: None,
        })
    }

    pub fn ensure_pending(&self) -> Result<(), DomainError> {
        match self.status {
            RequestStatus::Pending => Ok(()),
            RequestStatus::Approved | RequestStatus::Declined => Err(DomainError::conflict(
                "request_decided",
                "this request has already been approved or declined",
            )),
        }
    }
}
