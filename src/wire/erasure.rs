//! Erasure requests and answers. What the vault reports about them is display: the customer's
//! device believes a request and an answer from the two ledger entries named here
//! (`request_index`, `answer_index`), verified like every entry, and the answer's signature,
//! checked against the organization's verified key log (`client::customer`).

use crate::crypto::b64::{serde_array, serde_bytes};
use crate::domain::erasure::{ErasureOutcome, ErasureRequest, ErasureState};
use crate::domain::ids::{CustomerId, GrantId, OrgId};
use crate::domain::time::Timestamp;
use crate::wire::ledger::LedgerRef;
use crate::wire::schema::{Base64Url, Base64Url32};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct AnswerView {
    pub outcome: ErasureOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub identity_key: [u8; 32],
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub signature: Vec<u8>,
    #[schema(value_type = String)]
    pub answered_at: Timestamp,
    pub answer_index: u64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct ErasureView {
    #[schema(value_type = String)]
    pub grant_id: GrantId,
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    #[schema(value_type = String)]
    pub org_id: OrgId,
    #[schema(value_type = String)]
    pub requested_at: Timestamp,
    /// When the organization's answer is due.
    #[schema(value_type = String)]
    pub due: Timestamp,
    pub request_index: u64,
    /// `pending`, `overdue` (no answer and past `due`), `erased` or `refused`, at the vault's
    /// clock.
    pub state: ErasureState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerView>,
}

impl ErasureView {
    pub fn new(r: ErasureRequest, now: Timestamp) -> Self {
        Self {
            state: r.state(now),
            grant_id: r.grant_id,
            customer_id: r.customer_id,
            org_id: r.org_id,
            requested_at: r.requested_at,
            due: r.due,
            request_index: r.request_index,
            answer: r.answer.map(|a| AnswerView {
                outcome: a.outcome,
                reason: a.reason,
                identity_key: a.identity_key,
                signature: a.signature,
                answered_at: a.answered_at,
                answer_index: a.answer_index,
            }),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ErasureLogged {
    pub erasure: ErasureView,
    /// The entry this act added (`erasure_requested` or `erasure_answered`).
    pub ledger: LedgerRef,
}

/// An organization's answer: Ed25519 by its identity key over `assent/v2/erasure-answer\n` ‖
/// JCS({customer_id, org_id, grant_id, request_index, outcome, reason?}).
#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub outcome: ErasureOutcome,
    /// Required when refusing (the legal reason, 1–1000 characters); absent when erased.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(with = "serde_bytes")]
    #[schema(value_type = Base64Url)]
    pub signature: Vec<u8>,
}
