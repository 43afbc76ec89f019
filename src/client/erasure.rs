//! Erasure requests as the customer's device believes them: from its verified ledger only. A
//! request is its `erasure_requested` entry (with its deadline); an answer is its
//! `erasure_answered` entry, believed only if it answers that request and is signed by the key
//! the organization held when it answered, taken from the organization's verified key log.
//! The vault's listing (`GrantView::erasure`) is display; this is what the device shows as
//! checked.

use super::api::ClientError;
use super::verify::{OrgKeyLog, VerifiedEntry};
use crate::domain::erasure::{self, AnswerStatement, ErasureOutcome, ErasureState};
use crate::domain::ids::{CustomerId, GrantId, OrgId};
use crate::domain::time::Timestamp;
use crate::ledger::Event;
use std::collections::BTreeMap;

/// An organization's answer, checked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckedAnswer {
    pub outcome: ErasureOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub answered_at: Timestamp,
    pub answer_index: u64,
}

/// An erasure request from the verified ledger, with its checked answer if any.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckedErasure {
    pub grant_id: GrantId,
    pub org_id: OrgId,
    pub requested_at: Timestamp,
    pub due: Timestamp,
    pub request_index: u64,
    pub state: ErasureState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<CheckedAnswer>,
}

/// The identity key `log` says the organization held just before ledger index `at`.
fn key_at(log: &OrgKeyLog, at: u64) -> Option<[u8; 32]> {
    log.keys
        .iter()
        .take_while(|k| k.index < at)
        .last()
        .map(|k| k.identity_key)
}

/// Every erasure request of `customer` in `entries` (verified, complete), each answer checked
/// against the organization's key log in `logs`. Refuses an answer to no request, a second
/// answer, or one not signed by the organization's key of the moment.
pub fn check(
    customer: &CustomerId,
    entries: &[VerifiedEntry],
    logs: &BTreeMap<OrgId, OrgKeyLog>,
    now: Timestamp,
) -> Result<Vec<CheckedErasure>, ClientError> {
    let mut out: Vec<CheckedErasure> = Vec::new();
    for e in entries {
        match &e.event.event {
            Event::ErasureRequested {
                customer_id,
                org_id,
                grant_id,
                due,
                at,
            } if customer_id == customer => out.push(CheckedErasure {
                grant_id: grant_id.clone(),
                org_id: org_id.clone(),
                requested_at: *at,
                due: *due,
                request_index: e.index,
                state: ErasureState::Pending,
                answer: None,
            }),
            Event::ErasureAnswered {
                customer_id,
                org_id,
                grant_id,
                request_index,
                outcome,
                reason,
                identity_key,
                signature,
                at,
            } if customer_id == customer => {
                let refuse = |why: &str| {
                    ClientError::Refused(format!(
                        "ledger entry {}: the answer to the erasure request under {grant_id} {why}",
                        e.index
                    ))
                };
                let Some(r) = out
                    .iter_mut()
                    .find(|r| r.request_index == *request_index && &r.grant_id == grant_id)
                else {
                    return Err(refuse("answers no request of yours"));
                };
                if &r.org_id != org_id || r.answer.is_some() {
                    return Err(refuse("is not the organization's first answer"));
                }
                let log = logs
                    .get(org_id)
                    .ok_or_else(|| refuse("comes from an organization whose keys are unknown"))?;
                if key_at(log, e.index) != Some(*identity_key) {
                    return Err(refuse(
                        "is signed by a key the organization did not hold when it answered",
                    ));
                }
                let (statement, key, sig) = e
                    .event
                    .event
                    .erasure_answer()
                    .ok_or_else(|| refuse("is not an answer"))?;
                crate::crypto::sign::verify_erasure_answer(key, &statement, sig)
                    .map_err(|_| refuse("is not signed by the organization's key"))?;
                r.answer = Some(CheckedAnswer {
                    outcome: *outcome,
                    reason: reason.clone(),
                    answered_at: *at,
                    answer_index: e.index,
                });
            }
            _ => {}
        }
    }
    for r in &mut out {
        r.state = erasure::state_of(r.answer.as_ref().map(|a| a.outcome), r.due, now);
    }
    Ok(out)
}

impl super::customer::Device {
    /// Asks the grant's organization to erase what it read under it.
    pub fn ask_erasure(
        &self,
        grant_id: &GrantId,
    ) -> Result<crate::wire::erasure::ErasureLogged, ClientError> {
        self.api.post(
            &format!("/v1/me/grants/{grant_id}/erasure"),
            &serde_json::json!({}),
        )
    }

    /// This customer's erasure requests and answers, from the verified ledger, answers checked
    /// against each organization's verified key log.
    pub fn erasures(&mut self) -> Result<Vec<CheckedErasure>, ClientError> {
        let ledger = self.own_ledger()?;
        let mut logs = BTreeMap::new();
        for e in &ledger.verified.entries {
            if let Event::ErasureAnswered { org_id, .. } = &e.event.event
                && !logs.contains_key(org_id)
            {
                logs.insert(org_id.clone(), self.org_keys(org_id)?);
            }
        }
        check(
            &self.customer_id.clone(),
            &ledger.verified.entries,
            &logs,
            crate::clock::now(),
        )
    }
}

impl super::org::OrgClient {
    /// Erasure requests made to this organization (the vault's word; each names its ledger
    /// entry, which `assent org monitor` checks).
    pub fn erasure_requests(&self) -> Result<Vec<crate::wire::erasure::ErasureView>, ClientError> {
        self.api.get("/v1/org/erasure-requests")
    }

    /// Answers the request under `grant_id`: signs the statement with the identity key. It
    /// names the request's ledger entry as listed; a wrong index only makes the answer fail
    /// to verify, it cannot answer another request.
    pub fn answer_erasure(
        &self,
        grant_id: &str,
        outcome: ErasureOutcome,
        reason: Option<&str>,
    ) -> Result<crate::wire::erasure::ErasureLogged, ClientError> {
        let usage = |e: crate::domain::DomainError| ClientError::Usage(e.to_string());
        let gid = GrantId::parse(grant_id).map_err(usage)?;
        erasure::check_answer(outcome, reason).map_err(usage)?;
        let request = self
            .erasure_requests()?
            .into_iter()
            .find(|r| r.grant_id == gid)
            .ok_or_else(|| ClientError::Usage(format!("no erasure request under {gid}")))?;
        let org = OrgId::parse(&self.keys.org_id).map_err(usage)?;
        let statement = AnswerStatement {
            customer_id: &request.customer_id,
            org_id: &org,
            grant_id: &gid,
            request_index: request.request_index,
            outcome,
            reason,
        };
        let signature = crate::crypto::sign::sign_erasure_answer(&self.keys.identity, &statement)?;
        self.api.post(
            &format!("/v1/org/erasure-requests/{gid}/answer"),
            &crate::wire::erasure::AnswerBody {
                outcome,
                reason: reason.map(str::to_owned),
                signature: signature.to_vec(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::verify::OrgKeySet;
    use crate::ledger::Sequenced;

    fn entry(index: u64, event: Event) -> VerifiedEntry {
        VerifiedEntry {
            index,
            nonce: [0; 32],
            event: Sequenced {
                event,
                customer_seq: Some(index),
                org_seq: Some(index),
            },
        }
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_unix(s).unwrap()
    }

    #[test]
    fn an_answer_counts_only_when_the_organizations_key_of_the_moment_signed_it() {
        let customer = CustomerId::from_random([1; 16]);
        let org = OrgId::parse("org_bank").unwrap();
        let grant = GrantId::from_random([2; 16]);
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let forger = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let log = OrgKeyLog {
            org_id: org.clone(),
            name: "Bank".into(),
            current: OrgKeySet {
                key_seq: 1,
                identity_key: key.verifying_key().to_bytes(),
                encryption_key: [9; 32],
                at: ts(1_000),
                index: 0,
            },
            keys: Vec::new(),
        };
        let log = OrgKeyLog {
            keys: vec![log.current.clone()],
            ..log
        };
        let logs = BTreeMap::from([(org.clone(), log)]);
        let asked = entry(
            5,
            Event::ErasureRequested {
                customer_id: customer.clone(),
                org_id: org.clone(),
                grant_id: grant.clone(),
                due: ts(2_000),
                at: ts(1_500),
            },
        );
        let answered = |signer: &ed25519_dalek::SigningKey, claimed: [u8; 32], reason: &str| {
            let statement = AnswerStatement {
                customer_id: &customer,
                org_id: &org,
                grant_id: &grant,
                request_index: 5,
                outcome: ErasureOutcome::Refused,
                reason: Some(reason),
            };
            let signature = crate::crypto::sign::sign_erasure_answer(signer, &statement)
                .unwrap()
                .to_vec();
            entry(
                6,
                Event::ErasureAnswered {
                    customer_id: customer.clone(),
                    org_id: org.clone(),
                    grant_id: grant.clone(),
                    request_index: 5,
                    outcome: ErasureOutcome::Refused,
                    reason: Some(reason.into()),
                    identity_key: claimed,
                    signature,
                    at: ts(1_600),
                },
            )
        };
        // Unanswered: pending, then overdue.
        let only = check(&customer, std::slice::from_ref(&asked), &logs, ts(1_900)).unwrap();
        assert_eq!(only[0].state, ErasureState::Pending);
        let late = check(&customer, std::slice::from_ref(&asked), &logs, ts(2_001)).unwrap();
        assert_eq!(late[0].state, ErasureState::Overdue);
        // Genuine.
        let public = key.verifying_key().to_bytes();
        let good = answered(&key, public, "AML retention");
        let got = check(&customer, &[asked.clone(), good], &logs, ts(3_000)).unwrap();
        assert_eq!(got[0].state, ErasureState::Refused);
        assert_eq!(
            got[0].answer.as_ref().unwrap().reason.as_deref(),
            Some("AML retention")
        );
        // Signed by another key, claiming it; claiming the org's key; a changed reason.
        let forged = answered(&forger, forger.verifying_key().to_bytes(), "x");
        assert!(check(&customer, &[asked.clone(), forged], &logs, ts(3_000)).is_err());
        let forged = answered(&forger, public, "x");
        assert!(check(&customer, &[asked.clone(), forged], &logs, ts(3_000)).is_err());
        let mut altered = answered(&key, public, "AML retention");
        if let Event::ErasureAnswered { reason, .. } = &mut altered.event.event {
            *reason = Some("we erased it".into());
        }
        assert!(check(&customer, &[asked.clone(), altered], &logs, ts(3_000)).is_err());
        // An answer to no request.
        let orphan = answered(&key, public, "AML retention");
        assert!(check(&customer, &[orphan], &logs, ts(3_000)).is_err());
    }
}
