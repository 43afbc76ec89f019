//! Consent receipts for a grant, in two standard shapes: the Kantara Initiative Consent Receipt
//! v1.1 and an ISO/IEC TS 27560 consent record in the W3C DPV JSON-LD profile. Both name the
//! grant's ledger entry, so a receipt can be checked against the verifiable ledger.

use super::grant::{Grant, GrantState};
use super::time::Timestamp;
use serde_json::{Value, json};

/// Everything a receipt states that is not in the grant itself.
pub struct ReceiptContext<'a> {
    pub org_name: &'a str,
    pub jurisdiction: &'a str,
    /// Where the organization's identity and keys are published.
    pub org_url: &'a str,
    pub vault_url: &'a str,
    /// The grant's leaf commitment (base64url) at `grant.ledger_index`.
    pub ledger_leaf: &'a str,
    pub now: Timestamp,
}

const COLLECTION: &str = "signed by the data subject with their Ed25519 key in the Assent vault";
const WITHDRAWAL: &str =
    "one-tap revocation in the Assent dashboard, or `assent customer revoke <grant_id>`";

fn termination(g: &Grant) -> String {
    format!(
        "Access ends at {} or when the data subject revokes it, whichever is first. Data already read cannot be recalled.",
        g.terms.not_after
    )
}

fn ledger_entry(g: &Grant, c: &ReceiptContext<'_>) -> Value {
    json!({ "index": g.ledger_index, "leaf": c.ledger_leaf, "log": format!("{}/v1/ledger/checkpoint", c.vault_url) })
}

/// Kantara Initiative Consent Receipt Specification v1.1 (`KI-CR-v1.1.0`).
pub fn kantara(g: &Grant, c: &ReceiptContext<'_>) -> Value {
    let t = &g.terms;
    json!({
        "version": "KI-CR-v1.1.0",
        "jurisdiction": c.jurisdiction,
        "consentTimestamp": g.created_at.unix(),
        "collectionMethod": COLLECTION,
        "consentReceiptID": t.grant_id,
        "language": "en",
        "piiPrincipalId": t.customer_id,
        "piiControllers": [{
            "piiController": c.org_name,
            "onBehalf": false,
            "contact": c.org_name,
            "piiControllerUrl": c.org_url,
        }],
        "policyUrl": c.org_url,
        "services": [{
            "service": format!("access to personal data held in Assent ({})", t.org_id),
            "purposes": t.purposes.iter().map(|p| json!({
                "purpose": p.words(),
                "purposeCategory": [p.as_str()],
                "consentType": "EXPLICIT",
                "piiCategory": t.labels.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
                "primaryPurpose": true,
                "termination": termination(g),
                "thirdPartyDisclosure": false,
            })).collect::<Vec<_>>(),
        }],
        "sensitive": false,
        "spiCat": [],
        "assentGrant": {
            "org_id": t.org_id,
            "not_after": t.not_after,
            "max_reads": t.max_reads,
            "state": g.state(c.now),
            "revoked_at": g.revoked_at,
            "ledger_entry": ledger_entry(g, c),
        },
    })
}

/// ISO/IEC TS 27560 consent record, DPV JSON-LD profile (https://w3id.org/dpv/guides/consent-27560).
pub fn iso27560(g: &Grant, c: &ReceiptContext<'_>) -> Value {
    let t = &g.terms;
    let state = g.state(c.now);
    let (event_type, event_time) = match (state, g.revoked_at) {
        (GrantState::Revoked, Some(at)) => ("withdrawn", at),
        (GrantState::Expired, _) => ("expired", t.not_after),
        _ => ("given", g.created_at),
    };
    json!({
        "@context": ["https://w3id.org/dpv/dpv.jsonld", { "dpv": "https://w3id.org/dpv#" }],
        "@type": "dpv:ConsentRecord",
        "schema_version": "ISO/IEC TS 27560:2023",
        "record_id": t.grant_id,
        "pii_principal_id": t.customer_id,
        "purposes": t.purposes.iter().map(|p| json!({
            "purpose_id": p.as_str(),
            "purpose": p.words(),
            "lawful_basis": "dpv:Consent",
            "pii_information": t.labels.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "pii_information": t.labels.iter().map(|l| json!({ "pii_category": l.as_str() })).collect::<Vec<_>>(),
        "pii_controllers": [{ "id": t.org_id, "name": c.org_name, "url": c.org_url }],
        "retention_period": { "until": t.not_after, "max_reads": t.max_reads },
        "jurisdiction": c.jurisdiction,
        "collection_method": COLLECTION,
        "withdrawal_method": WITHDRAWAL,
        "event_time": event_time,
        "event_type": event_type,
        "event_state": state,
        "notice": termination(g),
        "ledger_entry": ledger_entry(g, c),
    })
}
