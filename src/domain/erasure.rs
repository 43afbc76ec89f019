//! Erasure requests (GDPR Art. 17, and Art. 7(3) withdrawal): a customer asks an organization to
//! erase the copies it read under a grant; the organization answers with a statement signed by
//! its identity key — erased, or refused with a legal reason. Both are ledger events; the state
//! (and whether the answer is overdue) follows from them and the clock.

use super::DomainError;
use super::ids::{CustomerId, GrantId, OrgId};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The default time an organization has to answer: one month (GDPR Art. 12(3)).
pub const DEFAULT_DEADLINE_DAYS: u32 = 30;
/// Longest refusal reason, in characters.
pub const MAX_REASON_CHARS: usize = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureOutcome {
    /// The organization states it erased the copies.
    Erased,
    /// The organization refuses, giving its legal reason (e.g. a retention duty).
    Refused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureState {
    /// Waiting for the organization's answer, before the deadline.
    Pending,
    /// Waiting, and the deadline has passed.
    Overdue,
    Erased,
    Refused,
}

/// What the organization signs: `assent/v2/erasure-answer\n` ‖ JCS of this. It names the
/// request's ledger entry, so an answer cannot be moved to another request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnswerStatement<'a> {
    pub customer_id: &'a CustomerId,
    pub org_id: &'a OrgId,
    pub grant_id: &'a GrantId,
    /// Ledger index of the `erasure_requested` entry answered.
    pub request_index: u64,
    pub outcome: ErasureOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// An organization's signed answer, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureAnswer {
    pub outcome: ErasureOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The identity key that signed (the organization's key when it answered).
    #[serde(with = "crate::crypto::b64::serde_array")]
    pub identity_key: [u8; 32],
    #[serde(with = "crate::crypto::b64::serde_bytes")]
    pub signature: Vec<u8>,
    pub answered_at: Timestamp,
    /// Ledger index of the `erasure_answered` entry.
    pub answer_index: u64,
}

/// One erasure request (one per grant) and its answer, as the vault stores it: derived from the
/// two ledger events, which the customer verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRequest {
    pub grant_id: GrantId,
    pub customer_id: CustomerId,
    pub org_id: OrgId,
    pub requested_at: Timestamp,
    /// When the answer is due.
    pub due: Timestamp,
    /// Ledger index of the `erasure_requested` entry.
    pub request_index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<ErasureAnswer>,
}

impl ErasureRequest {
    pub fn state(&self, now: Timestamp) -> ErasureState {
        state_of(self.answer.as_ref().map(|a| a.outcome), self.due, now)
    }
}

/// The state of a request due at `due`, answered with `outcome` (if at all), at `now`.
pub fn state_of(outcome: Option<ErasureOutcome>, due: Timestamp, now: Timestamp) -> ErasureState {
    match outcome {
        Some(ErasureOutcome::Erased) => ErasureState::Erased,
        Some(ErasureOutcome::Refused) => ErasureState::Refused,
        None if now > due => ErasureState::Overdue,
        None => ErasureState::Pending,
    }
}

/// A refusal names its reason (1–1000 characters of text); an erasure has none.
pub fn check_answer(outcome: ErasureOutcome, reason: Option<&str>) -> Result<(), DomainError> {
    match (outcome, reason) {
        (ErasureOutcome::Erased, None) => Ok(()),
        (ErasureOutcome::Erased, Some(_)) => Err(DomainError::invalid(
            "bad_reason",
            "an erasure carries no reason; only a refusal does",
        )),
        (ErasureOutcome::Refused, None) => Err(DomainError::invalid(
            "reason_required",
            "a refusal names its legal reason",
        )),
        (ErasureOutcome::Refused, Some(r)) => {
            let n = r.chars().count();
            if r.trim() != r
                || n == 0
                || n > MAX_REASON_CHARS
                || !r
                    .chars()
                    .all(|c| super::catalog::is_plain_text_char(c, true))
            {
                return Err(DomainError::invalid(
                    "bad_reason",
                    "a reason is 1–1000 characters of text, without surrounding spaces, control \
                     or format characters",
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_follows_the_answer_and_the_deadline() {
        let due = Timestamp::from_unix(2_000).unwrap();
        let before = Timestamp::from_unix(1_999).unwrap();
        let after = Timestamp::from_unix(2_001).unwrap();
        assert_eq!(state_of(None, due, before), ErasureState::Pending);
        assert_eq!(state_of(None, due, due), ErasureState::Pending);
        assert_eq!(state_of(None, due, after), ErasureState::Overdue);
        let refused = Some(ErasureOutcome::Refused);
        assert_eq!(state_of(refused, due, after), ErasureState::Refused);
        assert_eq!(
            state_of(Some(ErasureOutcome::Erased), due, after),
            ErasureState::Erased
        );
    }

    #[test]
    fn refusals_need_a_plain_reason_and_erasures_none() {
        use ErasureOutcome::*;
        assert!(check_answer(Erased, None).is_ok());
        assert!(check_answer(Erased, Some("x")).is_err());
        assert!(check_answer(Refused, None).is_err());
        assert!(check_answer(Refused, Some("AML retention, 5 years (Art. 40 AMLD)")).is_ok());
        assert!(check_answer(Refused, Some("line one\nline two")).is_ok());
        for bad in ["", " padded", "bidi \u{202e}", &"x".repeat(1_001)] {
            assert!(check_answer(Refused, Some(bad)).is_err(), "{bad:?}");
        }
    }
}
