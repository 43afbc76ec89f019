//! Writes the seed corpus `fuzz/corpus/<target>/` from the shared test vectors, and the
//! regression inputs under `fuzz/regressions/<target>/` that encode wire objects (so they follow
//! the wire format: a kept crash input must still reach the code that once crashed).
//!
//! Run from the repository root (not a fuzz target, no sanitizer needed):
//!
//! ```sh
//! cargo +nightly run --manifest-path fuzz/Cargo.toml --example gen_seeds [VECTORS_DIR]
//! ```
//!
//! `VECTORS_DIR` defaults to `../shared/vectors` or `/work/shared/vectors`. Re-running rewrites
//! the same files (the bundle seeds get fresh random nonces). The generator also checks that the
//! "valid" seeds really pass each target's fixed keys, so the fuzzer starts on the success paths,
//! and that the fixtures of `src/lib.rs` are the values of `assent-wire-v2.json`.

use std::path::{Path, PathBuf};

use assent::crypto::b64;
use assent::crypto::bundle::{CustomerSecrets, KdfParams, seal_bundle};
use assent::crypto::bundle::{SealedBundle, open_bundle};
use assent::crypto::envelope::{DataKey, envelope_aad, open_payload};
use assent::crypto::keys::{SigningKey, X25519Secret};
use assent::crypto::sign::{
    OrgKeyChange, grant_message, jcs, sign_org_key, sign_org_key_change, verify_grant,
    verify_org_key, verify_org_key_change,
};
use assent::crypto::wrap::{Wrap, unwrap_key, wrap_info};
use assent::domain::grant::GrantTerms;
use assent::http::admin::RegisterBody;
use assent::http::customers::SignUpBody;
use assent::http::envelopes::PutBody;
use assent::http::org::KeyChangeBody;
use assent::http::requests::{ApproveBody, CreateBody};
use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::event::parse_canonical;
use assent::ledger::merkle::{leaf_hash, node_hash};
use assent::ledger::note;
use assent_fuzz::{
    BUNDLE_KEK, CHECKPOINT_KEY, CHECKPOINT_ORIGIN, CHECKPOINT_VERIFIER, CUSTOMER_ED25519_PUBLIC,
    CUSTOMER_PUBLIC, ENVELOPE, ENVELOPE_AAD, ENVELOPE_CIPHERTEXT, ENVELOPE_CONTENT_TYPE,
    ENVELOPE_DATA_KEY, ENVELOPE_NONCE, ENVELOPE_PLAINTEXT, GO_VERIFIER, GO_VERIFIER_KEY, GRANT_JCS,
    GRANT_SIGNATURE, GRANT_SIGNATURE_BYTES, ORG_ED25519_PUBLIC, ORG_SECRET, ORG_X25519_PRIVATE,
    ORG_X25519_PUBLIC, WRAP_INFO, envelope_input, grant_input, proof_input,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

fn main() {
    let vectors = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            ["../shared/vectors", "/work/shared/vectors"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
                .expect("vectors directory not found; pass it as the first argument")
        });
    let fuzz_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let wire = read_json(&vectors.join("assent-wire-v2.json"));
    let go = read_json(&vectors.join("signed-note-go.json"));
    check_fixtures(&wire);
    let mut out = Seeds {
        corpus: fuzz_dir.join("corpus"),
        count: 0,
    };
    let mut regressions = Seeds {
        corpus: fuzz_dir.join("regressions"),
        count: 0,
    };

    let bundle = sealed_bundle(KdfParams::new_default());
    envelope_open(&mut out, &wire);
    bundle_open(&mut out, &bundle);
    grant_verify(&mut out, &wire);
    note_open(&mut out, &go);
    proof_verify(&mut out, &vectors.join("merkle"));
    json_bodies(&mut out, &wire, &bundle);
    grant_regressions(&mut regressions, &wire);
    for seeds in [&out, &regressions] {
        println!(
            "wrote {} files under {}",
            seeds.count,
            seeds.corpus.display()
        );
    }
}

/// The fixtures of `src/lib.rs` are the values of the v2 wire vector, and they agree with each
/// other (keys, AAD, signed message).
fn check_fixtures(wire: &Value) {
    assert_eq!(s(wire, "/org/x25519_private"), ORG_X25519_PRIVATE);
    assert_eq!(s(wire, "/org/x25519_public"), ORG_X25519_PUBLIC);
    assert_eq!(s(wire, "/org/ed25519_public"), ORG_ED25519_PUBLIC);
    assert_eq!(b64::encode(&ORG_SECRET.public()), ORG_X25519_PUBLIC);
    assert_eq!(s(wire, "/expect/wrap_info_utf8").as_bytes(), WRAP_INFO);
    assert_eq!(
        wrap_info(
            s(wire, "/read_response/envelope_id"),
            version(wire),
            s(wire, "/org/org_id"),
            s(wire, "/read_response/grant_id"),
        ),
        WRAP_INFO
    );
    assert_eq!(
        s(wire, "/read_response/content_type"),
        ENVELOPE_CONTENT_TYPE
    );
    assert_eq!(
        s(wire, "/expect/envelope_aad_utf8").as_bytes(),
        ENVELOPE_AAD
    );
    assert_eq!(s(wire, "/expect/data_key"), ENVELOPE_DATA_KEY);
    assert_eq!(s(wire, "/read_response/nonce"), ENVELOPE_NONCE);
    assert_eq!(s(wire, "/read_response/ciphertext"), ENVELOPE_CIPHERTEXT);
    assert_eq!(s(wire, "/expect/plaintext_utf8"), ENVELOPE_PLAINTEXT);
    assert_eq!(
        s(wire, "/grant/customer_ed25519_public"),
        CUSTOMER_ED25519_PUBLIC
    );
    assert_eq!(s(wire, "/grant/signature"), GRANT_SIGNATURE);
    assert_eq!(b64u(wire, "/grant/signature"), *GRANT_SIGNATURE_BYTES);
    let signed = s(wire, "/grant/signed_message_utf8");
    assert_eq!(
        signed.strip_prefix("assent/v2/grant\n"),
        Some(GRANT_JCS),
        "GRANT_JCS is the vector's signed message without its prefix"
    );
    assert_eq!(grant_message(GRANT_JCS.as_bytes()), signed.as_bytes());
    let object = wire.pointer("/grant/object").expect("grant object");
    assert_eq!(
        jcs(object).expect("jcs"),
        GRANT_JCS.as_bytes(),
        "GRANT_JCS is the JCS of grant.object"
    );
    assert_eq!(s(object, "/org_identity_key"), ORG_ED25519_PUBLIC);
    assert_eq!(s(object, "/org_encryption_key"), ORG_X25519_PUBLIC);
    verify_org_key(
        &b64::decode_array::<32>(ORG_ED25519_PUBLIC, "org identity").expect("key"),
        &b64::decode_array::<32>(ORG_X25519_PUBLIC, "org encryption").expect("key"),
        &b64u(wire, "/org_key/signature"),
    )
    .expect("vector org key binding verifies");
}

fn version(wire: &Value) -> u64 {
    wire.pointer("/read_response/version")
        .and_then(Value::as_u64)
        .expect("version")
}

struct Seeds {
    corpus: PathBuf,
    count: usize,
}

impl Seeds {
    fn add(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.corpus.join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        std::fs::write(dir.join(name), bytes).expect("write seed");
        self.count += 1;
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector JSON")
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing {pointer}"))
}

fn b64u(v: &Value, pointer: &str) -> Vec<u8> {
    b64::decode(s(v, pointer)).expect("base64url field")
}

fn pretty(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).expect("json")
}

/// A real bundle sealed under `BUNDLE_KEK`, from fixed secrets (the nonce is random).
fn sealed_bundle(kdf: KdfParams) -> Value {
    let secrets = CustomerSecrets {
        x25519: X25519Secret::from_bytes([0x11; 32]),
        ed25519: SigningKey::from_bytes(&[0x22; 32]),
    };
    let bundle = seal_bundle(&BUNDLE_KEK, kdf, &secrets).expect("seal bundle");
    serde_json::to_value(&bundle).expect("bundle json")
}

fn envelope_open(out: &mut Seeds, wire: &Value) {
    let key: [u8; 32] = b64u(wire, "/expect/data_key")
        .try_into()
        .expect("32-byte key");
    let content_type = s(wire, "/read_response/content_type");
    let aad_with = |content_type: &str| {
        envelope_aad(
            s(wire, "/read_response/customer_id"),
            s(wire, "/read_response/envelope_id"),
            version(wire),
            s(wire, "/read_response/label"),
            content_type,
        )
    };
    let aad = aad_with(content_type);
    assert_eq!(aad, s(wire, "/expect/envelope_aad_utf8").as_bytes());
    let nonce = b64u(wire, "/read_response/nonce");
    let ct = b64u(wire, "/read_response/ciphertext");
    assert_eq!(*ENVELOPE, (key, nonce.clone(), ct.clone()));
    let plain = open_payload(&DataKey::from_bytes(key), &aad, &nonce, &ct).expect("vector opens");
    assert_eq!(*plain, *s(wire, "/expect/plaintext_utf8").as_bytes());
    out.add(
        "envelope_open",
        "payload-wire-vector",
        &envelope_input::payload(&key, &aad, &nonce, &ct),
    );
    // The same payload presented with another content type must not open (wire v2).
    let other = aad_with(s(wire, "/expect/must_not_open_with_content_type"));
    assert!(open_payload(&DataKey::from_bytes(key), &other, &nonce, &ct).is_err());
    out.add(
        "envelope_open",
        "payload-other-content-type",
        &envelope_input::payload(&key, &other, &nonce, &ct),
    );
    // The v1 AAD (no content type line) must not open it either.
    let v1 = format!(
        "assent/v1/envelope\n{}\n{}\n{}\n{}",
        s(wire, "/read_response/customer_id"),
        s(wire, "/read_response/envelope_id"),
        version(wire),
        s(wire, "/read_response/label"),
    );
    assert!(open_payload(&DataKey::from_bytes(key), v1.as_bytes(), &nonce, &ct).is_err());
    out.add(
        "envelope_open",
        "payload-v1-aad",
        &envelope_input::payload(&key, v1.as_bytes(), &nonce, &ct),
    );
    // A content type smuggling a line break: the AAD's last line is not a valid content type.
    out.add(
        "envelope_open",
        "payload-content-type-newline",
        &envelope_input::payload(&key, &aad_with("text/plain\nx"), &nonce, &ct),
    );
    out.add(
        "envelope_open",
        "payload-short-nonce",
        &envelope_input::payload(&key, &aad, &nonce[..12], &ct),
    );
    out.add(
        "envelope_open",
        "payload-empty-ct",
        &envelope_input::payload(&key, b"", &nonce, b""),
    );
    let wrap = wire.pointer("/read_response/wrap").expect("wrap");
    let parsed: Wrap = serde_json::from_value(wrap.clone()).expect("wrap json");
    let dk = unwrap_key(&ORG_SECRET, WRAP_INFO, &parsed).expect("vector wrap opens");
    assert_eq!(dk.as_bytes(), &key);
    out.add(
        "envelope_open",
        "wrap-wire-vector",
        &envelope_input::wrap(&pretty(wrap)),
    );
    out.add(
        "envelope_open",
        "wrap-padded-base64",
        &envelope_input::wrap(format!(r#"{{"enc":"{}=","ct":"AA"}}"#, s(wrap, "/enc")).as_bytes()),
    );
}

fn bundle_open(out: &mut Seeds, bundle: &Value) {
    let parsed: SealedBundle = serde_json::from_value(bundle.clone()).expect("bundle json");
    open_bundle(&BUNDLE_KEK, &parsed).expect("seed bundle opens");
    out.add("bundle_open", "bundle-default-cost", &pretty(bundle));
    // 1 GiB of Argon2id is inside the accepted range: the target must open it without deriving.
    let gib = KdfParams::with_cost(1 << 20, 20, 16).expect("max cost is valid");
    out.add(
        "bundle_open",
        "bundle-1gib-argon2",
        &pretty(&sealed_bundle(gib)),
    );
    let mut huge = bundle.clone();
    huge["kdf"]["m_kib"] = json!(4u64 << 20);
    huge["kdf"]["t"] = json!(u32::MAX);
    out.add("bundle_open", "bundle-4gib-refused", &pretty(&huge));
    let mut weak = bundle.clone();
    weak["kdf"]["m_kib"] = json!(8);
    weak["kdf"]["p"] = json!(0);
    out.add("bundle_open", "bundle-weak-refused", &pretty(&weak));
    let mut v2 = bundle.clone();
    v2["v"] = json!(2);
    out.add("bundle_open", "bundle-v2", &pretty(&v2));
    let mut scrypt = bundle.clone();
    scrypt["kdf"]["alg"] = json!("scrypt");
    out.add("bundle_open", "bundle-other-alg", &pretty(&scrypt));
}

fn grant_verify(out: &mut Seeds, wire: &Value) {
    let sig = b64::decode(GRANT_SIGNATURE).expect("signature");
    let object = wire.pointer("/grant/object").expect("grant object");
    let terms: GrantTerms = serde_json::from_value(object.clone()).expect("grant terms");
    verify_grant(&CUSTOMER_PUBLIC, &terms, &sig).expect("vector grant verifies");
    assert_eq!(jcs(&terms).expect("jcs"), GRANT_JCS.as_bytes());
    out.add(
        "grant_verify",
        "grant-wire-vector",
        &grant_input(&sig, &String::from_utf8(pretty(object)).expect("utf8")),
    );
    out.add(
        "grant_verify",
        "grant-wire-vector-jcs",
        &grant_input(&sig, GRANT_JCS),
    );
    let mut no_quota = object.clone();
    no_quota
        .as_object_mut()
        .expect("object")
        .remove("max_reads");
    out.add(
        "grant_verify",
        "grant-no-max-reads",
        &grant_input(&sig[..63], &no_quota.to_string()),
    );
    // The customer's signature over terms naming another encryption key: must not verify.
    let mut other_key = object.clone();
    other_key["org_encryption_key"] = json!(b64::encode(&[0x42; 32]));
    let other: GrantTerms = serde_json::from_value(other_key.clone()).expect("grant terms");
    assert!(verify_grant(&CUSTOMER_PUBLIC, &other, &sig).is_err());
    out.add(
        "grant_verify",
        "grant-other-org-key",
        &grant_input(&sig, &other_key.to_string()),
    );
    // A v1 grant (no organization keys) is no longer a grant.
    let mut v1 = object.clone();
    let map = v1.as_object_mut().expect("object");
    map.remove("org_identity_key");
    map.remove("org_encryption_key");
    assert!(serde_json::from_value::<GrantTerms>(v1.clone()).is_err());
    out.add(
        "grant_verify",
        "grant-v1-form",
        &grant_input(&sig, &v1.to_string()),
    );
    let lines = [
        "2027-11-24T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "email",
        "postal_address",
        "x_loyalty_card",
        "dpv:IdentityVerification",
        "dpv:Marketing",
        "cus_7f3a9c",
        "org_acme_bank",
        "env_51b2d0",
        "grt_0c44e1",
        "req_00ff",
        "alice.smith-9",
        ORG_ED25519_PUBLIC,
        ORG_X25519_PUBLIC,
        GRANT_SIGNATURE,
    ];
    out.add(
        "grant_verify",
        "strings",
        &grant_input(b"", &lines.join("\n")),
    );
    out.add("grant_verify", "timestamp", &grant_input(b"", lines[0]));
}

/// Crash inputs kept as regressions that encode a wire object, in the current wire form.
/// (`regressions/grant_verify/timestamp-plus-sign`, a bare timestamp, is not written here.)
fn grant_regressions(out: &mut Seeds, wire: &Value) {
    // The signed-year timestamp (`+2027-…`) inside an otherwise valid v2 grant: refused since the
    // fix in src/domain/time.rs; before it, the grant parsed and its JCS dropped the `+`.
    let mut plus = wire.pointer("/grant/object").expect("grant object").clone();
    plus["not_after"] = json!("+2027-11-24T00:00:00Z");
    assert!(serde_json::from_value::<GrantTerms>(plus.clone()).is_err());
    out.add(
        "grant_verify",
        "grant-not-after-plus-sign",
        &grant_input(b"", &plus.to_string()),
    );
}

fn note_open(out: &mut Seeds, go: &Value) {
    note::open(s(go, "/note"), std::slice::from_ref(&*GO_VERIFIER)).expect("Go note opens");
    out.add("note_open", "go-note", s(go, "/note").as_bytes());
    out.add("note_open", "go-verifier-key", GO_VERIFIER_KEY.as_bytes());
    out.add(
        "note_open",
        "checkpoint-verifier-key",
        CHECKPOINT_VERIFIER.to_key_string().as_bytes(),
    );
    let root = node_hash(&leaf_hash(b"a"), &leaf_hash(b"b"));
    let cp = Checkpoint {
        origin: CHECKPOINT_ORIGIN.to_owned(),
        size: 2,
        root,
    };
    let signed = cp
        .sign(CHECKPOINT_ORIGIN, &CHECKPOINT_KEY)
        .expect("sign checkpoint");
    assert_eq!(
        Checkpoint::verify(&signed, CHECKPOINT_ORIGIN, &CHECKPOINT_VERIFIER),
        Ok(cp.clone())
    );
    out.add("note_open", "checkpoint-note", signed.as_bytes());
    // Same checkpoint, also signed by an unknown key (ignored by open()).
    let other = SigningKey::from_bytes(&[0x99; 32]);
    let extra = cp.sign("witness.example", &other).expect("sign");
    let (_, witness_sig) = extra.rsplit_once("\n\n").expect("signature block");
    out.add(
        "note_open",
        "checkpoint-two-signatures",
        format!("{signed}{witness_sig}").as_bytes(),
    );
    let big = Checkpoint {
        origin: CHECKPOINT_ORIGIN.to_owned(),
        size: u64::MAX,
        root,
    };
    out.add(
        "note_open",
        "checkpoint-body-max-size",
        format!("{}extension line\n", big.body()).as_bytes(),
    );
}

fn std_hash(v: &Value, key: &str) -> Option<[u8; 32]> {
    STANDARD.decode(v.get(key)?.as_str()?).ok()?.try_into().ok()
}

fn proof_verify(out: &mut Seeds, merkle: &Path) {
    let zero = [0u8; 32];
    for kind in ["inclusion", "consistency"] {
        for case in ["1", "2", "3", "4"] {
            for file in [
                "happy-path.json",
                "empty-proof.json",
                "preceding-garbage.json",
            ] {
                let path = merkle.join(kind).join(case).join(file);
                if !path.exists() {
                    continue;
                }
                let v = read_json(&path);
                let proof: Vec<[u8; 32]> = v["proof"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|h| STANDARD.decode(h.as_str()?).ok()?.try_into().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                let n = |k: &str| v[k].as_u64().unwrap_or(0);
                let bytes = if kind == "inclusion" {
                    let (leaf, root) = (std_hash(&v, "leafHash"), std_hash(&v, "root"));
                    let (Some(leaf), Some(root)) = (leaf, root) else {
                        continue;
                    };
                    proof_input(
                        n("leafIdx"),
                        n("treeSize"),
                        1,
                        1,
                        &leaf,
                        &root,
                        &zero,
                        &proof,
                    )
                } else {
                    let (r1, r2) = (std_hash(&v, "root1"), std_hash(&v, "root2"));
                    let (Some(r1), Some(r2)) = (r1, r2) else {
                        continue;
                    };
                    proof_input(0, 0, n("size1"), n("size2"), &zero, &r1, &r2, &proof)
                };
                out.add(
                    "proof_verify",
                    &format!("{kind}-{case}-{}", file.trim_end_matches(".json")),
                    &bytes,
                );
            }
        }
    }
    let leaf = leaf_hash(b"edge");
    out.add(
        "proof_verify",
        "u64-max",
        &proof_input(
            u64::MAX - 1,
            u64::MAX,
            u64::MAX - 1,
            u64::MAX,
            &leaf,
            &leaf,
            &leaf,
            &[leaf; 3],
        ),
    );
    out.add(
        "proof_verify",
        "powers-of-two",
        &proof_input(
            1 << 62,
            1 << 63,
            1 << 32,
            (1 << 63) + 1,
            &leaf,
            &zero,
            &zero,
            &[],
        ),
    );
}

/// A real key change of a demo organization (fixed test keys): its request body and the
/// `org_keys_changed` event it logs.
struct KeyChangeSeed {
    body: Value,
    event: Value,
}

fn key_change() -> KeyChangeSeed {
    let previous = SigningKey::from_bytes(&[0x33; 32]);
    let identity = SigningKey::from_bytes(&[0x44; 32]);
    let encryption = X25519Secret::from_bytes([0x55; 32]).public();
    let change = OrgKeyChange {
        org_id: "org_fuzz_demo",
        key_seq: 2,
        identity_key: identity.verifying_key().to_bytes(),
        encryption_key: encryption,
    };
    let key_signature = sign_org_key(&identity, &encryption);
    let change_signature = sign_org_key_change(&previous, &change).expect("sign change");
    verify_org_key_change(
        &previous.verifying_key().to_bytes(),
        &change,
        &change_signature,
    )
    .expect("key change verifies");
    let body = json!({
        "identity_key": b64::encode(&change.identity_key),
        "encryption_key": b64::encode(&encryption),
        "key_signature": b64::encode(&key_signature),
        "change_signature": b64::encode(&change_signature),
    });
    let mut event = body.clone();
    let map = event.as_object_mut().expect("object");
    map.insert("type".into(), json!("org_keys_changed"));
    map.insert("org_id".into(), json!(change.org_id));
    map.insert("key_seq".into(), json!(change.key_seq));
    map.insert(
        "previous_identity_key".into(),
        json!(b64::encode(&previous.verifying_key().to_bytes())),
    );
    map.insert("at".into(), json!("2026-11-30T12:00:00Z"));
    map.insert("org_seq".into(), json!(9));
    KeyChangeSeed { body, event }
}

fn json_bodies(out: &mut Seeds, wire: &Value, bundle: &Value) {
    let r = wire.pointer("/read_response").expect("read_response");
    let key32 = b64::encode(&[7u8; 32]);
    let key_change = key_change();
    let bodies = [
        (
            "signup",
            json!({
                "handle": "alice",
                "auth": key32,
                "bundle": bundle,
                "x25519_public": s(wire, "/org/x25519_public"),
                "ed25519_public": s(wire, "/grant/customer_ed25519_public"),
            }),
        ),
        ("login", json!({"handle": "alice", "auth": key32})),
        (
            "register",
            json!({
                "org_id": s(wire, "/org/org_id"),
                "name": "Acme Bank (demo)",
                "ed25519_public": s(wire, "/org/ed25519_public"),
                "x25519_public": s(wire, "/org/x25519_public"),
                "key_signature": s(wire, "/org_key/signature"),
                "controller": assent::config::demo_controller(),
            }),
        ),
        (
            "put",
            json!({
                "envelope_id": r["envelope_id"],
                "version": r["version"],
                "content_type": r["content_type"],
                "nonce": r["nonce"],
                "ciphertext": r["ciphertext"],
                "owner_wrap": r["wrap"],
                "grant_wraps": [{"grant_id": r["grant_id"], "enc": r["wrap"]["enc"], "ct": r["wrap"]["ct"]}],
            }),
        ),
        ("key-change", key_change.body.clone()),
        (
            "create",
            json!({
                "customer_handle": "alice",
                "labels": ["email", "postal_address"],
                "purposes": ["dpv:IdentityVerification"],
                "duration_secs": 2_592_000,
                "justification": "We must verify your identity to open your account",
            }),
        ),
        (
            "create-by-id",
            json!({
                "customer_id": r["customer_id"],
                "labels": ["x_loyalty_card"],
                "purposes": ["dpv:Marketing", "dpv:CustomerCare"],
                "duration_secs": 60,
                "justification": "",
            }),
        ),
        (
            "approve",
            json!({
                "grant": wire.pointer("/grant/object").expect("grant"),
                "signature": GRANT_SIGNATURE,
                "wraps": [{
                    "label": r["label"], "envelope_id": r["envelope_id"], "version": r["version"],
                    "enc": r["wrap"]["enc"], "ct": r["wrap"]["ct"],
                }],
            }),
        ),
    ];
    for (name, body) in bodies {
        let bytes = serde_json::to_vec(&body).expect("json");
        let parses = match name {
            "signup" => serde_json::from_slice::<SignUpBody>(&bytes).is_ok(),
            "register" => serde_json::from_slice::<RegisterBody>(&bytes).is_ok(),
            "put" => serde_json::from_slice::<PutBody>(&bytes).is_ok(),
            "key-change" => serde_json::from_slice::<KeyChangeBody>(&bytes).is_ok(),
            "approve" => serde_json::from_slice::<ApproveBody>(&bytes).is_ok(),
            "create" | "create-by-id" => serde_json::from_slice::<CreateBody>(&bytes).is_ok(),
            _ => true,
        };
        assert!(parses, "seed {name} is not a valid body");
        out.add("json_bodies", name, &bytes);
    }

    // Ledger events as committed (wire v2): the event's fields and its parties' sequence numbers.
    let (identity, encryption) = (ORG_ED25519_PUBLIC, ORG_X25519_PUBLIC);
    let valid = [
        (
            "event-customer-registered",
            json!({
                "type": "customer_registered", "customer_id": "cus_7f3a9c",
                "at": "2026-11-24T10:30:00Z", "customer_seq": 1,
            }),
        ),
        (
            "event-org-registered",
            json!({
                "type": "org_registered", "org_id": s(wire, "/org/org_id"),
                "name": "Acme Bank (demo)", "key_seq": 1, "identity_key": identity,
                "encryption_key": encryption, "key_signature": s(wire, "/org_key/signature"),
                "at": "2026-11-24T10:00:00Z", "org_seq": 1,
            }),
        ),
        ("event-org-keys-changed", key_change.event.clone()),
        (
            "event-envelope-written",
            json!({
                "type": "envelope_written", "customer_id": "cus_7f3a9c", "envelope_id": "env_51b2d0",
                "label": "email", "version": 3, "at": "2026-11-24T10:38:00Z", "customer_seq": 2,
            }),
        ),
        (
            "event-key-rotated",
            json!({
                "type": "key_rotated", "customer_id": "cus_7f3a9c", "envelope_id": "env_51b2d0",
                "label": "email", "version": 4, "at": "2026-11-24T10:50:00Z", "customer_seq": 8,
            }),
        ),
        (
            "event-envelope-erased",
            json!({
                "type": "envelope_erased", "customer_id": "cus_7f3a9c", "envelope_id": "env_51b2d0",
                "label": "email", "at": "2026-11-24T11:00:00Z", "customer_seq": 9,
            }),
        ),
        (
            "event-request-created",
            json!({
                "type": "request_created", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "request_id": "req_1", "labels": ["email", "postal_address"],
                "purposes": ["dpv:IdentityVerification"], "at": "2026-11-24T10:39:00Z",
                "customer_seq": 3, "org_seq": 2,
            }),
        ),
        (
            "event-request-declined",
            json!({
                "type": "request_declined", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "request_id": "req_2", "at": "2026-11-24T10:39:30Z",
                "customer_seq": 4, "org_seq": 3,
            }),
        ),
        (
            "event-grant-created",
            json!({
                "type": "grant_created", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "grant_id": "grt_0c44e1", "request_id": "req_1",
                "labels": wire.pointer("/grant/object/labels").expect("labels"),
                "purposes": wire.pointer("/grant/object/purposes").expect("purposes"),
                "not_after": s(wire, "/grant/object/not_after"), "max_reads": 10,
                "org_identity_key": identity, "org_encryption_key": encryption,
                "signature": GRANT_SIGNATURE, "at": "2026-11-24T10:40:00Z",
                "customer_seq": 5, "org_seq": 4,
            }),
        ),
        (
            "event-grant-revoked",
            json!({
                "type": "grant_revoked", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "grant_id": "grt_0c44e1", "at": "2026-11-25T09:00:00Z",
                "customer_seq": 7, "org_seq": 6,
            }),
        ),
        (
            "event-read",
            json!({
                "type": "read", "customer_id": r["customer_id"], "org_id": "org_acme_bank",
                "grant_id": r["grant_id"], "envelope_id": r["envelope_id"], "version": r["version"],
                "label": r["label"], "purpose": "dpv:IdentityVerification",
                "at": "2026-11-24T10:42:00Z", "customer_seq": 6, "org_seq": 5,
            }),
        ),
    ];
    // Sequence numbers that do not fit the event's parties: parse, but `check()` refuses them.
    let refused = [
        (
            "event-read-no-seqs",
            json!({
                "type": "read", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "grant_id": "grt_0c44e1", "envelope_id": "env_51b2d0", "version": 3,
                "label": "email", "purpose": "dpv:IdentityVerification",
                "at": "2026-11-24T10:42:00Z",
            }),
        ),
        (
            "event-org-registered-customer-seq",
            json!({
                "type": "org_registered", "org_id": "org_acme_bank", "name": "",
                "key_seq": 1, "identity_key": identity, "encryption_key": encryption,
                "key_signature": "", "at": "2026-11-24T10:00:00Z",
                "customer_seq": 1, "org_seq": 1,
            }),
        ),
        (
            "event-grant-revoked-seq-zero",
            json!({
                "type": "grant_revoked", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "grant_id": "grt_0c44e1", "at": "2026-11-25T09:00:00Z",
                "customer_seq": 0, "org_seq": 6,
            }),
        ),
    ];
    // Numbers past JCS's exact range (2^53 - 1): valid to `check()`, but RFC 8785 writes them as
    // doubles, so their canonical form is not exact (the target checks only its stability).
    let beyond = [
        (
            "event-seq-beyond-2pow53",
            json!({
                "type": "key_rotated", "customer_id": "cus_7f3a9c", "envelope_id": "env_51b2d0",
                "label": "email", "version": 9_007_199_254_740_993u64,
                "at": "2026-11-24T10:50:00Z", "customer_seq": u64::MAX,
            }),
        ),
        (
            "event-org-seq-2pow53",
            json!({
                "type": "org_keys_changed", "org_id": "org_fuzz_demo",
                "key_seq": 9_007_199_254_740_991u64,
                "identity_key": identity, "encryption_key": encryption, "key_signature": "",
                "previous_identity_key": identity, "change_signature": "",
                "at": "2026-11-30T12:00:00Z", "org_seq": 9_007_199_254_740_992u64,
            }),
        ),
    ];
    for (name, event) in beyond {
        out.add(
            "json_bodies",
            name,
            &serde_json::to_vec(&event).expect("json"),
        );
    }
    for (name, event) in valid {
        let bytes = serde_json::to_vec(&event).expect("json");
        let parsed = parse_canonical(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let canonical = parsed.canonical().expect("canonical");
        assert_eq!(canonical, jcs(&event).expect("jcs"));
        assert_eq!(
            parse_canonical(&canonical).expect("canonical parses"),
            parsed
        );
        out.add("json_bodies", name, &bytes);
    }
    for (name, event) in refused {
        let bytes = serde_json::to_vec(&event).expect("json");
        let parsed: assent::ledger::Sequenced =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(parsed.check().is_err(), "{name}");
        out.add("json_bodies", name, &bytes);
    }
    let forms: [(&str, &str); 5] = [
        (
            "token-form",
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJFZERTQSJ9.e30.c2ln",
        ),
        ("kdf-query", "handle=alice"),
        ("read-query", "purpose=dpv%3AIdentityVerification"),
        ("inclusion-query", "index=3&size=8"),
        ("consistency-query", "from=3&to=18446744073709551615"),
    ];
    for (name, form) in forms {
        out.add("json_bodies", name, form.as_bytes());
    }
}
