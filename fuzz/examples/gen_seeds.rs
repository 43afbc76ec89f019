//! Writes the seed corpus `fuzz/corpus/<target>/` from the shared test vectors.
//!
//! Run from the repository root (not a fuzz target, no sanitizer needed):
//!
//! ```sh
//! cargo +nightly run --manifest-path fuzz/Cargo.toml --example gen_seeds [VECTORS_DIR]
//! ```
//!
//! `VECTORS_DIR` defaults to `../shared/vectors` or `/work/shared/vectors`. Re-running rewrites
//! the same files (the bundle seeds get fresh random nonces). The generator also checks that the
//! "valid" seeds really pass each target's fixed keys, so the fuzzer starts on the success paths.

use std::path::{Path, PathBuf};

use assent::crypto::b64;
use assent::crypto::bundle::{CustomerSecrets, KdfParams, seal_bundle};
use assent::crypto::bundle::{SealedBundle, open_bundle};
use assent::crypto::envelope::{DataKey, envelope_aad, open_payload};
use assent::crypto::keys::{SigningKey, X25519Secret};
use assent::crypto::sign::verify_grant;
use assent::crypto::wrap::{Wrap, unwrap_key};
use assent::domain::grant::GrantTerms;
use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::merkle::{leaf_hash, node_hash};
use assent::ledger::note;
use assent_fuzz::{
    BUNDLE_KEK, CHECKPOINT_KEY, CHECKPOINT_ORIGIN, CHECKPOINT_VERIFIER, CUSTOMER_PUBLIC,
    GO_VERIFIER, GO_VERIFIER_KEY, GRANT_SIGNATURE, ORG_SECRET, WRAP_INFO, envelope_input,
    grant_input, proof_input,
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
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let wire = read_json(&vectors.join("assent-wire-v1.json"));
    let go = read_json(&vectors.join("signed-note-go.json"));
    let mut out = Seeds { corpus, count: 0 };

    let bundle = sealed_bundle(KdfParams::new_default());
    envelope_open(&mut out, &wire);
    bundle_open(&mut out, &bundle);
    grant_verify(&mut out, &wire);
    note_open(&mut out, &go);
    proof_verify(&mut out, &vectors.join("merkle"));
    json_bodies(&mut out, &wire, &bundle);
    println!(
        "wrote {} seed files under {}",
        out.count,
        out.corpus.display()
    );
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
    let aad = envelope_aad(
        s(wire, "/read_response/customer_id"),
        s(wire, "/read_response/envelope_id"),
        wire.pointer("/read_response/version")
            .and_then(Value::as_u64)
            .expect("version"),
        s(wire, "/read_response/label"),
    );
    let nonce = b64u(wire, "/read_response/nonce");
    let ct = b64u(wire, "/read_response/ciphertext");
    let plain = open_payload(&DataKey::from_bytes(key), &aad, &nonce, &ct).expect("vector opens");
    assert_eq!(*plain, *s(wire, "/expect/plaintext_utf8").as_bytes());
    out.add(
        "envelope_open",
        "payload-wire-vector",
        &envelope_input::payload(&key, &aad, &nonce, &ct),
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
    out.add(
        "grant_verify",
        "grant-wire-vector",
        &grant_input(&sig, &String::from_utf8(pretty(object)).expect("utf8")),
    );
    out.add(
        "grant_verify",
        "grant-wire-vector-jcs",
        &grant_input(&sig, s(wire, "/grant/jcs_utf8")),
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
    let lines = [
        "2027-11-24T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "email",
        "x_loyalty_card",
        "dpv:IdentityVerification",
        "dpv:Marketing",
        "cus_7f3a9c",
        "org_acme_bank",
        "env_51b2d0",
        "grt_0c44e1",
        "req_00ff",
        "alice.smith-9",
    ];
    out.add(
        "grant_verify",
        "strings",
        &grant_input(b"", &lines.join("\n")),
    );
    out.add("grant_verify", "timestamp", &grant_input(b"", lines[0]));
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

fn json_bodies(out: &mut Seeds, wire: &Value, bundle: &Value) {
    let r = wire.pointer("/read_response").expect("read_response");
    let key32 = b64::encode(&[7u8; 32]);
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
        (
            "event-read",
            wire.pointer("/ledger_leaf/event").expect("event").clone(),
        ),
        (
            "event-grant-created",
            json!({
                "type": "grant_created", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "grant_id": "grt_0c44e1", "request_id": "req_1", "labels": ["email"],
                "purposes": ["dpv:IdentityVerification"], "not_after": "2027-11-24T00:00:00Z",
                "signature": GRANT_SIGNATURE, "at": "2026-11-24T10:40:00Z",
            }),
        ),
        (
            "event-request-created",
            json!({
                "type": "request_created", "customer_id": "cus_7f3a9c", "org_id": "org_acme_bank",
                "request_id": "req_1", "labels": ["email", "phone"], "purposes": ["dpv:Marketing"],
                "at": "2026-11-24T10:39:00Z",
            }),
        ),
        (
            "event-envelope-written",
            json!({
                "type": "envelope_written", "customer_id": "cus_7f3a9c", "envelope_id": "env_51b2d0",
                "label": "email", "version": 3, "at": "2026-11-24T10:38:00Z",
            }),
        ),
        (
            "event-org-registered",
            json!({"type": "org_registered", "org_id": "org_acme_bank", "at": "2026-11-24T10:00:00Z"}),
        ),
    ];
    for (name, body) in bodies {
        out.add(
            "json_bodies",
            name,
            &serde_json::to_vec(&body).expect("json"),
        );
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
