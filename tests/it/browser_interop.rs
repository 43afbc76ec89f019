//! Cross-implementation tests of the dashboard's crypto: the browser code in `web/src` (run under
//! Node's WebCrypto by `tests/browser/interop.mjs`) and this crate must produce and accept the
//! same bytes (wire v2). What JS seals (key bundle, envelope with its content type, wraps, v2
//! grant, org-key and org-key-change signatures, a sequenced ledger leaf, fingerprints) Rust opens
//! and verifies; what Rust seals (the same, plus a Merkle tree with signed checkpoints, proofs, a
//! customer's complete ledger and an organization's key log) JS opens and verifies, and JS notices
//! tampering (hidden events, entries past the checkpoint, rollbacks, forks, bad key changes). JS
//! also checks the known answers in `../shared/vectors/` (RFC 9180 A.2.1, assent-wire-v1 and v2,
//! Go's signed note, the transparency-dev Merkle cases).
//!
//! Needs `node` (≥ 20) and `web/node_modules` (`npm ci --prefix web`); fails, never skips,
//! without them.

use assent::crypto::b64;
use assent::crypto::bundle::{
    CustomerSecrets, KdfParams, SealedBundle, derive_keys, open_bundle, seal_bundle,
};
use assent::crypto::envelope::{DataKey, envelope_aad, open_payload, seal_payload};
use assent::crypto::keys::{X25519Secret, generate_signing_key, random_array};
use assent::crypto::sign::{
    OrgKeyChange, fingerprint, fingerprint_matches, jcs, sign_grant, sign_org_key,
    sign_org_key_change, verify_grant, verify_org_key, verify_org_key_change, verify_signature,
};
use assent::crypto::wrap::{OWNER, Wrap, unwrap_key, wrap_info, wrap_key};
use assent::domain::grant::GrantTerms;
use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::merkle::{
    Frontier, Hash, NodeReader, consistency_proof, inclusion_proof, leaf_hash, root,
};
use assent::ledger::note::verifier_key;
use assent::ledger::{LedgerError, Sequenced, leaf_commitment};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASS: &str = "interop-passphrase-ünïcode-42";

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn vectors_dir() -> PathBuf {
    [
        repo("../shared/vectors"),
        PathBuf::from("/work/shared/vectors"),
    ]
    .into_iter()
    .find(|p| p.join("assent-wire-v1.json").exists())
    .expect("../shared/vectors not found")
}

/// Runs `node tests/browser/interop.mjs <args>`; panics with its stderr on failure.
fn node(args: &[&str]) -> String {
    assert!(
        repo("web/node_modules/@hpke/core").is_dir(),
        "web/node_modules is missing: run `npm ci --prefix web` first"
    );
    let out = Command::new("node")
        .arg(repo("tests/browser/interop.mjs"))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `node` ({e}): install Node.js ≥ 20, then `npm ci --prefix web`")
        });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "node interop.mjs {args:?} failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn parse(stdout: &str) -> Value {
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    b64::decode_array(v.as_str().expect("base64url string"), "field").unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    b64::decode(v.as_str().expect("base64url string")).unwrap()
}

fn wrap(v: &Value) -> Wrap {
    Wrap {
        enc: bytes(&v["enc"]),
        ct: bytes(&v["ct"]),
    }
}

#[test]
fn js_passes_the_known_answer_vectors() {
    let out = parse(&node(&["vectors", vectors_dir().to_str().unwrap()]));
    assert_eq!(out["ok"], true);
    assert!(out["checks"].as_u64().unwrap() > 100, "{out}");
}

#[test]
fn rust_opens_and_verifies_what_js_seals() {
    let tmp = tempfile::tempdir().unwrap();
    let org = X25519Secret::generate();
    let org_identity = generate_signing_key();
    let input = json!({
        "passphrase": PASS,
        "customer_id": "cus_interop1",
        "org_id": "org_acme_bank",
        "org_x25519_public": b64::encode(&org.public()),
        "org_ed25519_public": b64::encode(&org_identity.verifying_key().to_bytes()),
        "plaintext": "alice@example.com ✓",
    });
    let (inp, outp) = (tmp.path().join("in.json"), tmp.path().join("out.json"));
    std::fs::write(&inp, input.to_string()).unwrap();
    node(&["seal", inp.to_str().unwrap(), outp.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&outp).unwrap()).unwrap();

    // Key bundle: same login proof and kek from the passphrase; opens to the announced keys.
    let bundle: SealedBundle = serde_json::from_value(v["bundle"].clone()).unwrap();
    let keys = derive_keys(PASS.as_bytes(), &bundle.kdf).unwrap();
    assert_eq!(b64::encode(&keys.auth[..]), v["auth"].as_str().unwrap());
    let secrets = open_bundle(&keys.kek, &bundle).unwrap();
    assert_eq!(secrets.x25519_public(), arr::<32>(&v["x25519_public"]));
    assert_eq!(secrets.ed25519_public(), arr::<32>(&v["ed25519_public"]));
    let wrong = derive_keys(b"not the passphrase", &bundle.kdf).unwrap();
    assert!(open_bundle(&wrong.kek, &bundle).is_err());

    // Envelope: the owner and the organization both open it to the plaintext.
    let e = &v["envelope"];
    let (eid, version, label, content_type) = (
        e["envelope_id"].as_str().unwrap(),
        e["version"].as_u64().unwrap(),
        e["label"].as_str().unwrap(),
        e["content_type"].as_str().unwrap(),
    );
    assert!(eid.starts_with("env_") && eid.len() == 36, "{eid}");
    let aad = envelope_aad("cus_interop1", eid, version, label, content_type);
    let nonce = bytes(&e["nonce"]);
    let ct = bytes(&e["ciphertext"]);
    let owner_key = unwrap_key(
        &secrets.x25519,
        &wrap_info(eid, version, "cus_interop1", OWNER),
        &wrap(&e["owner_wrap"]),
    )
    .unwrap();
    let plain = open_payload(&owner_key, &aad, &nonce, &ct).unwrap();
    assert_eq!(&plain[..], input["plaintext"].as_str().unwrap().as_bytes());
    let grant_id = e["grant_id"].as_str().unwrap();
    let org_key = unwrap_key(
        &org,
        &wrap_info(eid, version, "org_acme_bank", grant_id),
        &wrap(&e["org_wrap"]),
    )
    .unwrap();
    assert_eq!(org_key.as_bytes(), owner_key.as_bytes());
    assert!(
        unwrap_key(
            &org,
            &wrap_info(eid, version, "org_acme_bank", "grt_other"),
            &wrap(&e["org_wrap"])
        )
        .is_err(),
        "a wrap must not open for another grant"
    );
    let other_aad = envelope_aad("cus_interop1", eid, version + 1, label, content_type);
    assert!(open_payload(&owner_key, &other_aad, &nonce, &ct).is_err());
    let relabelled = envelope_aad("cus_interop1", eid, version, label, "text/html");
    assert!(open_payload(&owner_key, &relabelled, &nonce, &ct).is_err());

    // Grant signatures (with and without a read quota) over JCS, parsed into our signed type.
    let ed_public = secrets.ed25519_public();
    for (g, s) in [
        ("grant", "grant_signature"),
        ("grant_quota", "grant_quota_signature"),
    ] {
        let terms: GrantTerms = serde_json::from_value(v[g].clone()).unwrap();
        verify_grant(&ed_public, &terms, &bytes(&v[s])).unwrap();
        let mut widened = terms.clone();
        widened.not_after = assent::domain::time::Timestamp::parse("2099-01-01T00:00:00Z").unwrap();
        assert!(verify_grant(&ed_public, &widened, &bytes(&v[s])).is_err());
    }
    let quota: GrantTerms = serde_json::from_value(v["grant_quota"].clone()).unwrap();
    assert_eq!(quota.max_reads, Some(3));
    assert_eq!(quota.org_encryption_key, org.public());
    assert_eq!(
        quota.org_identity_key,
        org_identity.verifying_key().to_bytes()
    );
    verify_signature(&ed_public, b"hello", &bytes(&v["plain_signature"])).unwrap();

    // Organization key binding and fingerprint.
    let ok = &v["org_key"];
    verify_org_key(
        &arr(&ok["ed25519_public"]),
        &arr(&ok["x25519_public"]),
        &bytes(&ok["signature"]),
    )
    .unwrap();
    let id_key = arr(&ok["ed25519_public"]);
    let fp = ok["fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint(&id_key), fp);
    assert!(fingerprint_matches(
        &id_key,
        &fp.replace(' ', "").to_uppercase()
    ));
    let change = &v["org_key_change"];
    let signed_change = OrgKeyChange {
        org_id: "org_acme_bank",
        key_seq: change["key_seq"].as_u64().unwrap(),
        identity_key: arr(&change["identity_key"]),
        encryption_key: arr(&change["encryption_key"]),
    };
    verify_org_key_change(&id_key, &signed_change, &bytes(&change["signature"])).unwrap();
    assert!(
        verify_org_key_change(
            &signed_change.identity_key,
            &signed_change,
            &bytes(&change["signature"])
        )
        .is_err(),
        "a change must be signed by the previous identity key"
    );

    // Ledger leaf: our event type (with its sequence numbers) reproduces the commitment JS computed.
    let event: Sequenced = serde_json::from_value(v["ledger"]["event"].clone()).unwrap();
    event.check().unwrap();
    let leaf = leaf_commitment(&arr(&v["ledger"]["nonce"]), &event.canonical().unwrap());
    assert_eq!(b64::encode(&leaf), v["ledger"]["leaf"].as_str().unwrap());
}

#[derive(Default)]
struct MemTree {
    nodes: HashMap<(u8, u64), Hash>,
    frontier: Frontier,
}

impl MemTree {
    fn push(&mut self, leaf: &[u8; 32]) {
        for (level, index, hash) in self.frontier.push(leaf_hash(leaf)) {
            self.nodes.insert((level, index), hash);
        }
    }
}

impl NodeReader for MemTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.nodes
            .get(&(level, index))
            .copied()
            .ok_or_else(|| LedgerError::Store(format!("no node ({level}, {index})")))
    }
}

/// The shared tree: the customer's events at 0, 2, 5 and 7 (customer_seq 1–4), the bank's key
/// log at 1 and 4, another customer's events at 3 and 6.
fn event(i: u64, bank: &[(Vec<u8>, [u8; 32], [u8; 32]); 2], change_sig: &[u8]) -> Value {
    let at = "2026-11-24T10:42:00Z";
    match i {
        0 => json!({"type": "envelope_written", "customer_id": "cus_interop1",
            "envelope_id": "env_0001", "label": "email", "version": 1, "at": at, "customer_seq": 1}),
        1 => json!({"type": "org_registered", "org_id": "org_acme_bank", "name": "Acme Bank",
            "key_seq": 1, "identity_key": b64::encode(&bank[0].1), "encryption_key": b64::encode(&bank[0].2),
            "key_signature": b64::encode(&bank[0].0), "at": at, "org_seq": 1}),
        2 => json!({"type": "grant_revoked", "customer_id": "cus_interop1",
            "org_id": "org_acme_bank", "grant_id": "grt_0c44e1", "at": at, "customer_seq": 2, "org_seq": 2}),
        4 => json!({"type": "org_keys_changed", "org_id": "org_acme_bank", "key_seq": 2,
            "identity_key": b64::encode(&bank[1].1), "encryption_key": b64::encode(&bank[1].2),
            "key_signature": b64::encode(&bank[1].0), "previous_identity_key": b64::encode(&bank[0].1),
            "change_signature": b64::encode(change_sig), "at": at, "org_seq": 3}),
        5 => json!({"type": "read", "customer_id": "cus_interop1", "org_id": "org_acme_bank",
            "grant_id": "grt_0c44e1", "envelope_id": "env_51b2d0", "version": 3, "label": "email",
            "purpose": "dpv:IdentityVerification", "at": at, "customer_seq": 3, "org_seq": 4}),
        7 => {
            json!({"type": "key_rotated", "customer_id": "cus_interop1", "envelope_id": "env_0001",
            "label": "email", "version": 2, "at": at, "customer_seq": 4})
        }
        _ => {
            json!({"type": "customer_registered", "customer_id": format!("cus_other{i}"), "at": at,
            "customer_seq": 1})
        }
    }
}

#[test]
fn js_opens_and_verifies_what_rust_seals() {
    // Key bundle at the minimum accepted cost (the browser test covers the default cost).
    let kdf = KdfParams::with_cost(19456, 2, 1).unwrap();
    let keys = derive_keys(PASS.as_bytes(), &kdf).unwrap();
    let secrets = CustomerSecrets::generate();
    let bundle = seal_bundle(&keys.kek, kdf, &secrets).unwrap();

    // An envelope wrapped to its owner and to an organization's grant.
    let org = X25519Secret::generate();
    let org_identity = generate_signing_key();
    let (cid, eid, version, label, grant_id) = (
        "cus_interop1",
        "env_rust01",
        4u64,
        "postal_address",
        "grt_rust01",
    );
    let dek = DataKey::generate();
    let plaintext = "1 Main St, Springfield — ✉";
    let content_type = "text/plain; charset=utf-8";
    let sealed = seal_payload(
        &dek,
        &envelope_aad(cid, eid, version, label, content_type),
        plaintext.as_bytes(),
    )
    .unwrap();
    let owner = wrap_key(
        &secrets.x25519_public(),
        &wrap_info(eid, version, cid, OWNER),
        &dek,
    )
    .unwrap();
    let to_org = wrap_key(
        &org.public(),
        &wrap_info(eid, version, "org_acme_bank", grant_id),
        &dek,
    )
    .unwrap();
    let terms: GrantTerms = serde_json::from_value(json!({
        "grant_id": grant_id, "customer_id": cid, "org_id": "org_acme_bank",
        "org_identity_key": b64::encode(&org_identity.verifying_key().to_bytes()),
        "org_encryption_key": b64::encode(&org.public()),
        "labels": ["email", "postal_address"], "purposes": ["dpv:IdentityVerification"],
        "not_after": "2027-01-31T23:59:59Z", "max_reads": 5
    }))
    .unwrap();
    let grant_sig = sign_grant(&secrets.ed25519, &terms).unwrap();
    let org_sig = sign_org_key(&org_identity, &org.public());

    // A ledger of 8 leaves (see `event`); the checkpoint covers all 8, the device last saw 4, and
    // a checkpoint of 7 leaves the customer's last entry outside it. The bank's keys change once.
    let next_identity = generate_signing_key();
    let next_x = X25519Secret::generate();
    let bank = [
        (
            org_sig.to_vec(),
            org_identity.verifying_key().to_bytes(),
            org.public(),
        ),
        (
            sign_org_key(&next_identity, &next_x.public()).to_vec(),
            next_identity.verifying_key().to_bytes(),
            next_x.public(),
        ),
    ];
    let change_sig = sign_org_key_change(
        &org_identity,
        &OrgKeyChange {
            org_id: "org_acme_bank",
            key_seq: 2,
            identity_key: bank[1].1,
            encryption_key: bank[1].2,
        },
    )
    .unwrap();
    let vault_key = generate_signing_key();
    let name = "interop.vault";
    let mut tree = MemTree::default();
    let mut entries = Vec::new();
    let mut key_entries = Vec::new();
    for i in 0..8u64 {
        let ev = event(i, &bank, &change_sig);
        let nonce: [u8; 32] = random_array();
        let parsed: Sequenced = serde_json::from_value(ev.clone()).unwrap();
        parsed.check().unwrap();
        let leaf = leaf_commitment(&nonce, &parsed.canonical().unwrap());
        tree.push(&leaf);
        if [0, 2, 5, 7].contains(&i) {
            entries.push((i, ev, nonce, leaf));
        } else if [1, 4].contains(&i) {
            key_entries.push((i, ev, nonce, leaf));
        }
    }
    let (size, old_size, short_size) = (8u64, 4u64, 7u64);
    let sign = |size: u64, root: Hash| {
        Checkpoint {
            origin: name.into(),
            size,
            root,
        }
        .sign(name, &vault_key)
        .unwrap()
    };
    let note = sign(size, root(&tree, size).unwrap());
    let short_note = sign(short_size, root(&tree, short_size).unwrap());
    let proofs = |i: u64, size: u64| {
        inclusion_proof(&tree, i, size)
            .unwrap()
            .iter()
            .map(|h| b64::encode(h))
            .collect::<Vec<_>>()
    };
    let short_proofs: serde_json::Map<String, Value> = entries
        .iter()
        .filter(|(i, ..)| *i < short_size)
        .map(|(i, ..)| (i.to_string(), json!(proofs(*i, short_size))))
        .collect();
    let listed = |list: &Vec<(u64, Value, [u8; 32], [u8; 32])>| -> Vec<Value> {
        list.iter()
            .map(|(i, ev, nonce, leaf)| {
                json!({"index": i, "nonce": b64::encode(nonce), "event": ev,
                    "leaf": b64::encode(leaf), "proof": proofs(*i, size)})
            })
            .collect()
    };
    let old_note = sign(old_size, root(&tree, old_size).unwrap());
    let mut other_root = root(&tree, size).unwrap();
    other_root[31] ^= 1;
    let fork_note = sign(size, other_root);
    let mut other_old = root(&tree, old_size).unwrap();
    other_old[0] ^= 1;
    let other_history_note = sign(old_size, other_old);
    let answer_entries = listed(&entries);
    let key_log = listed(&key_entries);
    let consistency: Vec<String> = consistency_proof(&tree, old_size, size)
        .unwrap()
        .iter()
        .map(|h| b64::encode(h))
        .collect();

    let input = json!({
        "passphrase": PASS,
        "auth": b64::encode(&keys.auth[..]),
        "bundle": bundle,
        "customer_id": cid,
        "x25519_public": b64::encode(&secrets.x25519_public()),
        "ed25519_public": b64::encode(&secrets.ed25519_public()),
        "envelope": {
            "envelope_id": eid, "version": version, "label": label, "grant_id": grant_id,
            "content_type": content_type,
            "nonce": b64::encode(&sealed.nonce), "ciphertext": b64::encode(&sealed.ciphertext),
            "owner_wrap": owner, "org_wrap": to_org,
        },
        "org": {
            "org_id": "org_acme_bank",
            "x25519_private": b64::encode(&org.to_bytes()[..]),
            "x25519_public": b64::encode(&org.public()),
            "ed25519_public": b64::encode(&org_identity.verifying_key().to_bytes()),
            "key_signature": b64::encode(&org_sig),
        },
        "grant": terms,
        "grant_signature": b64::encode(&grant_sig),
        "ledger": {
            "verifier_key": verifier_key(name, &vault_key.verifying_key().to_bytes()),
            "other_verifier_key": verifier_key(name, &generate_signing_key().verifying_key().to_bytes()),
            "answer": { "checkpoint": note, "size": size, "entries": answer_entries },
            "org_keys": { "org_id": "org_acme_bank", "checkpoint": note, "size": size, "entries": key_log },
            "short_checkpoint": short_note,
            "short_size": short_size,
            "short_proofs": short_proofs,
            "old_checkpoint": old_note,
            "old_size": old_size,
            "size": size,
            "consistency_proof": consistency,
            "fork_checkpoint": fork_note,
            "other_history_checkpoint": other_history_note,
        },
        "receipts": receipts_for_the_page(&vault_key),
    });
    let tmp = tempfile::tempdir().unwrap();
    let inp = tmp.path().join("rust.json");
    std::fs::write(&inp, input.to_string()).unwrap();
    let found = parse(&node(&["open", inp.to_str().unwrap()]));

    assert_eq!(found["receipts"]["verified"], 5, "{}", found["receipts"]);
    assert_eq!(found["receipts"]["refused"], 5, "{}", found["receipts"]);
    assert_eq!(found["owner_plaintext"], plaintext);
    assert_eq!(found["org_plaintext"], plaintext);
    assert_eq!(found["grant_verifies"], true);
    assert_eq!(
        found["grant_jcs"].as_str().unwrap().as_bytes(),
        &jcs(&terms).unwrap()[..]
    );
    assert_eq!(found["tampered_grant_verifies"], false);
    assert_eq!(found["org_key_verifies"], true);
    assert_eq!(
        found["org_fingerprint"],
        fingerprint(&org_identity.verifying_key().to_bytes())
    );
    assert_eq!(found["ledger_ok"], true, "{found}");
    assert_eq!(
        found["ledger_statuses"],
        json!(["verified", "verified", "verified", "verified"])
    );
    assert_eq!(found["ledger_size"], size);
    assert_eq!(found["ledger_consistent_with"], old_size);
    assert_eq!(found["ledger_highest_seq"], 4);
    assert_eq!(
        found["org_keys"],
        json!({"name": "Acme Bank", "key_seq": 2, "identity_key": b64::encode(&bank[1].1),
            "encryption_key": b64::encode(&bank[1].2), "fingerprint": fingerprint(&bank[1].1)}),
        "the key log's last keys are the current ones"
    );
    assert_eq!(
        found["tampered"],
        json!({
            "root": "signature", "fork": "fork", "truncated": "truncated",
            "rewritten": "inconsistent", "event": "failed", "proof": "failed",
            "other_key": "signature",
            "past_checkpoint": ["verified", "verified", "verified", "failed"],
            "gap": "gap", "rollback": "rollback", "other_customer": "failed",
            "org_key_change": "org_keys", "org_other_id": "org_keys",
        }),
        "the JS verifier must notice every kind of tampering"
    );
}

/// Access receipts as the vault makes them (one sealed batch of five reads, in wire form) for
/// the page's `verifyAccessReceipt`, with another key it must refuse.
fn receipts_for_the_page(vault_key: &assent::crypto::keys::SigningKey) -> Value {
    use assent::ledger::receipt::SealedBatch;
    let leaves: Vec<Hash> = (0..5u8).map(|i| [i.wrapping_mul(37); 32]).collect();
    let sealed = SealedBatch::seal(vault_key, 40, &leaves, "2026-12-01T10:00:00Z".into()).unwrap();
    let items: Vec<Value> = leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            let index = 40 + i as u64;
            let receipt = assent::wire::org::ReadReceipt {
                index,
                leaf: *leaf,
                batch: assent::wire::org::ReceiptBatch::new(&sealed.head, sealed.signature),
                path: sealed.path_of(index).unwrap(),
                vault_key: String::new(),
            };
            serde_json::to_value(receipt).unwrap()
        })
        .collect();
    json!({
        "public": b64::encode(&vault_key.verifying_key().to_bytes()),
        "other_public": b64::encode(&generate_signing_key().verifying_key().to_bytes()),
        "items": items,
    })
}
