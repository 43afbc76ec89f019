//! Cosignatures and the witness protocol against known answers from outside Assent
//! (`tests/vectors/cosignature-v1.json`, whose `source` names each repository and commit):
//! checkpoints published with real witnesses' cosignatures, key ids computed by other
//! implementations, and litewitness's request sequence run through Assent's witness.

use assent::ledger::cosignature::{self, COSIGNATURE_TYPE, WitnessKey, WitnessPolicy};
use assent::ledger::note;
use assent::witness::protocol::{Log, Refusal};
use assent::witness::state::WitnessState;
use assent::witness::{Answer, Witness};
use ed25519_dalek::SigningKey;
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../vectors/cosignature-v1.json")).unwrap()
}

fn hex32(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

#[test]
fn published_cosignatures_of_public_witnesses_verify() {
    for cp in vectors()["published_checkpoints"].as_array().unwrap() {
        let note_text = cp["note"].as_str().unwrap();
        let witnesses: Vec<WitnessKey> = cp["witnesses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| WitnessKey::parse(k.as_str().unwrap()).unwrap())
            .collect();
        let n = witnesses.len();
        let policy = WitnessPolicy::new(witnesses.clone(), n).unwrap();
        let found = policy.check(note_text).unwrap();
        assert_eq!(found.len(), n, "every listed witness cosigned");
        assert!(found.iter().all(|c| c.time == cp["time"].as_u64().unwrap()));
        // Each key prints back to the published verifier key.
        for (w, k) in witnesses.iter().zip(cp["witnesses"].as_array().unwrap()) {
            assert_eq!(w.to_key_string(), k.as_str().unwrap());
        }
        // One digit of the size changed: every cosignature fails.
        let (body, _) = note::split(note_text).unwrap();
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap();
        let size = lines.next().unwrap();
        let forged = note_text.replacen(
            &format!("{origin}\n{size}\n"),
            &format!("{origin}\n{}\n", size.parse::<u64>().unwrap() + 1),
            1,
        );
        assert!(
            WitnessPolicy::new(witnesses, 1)
                .unwrap()
                .check(&forged)
                .is_err()
        );
        // The log's own signature (where given) verifies with the plain note type.
        if let Some(log_key) = cp["log_key"].as_str() {
            let v = note::parse_verifier_key(log_key).unwrap();
            assert!(assent::ledger::checkpoint::Checkpoint::verify(note_text, origin, &v).is_ok());
        }
    }
}

#[test]
fn key_ids_match_other_implementations() {
    let v = vectors();
    for k in v["key_ids"].as_array().unwrap() {
        let vkey = k["vkey"].as_str().unwrap();
        let name = k["name"].as_str().unwrap();
        let mut parts = vkey.splitn(3, '+');
        let (_, id_hex, b64) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        use base64::Engine as _;
        let typed = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(typed[0], COSIGNATURE_TYPE);
        let public: [u8; 32] = typed[1..].try_into().unwrap();
        let id = note::typed_key_id(name, COSIGNATURE_TYPE, &public);
        assert_eq!(
            id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            id_hex
        );
        if let Some(hex) = k["public_hex"].as_str() {
            assert_eq!(public, hex32(hex));
            assert_eq!(
                WitnessKey::new(name, &public).unwrap().to_key_string(),
                vkey
            );
        }
    }
}

struct Fixture {
    origin: String,
    log: Log,
    witness_key: SigningKey,
    witness_name: String,
    fx: Value,
}

fn fixture() -> Fixture {
    let fx = vectors()["witness_fixtures"].clone();
    let origin = fx["log_origin"].as_str().unwrap().to_owned();
    let log_key =
        note::Verifier::new(&origin, &hex32(fx["log_public_hex"].as_str().unwrap())).unwrap();
    Fixture {
        log: Log {
            origin: origin.clone(),
            keys: vec![log_key],
        },
        origin,
        witness_key: SigningKey::from_bytes(&hex32(fx["witness_seed_hex"].as_str().unwrap())),
        witness_name: fx["witness_name"].as_str().unwrap().to_owned(),
        fx,
    }
}

impl Fixture {
    fn body(&self, size: u64) -> String {
        let root = self.fx["checkpoints"][size.to_string()]["root"]
            .as_str()
            .unwrap();
        format!("{}\n{size}\n{root}\n", self.origin)
    }

    fn note(&self, size: u64) -> String {
        let sig = self.fx["checkpoints"][size.to_string()]["signature"]
            .as_str()
            .unwrap();
        format!("{}\n— {} {sig}\n", self.body(size), self.origin)
    }

    fn request(&self, old: u64, proof: &str, note: &str) -> String {
        let mut out = format!("old {old}\n");
        if !proof.is_empty() {
            for h in self.fx["proofs"][proof].as_array().unwrap() {
                out.push_str(h.as_str().unwrap());
                out.push('\n');
            }
        }
        out.push('\n');
        out.push_str(note);
        out
    }
}

#[test]
fn deterministic_cosignature_lines_are_reproduced_byte_for_byte() {
    let f = fixture();
    assert_eq!(
        WitnessKey::new(&f.witness_name, &f.witness_key.verifying_key().to_bytes())
            .unwrap()
            .to_key_string(),
        f.fx["witness_vkey"].as_str().unwrap()
    );
    for d in f.fx["deterministic_lines"].as_array().unwrap() {
        let line = cosignature::cosign(
            &f.body(d["size"].as_u64().unwrap()),
            &f.witness_name,
            &f.witness_key,
            d["time"].as_u64().unwrap(),
        )
        .unwrap();
        assert_eq!(line, d["line"].as_str().unwrap());
    }
}

/// litewitness's own request sequence (its testdata), answered by Assent's witness with the
/// statuses of the current tlog-witness text.
#[test]
fn the_litewitness_request_sequence_gets_the_specified_answers() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let state = WitnessState::open(&dir.path().join("witness.redb"), None).unwrap();
    let w = Witness::new(
        f.witness_name.clone(),
        f.witness_key.clone(),
        vec![f.log.clone()],
        state,
        assent::clock::Clock::system(),
    );
    let policy = WitnessPolicy::parse(&format!(
        "witness {}\nquorum 1\n",
        f.fx["witness_vkey"].as_str().unwrap()
    ))
    .unwrap();
    let refused = |body: String| match w.add_checkpoint(&body) {
        Answer::Refused(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let cosigned = |body: String, size: u64| match w.add_checkpoint(&body) {
        Answer::Cosigned(line) => {
            let with = cosignature::with_lines(&f.note(size), &[line]);
            assert_eq!(policy.check(&with).unwrap().len(), 1);
        }
        other => panic!("expected a cosignature, got {other:?}"),
    };
    cosigned(f.request(0, "", &f.note(1)), 1);
    // A log signature that does not verify: 403 (one base64 digit of the signature changed;
    // litewitness's own case changes the padding bits, which Assent's strict base64 refuses
    // as malformed, 400).
    let bad_sig = f.note(3).replace("2VbtIcdF", "2VbtIcdG");
    assert_ne!(bad_sig, f.note(3));
    assert_eq!(refused(f.request(1, "1-3", &bad_sig)).status(), 403);
    // Another origin: 404.
    let other = f.note(3).replace("e562\n", "e563\n");
    assert_eq!(refused(f.request(1, "1-3", &other)).status(), 404);
    // No proof, a bent proof: 422.
    assert_eq!(refused(f.request(1, "", &f.note(3))).status(), 422);
    assert_eq!(refused(f.request(1, "1-3-bad", &f.note(3))).status(), 422);
    cosigned(f.request(1, "1-3", &f.note(3)), 3);
    // The witness is at 3 now: `old 1` is a conflict naming 3.
    assert_eq!(
        refused(f.request(1, "1-5", &f.note(5))),
        Refusal::OldSize(3)
    );
    cosigned(f.request(3, "3-5", &f.note(5)), 5);
    assert_eq!(refused(f.request(0, "", &f.note(5))), Refusal::OldSize(5));
    // Going back, and old beyond the checkpoint: 400.
    assert_eq!(refused(f.request(5, "", &f.note(3))).status(), 400);
    // The same head again is cosigned again (a fresh time); a proof there is refused.
    cosigned(f.request(5, "", &f.note(5)), 5);
    assert_eq!(refused(f.request(5, "3-5", &f.note(5))).status(), 422);
    // Garbage: 400, and nothing moved.
    assert_eq!(refused("old x\n\nnope".into()).status(), 400);
    assert_eq!(
        refused(f.request(1, "1-3", &f.note(3))),
        Refusal::OldSize(5)
    );
}
