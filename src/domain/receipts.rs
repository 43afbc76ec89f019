//! Consent receipts for a grant, in two standard shapes, both naming their ledger entries so a
//! receipt can be checked against the verifiable ledger:
//!
//! - the Kantara Initiative Consent Receipt Specification v1.1 (`KI-CR-v1.1.0`, draft 6 of
//!   2017-11-17), valid against the working group's JSON schema;
//! - an ISO/IEC TS 27560:2023 consent record in the W3C DPV profile (`dpv-27560:record`, guide
//!   "Consent Records and Receipts as per ISO/IEC TS 27560:2023 using DPV", §§ 7.2, 8.1–8.5),
//!   JSON-LD with the vault's context ([`CONTEXT_PATH`]) and DPV 2.x terms only.
//!
//! Pure: the caller gathers the ledger entries and proofs and passes the time.

use super::catalog::Purpose;
use super::controller::ControllerDetails;
use super::grant::{Grant, GrantState};
use super::time::Timestamp;
use serde_json::{Value, json};

/// Where the vault serves [`CONTEXT`] (under its public URL); a stable name, versioned.
pub const CONTEXT_PATH: &str = "/v1/ld/consent-v1.jsonld";

/// The JSON-LD 1.1 context of ISO/IEC TS 27560 records: the DPV 2.x, DCMI and schema.org
/// prefixes, IRI and date-time coercions, and the few Assent terms (ledger entries).
pub const CONTEXT: &str = include_str!("../../web/ld/consent-v1.jsonld");

/// `dct:conformsTo` of the records: the DPV profile of ISO/IEC TS 27560 for consent records.
pub const DPV_27560_RECORD: &str = "https://w3id.org/dpv/schema/dpv-27560#record";

/// A ledger entry a receipt names: its index and leaf commitment, and its RFC 9162 inclusion
/// proof in the tree of `tree_size` leaves (the checkpoint the receipt carries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLink {
    pub index: u64,
    /// base64url leaf commitment.
    pub leaf: String,
    /// base64url proof hashes; `None` when the entry is not yet below the checkpoint.
    pub proof: Option<Vec<String>>,
    pub tree_size: u64,
}

/// Everything a receipt states that is not in the grant itself.
pub struct ReceiptContext<'a> {
    pub org_name: &'a str,
    /// The organization's controller details as registered with the vault.
    pub controller: &'a ControllerDetails,
    /// Where the organization's identity and keys are published (`/v1/orgs/{id}`).
    pub org_url: &'a str,
    pub vault_url: &'a str,
    /// The vault's jurisdiction (ISO 3166-1 alpha-2 or `EU`): where the ciphertext is stored.
    pub storage_jurisdiction: &'a str,
    /// The purposes the request marked as required for the organization's service.
    pub required_purposes: &'a [Purpose],
    /// The request the customer approved (the consent notice) and its stated reason.
    pub request_justification: &'a str,
    /// The `grant_created` entry.
    pub created: LedgerLink,
    /// The `grant_revoked` entry, once revoked.
    pub revoked: Option<LedgerLink>,
    /// The signed checkpoint (C2SP signed note) the proofs are against.
    pub checkpoint: &'a str,
    /// The vault's verifier key that signs the receipt.
    pub vault_key: &'a str,
    pub now: Timestamp,
    /// The customer's erasure request under the grant, if any.
    pub erasure: Option<ErasureReceipt<'a>>,
}

/// An erasure request a receipt states, with the entries of the request and of the answer.
pub struct ErasureReceipt<'a> {
    pub request: &'a super::erasure::ErasureRequest,
    pub requested: LedgerLink,
    pub answered: Option<LedgerLink>,
}

/// The erasure request as the Kantara receipt's `assentGrant.erasure` states it; `state` is
/// `overdue` once `due` passed without an answer.
fn erasure_json(e: &ErasureReceipt<'_>, c: &ReceiptContext<'_>) -> Value {
    let r = e.request;
    let a = r.answer.as_ref();
    json!({
        "requested_at": r.requested_at,
        "due": r.due,
        "state": r.state(c.now),
        "outcome": a.map(|a| a.outcome),
        "reason": a.and_then(|a| a.reason.clone()),
        "answered_at": a.map(|a| a.answered_at),
        "request_ledger_entry": link_json(&e.requested, c.vault_url),
        "answer_ledger_entry": e.answered.as_ref().map(|l| link_json(l, c.vault_url)),
    })
}

/// The same in the ISO record's own terms (`assent:` namespace).
fn erasure_ld(e: &ErasureReceipt<'_>, now: Timestamp) -> Value {
    let r = e.request;
    let mut v = json!({
        "@type": "assent:ErasureRequest",
        "assent:requestedAt": r.requested_at.to_string(),
        "assent:due": r.due.to_string(),
        "assent:erasureState": r.state(now),
        "assent:requestEntry": ld_link(&e.requested),
    });
    if let Some(a) = &r.answer {
        v["assent:outcome"] = json!(a.outcome);
        v["assent:answeredAt"] = json!(a.answered_at.to_string());
        if let Some(reason) = &a.reason {
            v["assent:reason"] = json!(reason);
        }
    }
    if let Some(l) = &e.answered {
        v["assent:answerEntry"] = ld_link(l);
    }
    v
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

fn link_json(l: &LedgerLink, vault_url: &str) -> Value {
    json!({
        "index": l.index,
        "leaf": l.leaf,
        "tree_size": l.tree_size,
        "inclusion_proof": l.proof,
        "log": format!("{vault_url}/v1/ledger/checkpoint"),
    })
}

/// Kantara Initiative Consent Receipt Specification v1.1 (`KI-CR-v1.1.0`). Every field the
/// schema requires is present; `primaryPurpose` is true only for the request's required
/// purposes; `assentGrant` carries the grant's state and its ledger entries.
pub fn kantara(g: &Grant, c: &ReceiptContext<'_>) -> Value {
    let t = &g.terms;
    let ctl = c.controller;
    let a = &ctl.address;
    let mut address = json!({
        "streetAddress": a.street_address,
        "addressLocality": a.locality,
        "addressCountry": a.country,
    });
    if let Some(r) = &a.region {
        address["addressRegion"] = json!(r);
    }
    if let Some(p) = &a.postal_code {
        address["postalCode"] = json!(p);
    }
    let pii: Vec<&str> = t.labels.iter().map(|l| l.dpv_term()).collect();
    json!({
        "version": "KI-CR-v1.1.0",
        "jurisdiction": ctl.jurisdiction,
        "consentTimestamp": g.created_at.unix(),
        "collectionMethod": COLLECTION,
        "consentReceiptID": t.grant_id,
        "publicKey": c.vault_key,
        "language": "en",
        "piiPrincipalId": t.customer_id,
        "piiControllers": [{
            "piiController": ctl.legal_name,
            "onBehalf": false,
            "contact": format!("data protection contact of {}", ctl.legal_name),
            "address": address,
            "email": ctl.email,
            "phone": ctl.phone,
            "piiControllerUrl": c.org_url,
        }],
        "policyUrl": ctl.privacy_policy_url,
        "services": [{
            "service": format!("access to personal data held in Assent by {} ({})", c.org_name, t.org_id),
            "purposes": t.purposes.iter().map(|p| json!({
                "purpose": p.words(),
                "purposeCategory": [p.dpv_term()],
                "consentType": "EXPLICIT",
                "piiCategory": pii,
                "primaryPurpose": c.required_purposes.contains(p),
                "termination": termination(g),
                "thirdPartyDisclosure": false,
            })).collect::<Vec<_>>(),
        }],
        "sensitive": false,
        "spiCat": [],
        "assentGrant": {
            "org_id": t.org_id,
            "labels": t.labels,
            "not_after": t.not_after,
            "max_reads": t.max_reads,
            "state": g.state(c.now),
            "revoked_at": g.revoked_at,
            "ledger_entry": link_json(&c.created, c.vault_url),
            "withdrawal_ledger_entry": c.revoked.as_ref().map(|l| link_json(l, c.vault_url)),
            "erasure": c.erasure.as_ref().map(|e| erasure_json(e, c)),
            "checkpoint": c.checkpoint,
        },
    })
}

/// A ledger entry in the record's own terms (`assent:` namespace of the context).
fn ld_link(l: &LedgerLink) -> Value {
    let mut v = json!({
        "@type": "assent:LedgerEntry",
        "assent:index": l.index,
        "assent:leaf": l.leaf,
        "assent:treeSize": l.tree_size,
    });
    if let Some(p) = &l.proof {
        v["assent:inclusionProof"] = json!(p);
    }
    v
}

fn loc(code: &str) -> String {
    format!("loc:{code}")
}

/// ISO/IEC TS 27560 consent record in the DPV profile (`dpv-27560:record`). ISO field → DPV
/// property, as the guide maps them: schema_version → `dct:conformsTo`, record_id →
/// `dct:identifier`, pii_principal_id → `dpv:hasDataSubject`, privacy_notice → `dpv:hasNotice`,
/// language → `dct:language`, purposes → `dpv:hasProcess`/`dpv:hasPurpose`, pii_information →
/// `dpv:hasPersonalData` (DPV `pd:` categories), pii_controllers → `dpv:hasDataController` +
/// `dpv:hasEntity`, storage_locations and retention_period → `dpv:hasStorageCondition`,
/// jurisdiction → `dpv:hasJurisdiction`, recipient_third_parties → `dpv:hasRecipient`,
/// withdrawal_method → `dpv:hasConsentControl`, and the events → `dpv:hasConsentStatus`
/// (event_type → consent type `dpv:ExpressedConsent`, event_state → `dpv:ConsentGiven`,
/// `dpv:ConsentWithdrawn` or `dpv:ConsentExpired`, event_time → `dpv:isIndicatedAtTime`,
/// validity_duration → `dpv:hasDuration`, entity_id → `dpv:isIndicatedBy`).
///
/// The history is complete: consent given, then withdrawn or expired; each event names its
/// ledger entry (expiry follows from the signed terms of the `grant_created` entry).
pub fn iso27560(g: &Grant, c: &ReceiptContext<'_>) -> Value {
    let t = &g.terms;
    let ctl = c.controller;
    let state = g.state(c.now);
    let subject = "_:data-subject";
    let dashboard = format!("{}/#/access", c.vault_url);
    let personal_data: Vec<&str> = t.labels.iter().map(|l| l.dpv_term()).collect();
    let storage = if super::catalog::is_jurisdiction(c.storage_jurisdiction) {
        c.storage_jurisdiction
    } else {
        ctl.jurisdiction.as_str()
    };
    let mut validity = vec![json!({
        "@type": "dpv:UntilTimeDuration",
        "rdf:value": t.not_after.to_string(),
    })];
    if let Some(max) = t.max_reads {
        validity
            .push(json!({ "@type": "dpv:FixedOccurrencesDuration", "rdf:value": max.to_string() }));
    }
    let a = &ctl.address;
    let mut postal = json!({
        "@type": "schema:PostalAddress",
        "schema:streetAddress": a.street_address,
        "schema:addressLocality": a.locality,
        "schema:addressCountry": a.country,
    });
    if let Some(r) = &a.region {
        postal["schema:addressRegion"] = json!(r);
    }
    if let Some(p) = &a.postal_code {
        postal["schema:postalCode"] = json!(p);
    }
    let processes: Vec<Value> = t
        .purposes
        .iter()
        .map(|p| {
            json!({
                "@type": "dpv:Process",
                "dpv:hasPurpose": p.dpv_term(),
                "dct:description": p.words(),
                "dpv:hasNecessity": if c.required_purposes.contains(p) { "dpv:Required" } else { "dpv:Optional" },
                "dpv:hasPersonalData": personal_data,
                "dpv:hasLegalBasis": "dpv:ExpressedConsent",
                "dpv:hasDataController": c.org_url,
                "dpv:hasRecipient": c.org_url,
                "dpv:hasJurisdiction": loc(&ctl.jurisdiction),
                "dpv:hasStorageCondition": [
                    { "@type": "dpv:StorageLocation", "dpv:hasLocation": loc(storage) },
                    {
                        "@type": "dpv:StorageDuration",
                        "dpv:hasDuration": {
                            "@type": "dpv:UntilEventDuration",
                            "rdf:value": "until the data subject erases it from the vault; \
                                          what the organization read is kept as its privacy policy says",
                        },
                    },
                ],
            })
        })
        .collect();
    let mut events = vec![json!({
        "@type": ["dpv:ConsentGiven", "dpv:ExpressedConsent"],
        "dpv:isIndicatedAtTime": g.created_at.to_string(),
        "dpv:isIndicatedBy": subject,
        "dpv:hasIndicationMethod": COLLECTION,
        "dpv:hasDuration": validity,
        "assent:ledgerEntry": ld_link(&c.created),
    })];
    match (state, g.revoked_at, &c.revoked) {
        (GrantState::Revoked, Some(at), Some(entry)) => events.push(json!({
            "@type": "dpv:ConsentWithdrawn",
            "dpv:isIndicatedAtTime": at.to_string(),
            "dpv:isIndicatedBy": subject,
            "dpv:hasIndicationMethod": WITHDRAWAL,
            "assent:ledgerEntry": ld_link(entry),
        })),
        (GrantState::Expired, _, _) => events.push(json!({
            "@type": "dpv:ConsentExpired",
            "dpv:isIndicatedAtTime": t.not_after.to_string(),
            // The data subject set the end in the terms they signed (the grant_created entry).
            "dpv:isIndicatedBy": subject,
            "dpv:hasIndicationMethod": "the validity the data subject signed ended",
            "assent:ledgerEntry": ld_link(&c.created),
        })),
        _ => {}
    }
    let mut record = json!({
        "@context": format!("{}{CONTEXT_PATH}", c.vault_url),
        "@id": format!("{}/v1/me/grants/{}/receipt#iso27560", c.vault_url, t.grant_id),
        "@type": "dpv:ConsentRecord",
        "dct:conformsTo": DPV_27560_RECORD,
        "dct:identifier": t.grant_id,
        "dct:created": g.created_at.to_string(),
        "dct:issued": c.now.to_string(),
        "dct:language": "en",
        "dpv:hasDataSubject": {
            "@id": subject,
            "@type": "dpv:DataSubject",
            "dpv:hasIdentifier": t.customer_id,
        },
        "dpv:hasNotice": [
            {
                "@id": ctl.privacy_policy_url,
                "@type": "dpv:PrivacyNotice",
                "dct:language": "en",
            },
            {
                "@type": "dpv:ConsentNotice",
                "dpv:hasIdentifier": g.request_id,
                "dct:description": c.request_justification,
                "dct:language": "en",
            },
        ],
        "dpv:hasDataController": c.org_url,
        "dpv:hasJurisdiction": loc(&ctl.jurisdiction),
        "dpv:hasProcess": processes,
        "dpv:hasConsentControl": {
            "@type": "dpv:WithdrawConsent",
            "dpv:isExercisedAt": dashboard,
            "dct:description": WITHDRAWAL,
        },
        "dpv:hasRight": {
            "@type": "dpv:DataSubjectRight",
            "dct:title": "Right to withdraw consent",
            "dpv:isExercisedAt": dashboard,
        },
        "dpv:hasEntity": [{
            "@id": c.org_url,
            "@type": ["dpv:Organisation", "dpv:DataController"],
            "dpv:hasIdentifier": t.org_id,
            "dpv:hasName": ctl.legal_name,
            "schema:contactPoint": [
                postal,
                {
                    "@type": "schema:ContactPoint",
                    "schema:email": ctl.email,
                    "schema:telephone": ctl.phone,
                },
            ],
            "schema:url": ctl.privacy_policy_url,
        }],
        "dpv:hasConsentStatus": events,
        "assent:state": state,
        "assent:checkpoint": c.checkpoint,
    });
    if let Some(e) = &c.erasure {
        record["assent:erasureRequest"] = erasure_ld(e, c.now);
    }
    record
}

/// Every DPV term (CURIE) a record names as a value, for checks against the DPV term list.
pub fn dpv_terms_used(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s)
                if ["dpv:", "pd:", "loc:", "finance:"]
                    .iter()
                    .any(|p| s.starts_with(p)) =>
            {
                out.push(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.iter().for_each(|(k, x)| {
                if k.starts_with("dpv:") {
                    out.push(k.clone());
                }
                walk(x, out);
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut out);
    out.sort();
    out.dedup();
    out
}
