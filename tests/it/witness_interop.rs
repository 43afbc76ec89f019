//! Cross-implementation test of witness cosignatures: the dashboard's `web/src/ledger/cosignature.js`
//! (run under Node's WebCrypto) must give the verdict `WitnessPolicy::parse` and
//! `WitnessPolicy::check` give, on policies and cosigned checkpoints made here with
//! `src/ledger/cosignature.rs` (a quorum, one short, a trusted witness's bad line, unknown keys'
//! lines, a plain type-0x01 signature by a witness key, …) and on checkpoints published with real
//! witnesses' cosignatures (`tests/vectors/cosignature-v1.json`).
//!
//! Needs `node` (≥ 20) and `web/node_modules` (`npm ci --prefix web`); fails, never skips,
//! without them.

use assent::ledger::LedgerError;
use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::cosignature::{
    COSIGNATURE_TYPE, WitnessKey, WitnessPolicy, cosign, with_lines,
};
use assent::ledger::note;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Reads the cases (argv[1]) and prints one verdict per case, as the Rust side states them.
const SCRIPT: &str = r#"
import { readFileSync } from 'node:fs';
import { checkQuorum, parsePolicy } from './web/src/ledger/cosignature.js';
const input = JSON.parse(readFileSync(process.argv[1], 'utf8'));
const policies = [];
for (const text of input.policies) {
  try {
    const p = await parsePolicy(text);
    policies.push({ ok: true, witnesses: p.witnesses.map((w) => w.name), quorum: p.quorum });
  } catch (e) {
    policies.push({ ok: false });
  }
}
const checks = [];
for (const c of input.checks) {
  try {
    const found = await checkQuorum(c.note, await parsePolicy(c.policy));
    checks.push({ verdict: 'ok', found: found.map((f) => [f.witness, f.time.toString()]) });
  } catch (e) {
    if (e.kind === 'no_quorum') checks.push({ verdict: 'no_quorum', have: e.have, need: e.need });
    else if (e.kind === 'cosignature') checks.push({ verdict: 'refused' });
    else checks.push({ verdict: `error: ${e.message}` });
  }
}
console.log(JSON.stringify({ policies, checks }));
"#;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Runs SCRIPT on `input` in Node; its verdicts.
fn node(input: &Value) -> Value {
    assert!(
        repo("web/node_modules/@hpke/core").is_dir(),
        "web/node_modules is missing: run `npm ci --prefix web` first"
    );
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("cases.json");
    std::fs::write(&file, input.to_string()).unwrap();
    let out = Command::new("node")
        .args(["--input-type=module", "-e", SCRIPT])
        .arg(&file)
        .current_dir(repo(""))
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js ≥ 20"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "node failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn witness(name: &str, seed: u8) -> WitnessKey {
    WitnessKey::new(name, &key(seed).verifying_key().to_bytes()).unwrap()
}

/// What Rust says of a policy text, in the script's terms.
fn policy_verdict(text: &str) -> Value {
    match WitnessPolicy::parse(text) {
        Ok(p) => {
            json!({"ok": true, "witnesses": p.witnesses.iter().map(|w| &w.name).collect::<Vec<_>>(), "quorum": p.quorum})
        }
        Err(_) => json!({"ok": false}),
    }
}

/// What Rust says of a note under a policy, in the script's terms.
fn check_verdict(policy: &str, signed: &str) -> Value {
    match WitnessPolicy::parse(policy).unwrap().check(signed) {
        Ok(found) => json!({"verdict": "ok", "found": found.iter()
            .map(|c| json!([c.witness, c.time.to_string()])).collect::<Vec<_>>()}),
        Err(LedgerError::NoQuorum { have, need }) => {
            json!({"verdict": "no_quorum", "have": have, "need": need})
        }
        Err(LedgerError::BadSignature | LedgerError::BadNote(_)) => json!({"verdict": "refused"}),
        Err(e) => panic!("unexpected verdict {e:?}"),
    }
}

/// A 32-byte string that is not an Ed25519 point (its key id computed all the same).
fn not_a_point() -> [u8; 32] {
    (0u8..=255)
        .map(|i| [i; 32])
        .find(|b| VerifyingKey::from_bytes(b).is_err())
        .expect("some byte pattern is not a point")
}

fn policy_texts() -> Vec<String> {
    let (w1, w2, w3) = (witness("w1", 2), witness("w2", 3), witness("w3", 4));
    let line = |w: &WitnessKey| format!("witness {}\n", w.to_key_string());
    let two = format!("{}{}", line(&w1), line(&w2));
    let vault = note::verifier_key("v", &key(1).verifying_key().to_bytes());
    let off_curve = note::typed_verifier_key("bad", COSIGNATURE_TYPE, &not_a_point());
    let upper = w1.to_key_string().replacen(
        &w1.to_key_string()[3..11],
        &w1.to_key_string()[3..11].to_uppercase(),
        1,
    );
    let many: String = (0..33u8)
        .map(|i| line(&witness(&format!("m{i}"), 10 + i)))
        .collect();
    vec![
        format!("{two}quorum 2\n"),
        format!(
            "# two of three\n{}{two}  quorum 2 # trailing comment\n",
            line(&w3)
        ),
        format!("{two}quorum 1\r\n"),
        format!("witness\t{}\nquorum\t1\n", w1.to_key_string()),
        format!("{two}quorum +1\n"),
        format!("{two}quorum 3\n"),
        format!("{two}quorum 0\n"),
        format!("{two}quorum 1\nquorum 1\n"),
        two.clone(),
        format!("{two}quorum\n"),
        format!("{two}quorum x\n"),
        format!("{two}quorum -1\n"),
        format!("{two}quorum 18446744073709551617\n"),
        format!("{two}witnesses x\nquorum 1\n"),
        format!("{}{}quorum 1\n", line(&w1), line(&w1)),
        format!("witness {vault}\nquorum 1\n"),
        format!("witness {off_curve}\nquorum 1\n"),
        format!("witness {upper}\nquorum 1\n"),
        format!("witness {}=\nquorum 1\n", w1.to_key_string()),
        format!(
            "witness w1+00000000+{}\nquorum 1\n",
            &w1.to_key_string()[12..]
        ),
        format!("{many}quorum 1\n"),
        "quorum 0\n".into(),
        "# none\n\nquorum 0\n".into(),
        String::new(),
    ]
}

fn check_cases() -> Vec<(String, String)> {
    let cp = Checkpoint {
        origin: "interop.vault".into(),
        size: 42,
        root: [7; 32],
    };
    let body = cp.body();
    let signed = cp.sign("interop.vault", &key(1)).unwrap();
    let co = |name: &str, seed: u8, time: u64| cosign(&body, name, &key(seed), time).unwrap();
    let (w1, w2, w3) = (witness("w1", 2), witness("w2", 3), witness("w3", 4));
    let policy = |ws: &[&WitnessKey], k: usize| {
        WitnessPolicy::new(ws.iter().map(|w| (*w).clone()).collect(), k)
            .unwrap()
            .to_text()
    };
    let two_of_three = policy(&[&w1, &w2, &w3], 2);
    let one = co("w1", 2, 1_700_000_000);
    let two = co("w2", 3, 1_700_000_001);
    // Another body's cosignature, and a line whose time was changed after signing.
    let other_body = body.replace("\n42\n", "\n43\n");
    let wrong_body = cosign(&other_body, "w1", &key(2), 5).unwrap();
    let (_, lines) = note::split(&with_lines(&signed, std::slice::from_ref(&one))).unwrap();
    let mut moved = lines[1].key_id.to_vec();
    moved.extend_from_slice(&1_700_000_009u64.to_be_bytes());
    moved.extend_from_slice(&lines[1].signature[8..]);
    let moved = note::signature_line("w1", &moved);
    let short = note::signature_line("w1", &[&w1.key_id[..], &[0; 6]].concat());
    // A plain Ed25519 note signature by w1's key (type 0x01): another key id, so ignored.
    let plain = note::sign(&body, "w1", &key(2)).unwrap();
    let plain = plain.rsplit_once("\n\n").unwrap().1.trim_end().to_owned();
    // w1's name with an unknown key, and a witness nobody trusts.
    let impostor = co("w1", 9, 1_700_000_002);
    let unknown = co("stranger", 8, 1_700_000_003);
    let late = co("w3", 4, (1 << 63) + 5);
    let add = |lines: &[&String]| {
        with_lines(
            &signed,
            &lines.iter().map(|l| (*l).clone()).collect::<Vec<_>>(),
        )
    };
    let (k23, k1) = (two_of_three, policy(&[&w1], 1));
    let mut cases = vec![
        (k23.clone(), add(&[&one, &two])),
        (k23.clone(), add(&[&two, &one, &one])),
        (k23.clone(), add(&[&one, &one])),
        (k23.clone(), signed.clone()),
        (k23.clone(), add(&[&one, &two, &wrong_body])),
        (k23.clone(), add(&[&one, &two, &moved])),
        (k23.clone(), add(&[&two, &short])),
        (k23.clone(), add(&[&one, &plain])),
        (k1.clone(), add(&[&plain])),
        (k23.clone(), add(&[&impostor, &unknown, &two])),
        (k23.clone(), add(&[&unknown, &one, &two])),
        (k23.clone(), add(&[&late, &two])),
        ("quorum 0\n".into(), signed.clone()),
        ("quorum 0\n".into(), add(&[&one])),
        // Malformed notes: no vault signature block, a control character, no final newline,
        // a signature that is not base64.
        (k1.clone(), with_lines(&body, std::slice::from_ref(&one))),
        (k1.clone(), format!("{}\u{1}", add(&[&one]))),
        (k1.clone(), add(&[&one]).trim_end().to_owned()),
        (k1, add(&[&"\u{2014} w1 !!".to_owned()])),
    ];
    // Checkpoints published with real witnesses' cosignatures, under a policy of all of them.
    let vectors: Value =
        serde_json::from_str(include_str!("../vectors/cosignature-v1.json")).unwrap();
    for cp in vectors["published_checkpoints"].as_array().unwrap() {
        let keys: Vec<WitnessKey> = cp["witnesses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| WitnessKey::parse(k.as_str().unwrap()).unwrap())
            .collect();
        let n = keys.len();
        let text = WitnessPolicy::new(keys, n).unwrap().to_text();
        cases.push((text, cp["note"].as_str().unwrap().to_owned()));
    }
    cases
}

#[test]
fn js_gives_the_verdicts_of_rust_on_policies_and_cosignatures() {
    let policies = policy_texts();
    let checks = check_cases();
    let input = json!({
        "policies": policies,
        "checks": checks.iter().map(|(p, n)| json!({"policy": p, "note": n})).collect::<Vec<_>>(),
    });
    let js = node(&input);
    let want: Vec<Value> = policies.iter().map(|t| policy_verdict(t)).collect();
    for (i, (w, got)) in want
        .iter()
        .zip(js["policies"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(got, w, "policy #{i}:\n{}", policies[i]);
    }
    let want: Vec<Value> = checks.iter().map(|(p, n)| check_verdict(p, n)).collect();
    for (i, (w, got)) in want
        .iter()
        .zip(js["checks"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(got, w, "check #{i}:\n{}\n{}", checks[i].0, checks[i].1);
    }
    assert_eq!(js["checks"].as_array().unwrap().len(), checks.len());
    // The cases mean what they say (Rust's verdicts, which JS matched above).
    let verdicts: Vec<&str> = want
        .iter()
        .map(|v| v["verdict"].as_str().unwrap())
        .collect();
    let (ok, short, refused) = ("ok", "no_quorum", "refused");
    let expected = [
        ok, ok, short, short, refused, refused, refused, short, short, short, ok, ok, ok, ok,
        refused, refused, refused, refused, ok, ok,
    ];
    assert_eq!(verdicts, expected);
    assert_eq!(
        want[2],
        json!({"verdict": "no_quorum", "have": 1, "need": 2})
    );
    assert_eq!(
        want[9],
        json!({"verdict": "no_quorum", "have": 1, "need": 2})
    );
    let late = json!(["w3", ((1u64 << 63) + 5).to_string()]);
    assert_eq!(want[11]["found"], json!([late, ["w2", "1700000001"]]));
    let parsed: Vec<bool> = policies
        .iter()
        .map(|t| WitnessPolicy::parse(t).is_ok())
        .collect();
    assert_eq!(
        parsed,
        [
            true, true, true, true, true, false, false, false, false, false, false, false, false,
            false, false, false, false, false, false, false, false, true, true, false
        ]
    );
}
