//! The audit's second half: every record agrees with the ledger events that made it. An
//! envelope is the version its newest write or rotation logged (and none after an erase); a
//! grant is exactly the terms and signature its `grant_created` logged, revoked exactly when a
//! `grant_revoked` is logged, with as many reads as `read` events; an organization holds the
//! keys of its newest key event; a customer was registered. A record changed behind the
//! ledger's back is reported with its table and key.

use super::audit::AuditFailure;
use super::records::{CustomerRecord, OrgRecord};
use super::tables::{CUSTOMERS, ENVELOPES, GRANT_READS, GRANTS, ORGS};
use crate::domain::grant::{Grant, GrantTerms};
use crate::ledger::Event;
use redb::{ReadTransaction, ReadableTable};
use std::collections::{BTreeMap, BTreeSet};

/// What the events say each record must be, gathered in one pass over the ledger. A fact the
/// events contradict by themselves (a read outside its grant, an envelope version out of
/// order, an event naming an unregistered party) is kept as the first `problem`.
#[derive(Default)]
pub struct History {
    /// (customer, label) → the newest write, `None` once erased.
    envelopes: BTreeMap<(String, String), Option<EnvelopeLog>>,
    /// grant id → its logged terms and signature (base64url).
    pub(super) grants: BTreeMap<String, (GrantTerms, String)>,
    /// grant id → the erasure request its events make (`audit_erasure.rs`).
    pub(super) erasures: BTreeMap<String, crate::domain::erasure::ErasureRequest>,
    /// grant id → the entry of its `grant_created` and the request it answered.
    grant_created: BTreeMap<String, (u64, String)>,
    revoked: BTreeSet<String>,
    reads: BTreeMap<String, u32>,
    /// Reads below `reads_from`, by grant: what the grant record counts.
    reads_in_record: BTreeMap<String, u32>,
    /// Reads in `[reads_from, indexed_upto)`, by grant: what `grant_reads` holds.
    reads_folded: BTreeMap<String, u64>,
    pub(super) reads_from: u64,
    pub(super) indexed_upto: u64,
    /// org id → (identity key, encryption key) of its newest key event.
    pub(super) org_keys: BTreeMap<String, ([u8; 32], [u8; 32])>,
    customers: BTreeSet<String>,
    /// request id → what its events say.
    pub(super) requests: BTreeMap<String, LoggedRequest>,
    /// The customer and organization of each event, by ledger index.
    pub(super) parties: Vec<(Option<String>, Option<String>)>,
    problem: Option<AuditFailure>,
}

/// An envelope's newest write and whether a grant covering it was revoked since.
#[derive(Clone, PartialEq, Eq)]
struct EnvelopeLog {
    envelope_id: String,
    version: u64,
    rotation_pending: bool,
}

/// A request as its events tell it.
pub(super) struct LoggedRequest {
    pub created: u32,
    pub customer: String,
    pub org: String,
    pub labels: Vec<crate::domain::catalog::Label>,
    pub purposes: Vec<crate::domain::catalog::Purpose>,
    pub declines: u32,
}

impl History {
    pub fn add(&mut self, index: u64, e: &Event) {
        self.parties.push((
            e.customer().map(ToString::to_string),
            e.org().map(ToString::to_string),
        ));
        if let Err(detail) = self.replay(index, e) {
            self.problem
                .get_or_insert(AuditFailure::Event { index, detail });
        }
    }

    /// Folds one event in; says what it contradicts.
    fn replay(&mut self, index: u64, e: &Event) -> Result<(), String> {
        if let Some(c) = e.customer()
            && !matches!(e, Event::CustomerRegistered { .. })
            && !self.customers.contains(c.as_str())
        {
            return Err(format!("names customer {c}, not registered before it"));
        }
        if let Some(o) = e.org()
            && !matches!(e, Event::OrgRegistered { .. })
            && !self.org_keys.contains_key(o.as_str())
        {
            return Err(format!("names organization {o}, not registered before it"));
        }
        match e {
            Event::CustomerRegistered { customer_id, .. } => {
                if !self.customers.insert(customer_id.to_string()) {
                    return Err(format!("registers {customer_id} a second time"));
                }
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
                let key = (customer_id.to_string(), label.to_string());
                let current = self.envelopes.get(&key).cloned().flatten();
                let expected = current.as_ref().map_or(1, |c| c.version + 1);
                if *version != expected {
                    return Err(format!(
                        "writes `{label}` of {customer_id} as version {version}, expected {expected}"
                    ));
                }
                if let Some(c) = current
                    && c.envelope_id != envelope_id.as_str()
                {
                    return Err(format!(
                        "writes `{label}` of {customer_id} as {envelope_id}, which is {}",
                        c.envelope_id
                    ));
                }
                self.envelopes.insert(
                    key,
                    Some(EnvelopeLog {
                        envelope_id: envelope_id.to_string(),
                        version: *version,
                        rotation_pending: false,
                    }),
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
            } => {
                let keys = (*identity_key, *encryption_key);
                if self.org_keys.insert(org_id.to_string(), keys).is_some() {
                    return Err(format!("registers {org_id} a second time"));
                }
            }
            Event::OrgKeysChanged {
                org_id,
                identity_key,
                encryption_key,
                ..
            } => {
                self.org_keys
                    .insert(org_id.to_string(), (*identity_key, *encryption_key));
            }
            Event::RequestCreated {
                customer_id,
                org_id,
                request_id,
                labels,
                purposes,
                ..
            } => {
                let r = self
                    .requests
                    .entry(request_id.to_string())
                    .or_insert(LoggedRequest {
                        created: 0,
                        customer: customer_id.to_string(),
                        org: org_id.to_string(),
                        labels: labels.clone(),
                        purposes: purposes.clone(),
                        declines: 0,
                    });
                r.created += 1;
            }
            Event::RequestDeclined { request_id, .. } => {
                let Some(r) = self.requests.get_mut(request_id.as_str()) else {
                    return Err(format!("declines {request_id}, never created"));
                };
                r.declines += 1;
            }
            Event::GrantCreated {
                customer_id,
                org_id,
                grant_id,
                request_id,
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
                let id = grant_id.to_string();
                if self.grants.contains_key(&id) {
                    return Err(format!("creates {grant_id} a second time"));
                }
                self.grants.insert(id.clone(), (terms, signature.clone()));
                self.grant_created
                    .insert(id, (index, request_id.to_string()));
            }
            Event::GrantRevoked {
                customer_id,
                grant_id,
                ..
            } => {
                let Some((terms, _)) = self.grants.get(grant_id.as_str()) else {
                    return Err(format!("revokes {grant_id}, never created"));
                };
                if !self.revoked.insert(grant_id.to_string()) {
                    return Err(format!("revokes {grant_id} a second time"));
                }
                // The covered envelopes must be re-encrypted under a new key.
                for label in &terms.labels {
                    let key = (customer_id.to_string(), label.to_string());
                    if let Some(Some(env)) = self.envelopes.get_mut(&key) {
                        env.rotation_pending = true;
                    }
                }
            }
            Event::Read {
                customer_id,
                org_id,
                grant_id,
                envelope_id,
                version,
                label,
                purpose,
                ..
            } => {
                let Some((t, _)) = self.grants.get(grant_id.as_str()) else {
                    return Err(format!("reads with {grant_id}, never created"));
                };
                let reads = self.reads.entry(grant_id.to_string()).or_default();
                let within = !self.revoked.contains(grant_id.as_str())
                    && &t.customer_id == customer_id
                    && &t.org_id == org_id
                    && t.labels.contains(label)
                    && t.purposes.iter().any(|p| p.same_as(purpose))
                    && t.max_reads.is_none_or(|max| *reads < max);
                if !within {
                    return Err(format!("reads `{label}` outside grant {grant_id}"));
                }
                *reads += 1;
                let id = grant_id.to_string();
                if index < self.reads_from {
                    *self.reads_in_record.entry(id).or_default() += 1;
                } else if index < self.indexed_upto {
                    *self.reads_folded.entry(id).or_default() += 1;
                }
                let key = (customer_id.to_string(), label.to_string());
                let current = self.envelopes.get(&key).cloned().flatten();
                if current
                    .is_none_or(|c| c.envelope_id != envelope_id.as_str() || c.version != *version)
                {
                    return Err(format!(
                        "reads `{label}` {envelope_id} version {version}, not the current one"
                    ));
                }
            }
            Event::ErasureRequested { .. } | Event::ErasureAnswered { .. } => {
                super::audit_erasure::replay(self, index, e)?;
            }
        }
        Ok(())
    }

    /// The first contradiction among the events themselves.
    pub fn problem(&self) -> Option<&AuditFailure> {
        self.problem.as_ref()
    }

    pub(super) fn customer_registered(&self, id: &str) -> bool {
        self.customers.contains(id)
    }

    pub(super) fn org_registered(&self, id: &str) -> bool {
        self.org_keys.contains_key(id)
    }

    /// The entry of the grant's `grant_created` and the request it answered.
    pub(super) fn grant_created(&self, id: &str) -> Option<&(u64, String)> {
        self.grant_created.get(id)
    }
}

/// The fields of a stored envelope the audit compares (serde skips the ciphertext unparsed).
#[derive(serde::Deserialize)]
struct EnvelopeAudit {
    envelope_id: crate::domain::ids::EnvelopeId,
    version: u64,
    rotation_pending: bool,
}

pub(super) fn bad(
    table: &'static str,
    key: impl Into<String>,
    detail: impl Into<String>,
) -> AuditFailure {
    AuditFailure::Record {
        table,
        key: key.into(),
        detail: detail.into(),
    }
}

pub(super) fn unreadable(e: impl std::fmt::Display) -> AuditFailure {
    AuditFailure::Unreadable(e.to_string())
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
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
        let e: EnvelopeAudit = decode("envelopes", &key, v.value())?;
        let logged = h
            .envelopes
            .get(&(customer.to_owned(), label.to_owned()))
            .cloned()
            .flatten();
        let Some(logged) = logged else {
            return Err(bad(
                "envelopes",
                key,
                format!(
                    "holds {} version {}, the ledger has no write since its last erase",
                    e.envelope_id, e.version
                ),
            ));
        };
        if (logged.envelope_id.as_str(), logged.version) != (e.envelope_id.as_str(), e.version) {
            return Err(bad(
                "envelopes",
                key,
                format!(
                    "holds {} version {}, the ledger's newest write is {} version {}",
                    e.envelope_id, e.version, logged.envelope_id, logged.version
                ),
            ));
        }
        if logged.rotation_pending != e.rotation_pending {
            return Err(bad(
                "envelopes",
                key,
                format!(
                    "rotation_pending is {}, the ledger says {} (a covering grant revoked since \
                     the last write)",
                    e.rotation_pending, logged.rotation_pending
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
        let reads = h.reads_in_record.get(&id).copied().unwrap_or(0);
        if g.reads != reads {
            return Err(bad(
                "grants",
                id,
                format!(
                    "counts {} reads, the ledger logged {reads} below index {}",
                    g.reads, h.reads_from
                ),
            ));
        }
        grants_seen.insert(id);
    }
    if let Some(id) = h.grants.keys().find(|id| !grants_seen.contains(*id)) {
        return Err(bad("grants", id.clone(), "logged as created but missing"));
    }
    check_folded_reads(rtx, h)?;

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

/// Every row of a `key → count` table.
pub(super) fn counters(
    rtx: &ReadTransaction,
    def: redb::TableDefinition<'static, &'static str, u64>,
) -> Result<BTreeMap<String, u64>, AuditFailure> {
    let mut rows = BTreeMap::new();
    for item in rtx
        .open_table(def)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        rows.insert(k.value().to_owned(), v.value());
    }
    Ok(rows)
}

/// `grant_reads` holds exactly the reads logged in `[reads_from, indexed_upto)`, by grant.
fn check_folded_reads(rtx: &ReadTransaction, h: &History) -> Result<(), AuditFailure> {
    let stored = counters(rtx, GRANT_READS)?;
    for (id, n) in &stored {
        let logged = h.reads_folded.get(id).copied().unwrap_or(0);
        if *n != logged {
            return Err(bad(
                "grant_reads",
                id.clone(),
                format!(
                    "counts {n} reads, the ledger logged {logged} in [{}, {})",
                    h.reads_from, h.indexed_upto
                ),
            ));
        }
    }
    if let Some((id, n)) = h
        .reads_folded
        .iter()
        .find(|(id, _)| !stored.contains_key(*id))
    {
        return Err(bad(
            "grant_reads",
            id.clone(),
            format!("missing: the ledger logged {n} reads below the watermark"),
        ));
    }
    Ok(())
}
