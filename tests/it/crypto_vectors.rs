//! Known-answer tests for the crypto layer.
//!
//! Vectors (data only) come from `shared/vectors/`: `hpke-rfc9180-a2-1.json`
//! (RFC 9180 Appendix A.2.1) and `assent-wire-v1.json` (Assent v1 wire format,
//! made by an independent implementation). They are read at test time.

use std::path::PathBuf;

use assent::crypto::b64;
use assent::crypto::{
    CryptoError, OWNER, Wrap, X25519Secret, envelope_aad, jcs, open_payload, unwrap_key,
    verify_grant, verify_org_key, wrap_info,
};
use hpke::{Deserializable, Kem as _, OpModeR, Serializable};
use serde_json::Value;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

fn vector(name: &str) -> Value {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    let dir = if local.is_dir() {
        local
    } else {
        PathBuf::from("/work/shared/vectors")
    };
    let text = std::fs::read_to_string(dir.join(name)).expect("read vector file");
    serde_json::from_str(&text).expect("parse vector file")
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_str()
        .unwrap_or_else(|| panic!("missing string at {path:?}"))
}

fn b32(v: &Value, path: &[&str]) -> [u8; 32] {
    b64::decode_array(s(v, path), "vector field").expect("32-byte field")
}

#[test]
fn rfc9180_a_2_1_single_shot_open() {
    let v = vector("hpke-rfc9180-a2-1.json");
    assert_eq!(
        (v["mode"].as_u64(), v["kem_id"].as_u64()),
        (Some(0), Some(32))
    );
    assert_eq!(
        (v["kdf_id"].as_u64(), v["aead_id"].as_u64()),
        (Some(1), Some(3))
    );

    let (sk_derived, pk_derived) = Kem::derive_keypair(&hex(&v["ikmR"]));
    assert_eq!(pk_derived.to_bytes().to_vec(), hex(&v["pkRm"]));
    // Private key bytes come back clamped: compare public keys only.
    let sk_loaded = <Kem as hpke::Kem>::PrivateKey::from_bytes(&hex(&v["skRm"])).unwrap();
    assert_eq!(Kem::sk_to_pk(&sk_loaded), pk_derived);
    let sk_ours = X25519Secret::from_bytes(hex(&v["skRm"]).try_into().unwrap());
    assert_eq!(sk_ours.public().to_vec(), hex(&v["pkRm"]));

    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&hex(&v["enc"])).unwrap();
    for sk in [&sk_derived, &sk_loaded] {
        let pt = hpke::single_shot_open::<Aead, Kdf, Kem>(
            &OpModeR::Base,
            sk,
            &enc,
            &hex(&v["info"]),
            &hex(&v["ct"]),
            &hex(&v["aad"]),
        )
        .unwrap();
        assert_eq!(pt, hex(&v["pt"]));
    }
}

struct Wire {
    v: Value,
    org_sk: X25519Secret,
    wrap: Wrap,
}

fn wire() -> Wire {
    // Wire v2 (../shared/vectors/assent-wire-v2.json): the envelope AAD names the content type
    // and the grant names the org's keys; wrap info and the org-key binding are as in v1.
    let v = vector("assent-wire-v2.json");
    let org_sk = X25519Secret::from_bytes(b32(&v, &["org", "x25519_private"]));
    let wrap: Wrap = serde_json::from_value(v["read_response"]["wrap"].clone()).unwrap();
    Wire { v, org_sk, wrap }
}

#[test]
fn wire_v2_aad_and_info_strings() {
    let Wire { v, .. } = wire();
    let r = &v["read_response"];
    let version = r["version"].as_u64().unwrap();
    let aad = envelope_aad(
        s(r, &["customer_id"]),
        s(r, &["envelope_id"]),
        version,
        s(r, &["label"]),
        s(r, &["content_type"]),
    );
    assert_eq!(aad, s(&v, &["expect", "envelope_aad_utf8"]).as_bytes());
    let info = wrap_info(
        s(r, &["envelope_id"]),
        version,
        s(&v, &["org", "org_id"]),
        s(r, &["grant_id"]),
    );
    assert_eq!(info, s(&v, &["expect", "wrap_info_utf8"]).as_bytes());
}

#[test]
fn wire_v2_read_response_opens() {
    let Wire { v, org_sk, wrap } = wire();
    assert_eq!(org_sk.public(), b32(&v, &["org", "x25519_public"]));
    let r = &v["read_response"];
    let info = s(&v, &["expect", "wrap_info_utf8"]).as_bytes();
    let dek = unwrap_key(&org_sk, info, &wrap).unwrap();
    assert_eq!(dek.as_bytes(), &b32(&v, &["expect", "data_key"]));

    let aad = s(&v, &["expect", "envelope_aad_utf8"]).as_bytes();
    let nonce = b64::decode(s(r, &["nonce"])).unwrap();
    let ct = b64::decode(s(r, &["ciphertext"])).unwrap();
    let pt = open_payload(&dek, aad, &nonce, &ct).unwrap();
    assert_eq!(
        pt.as_slice(),
        s(&v, &["expect", "plaintext_utf8"]).as_bytes()
    );
    // The same ciphertext under another label, or relabelled as another content type, does
    // not open.
    let ct_type = s(r, &["content_type"]);
    let other = envelope_aad("cus_7f3a9c", "env_51b2d0", 3, "postal_address", ct_type);
    assert_eq!(
        open_payload(&dek, &other, &nonce, &ct).unwrap_err(),
        CryptoError::Decrypt
    );
    let html = s(&v, &["expect", "must_not_open_with_content_type"]);
    let relabelled = envelope_aad("cus_7f3a9c", "env_51b2d0", 3, "email", html);
    assert_eq!(
        open_payload(&dek, &relabelled, &nonce, &ct).unwrap_err(),
        CryptoError::Decrypt
    );
}

#[test]
fn wire_v2_grant_jcs_and_signature() {
    let Wire { v, .. } = wire();
    let g = &v["grant"];
    let object = &g["object"];
    assert_eq!(
        assent::crypto::sign::grant_message(&jcs(object).unwrap()),
        s(g, &["signed_message_utf8"]).as_bytes()
    );
    // The grant names the key the read response's wrap was made to.
    assert_eq!(
        b32(object, &["org_encryption_key"]),
        b32(&v, &["org", "x25519_public"])
    );
    assert_eq!(
        b32(object, &["org_identity_key"]),
        b32(&v, &["org", "ed25519_public"])
    );

    let public = b32(g, &["customer_ed25519_public"]);
    let sig = b64::decode(s(g, &["signature"])).unwrap();
    verify_grant(&public, object, &sig).unwrap();

    // Changing any single field breaks the signature.
    let fields = object.as_object().unwrap();
    assert!(fields.len() >= 9);
    for (key, value) in fields {
        let mut changed = object.clone();
        changed[key] = match value {
            Value::String(s) => Value::String(format!("{s}x")),
            Value::Number(n) => Value::from(n.as_u64().unwrap() + 1),
            Value::Array(a) => Value::Array([a.clone(), vec![Value::from("x")]].concat()),
            other => panic!("unexpected field type {other}"),
        };
        assert_eq!(
            verify_grant(&public, &changed, &sig),
            Err(CryptoError::BadSignature),
            "field {key}"
        );
    }
    // A flipped signature bit and a truncated signature fail too.
    let mut bad = sig.clone();
    bad[5] ^= 1;
    assert!(verify_grant(&public, object, &bad).is_err());
    assert!(matches!(
        verify_grant(&public, object, &sig[..63]),
        Err(CryptoError::BadLength { .. })
    ));
}

#[test]
fn wire_v2_org_key_binding_is_v1() {
    let Wire { v, .. } = wire();
    let identity = b32(&v, &["org", "ed25519_public"]);
    let x25519 = b32(&v, &["org", "x25519_public"]);
    let sig = b64::decode(s(&v, &["org_key", "signature"])).unwrap();
    verify_org_key(&identity, &x25519, &sig).unwrap();

    let other = X25519Secret::generate().public();
    assert_eq!(
        verify_org_key(&identity, &other, &sig),
        Err(CryptoError::BadSignature)
    );
    let mut flipped = x25519;
    flipped[0] ^= 0x80;
    assert!(verify_org_key(&identity, &flipped, &sig).is_err());
}

#[test]
fn wrap_cannot_be_moved_to_another_context() {
    let Wire { v, org_sk, wrap } = wire();
    let r = &v["read_response"];
    let (env, grant) = (s(r, &["envelope_id"]), s(r, &["grant_id"]));
    let org = s(&v, &["org", "org_id"]);
    assert!(unwrap_key(&org_sk, &wrap_info(env, 3, org, grant), &wrap).is_ok());

    let moved = [
        ("grant id", wrap_info(env, 3, org, "grt_other")),
        ("owner slot", wrap_info(env, 3, org, OWNER)),
        ("envelope id", wrap_info("env_other", 3, org, grant)),
        ("version", wrap_info(env, 4, org, grant)),
        ("recipient", wrap_info(env, 3, "org_other", grant)),
    ];
    for (what, info) in moved {
        assert_eq!(
            unwrap_key(&org_sk, &info, &wrap).unwrap_err(),
            CryptoError::Decrypt,
            "moved to another {what}"
        );
    }
    // Another recipient's key does not open it either.
    let stranger = X25519Secret::generate();
    let info = wrap_info(env, 3, org, grant);
    assert_eq!(
        unwrap_key(&stranger, &info, &wrap).unwrap_err(),
        CryptoError::Decrypt
    );
}

#[test]
fn wrap_json_shape() {
    let Wire { v, wrap, .. } = wire();
    let json = serde_json::to_value(&wrap).unwrap();
    assert_eq!(json, v["read_response"]["wrap"]);
    assert_eq!(json.as_object().unwrap().len(), 2);
}
