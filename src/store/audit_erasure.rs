//! The audit's erasure part: each `erasure_requested` names a grant of the same customer and
//! organization, once; each `erasure_answered` answers a logged request of that grant, once,
//! with a statement its organization's key of the moment signed; and `erasure_requests` holds
//! exactly what those events say (and its organization listing is exact).

use super::audit::AuditFailure;
use super::audit_links::{index_pairs, records};
use super::audit_records::{History, bad};
use super::tables::{ERASURE_REQUESTS, ORG_ERASURE_REQUESTS};
use crate::domain::erasure::{ErasureAnswer, ErasureRequest};
use crate::ledger::Event;
use redb::ReadTransaction;
use std::collections::{BTreeMap, BTreeSet};

/// Folds an erasure event into `h`'s `erasures` (grant id → the record the events make).
pub(super) fn replay(h: &mut History, index: u64, e: &Event) -> Result<(), String> {
    match e {
        Event::ErasureRequested {
            customer_id,
            org_id,
            grant_id,
            due,
            at,
        } => {
            let Some((terms, _)) = h.grants.get(grant_id.as_str()) else {
                return Err(format!("asks to erase under {grant_id}, never created"));
            };
            if &terms.customer_id != customer_id || &terms.org_id != org_id {
                return Err(format!("asks to erase under {grant_id} for other parties"));
            }
            if due <= at {
                return Err(format!("an erasure of {grant_id} due before it was asked"));
            }
            let request = ErasureRequest {
                grant_id: grant_id.clone(),
                customer_id: customer_id.clone(),
                org_id: org_id.clone(),
                requested_at: *at,
                due: *due,
                request_index: index,
                answer: None,
            };
            if h.erasures.insert(grant_id.to_string(), request).is_some() {
                return Err(format!("asks to erase under {grant_id} a second time"));
            }
        }
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
        } => {
            let current = h.org_keys.get(org_id.as_str()).map(|k| k.0);
            let Some(r) = h.erasures.get_mut(grant_id.as_str()) else {
                return Err(format!("answers an erasure of {grant_id} never asked"));
            };
            if (&r.customer_id, &r.org_id, r.request_index) != (customer_id, org_id, *request_index)
                || r.answer.is_some()
            {
                return Err(format!("answers the erasure of {grant_id} out of turn"));
            }
            if current != Some(*identity_key) {
                return Err(format!(
                    "answers the erasure of {grant_id} with a key {org_id} does not hold"
                ));
            }
            if let Some((statement, key, sig)) = e.erasure_answer() {
                crate::crypto::sign::verify_erasure_answer(key, &statement, sig).map_err(|_| {
                    format!("answers the erasure of {grant_id} without a valid signature")
                })?;
            }
            r.answer = Some(ErasureAnswer {
                outcome: *outcome,
                reason: reason.clone(),
                identity_key: *identity_key,
                signature: signature.clone(),
                answered_at: *at,
                answer_index: index,
            });
        }
        _ => {}
    }
    Ok(())
}

/// The stored requests are exactly the ones the events make, each listed under its
/// organization and nothing else listed.
pub(super) fn check(rtx: &ReadTransaction, h: &History) -> Result<(), AuditFailure> {
    let stored: BTreeMap<String, ErasureRequest> =
        records(rtx, ERASURE_REQUESTS, "erasure_requests")?;
    if let Some(key) = stored
        .keys()
        .chain(h.erasures.keys())
        .find(|k| stored.get(*k) != h.erasures.get(*k))
    {
        let detail = if stored.contains_key(key) {
            "is not what its ledger events say"
        } else {
            "is asked in the ledger but not stored"
        };
        return Err(bad("erasure_requests", key.clone(), detail));
    }
    let expected: BTreeSet<(String, String)> = stored
        .iter()
        .map(|(grant, r)| (r.org_id.to_string(), grant.clone()))
        .collect();
    let listed = index_pairs(rtx, ORG_ERASURE_REQUESTS)?;
    if let Some((_, grant)) = listed.symmetric_difference(&expected).next() {
        return Err(bad(
            "org_erasure_requests",
            grant.clone(),
            "the listing and the requests disagree",
        ));
    }
    Ok(())
}
