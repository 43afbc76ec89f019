//! Erasure requests: the customer asks an organization to erase what it read under a grant
//! (`erasure_requested`, due after the configured deadline); the organization answers with a
//! statement signed by its identity key (`erasure_answered`). One request per grant. The vault
//! checks the answer's signature against the organization's registered key before logging it;
//! the customer's device checks it again against the organization's verified key log.

use super::{Vault, VaultError, random_nonce};
use crate::domain::erasure::{
    self, AnswerStatement, ErasureAnswer, ErasureOutcome, ErasureRequest,
};
use crate::domain::ids::{CustomerId, GrantId, OrgId};
use crate::ledger::Event;
use crate::store::ledger_tx::Appended;
use crate::store::prelude::*;

/// An organization's signed answer, as it sends it.
pub struct Answer {
    pub outcome: ErasureOutcome,
    pub reason: Option<String>,
    pub signature: Vec<u8>,
}

fn no_request(gid: &GrantId) -> VaultError {
    VaultError::not_found(
        "erasure_not_found",
        format!("no erasure request under {gid}"),
    )
}

impl Vault {
    /// Asks the grant's organization to erase what it read under it, by now + the deadline.
    pub async fn ask_erasure(
        &self,
        customer: CustomerId,
        gid: GrantId,
    ) -> Result<(ErasureRequest, Appended), VaultError> {
        let now = self.now();
        let days = i64::from(self.limits().erasure_deadline_days);
        let due = now.plus(days * 86_400);
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let grant = tx
                    .grant(&gid)?
                    .filter(|g| g.terms.customer_id == customer)
                    .ok_or_else(|| {
                        VaultError::not_found("grant_not_found", format!("no grant {gid}"))
                    })?;
                if tx.erasure_request(&gid)?.is_some() {
                    return Err(VaultError::conflict(
                        "erasure_already_requested",
                        "erasure was already asked under this grant",
                    ));
                }
                let org = grant.terms.org_id.clone();
                let appended = tx.append(
                    &Event::ErasureRequested {
                        customer_id: customer.clone(),
                        org_id: org.clone(),
                        grant_id: gid.clone(),
                        due,
                        at: now,
                    },
                    nonce,
                )?;
                let request = ErasureRequest {
                    grant_id: gid,
                    customer_id: customer,
                    org_id: org,
                    requested_at: now,
                    due,
                    request_index: appended.index,
                    answer: None,
                };
                tx.put_erasure_request(&request)?;
                Ok((request, appended))
            })
            .await
    }

    /// Logs the organization's answer, once, after checking its identity key signed it.
    pub async fn answer_erasure(
        &self,
        org: OrgId,
        gid: GrantId,
        answer: Answer,
    ) -> Result<(ErasureRequest, Appended), VaultError> {
        erasure::check_answer(answer.outcome, answer.reason.as_deref())?;
        let now = self.now();
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut request = tx
                    .erasure_request(&gid)?
                    .filter(|r| r.org_id == org)
                    .ok_or_else(|| no_request(&gid))?;
                if request.answer.is_some() {
                    return Err(VaultError::conflict(
                        "erasure_already_answered",
                        "this erasure request was already answered",
                    ));
                }
                let identity = tx
                    .org(&org)?
                    .ok_or_else(|| VaultError::not_found("org_not_found", org.to_string()))?
                    .ed25519_public;
                let statement = AnswerStatement {
                    customer_id: &request.customer_id,
                    org_id: &org,
                    grant_id: &gid,
                    request_index: request.request_index,
                    outcome: answer.outcome,
                    reason: answer.reason.as_deref(),
                };
                crate::crypto::sign::verify_erasure_answer(
                    &identity,
                    &statement,
                    &answer.signature,
                )
                .map_err(|_| {
                    VaultError::bad(
                        "bad_signature",
                        "the answer is not signed by the organization's identity key over \
                         assent/v2/erasure-answer and this request",
                    )
                })?;
                let appended = tx.append(
                    &Event::ErasureAnswered {
                        customer_id: request.customer_id.clone(),
                        org_id: org.clone(),
                        grant_id: gid.clone(),
                        request_index: request.request_index,
                        outcome: answer.outcome,
                        reason: answer.reason.clone(),
                        identity_key: identity,
                        signature: answer.signature.clone(),
                        at: now,
                    },
                    nonce,
                )?;
                request.answer = Some(ErasureAnswer {
                    outcome: answer.outcome,
                    reason: answer.reason,
                    identity_key: identity,
                    signature: answer.signature,
                    answered_at: now,
                    answer_index: appended.index,
                });
                tx.put_erasure_request(&request)?;
                Ok((request, appended))
            })
            .await
    }

    /// Every erasure request made to the organization.
    pub fn org_erasure_requests(&self, org: &OrgId) -> Result<Vec<ErasureRequest>, VaultError> {
        Ok(self.store().read()?.org_erasure_requests(org)?)
    }

    /// The erasure request under a grant, if the customer made one.
    pub fn erasure_request(&self, gid: &GrantId) -> Result<Option<ErasureRequest>, VaultError> {
        Ok(self.store().read()?.erasure_request(gid)?)
    }
}
