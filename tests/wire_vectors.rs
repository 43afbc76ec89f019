//! Known answers for the Assent v1 wire format (../shared/vectors/assent-wire-v1.json, made by
//! an independent implementation): the organization opens the read response with the code it
//! uses in production, the grant parses into our signed type and verifies, and our ledger event
//! type reproduces the leaf and its RFC 9162 hash.

use assent::client::org::ReadResponse;
use assent::config::OrgKeys;
use assent::crypto::b64;
use assent::crypto::keys::{X25519Secret, generate_signing_key};
use assent::crypto::sign::verify_grant;
use assent::domain::grant::GrantTerms;
use assent::ledger::merkle::leaf_hash;
use assent::ledger::{Event, leaf_commitment};
use serde_json::Value;

fn vectors() -> Value {
    let base = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = [
        base.join("../shared/vectors/assent-wire-v1.json"),
        "/work/shared/vectors/assent-wire-v1.json".into(),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("assent-wire-v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn org_keys(v: &Value) -> OrgKeys {
    let secret: [u8; 32] =
        b64::decode_array(v["org"]["x25519_private"].as_str().unwrap(), "x").unwrap();
    OrgKeys {
        demo: false,
        org_id: v["org"]["org_id"].as_str().unwrap().into(),
        name: "Acme Bank".into(),
        identity: generate_signing_key(),
        encryption: X25519Secret::from_bytes(secret),
    }
}

#[test]
fn org_opens_the_read_response() {
    let v = vectors();
    let mut body = v["read_response"].clone();
    // The vector predates the ledger reference; our response adds it.
    body["ledger"] = serde_json::json!({ "index": 0, "leaf": b64::encode(&[0u8; 32]) });
    let r: ReadResponse = serde_json::from_value(body).unwrap();
    let plain = r.open(&org_keys(&v)).unwrap();
    assert_eq!(
        &plain[..],
        v["expect"]["plaintext_utf8"].as_str().unwrap().as_bytes()
    );
}

#[test]
fn read_response_fails_for_another_grant_or_org() {
    let v = vectors();
    let mut body = v["read_response"].clone();
    body["ledger"] = serde_json::json!({ "index": 0, "leaf": b64::encode(&[0u8; 32]) });
    let mut moved = body.clone();
    moved["grant_id"] = "grt_other".into();
    let r: ReadResponse = serde_json::from_value(moved).unwrap();
    assert!(r.open(&org_keys(&v)).is_err());
    let r: ReadResponse = serde_json::from_value(body).unwrap();
    let mut other = org_keys(&v);
    other.org_id = "org_other".into();
    assert!(r.open(&other).is_err());
}

#[test]
fn grant_parses_into_signed_terms_and_verifies() {
    let v = vectors();
    let terms: GrantTerms = serde_json::from_value(v["grant"]["object"].clone()).unwrap();
    let jcs = assent::crypto::sign::jcs(&terms).unwrap();
    assert_eq!(jcs, v["grant"]["jcs_utf8"].as_str().unwrap().as_bytes());
    let public: [u8; 32] = b64::decode_array(
        v["grant"]["customer_ed25519_public"].as_str().unwrap(),
        "pk",
    )
    .unwrap();
    let sig = b64::decode(v["grant"]["signature"].as_str().unwrap()).unwrap();
    verify_grant(&public, &terms, &sig).unwrap();
    let mut widened = terms.clone();
    widened.max_reads = None;
    assert!(verify_grant(&public, &widened, &sig).is_err());
}

#[test]
fn ledger_leaf_recomputes() {
    let v = vectors();
    let event: Event = serde_json::from_value(v["ledger_leaf"]["event"].clone()).unwrap();
    let nonce: [u8; 32] =
        b64::decode_array(v["ledger_leaf"]["nonce"].as_str().unwrap(), "nonce").unwrap();
    let leaf = leaf_commitment(&nonce, &event.canonical().unwrap());
    assert_eq!(
        b64::encode(&leaf),
        v["ledger_leaf"]["leaf"].as_str().unwrap()
    );
    assert_eq!(
        b64::encode(&leaf_hash(&leaf)),
        v["ledger_leaf"]["tree_leaf_hash"].as_str().unwrap()
    );
    let mut other = nonce;
    other[0] ^= 1;
    assert_ne!(
        b64::encode(&leaf_commitment(&other, &event.canonical().unwrap())),
        v["ledger_leaf"]["leaf"].as_str().unwrap()
    );
}
