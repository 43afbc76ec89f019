//! Every HTTP request body and query string, and committed ledger events, from hostile bytes;
//! and a webhook delivery as a receiver checks it (`client::webhook::verify` never panics on
//! hostile headers or bodies).
//!
//! Input: raw bytes, given as-is to serde_json for each JSON body type of `src/http/*.rs`, to
//! serde_urlencoded for the token form and the query strings, and to serde_json for
//! `ledger::Sequenced` (an `Event` flattened with its parties' sequence numbers: what the ledger
//! commits) and for a bare `ledger::Event`.
//!
//! For a `Sequenced` event: its canonical (JCS) form parses back (`parse_canonical`) to the same
//! event exactly when `check()` accepts it, and `check()` accepts exactly the documented rule
//! (`customer_seq` present, and ≥ 1, iff the event concerns a customer; `org_seq` likewise for an
//! organization). `Prepared::new` refuses what `check()` refuses; what it prepares commits to
//! `leaf_commitment(nonce, canonical)` and its stored record parses back to the event.
//!
//! RFC 8785 writes every number as an IEEE 754 double, so an integer above 2^53 − 1 (JSON's
//! exact range, I-JSON) does not survive JCS exactly: `u64::MAX` becomes `18446744073709552000`.
//! Events carrying such a number (a version or a sequence number no real ledger reaches) are
//! checked only for stability: whatever their canonical form parses back to has that same
//! canonical form. Every other event must round-trip exactly.
#![no_main]

use assent::crypto::sign::jcs;
use assent::domain::grant::GrantTerms;
use assent::http::customers::KdfQuery;
use assent::http::org::ReadQuery;
use assent::wire::customers::{LogInBody, SignUpBody};
use assent::wire::envelopes::{GrantWrapBody, PutBody};
use assent::wire::org::{KeyChangeBody, RegisterBody, TokenForm};
use assent::wire::requests::{ApproveBody, CreateBody, WrapBody};
use assent::http::transparency::{ConsistencyQuery, InclusionQuery};
use assent::http::webhooks::DeliveriesQuery;
use assent::wire::erasure::AnswerBody;
use assent::wire::webhooks::WebhookBody;
use assent::ledger::event::{parse_canonical, parse_stored, split_stored};
use assent::ledger::{Event, Prepared, Sequenced, leaf_commitment};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest integer JCS writes exactly (2^53 − 1).
const MAX_EXACT: u64 = (1 << 53) - 1;

fn json<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

fn form<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_urlencoded::from_bytes(data).ok()
}

fn grant_round_trips(terms: &GrantTerms) {
    let canonical = jcs(terms).expect("JCS of parsed terms");
    let again: GrantTerms = serde_json::from_slice(&canonical).expect("re-parse grant JCS");
    assert_eq!(&again, terms);
}

/// Whether every number in `value`'s JSON is an integer JCS writes exactly.
fn jcs_exact<T: Serialize>(value: &T) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => n.as_u64().is_some_and(|n| n <= MAX_EXACT),
            serde_json::Value::Array(items) => items.iter().all(walk),
            serde_json::Value::Object(map) => map.values().all(walk),
            _ => true,
        }
    }
    walk(&serde_json::to_value(value).expect("JSON value"))
}

/// The rule `Sequenced::check` documents, written out independently.
fn fits(party: bool, seq: Option<u64>) -> bool {
    match seq {
        Some(n) => party && n >= 1,
        None => !party,
    }
}

fn sequenced(event: &Sequenced) {
    let canonical = event.canonical().expect("canonical form of a parsed event");
    let (customer, org) = (event.event.customer(), event.event.org());
    let expected =
        fits(customer.is_some(), event.customer_seq) && fits(org.is_some(), event.org_seq);
    assert_eq!(
        event.check().is_ok(),
        expected,
        "check() disagrees with the documented rule: {event:?}"
    );
    if event.event.is_org_key_event() {
        assert!(customer.is_none() && org.is_some());
    }
    let nonce = [0x5a; 32];

    if !jcs_exact(event) {
        // Beyond JCS's exact integers: only stability, and Prepared::new still follows check().
        if let Ok(again) = serde_json::from_slice::<Sequenced>(&canonical) {
            assert_eq!(
                again.canonical().expect("canonical"),
                canonical,
                "JCS is not stable"
            );
        }
        assert_eq!(Prepared::new(event, nonce).is_ok(), expected);
        return;
    }

    let again: Sequenced = serde_json::from_slice(&canonical).expect("re-parse canonical event");
    assert_eq!(
        &again, event,
        "canonical form does not parse back to the same event"
    );
    assert_eq!(
        again.canonical().expect("canonical"),
        canonical,
        "JCS is not stable"
    );

    match (parse_canonical(&canonical), Prepared::new(event, nonce)) {
        (Ok(parsed), Ok(prepared)) => {
            assert!(expected);
            assert_eq!(&parsed, event);
            assert_eq!(prepared.canonical, canonical);
            assert_eq!(prepared.leaf, leaf_commitment(&nonce, &canonical));
            let stored = prepared.stored();
            assert_eq!(split_stored(&stored), Some((&nonce, canonical.as_slice())));
            assert_eq!(parse_stored(&stored).expect("stored event parses"), *event);
        }
        (Err(_), Err(_)) => assert!(!expected),
        (parsed, prepared) => panic!(
            "parse_canonical and Prepared::new disagree: {:?} vs {:?}",
            parsed.map(|_| ()),
            prepared.map(|_| ())
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(b) = json::<SignUpBody>(data) {
        let _ = b.bundle.kdf.validate();
    }
    let _ = json::<LogInBody>(data);
    let _ = json::<RegisterBody>(data);
    let _ = json::<KeyChangeBody>(data);
    let _ = json::<GrantWrapBody>(data);
    let _ = json::<PutBody>(data);
    let _ = json::<CreateBody>(data);
    let _ = json::<WrapBody>(data);
    if let Some(b) = json::<ApproveBody>(data) {
        grant_round_trips(&b.grant);
    }
    if let Some(terms) = json::<GrantTerms>(data) {
        grant_round_trips(&terms);
    }

    if let Some(b) = json::<WebhookBody>(data) {
        let _ = assent::domain::webhook::check_url(&b.url, false);
        let _ = assent::domain::webhook::check_kinds(b.kinds);
    }
    if let Some(b) = json::<AnswerBody>(data) {
        let _ = assent::domain::erasure::check_answer(b.outcome, b.reason.as_deref());
    }
    {
        // id \0 timestamp \0 signature \0 body
        let mut parts = data.splitn(4, |b| *b == 0);
        let text = |p: Option<&[u8]>| String::from_utf8_lossy(p.unwrap_or_default()).into_owned();
        let (id, ts, sig) = (text(parts.next()), text(parts.next()), text(parts.next()));
        let body = parts.next().unwrap_or_default();
        let d = assent::client::webhook::Delivery {
            id: &id,
            timestamp: &ts,
            signature: &sig,
            body,
        };
        let key = assent::crypto::keys::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let _ = assent::client::webhook::verify(&key.to_bytes(), &d, None);
    }

    let _ = form::<TokenForm>(data);
    let _ = form::<DeliveriesQuery>(data);
    let _ = form::<KdfQuery>(data);
    let _ = form::<ReadQuery>(data);
    let _ = form::<InclusionQuery>(data);
    let _ = form::<ConsistencyQuery>(data);

    if let Some(event) = json::<Sequenced>(data) {
        sequenced(&event);
    }
    // A bare event (no sequence numbers) still has one JSON form.
    if let Some(event) = json::<Event>(data) {
        let canonical = jcs(&event).expect("canonical form of a parsed event");
        if jcs_exact(&event) {
            let again: Event =
                serde_json::from_slice(&canonical).expect("re-parse canonical event");
            assert_eq!(
                again, event,
                "canonical form does not parse back to the same event"
            );
        }
        let _ = (event.customer(), event.org(), event.is_org_key_event());
    }
});
