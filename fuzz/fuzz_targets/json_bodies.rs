//! Every HTTP request body and query string, and ledger events, from hostile bytes.
//!
//! Input: raw bytes, given as-is to serde_json for each JSON body type of `src/http/*.rs`, to
//! serde_urlencoded for the token form and the query strings, and to serde_json for
//! `ledger::Event`, whose canonical (JCS) form must parse back to the same event.
#![no_main]

use assent::crypto::sign::jcs;
use assent::domain::grant::GrantTerms;
use assent::http::admin::RegisterBody;
use assent::http::customers::{KdfQuery, LogInBody, SignUpBody};
use assent::http::envelopes::{GrantWrapBody, PutBody};
use assent::http::org::{ReadQuery, TokenForm};
use assent::http::requests::{ApproveBody, CreateBody, WrapBody};
use assent::http::transparency::{ConsistencyQuery, InclusionQuery};
use assent::ledger::Event;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

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

fuzz_target!(|data: &[u8]| {
    if let Some(b) = json::<SignUpBody>(data) {
        let _ = b.bundle.kdf.validate();
    }
    let _ = json::<LogInBody>(data);
    let _ = json::<RegisterBody>(data);
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

    let _ = form::<TokenForm>(data);
    let _ = form::<KdfQuery>(data);
    let _ = form::<ReadQuery>(data);
    let _ = form::<InclusionQuery>(data);
    let _ = form::<ConsistencyQuery>(data);

    if let Some(event) = json::<Event>(data) {
        let canonical = event.canonical().expect("canonical form of a parsed event");
        let again: Event = serde_json::from_slice(&canonical).expect("re-parse canonical event");
        assert_eq!(
            again, event,
            "canonical form does not parse back to the same event"
        );
        assert_eq!(again.canonical().expect("canonical"), canonical);
        let _ = (event.customer(), event.org());
    }
});
