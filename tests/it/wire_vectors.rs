//! Known answers for the Assent wire format, made by an independent implementation: v2
//! (../shared/vectors/assent-wire-v2.json) for the envelope AAD and the grant — the organization
//! opens the read response with the code it uses in production, the grant parses into our
//! signed type and verifies and names the key the wrap was made to — and v1
//! (assent-wire-v1.json) for what v2 keeps: the ledger leaf and its RFC 9162 hash.

use assent::client::org::ReadResponse;
use assent::config::OrgKeys;
use assent::crypto::b64;
use assent::crypto::keys::{X25519Secret, generate_signing_key};
use assent::crypto::sign::verify_grant;
use assent::domain::grant::GrantTerms;
use assent::ledger::leaf_commitment;
use assent::ledger::merkle::leaf_hash;
use serde_json::Value;

fn load(name: &str) -> Value {
    let base = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = [
        base.join("../shared/vectors").join(name),
        std::path::PathBuf::from("/work/shared/vectors").join(name),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vectors() -> Value {
    load("assent-wire-v2.json")
}

/// The vector's read response as our server sends it: with the purpose, the ledger reference
/// and the receipt it predates.
fn response(v: &Value) -> Value {
    let mut body = v["read_response"].clone();
    body["purpose"] = "dpv:IdentityVerification".into();
    body["ledger"] = serde_json::json!({ "index": 0, "leaf": b64::encode(&[0u8; 32]) });
    body["receipt"] = serde_json::json!({
        "index": 0, "leaf": b64::encode(&[0u8; 32]), "path": [],
        "batch": { "first": 0, "size": 1, "root": b64::encode(&[0u8; 32]),
                   "time": "2026-11-24T00:00:00Z", "signature": b64::encode(&[0u8; 64]) },
        "vault_key": "x",
    });
    body
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
    let r: ReadResponse = serde_json::from_value(response(&v)).unwrap();
    let plain = r.open(&org_keys(&v)).unwrap();
    assert_eq!(
        &plain[..],
        v["expect"]["plaintext_utf8"].as_str().unwrap().as_bytes()
    );
    // The server cannot relabel the data: another content type does not open.
    let mut relabelled = response(&v);
    relabelled["content_type"] = v["expect"]["must_not_open_with_content_type"].clone();
    let r: ReadResponse = serde_json::from_value(relabelled).unwrap();
    assert!(r.open(&org_keys(&v)).is_err());
}

#[test]
fn read_response_fails_for_another_grant_or_org() {
    let v = vectors();
    let body = response(&v);
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
    assert_eq!(
        assent::crypto::sign::grant_message(&jcs),
        v["grant"]["signed_message_utf8"]
            .as_str()
            .unwrap()
            .as_bytes()
    );
    // The signed grant names the org's keys: the wrap was made to its encryption key.
    assert_eq!(org_keys(&v).encryption.public(), terms.org_encryption_key);
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
    let mut substituted = terms.clone();
    substituted.org_encryption_key = X25519Secret::generate().public();
    assert!(verify_grant(&public, &substituted, &sig).is_err());
}

#[test]
fn ledger_leaf_recomputes() {
    // The leaf is unchanged in v2: SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event)). The v1
    // vector's event predates sequence numbers, so it is hashed as the JSON it is.
    let v = load("assent-wire-v1.json");
    let event = v["ledger_leaf"]["event"].clone();
    let nonce: [u8; 32] =
        b64::decode_array(v["ledger_leaf"]["nonce"].as_str().unwrap(), "nonce").unwrap();
    let leaf = leaf_commitment(&nonce, &assent::crypto::sign::jcs(&event).unwrap());
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
        b64::encode(&leaf_commitment(
            &other,
            &assent::crypto::sign::jcs(&event).unwrap()
        )),
        v["ledger_leaf"]["leaf"].as_str().unwrap()
    );
}

#[test]
fn fingerprints_are_typed_any_way_but_exactly() {
    use assent::crypto::sign::{fingerprint, fingerprint_matches};
    let v = vectors();
    let key: [u8; 32] =
        b64::decode_array(v["org"]["ed25519_public"].as_str().unwrap(), "key").unwrap();
    let fp = fingerprint(&key);
    assert_eq!(fp.len(), 39, "{fp}");
    assert!(fingerprint_matches(&key, &fp));
    assert!(fingerprint_matches(&key, &fp.replace(' ', "")));
    assert!(fingerprint_matches(
        &key,
        &format!(" {} ", fp.to_uppercase())
    ));
    // One digit off, one missing, a sign where a digit was: refused.
    let mut off = fp.clone().into_bytes();
    off[0] = if off[0] == b'0' { b'1' } else { b'0' };
    assert!(!fingerprint_matches(
        &key,
        std::str::from_utf8(&off).unwrap()
    ));
    assert!(!fingerprint_matches(&key, &fp[1..]));
    // A key whose fingerprint starts with 0: "+x" must not pass for "0x".
    let zero = (0..10_000)
        .map(|_| generate_signing_key().verifying_key().to_bytes())
        .find(|k| fingerprint(k).starts_with('0'))
        .unwrap();
    let plus = format!("+{}", &fingerprint(&zero)[1..]);
    assert!(fingerprint_matches(&zero, &fingerprint(&zero)));
    assert!(!fingerprint_matches(&zero, &plus), "{plus}");
}
