//! Regression tests for crashes found by the cargo-fuzz targets under `fuzz/` (see
//! `fuzz/README.md`). Each test replays the crashing input through the same API the target calls
//! and checks the property the target asserted.

use assent::crypto::sign::jcs;
use assent::domain::grant::GrantTerms;
use assent::domain::time::Timestamp;

/// fuzz target `grant_verify`: `Timestamp::parse` accepted a year with a leading `+`
/// (`[year]` in the `time` crate's format description takes an optional sign), and the value
/// re-serialized without it. ARCHITECTURE.md invariant 8 and `domain/time.rs` promise that only
/// the exact form `YYYY-MM-DDTHH:MM:SSZ` parses, so that a parsed value re-serializes to the
/// same bytes.
#[test]
fn timestamp_refuses_a_signed_year() {
    for s in [
        "+2027-11-24T00:00:00Z",
        "+1970-01-01T00:00:00Z",
        "+9999-12-31T23:59:59Z",
    ] {
        assert!(
            Timestamp::parse(s).is_err(),
            "{s} parsed as {:?}",
            Timestamp::parse(s)
        );
    }
    // Whatever parses re-serializes to the same string.
    for s in [
        "2027-11-24T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ] {
        assert_eq!(Timestamp::parse(s).expect("canonical form").to_rfc3339(), s);
    }
}

/// The same input as it reaches the vault: a grant whose `not_after` carries the `+` parses, and
/// its JCS (the bytes the signature is checked over) differs from what the client sent, so one
/// signed grant has two accepted JSON forms.
#[test]
fn grant_with_signed_year_is_refused() {
    // A wire-v2 grant that is valid but for the `+` before its year.
    let valid = r#"{"grant_id":"grt_0c44e1","customer_id":"cus_7f3a9c","org_id":"org_acme_bank","org_identity_key":"CSDb0pAs1TdYk4zCQ-ZK8jAW5DQFKyVTXeUuNrOYSLM","org_encryption_key":"xeQIfQYkMjlM-pdoy0bfpH4mp3UIC0t0pg6-ivZN0Fc","labels":["email"],"purposes":["dpv:IdentityVerification"],"not_after":"2027-11-24T00:00:00Z","max_reads":10}"#;
    assert!(serde_json::from_str::<GrantTerms>(valid).is_ok());
    let json = valid.replace("\"2027-", "\"+2027-");
    let parsed = serde_json::from_str::<GrantTerms>(&json);
    assert!(
        parsed.is_err(),
        "accepted; re-serialized as {}",
        String::from_utf8_lossy(&jcs(parsed.as_ref().expect("parsed")).expect("jcs"))
    );
}
