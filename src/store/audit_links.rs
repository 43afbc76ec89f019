//! The audit's third part: records agree with each other and with the ledger's structure.
//! The per-party indexes list exactly the events below the `indexed_upto` watermark; every
//! request and grant index lists exactly its records; each request is what its events made
//! it (created once, declined once or answered by its grant); each grant names the entry
//! that created it; handles name registered customers (a closed account's handle stays
//! reserved without a record); every organization record was registered; every wrap belongs
//! to a grant still standing and opens its envelope's current version.

use super::access::Index2;
use super::audit::AuditFailure;
use super::audit_records::{History, bad, decode, unreadable};
use super::records::{CustomerRecord, GrantWrap, OrgRecord};
use super::tables::{
    CUSTOMER_EVENTS, CUSTOMER_GRANTS, CUSTOMER_REQUESTS, CUSTOMERS, ENVELOPES, GRANTS, HANDLES,
    INDEXED_UPTO, META, ORG_CUSTOMER_GRANTS, ORG_EVENTS, ORG_REQUESTS, ORGS, REQUESTS, WRAPS,
};
use crate::domain::grant::Grant;
use crate::domain::request::{AccessRequest, RequestStatus};
use redb::{ReadTransaction, ReadableTable, TableDefinition};
use std::collections::{BTreeMap, BTreeSet};

type Pairs = BTreeSet<(String, String)>;

/// Every key of a two-part index.
pub(super) fn index_pairs(rtx: &ReadTransaction, def: Index2) -> Result<Pairs, AuditFailure> {
    let mut out = BTreeSet::new();
    for item in rtx
        .open_table(def)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, _) = item.map_err(unreadable)?;
        let (a, b) = k.value();
        out.insert((a.to_owned(), b.to_owned()));
    }
    Ok(out)
}

/// Every record of a JSON table keyed by one string, decoded.
pub(super) fn records<T: serde::de::DeserializeOwned>(
    rtx: &ReadTransaction,
    def: TableDefinition<'static, &'static str, &'static [u8]>,
    table: &'static str,
) -> Result<BTreeMap<String, T>, AuditFailure> {
    let mut out = BTreeMap::new();
    for item in rtx
        .open_table(def)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        let key = k.value().to_owned();
        let record = decode(table, &key, v.value())?;
        out.insert(key, record);
    }
    Ok(out)
}

fn exact(table: &'static str, got: &Pairs, want: &Pairs) -> Result<(), AuditFailure> {
    if let Some((a, b)) = got.symmetric_difference(want).next() {
        let detail = if got.contains(&(a.clone(), b.clone())) {
            "is listed but has no record"
        } else {
            "has a record but is not listed"
        };
        return Err(bad(table, format!("{a}/{b}"), detail));
    }
    Ok(())
}

pub fn check(rtx: &ReadTransaction, h: &History) -> Result<(), AuditFailure> {
    check_party_indexes(rtx, h)?;
    let requests: BTreeMap<String, AccessRequest> = records(rtx, REQUESTS, "requests")?;
    let grants: BTreeMap<String, Grant> = records(rtx, GRANTS, "grants")?;
    check_requests(rtx, h, &requests, &grants)?;
    check_grants(rtx, h, &requests, &grants)?;
    check_accounts(rtx, h)?;
    check_wraps(rtx, &grants)
}

/// Each event below the watermark is listed under its customer and its organization, and
/// nothing else is listed.
fn check_party_indexes(rtx: &ReadTransaction, h: &History) -> Result<(), AuditFailure> {
    let size = h.parties.len() as u64;
    let upto = rtx
        .open_table(META)
        .map_err(unreadable)?
        .get(INDEXED_UPTO)
        .map_err(unreadable)?
        .map_or(0, |v| v.value());
    if upto > size {
        return Err(bad(
            "meta",
            INDEXED_UPTO,
            format!("is {upto}, past the ledger ({size})"),
        ));
    }
    let below = h.parties.get(..upto as usize).unwrap_or_default();
    for (def, table, customer_side) in [
        (CUSTOMER_EVENTS, "customer_events", true),
        (ORG_EVENTS, "org_events", false),
    ] {
        let party = |i: usize| {
            below.get(i).and_then(|(c, o)| {
                if customer_side {
                    c.as_ref()
                } else {
                    o.as_ref()
                }
            })
        };
        let mut listed = 0usize;
        for item in rtx
            .open_table(def)
            .map_err(unreadable)?
            .iter()
            .map_err(unreadable)?
        {
            let (k, _) = item.map_err(unreadable)?;
            let (p, i) = k.value();
            if party(i as usize).map(String::as_str) != Some(p) {
                return Err(bad(
                    table,
                    format!("{p}/{i}"),
                    "lists an event that is not the party's, or lies above indexed_upto",
                ));
            }
            listed += 1;
        }
        let want = (0..below.len()).filter(|&i| party(i).is_some()).count();
        if listed != want {
            return Err(bad(
                table,
                "*",
                format!("lists {listed} events, the ledger below indexed_upto has {want}"),
            ));
        }
    }
    Ok(())
}

fn check_requests(
    rtx: &ReadTransaction,
    h: &History,
    requests: &BTreeMap<String, AccessRequest>,
    grants: &BTreeMap<String, Grant>,
) -> Result<(), AuditFailure> {
    let by_customer: Pairs = requests
        .values()
        .map(|r| (r.customer_id.to_string(), r.request_id.to_string()))
        .collect();
    exact(
        "customer_requests",
        &index_pairs(rtx, CUSTOMER_REQUESTS)?,
        &by_customer,
    )?;
    let by_org: Pairs = requests
        .values()
        .map(|r| (r.org_id.to_string(), r.request_id.to_string()))
        .collect();
    exact("org_requests", &index_pairs(rtx, ORG_REQUESTS)?, &by_org)?;
    for (id, r) in requests {
        let Some(logged) = h.requests.get(id) else {
            return Err(bad("requests", id.clone(), "no request_created event"));
        };
        if logged.created != 1
            || logged.customer != r.customer_id.as_str()
            || logged.org != r.org_id.as_str()
            || logged.labels != r.labels
            || logged.purposes != r.purposes
        {
            return Err(bad(
                "requests",
                id.clone(),
                "differs from its request_created",
            ));
        }
        let grant = r.grant_id.as_ref().and_then(|g| grants.get(g.as_str()));
        let status_ok = match r.status {
            RequestStatus::Pending => logged.declines == 0 && r.grant_id.is_none(),
            RequestStatus::Declined => logged.declines == 1 && r.grant_id.is_none(),
            RequestStatus::Approved => {
                logged.declines == 0 && grant.is_some_and(|g| g.request_id.as_str() == id)
            }
        };
        if !status_ok {
            return Err(bad(
                "requests",
                id.clone(),
                format!(
                    "is {:?}, the ledger logged {} declines and grant {:?}",
                    r.status, logged.declines, r.grant_id
                ),
            ));
        }
    }
    if let Some(id) = h.requests.keys().find(|id| !requests.contains_key(*id)) {
        return Err(bad("requests", id.clone(), "logged as created but missing"));
    }
    Ok(())
}

fn check_grants(
    rtx: &ReadTransaction,
    h: &History,
    requests: &BTreeMap<String, AccessRequest>,
    grants: &BTreeMap<String, Grant>,
) -> Result<(), AuditFailure> {
    let by_customer: Pairs = grants
        .values()
        .map(|g| {
            (
                g.terms.customer_id.to_string(),
                g.terms.grant_id.to_string(),
            )
        })
        .collect();
    exact(
        "customer_grants",
        &index_pairs(rtx, CUSTOMER_GRANTS)?,
        &by_customer,
    )?;
    let by_pair: Pairs = grants
        .values()
        .map(|g| {
            (
                super::grants::pair_key(&g.terms.org_id, &g.terms.customer_id),
                g.terms.grant_id.to_string(),
            )
        })
        .collect();
    exact(
        "org_customer_grants",
        &index_pairs(rtx, ORG_CUSTOMER_GRANTS)?,
        &by_pair,
    )?;
    for (id, g) in grants {
        let created = h.grant_created(id);
        if created != Some(&(g.ledger_index, g.request_id.to_string())) {
            return Err(bad(
                "grants",
                id.clone(),
                format!(
                    "names entry {} and request {}, its grant_created says {created:?}",
                    g.ledger_index, g.request_id
                ),
            ));
        }
        let answered = requests.get(g.request_id.as_str()).is_some_and(|r| {
            r.status == RequestStatus::Approved
                && r.grant_id.as_ref().map(|x| x.as_str()) == Some(id.as_str())
        });
        if !answered {
            return Err(bad(
                "grants",
                id.clone(),
                format!("request {} is not approved with it", g.request_id),
            ));
        }
    }
    Ok(())
}

/// Customers and their handles, organizations and their registration.
fn check_accounts(rtx: &ReadTransaction, h: &History) -> Result<(), AuditFailure> {
    let customers: BTreeMap<String, CustomerRecord> = records(rtx, CUSTOMERS, "customers")?;
    let mut handles = BTreeMap::new();
    for item in rtx
        .open_table(HANDLES)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        handles.insert(k.value().to_owned(), v.value().to_owned());
    }
    // A closed account's handle stays reserved: it names a registered customer whose record
    // is gone.
    for (handle, id) in &handles {
        if !h.customer_registered(id) {
            return Err(bad(
                "handles",
                handle.clone(),
                format!("names {id}, never registered"),
            ));
        }
    }
    for (id, c) in &customers {
        if c.customer_id.as_str() != id || handles.get(c.handle.as_str()) != Some(id) {
            return Err(bad(
                "customers",
                id.clone(),
                format!("its handle {} does not name it", c.handle),
            ));
        }
    }
    let orgs: BTreeMap<String, OrgRecord> = records(rtx, ORGS, "orgs")?;
    if let Some(id) = orgs.keys().find(|id| !h.org_registered(id)) {
        return Err(bad("orgs", id.clone(), "no org_registered event"));
    }
    Ok(())
}

/// Every wrap belongs to a grant still standing, for a label it grants, and opens the
/// current version of that label's envelope.
fn check_wraps(
    rtx: &ReadTransaction,
    grants: &BTreeMap<String, Grant>,
) -> Result<(), AuditFailure> {
    /// The fields of a stored envelope a wrap must match.
    #[derive(serde::Deserialize)]
    struct Head {
        envelope_id: crate::domain::ids::EnvelopeId,
        version: u64,
    }
    let envelopes = rtx.open_table(ENVELOPES).map_err(unreadable)?;
    for item in rtx
        .open_table(WRAPS)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        let (gid, label) = k.value();
        let key = format!("{gid}/{label}");
        let w: GrantWrap = decode("wraps", &key, v.value())?;
        let Some(g) = grants.get(gid) else {
            return Err(bad("wraps", key, "names an unknown grant"));
        };
        if g.revoked_at.is_some() {
            return Err(bad("wraps", key, "the grant is revoked"));
        }
        if w.label.as_str() != label || !g.covers_label(&w.label) {
            return Err(bad("wraps", key, "the grant does not cover this label"));
        }
        let customer = g.terms.customer_id.as_str();
        let env = envelopes.get((customer, label)).map_err(unreadable)?;
        let current = match env {
            Some(e) => Some(decode::<Head>("envelopes", &key, e.value())?),
            None => None,
        };
        if current.is_none_or(|e| e.envelope_id != w.envelope_id || e.version != w.version) {
            return Err(bad(
                "wraps",
                key,
                format!(
                    "wraps {} version {}, not the envelope's current version",
                    w.envelope_id, w.version
                ),
            ));
        }
    }
    Ok(())
}
