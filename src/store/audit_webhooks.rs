//! The audit's webhook part: the outbox's schedule and listing are exact (every pending
//! message is due once, at its `next_attempt_at`; a dead letter is not due; every message is
//! listed once under its organization and state), each message's id is its ledger index, kind
//! and endpoint, the scheduler's cursor is not past the ledger, and `webhook_orgs` lists exactly
//! the organizations whose records hold endpoints, with their counts.

use super::audit::AuditFailure;
use super::audit_links::records;
use super::audit_records::{bad, counters, unreadable};
use super::records::OrgRecord;
use super::tables::{
    ORG_WEBHOOK_DELIVERIES, ORGS, WEBHOOK_CURSOR, WEBHOOK_DELIVERIES, WEBHOOK_DUE, WEBHOOK_ORGS,
    WEBHOOK_STATE,
};
use super::webhooks::state_key;
use crate::domain::webhook::WebhookDelivery;
use redb::{ReadTransaction, ReadableTable};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(rtx: &ReadTransaction, size: u64) -> Result<(), AuditFailure> {
    check_subscribers(rtx)?;
    let cursor = rtx
        .open_table(WEBHOOK_STATE)
        .map_err(unreadable)?
        .get(WEBHOOK_CURSOR)
        .map_err(unreadable)?
        .map(|v| v.value());
    if let Some(c) = cursor
        && c > size
    {
        return Err(bad(
            "webhook_state",
            WEBHOOK_CURSOR,
            format!("is {c}, past the ledger ({size})"),
        ));
    }
    let mut due = BTreeSet::new();
    let mut listed = BTreeSet::new();
    let deliveries: BTreeMap<String, WebhookDelivery> =
        records(rtx, WEBHOOK_DELIVERIES, "webhook_deliveries")?;
    for (id, d) in deliveries {
        if d.delivery_id.as_str() != id {
            return Err(bad("webhook_deliveries", id, "stored under another id"));
        }
        let index: Option<u64> = id
            .strip_prefix("msg_")
            .and_then(|rest| rest.split('-').next())
            .and_then(|n| n.parse().ok());
        let reached = matches!((index, cursor), (Some(i), Some(c)) if i < c);
        if !reached {
            return Err(bad(
                "webhook_deliveries",
                id,
                "names no ledger entry the scheduler has reached",
            ));
        }
        if let Some(at) = d.due() {
            due.insert((at, id.clone()));
        }
        listed.insert((d.org_id.to_string(), state_key(d.state).to_owned(), id));
    }
    let mut due_found = BTreeSet::new();
    for item in rtx
        .open_table(WEBHOOK_DUE)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, _) = item.map_err(unreadable)?;
        let (at, id) = k.value();
        due_found.insert((at, id.to_owned()));
    }
    if let Some((at, id)) = due.symmetric_difference(&due_found).next() {
        return Err(bad(
            "webhook_due",
            id.clone(),
            format!("the schedule and the messages disagree (due {at})"),
        ));
    }
    let mut listed_found = BTreeSet::new();
    for item in rtx
        .open_table(ORG_WEBHOOK_DELIVERIES)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, _) = item.map_err(unreadable)?;
        let (org, state, id) = k.value();
        listed_found.insert((org.to_owned(), state.to_owned(), id.to_owned()));
    }
    if let Some((_, _, id)) = listed.symmetric_difference(&listed_found).next() {
        return Err(bad(
            "org_webhook_deliveries",
            id.clone(),
            "the listing and the messages disagree",
        ));
    }
    Ok(())
}

/// `webhook_orgs` is exactly {organization → its endpoint count} over records with endpoints.
fn check_subscribers(rtx: &ReadTransaction) -> Result<(), AuditFailure> {
    let orgs: BTreeMap<String, OrgRecord> = records(rtx, ORGS, "orgs")?;
    let expected: BTreeMap<String, u64> = orgs
        .into_iter()
        .filter(|(_, o)| !o.webhooks.is_empty())
        .map(|(id, o)| (id, o.webhooks.len() as u64))
        .collect();
    let found = counters(rtx, WEBHOOK_ORGS)?;
    if let Some((org, _)) = expected
        .iter()
        .chain(found.iter())
        .find(|(o, _)| expected.get(*o) != found.get(*o))
    {
        return Err(bad(
            "webhook_orgs",
            org.clone(),
            "does not list the organization's endpoints as its record holds them",
        ));
    }
    Ok(())
}
