//! The audit's second half: every record agrees with the ledger events that made it. An
//! envelope is the version its newest write or rotation logged (and none after an erase); a
//! grant is exactly the terms and signature its `grant_created` logged, revoked exactly when a
//! `grant_revoked` is logged, with as many reads as `read` events; an organization holds the
//! keys of its newest key event; a customer was registered. A record changed behind the
//! ledger's back is reported with its table and key.

use super::audit::AuditFailure;
use super::records::{CustomerRecord, EnvelopeHead, OrgRecord};
use super::tables::{CUSTOMERS, ENVELOPES, GRANTS, ORGS};
use crate::domain::grant::{Grant, GrantTerms};
use crate::ledger::Event;
use redb::{ReadTransaction, ReadableTable};
use std::collections::{BTreeMap, BTreeSet};

/// What the events say each record must be.
#[derive(Default)]
pub struct History {
    /// (customer, label) → (envelope id, version) of the newest write, `None` once erased.
    envelopes: BTreeMap<(String, String), Option<(String, u64)>>,
    /// grant id → its logged terms and signature (base64url).
    grants: BTreeMap<String, (GrantTerms, String)>,
    revoked: BTreeSet<String>,
    reads: BTreeMap<String, u32>,
    /// org id → (identity key, encryption key) of its newest key event.
    org_keys: BTreeMap<String, ([u8; 32], [u8; 32])>,
    customers: BTreeSet<String>,
}

impl History {
    pub fn add(&mut self, e: &Event) {
        match e {
            Event::CustomerRegistered { customer_id, .. } => {
                self.customers.insert(customer_id.to_string());
            }
            Event::EnvelopeWritten {
                customer_id,
                envelope_id,
                label,
                version,
                ..
            }
            | Event::KeyRotated {
                customer_id,
                envelope_id,
                label,
                version,
                ..
            } => {
                self.envelopes.insert(
                    (customer_id.to_string(), label.to_string()),
                    Some((envelope_id.to_string(), *version)),
                );
            }
            Event::EnvelopeErased {
                customer_id, label, ..
            } => {
                self.envelopes
                    .insert((customer_id.to_string(), label.to_string()), None);
            }
            Event::OrgRegistered {
                org_id,
                identity_key,
                encryption_key,
                ..
            }
            | Event::OrgKeysChanged {
                org_id,
                identity_key,
                encryption_key,
                ..
            } => {
                self.org_keys
                    .insert(org_id.to_string(), (*identity_key, *encryption_key));
            }
            Event::GrantCreated {
                customer_id,
                org_id,
                grant_id,
                labels,
                purposes,
                not_after,
                max_reads,
                org_identity_key,
                org_encryption_key,
                signature,
                ..
            } => {
                let terms = GrantTerms {
                    grant_id: grant_id.clone(),
                    customer_id: customer_id.clone(),
                    org_id: org_id.clone(),
                    org_identity_key: *org_identity_key,
                    org_encryption_key: *org_encryption_key,
                    labels: labels.clone(),
                    purposes: purposes.clone(),
                    not_after: *not_after,
                    max_reads: *max_reads,
                };
                self.grants
                    .insert(grant_id.to_string(), (terms, signature.clone()));
            }
            Event::GrantRevoked { grant_id, .. } => {
                self.revoked.insert(grant_id.to_string());
            }
            Event::Read { grant_id, .. } => {
                *self.reads.entry(grant_id.to_string()).or_default() += 1;
            }
            Event::RequestCreated { .. } | Event::RequestDeclined { .. } => {}
        }
    }
}

fn bad(table: &'static str, key: impl Into<String>, detail: impl Into<String>) -> AuditFailure {
    AuditFailure::Record {
        table,
        key: key.into(),
        detail: detail.into(),
    }
}

fn unreadable(e: impl std::fmt::Display) -> AuditFailure {
    AuditFailure::Unreadable(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(
    table: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<T, AuditFailure> {
    serde_json::from_slice(bytes).map_err(|e| bad(table, key, format!("does not decode: {e}")))
}

/// Compares every envelope, grant, organization and customer record with `h`.
pub fn check(rtx: &ReadTransaction, h: &History) -> Result<(), AuditFailure> {
    let mut envelopes_seen = BTreeSet::new();
    for item in rtx
        .open_table(ENVELOPES)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        let (customer, label) = k.value();
        let key = format!("{customer}/{label}");
        let e: EnvelopeHead = decode("envelopes", &key, v.value())?;
        let logged = h
            .envelopes
            .get(&(customer.to_owned(), label.to_owned()))
            .cloned()
            .flatten();
        if logged != Some((e.envelope_id.to_string(), e.version)) {
            return Err(bad(
                "envelopes",
                key,
                format!(
                    "holds {} version {}, the ledger's newest write is {logged:?}",
                    e.envelope_id, e.version
                ),
            ));
        }
        envelopes_seen.insert((customer.to_owned(), label.to_owned()));
    }
    if let Some(((c, l), _)) = h
        .envelopes
        .iter()
        .find(|(k, v)| v.is_some() && !envelopes_seen.contains(*k))
    {
        return Err(bad(
            "envelopes",
            format!("{c}/{l}"),
            "logged as written, never erased, but missing",
        ));
    }

    let mut grants_seen = BTreeSet::new();
    for item in rtx
        .open_table(GRANTS)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        let id = k.value().to_owned();
        let g: Grant = decode("grants", &id, v.value())?;
        let Some((terms, signature)) = h.grants.get(&id) else {
            return Err(bad("grants", id, "no grant_created event"));
        };
        if &g.terms != terms || crate::crypto::b64::encode(&g.signature) != *signature {
            return Err(bad(
                "grants",
                id,
                "terms or signature differ from grant_created",
            ));
        }
        if g.revoked_at.is_some() != h.revoked.contains(&id) {
            return Err(bad("grants", id, "revocation differs from the ledger"));
        }
        let reads = h.reads.get(&id).copied().unwrap_or(0);
        if g.reads != reads {
            return Err(bad(
                "grants",
                id,
                format!("counts {} reads, the ledger logged {reads}", g.reads),
            ));
        }
        grants_seen.insert(id);
    }
    if let Some(id) = h.grants.keys().find(|id| !grants_seen.contains(*id)) {
        return Err(bad("grants", id.clone(), "logged as created but missing"));
    }

    for item in rtx
        .open_table(ORGS)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        let id = k.value().to_owned();
        let o: OrgRecord = decode("orgs", &id, v.value())?;
        if h.org_keys.get(&id) != Some(&(o.ed25519_public, o.x25519_public)) {
            return Err(bad("orgs", id, "keys differ from its newest key event"));
        }
    }

    for item in rtx
        .open_table(CUSTOMERS)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        let id = k.value().to_owned();
        let _: CustomerRecord = decode("customers", &id, v.value())?;
        if !h.customers.contains(&id) {
            return Err(bad("customers", id, "no customer_registered event"));
        }
    }
    Ok(())
}
