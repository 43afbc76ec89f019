//! Grant-signature verification input and the domain's string parsers.
//!
//! Input: `sig_len u8 | signature | text…`. The text is parsed as `GrantTerms` JSON and
//! verified with `verify_grant` against the wire vector's customer key; the text and each of its
//! lines also go through `Timestamp::parse`, `Label::parse`, `Purpose::parse`, `Handle::parse` and
//! every id parser; so does every string inside the text when it is JSON.
//!
//! Besides "never panic", the target checks ARCHITECTURE.md invariant 8 (exact wire forms): a
//! parsed value re-serializes to the very string it was parsed from (base64url key fields
//! included), a parsed grant's JCS parses back to the same grant, and a signature verifies only
//! over the vector's exact v2 terms (`assent/v2/grant\n` ‖ JCS, the organization's keys
//! included) and only as the customer's exact signature bytes.
#![no_main]

use assent::crypto::b64;
use assent::crypto::sign::{grant_message, jcs, verify_grant, verify_signature};
use assent::domain::catalog::{Label, Purpose};
use assent::domain::grant::GrantTerms;
use assent::domain::ids::{CustomerId, EnvelopeId, GrantId, Handle, OrgId, RequestId};
use assent::domain::time::Timestamp;
use assent_fuzz::{CUSTOMER_PUBLIC, GRANT_JCS, GRANT_SIGNATURE_BYTES, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let sig_len = usize::from(input.u8());
    let signature = input.bytes(sig_len);
    let text = String::from_utf8_lossy(input.rest());

    if let Ok(terms) = serde_json::from_str::<GrantTerms>(&text) {
        let canonical = jcs(&terms).expect("JCS of parsed terms");
        let again: GrantTerms = serde_json::from_slice(&canonical).expect("re-parse JCS");
        assert_eq!(again, terms, "JCS does not parse back to the same grant");
        assert_eq!(jcs(&again).expect("JCS"), canonical, "JCS is not stable");
        if verify_grant(&CUSTOMER_PUBLIC, &terms, signature).is_ok() {
            // What verified is the v2 message: `assent/v2/grant\n` ‖ JCS(terms).
            let message = [b"assent/v2/grant\n".as_slice(), &canonical].concat();
            assert_eq!(grant_message(&canonical), message);
            assert!(verify_signature(&CUSTOMER_PUBLIC, &message, signature).is_ok());
            assert_eq!(
                canonical,
                GRANT_JCS.as_bytes(),
                "a signature verified over terms the customer never signed"
            );
            assert_eq!(
                signature,
                GRANT_SIGNATURE_BYTES.as_slice(),
                "a signature other than the customer's verified"
            );
        }
    }

    for s in std::iter::once(&*text).chain(text.split('\n')) {
        parse_strings(s);
    }
    // The string parsers also see every string inside JSON, e.g. a grant's `not_after`.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        walk_strings(&value);
    }
});

fn walk_strings(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => parse_strings(s),
        serde_json::Value::Array(items) => items.iter().for_each(walk_strings),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            parse_strings(k);
            walk_strings(v);
        }),
        _ => {}
    }
}

fn parse_strings(s: &str) {
    if let Ok(t) = Timestamp::parse(s) {
        assert_eq!(
            t.to_rfc3339(),
            s,
            "Timestamp::parse accepted a non-canonical form"
        );
        assert_eq!(Timestamp::parse(&t.to_rfc3339()), Ok(t));
    }
    if let Ok(l) = Label::parse(s) {
        assert_eq!(l.as_str(), s);
    }
    if let Ok(p) = Purpose::parse(s) {
        assert_eq!(p.as_str(), s);
        assert_ne!(p.words(), "an unknown purpose");
    }
    if let Ok(h) = Handle::parse(s) {
        assert_eq!(h.as_str(), s);
    }
    // Binary fields (a grant's org keys, signatures) are strict base64url: one form per value.
    if let Ok(bytes) = b64::decode(s) {
        assert_eq!(
            b64::encode(&bytes),
            s,
            "base64url accepted a non-canonical form"
        );
    }
    macro_rules! ids {
        ($($t:ty),*) => {$(
            if let Ok(id) = <$t>::parse(s) {
                assert_eq!(id.as_str(), s);
                assert!(!s.contains('\n') && s.len() <= <$t>::PREFIX.len() + 64);
                // Ids travel as JSON strings: the serde form must round-trip too.
                let json = serde_json::to_string(&id).expect("serialize id");
                assert_eq!(serde_json::from_str::<$t>(&json).expect("re-parse id"), id);
            }
        )*};
    }
    ids!(CustomerId, OrgId, EnvelopeId, GrantId, RequestId);
}
