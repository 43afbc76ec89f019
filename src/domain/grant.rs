//! Grants: the customer's signed consent, and the policy every organization read must pass.

use super::DomainError;
use super::catalog::{Label, Purpose, distinct_sorted};
use super::ids::{CustomerId, GrantId, OrgId, RequestId};
use super::request::{AccessRequest, MAX_LABELS, MAX_PURPOSES};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Tolerated difference between the customer's clock and ours when checking `not_after`.
pub const CLOCK_SKEW_SECS: i64 = 300;
pub const MAX_READS_LIMIT: u32 = 1_000_000;

/// The object the customer signs (wire v2: Ed25519 over `assent/v2/grant\n` ‖ JCS(terms)).
/// Field names and the omission of an absent `max_reads` are part of the wire format.
///
/// Invariant: the grant names the organization's keys the customer approved; a device wraps
/// data keys only to the `org_encryption_key` of a grant whose signature it verified itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantTerms {
    pub grant_id: GrantId,
    pub customer_id: CustomerId,
    pub org_id: OrgId,
    /// The organization's Ed25519 identity key (raw, base64url).
    #[serde(with = "crate::crypto::b64::serde_array")]
    #[schema(value_type = crate::wire::schema::Base64Url32)]
    pub org_identity_key: [u8; 32],
    /// The organization's X25519 encryption key (raw, base64url): every wrap for this grant
    /// is made to it.
    #[serde(with = "crate::crypto::b64::serde_array")]
    #[schema(value_type = crate::wire::schema::Base64Url32)]
    pub org_encryption_key: [u8; 32],
    /// Distinct labels, a subset of the request's.
    #[schema(min_items = 1)]
    pub labels: Vec<Label>,
    /// Distinct purposes, a subset of the request's holding its required ones.
    #[schema(min_items = 1)]
    pub purposes: Vec<Purpose>,
    pub not_after: Timestamp,
    /// Read quota; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_reads: Option<u32>,
}

impl GrantTerms {
    /// Checks that the terms answer `request` and grant no more than it asked for:
    /// same customer and org, labels and purposes subsets, `not_after` in the future and within
    /// the requested duration (plus clock skew), and a sane read quota.
    pub fn check_against(
        &self,
        request: &AccessRequest,
        now: Timestamp,
    ) -> Result<(), DomainError> {
        if self.customer_id != request.customer_id || self.org_id != request.org_id {
            return Err(DomainError::invalid(
                "grant_mismatch",
                "the grant must name the request's customer and organization",
            ));
        }
        distinct_sorted(&self.labels, "labels", MAX_LABELS)?;
        distinct_sorted(&self.purposes, "purposes", MAX_PURPOSES)?;
        if let Some(extra) = self.labels.iter().find(|l| !request.labels.contains(l)) {
            return Err(DomainError::invalid(
                "grant_exceeds_request",
                format!("label `{extra}` was not requested"),
            ));
        }
        if let Some(extra) = self
            .purposes
            .iter()
            .find(|p| !request.purposes.iter().any(|r| r.same_as(p)))
        {
            return Err(DomainError::invalid(
                "grant_exceeds_request",
                format!("purpose `{extra}` was not requested"),
            ));
        }
        if let Some(missing) = request
            .required_purposes
            .iter()
            .find(|p| !self.purposes.iter().any(|g| g.same_as(p)))
        {
            return Err(DomainError::invalid(
                "required_purpose_missing",
                format!(
                    "the organization needs the purpose `{missing}` for its service: include it, \
                     or decline the request"
                ),
            ));
        }
        let duration = i64::try_from(request.duration_secs).unwrap_or(i64::MAX);
        let latest = now.plus(duration).plus(CLOCK_SKEW_SECS);
        if self.not_after <= now || self.not_after > latest {
            return Err(DomainError::invalid(
                "bad_not_after",
                format!("not_after must be in the future and no later than {latest}"),
            ));
        }
        if self
            .max_reads
            .is_some_and(|m| m == 0 || m > MAX_READS_LIMIT)
        {
            return Err(DomainError::invalid(
                "bad_max_reads",
                format!("max_reads must be between 1 and {MAX_READS_LIMIT}"),
            ));
        }
        Ok(())
    }
}

/// A stored grant: the signed terms plus the vault's bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub terms: GrantTerms,
    #[serde(with = "crate::crypto::b64::serde_bytes")]
    pub signature: Vec<u8>,
    pub request_id: RequestId,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    pub reads: u32,
    /// Ledger index of the `grant_created` entry.
    pub ledger_index: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Active,
    Revoked,
    Expired,
}

impl Grant {
    /// Expiry needs no action: it is derived from `now` on every check.
    pub fn state(&self, now: Timestamp) -> GrantState {
        if self.revoked_at.is_some() {
            GrantState::Revoked
        } else if now >= self.terms.not_after {
            GrantState::Expired
        } else {
            GrantState::Active
        }
    }

    /// Whether each new version of a covered envelope must be wrapped for this grant: it is
    /// active and can still read (a grant whose quota is used up never reads again).
    pub fn needs_wraps(&self, now: Timestamp) -> bool {
        self.state(now) == GrantState::Active
            && self.terms.max_reads.is_none_or(|max| self.reads < max)
    }

    pub fn covers_label(&self, label: &Label) -> bool {
        self.terms.labels.contains(label)
    }

    /// The read policy. Returns how far the read got (for choosing the clearest refusal among
    /// several grants) or `Ok` when every check passes.
    fn decide(
        &self,
        label: &Label,
        purpose: &Purpose,
        now: Timestamp,
    ) -> Result<(), (u8, DomainError)> {
        if !self.covers_label(label) {
            return Err((
                0,
                DomainError::denied(
                    "label_not_granted",
                    format!("no grant covers the label `{label}`"),
                ),
            ));
        }
        if !self.terms.purposes.iter().any(|p| p.same_as(purpose)) {
            return Err((
                1,
                DomainError::denied(
                    "purpose_not_granted",
                    format!("the grant for `{label}` does not cover the purpose `{purpose}`"),
                ),
            ));
        }
        match self.state(now) {
            GrantState::Revoked => {
                return Err((
                    2,
                    DomainError::denied("grant_revoked", "the customer revoked this grant"),
                ));
            }
            GrantState::Expired => {
                return Err((
                    3,
                    DomainError::denied(
                        "grant_expired",
                        format!("the grant expired at {}", self.terms.not_after),
                    ),
                ));
            }
            GrantState::Active => {}
        }
        if self.terms.max_reads.is_some_and(|max| self.reads >= max) {
            return Err((
                4,
                DomainError::denied("quota_exhausted", "the grant's read quota is used up"),
            ));
        }
        Ok(())
    }
}

/// Picks the grant that allows reading `label` for `purpose` now, or the clearest refusal.
/// `G` is a grant or anything holding one (the read path keeps each grant's stored form).
pub fn choose_grant<'a, G: std::borrow::Borrow<Grant>>(
    grants: &'a [G],
    label: &Label,
    purpose: &Purpose,
    now: Timestamp,
) -> Result<&'a G, DomainError> {
    let mut best: Option<(u8, DomainError)> = None;
    for g in grants {
        match g.borrow().decide(label, purpose, now) {
            Ok(()) => return Ok(g),
            Err((rank, e)) => {
                if best.as_ref().is_none_or(|(r, _)| rank >= *r) {
                    best = Some((rank, e));
                }
            }
        }
    }
    Err(best.map(|(_, e)| e).unwrap_or_else(|| {
        DomainError::denied(
            "no_grant",
            "the customer has not granted this organization any access",
        )
    }))
}
