//! Signed notes (c2sp.org/signed-note) against Go's `golang.org/x/mod/sumdb/note` known answer,
//! checkpoints (c2sp.org/tlog-checkpoint), access receipts, and property tests that `open` never
//! panics and never accepts a changed text.

use std::path::PathBuf;

use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::error::LedgerError;
use assent::ledger::note::{
    MAX_NOTE_LEN, Verifier, key_id, open, parse_verifier_key, sign, verifier_key,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

/// The Go vector, read at test time from `../shared/vectors` or `/work/shared/vectors`.
struct GoVector {
    signer_key: String,
    verifier_key: String,
    text: String,
    note: String,
}

fn go_vector() -> GoVector {
    let file = "signed-note-go.json";
    let candidates = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors"),
        PathBuf::from("/work/shared/vectors"),
    ];
    let path = candidates
        .iter()
        .map(|dir| dir.join(file))
        .find(|p| p.exists())
        .expect("signed-note-go.json not found");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read vector")).expect("json");
    let field = |k: &str| json[k].as_str().expect(k).to_owned();
    GoVector {
        signer_key: field("signer_key"),
        verifier_key: field("verifier_key"),
        text: field("text"),
        note: field("note"),
    }
}

/// Parses Go's signer key `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`; checks the key id.
fn parse_signer_key(s: &str) -> (String, [u8; 4], SigningKey) {
    let rest = s.strip_prefix("PRIVATE+KEY+").expect("PRIVATE+KEY+ prefix");
    let mut parts = rest.splitn(3, '+');
    let (name, hex, b64) = (
        parts.next().expect("name"),
        parts.next().expect("hex id"),
        parts.next().expect("key"),
    );
    let id = u32::from_str_radix(hex, 16).expect("hex id").to_be_bytes();
    let typed = STANDARD.decode(b64).expect("base64 key");
    assert_eq!(typed.len(), 33);
    assert_eq!(typed[0], 0x01, "Ed25519 type byte");
    let seed: [u8; 32] = typed[1..].try_into().expect("32-byte seed");
    let key = SigningKey::from_bytes(&seed);
    assert_eq!(key_id(name, &key.verifying_key().to_bytes()), id);
    (name.to_owned(), id, key)
}

fn go_verifier() -> Verifier {
    parse_verifier_key(&go_vector().verifier_key).expect("verifier key")
}

/// Replaces the signature bytes (after the 4-byte key id) of the note's single signature line.
fn with_signature_byte_flipped(note: &str, at: usize) -> String {
    let (head, line) = note
        .trim_end_matches('\n')
        .rsplit_once('\n')
        .expect("sig line");
    let (prefix, b64) = line.rsplit_once(' ').expect("name and signature");
    let mut blob = STANDARD.decode(b64).expect("base64");
    blob[at] ^= 0x01;
    format!("{head}\n{prefix} {}\n", STANDARD.encode(blob))
}

#[test]
fn go_vector_verifier_key_and_key_id() {
    let v = go_vector();
    let verifier = parse_verifier_key(&v.verifier_key).expect("verifier key");
    assert_eq!(verifier.name, "PeterNeumann");
    assert_eq!(verifier.key_id, [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(key_id(&verifier.name, &verifier.public), verifier.key_id);
    assert_eq!(
        verifier_key(&verifier.name, &verifier.public),
        v.verifier_key
    );
    assert_eq!(verifier.to_key_string(), v.verifier_key);
    let (name, id, key) = parse_signer_key(&v.signer_key);
    assert_eq!(
        (name.as_str(), id),
        (verifier.name.as_str(), verifier.key_id)
    );
    assert_eq!(key.verifying_key().to_bytes(), verifier.public);
}

#[test]
fn go_vector_opens_and_signing_reproduces_it() {
    let v = go_vector();
    let verifier = go_verifier();
    let (text, by) = open(&v.note, std::slice::from_ref(&verifier)).expect("open");
    assert_eq!(text, v.text);
    assert_eq!(by, vec![verifier]);
    let (name, _, key) = parse_signer_key(&v.signer_key);
    assert_eq!(sign(&v.text, &name, &key).expect("sign"), v.note);
}

#[test]
fn tampering_is_detected() {
    let v = go_vector();
    let verifiers = [go_verifier()];
    let text_flipped = v.note.replacen("cryptography", "cryptographY", 1);
    assert_eq!(
        open(&text_flipped, &verifiers),
        Err(LedgerError::BadSignature)
    );
    for at in [4, 20, 67] {
        let sig_flipped = with_signature_byte_flipped(&v.note, at);
        assert_eq!(
            open(&sig_flipped, &verifiers),
            Err(LedgerError::BadSignature)
        );
    }
    // A changed key id no longer names the known key: the only signature is unknown.
    let id_flipped = with_signature_byte_flipped(&v.note, 0);
    assert_eq!(open(&id_flipped, &verifiers), Err(LedgerError::UnknownKey));
}

#[test]
fn unknown_verifier_fails() {
    let v = go_vector();
    let other = SigningKey::from_bytes(&[7; 32]);
    let same_name = Verifier::new("PeterNeumann", &other.verifying_key().to_bytes()).unwrap();
    assert_eq!(open(&v.note, &[same_name]), Err(LedgerError::UnknownKey));
    assert_eq!(open(&v.note, &[]), Err(LedgerError::UnknownKey));
}

#[test]
fn malformed_notes_fail() {
    let v = go_vector();
    let verifiers = [go_verifier()];
    let is_bad_note = |n: &str| matches!(open(n, &verifiers), Err(LedgerError::BadNote(_)));
    assert!(is_bad_note(&v.note.replacen(
        "\n\n\u{2014}",
        "\n\u{2014}",
        1
    )));
    assert!(is_bad_note(v.note.trim_end_matches('\n')));
    assert!(is_bad_note(&v.note.replacen('\u{2014}', "-", 1)));
    assert!(is_bad_note(&v.note.replacen(
        "PeterNeumann x",
        "PeterNeumann  x",
        1
    )));
    assert!(is_bad_note(&v.note.replacen("AM=\n", "AM\n", 1)));
    assert!(is_bad_note(&v.note.replacen("problem,", "problem,\r", 1)));
    assert!(is_bad_note(&format!("{}\u{2014} x AAAAAA==\n", v.note)));
    assert!(is_bad_note(&format!("{}\n", v.note)));
    assert!(is_bad_note(""));
    assert!(is_bad_note(&"a".repeat(MAX_NOTE_LEN + 1)));
    let many = format!("{}{}", v.note, "\u{2014} x AAAAAAA=\n".repeat(100));
    assert!(is_bad_note(&many));
}

#[test]
fn blank_lines_in_text_and_extra_signers() {
    let alice = SigningKey::from_bytes(&[1; 32]);
    let bob = SigningKey::from_bytes(&[2; 32]);
    let alice_v = Verifier::new("alice.example", &alice.verifying_key().to_bytes()).unwrap();
    let bob_v = Verifier::new("bob.example", &bob.verifying_key().to_bytes()).unwrap();
    let text = "one\n\ntwo\n\n";
    let note = sign(text, "alice.example", &alice).unwrap();
    let (got, _) = open(&note, std::slice::from_ref(&alice_v)).unwrap();
    assert_eq!(got, text);
    // Co-sign: append Bob's signature line; each known key verifies, unknown ones are ignored.
    let bob_line = sign(text, "bob.example", &bob).unwrap();
    let bob_line = bob_line.rsplit_once("\n\n").unwrap().1;
    let both = format!("{note}{bob_line}");
    let (_, by) = open(&both, &[alice_v.clone(), bob_v.clone()]).unwrap();
    assert_eq!(by, vec![alice_v.clone(), bob_v.clone()]);
    assert_eq!(
        open(&both, std::slice::from_ref(&bob_v)).unwrap().1,
        vec![bob_v]
    );
    // A known key whose signature fails rejects the whole note even if another one verifies.
    let other = sign("another text\n", "alice.example", &alice).unwrap();
    let forged = format!("{note}{}", other.rsplit_once("\n\n").unwrap().1);
    assert_eq!(open(&forged, &[alice_v]), Err(LedgerError::BadSignature));
}

#[test]
fn sign_and_key_parsing_refuse_bad_input() {
    let key = SigningKey::from_bytes(&[3; 32]);
    for (text, name) in [
        ("no newline", "k"),
        ("", "k"),
        ("tab\there\n", "k"),
        ("ok\n", ""),
        ("ok\n", "a b"),
        ("ok\n", "a+b"),
    ] {
        assert!(
            matches!(sign(text, name, &key), Err(LedgerError::BadNote(_))),
            "{text:?} {name:?}"
        );
    }
    let good = go_vector().verifier_key;
    for bad in [
        good.replacen("c74f20a3", "c74f20a4", 1),
        good.replacen("c74f20a3", "C74F20A3", 1),
        good.replacen("+ARpc", "+Apc", 1),
        good.replacen("+ARpc", "+AhRpc", 1),
        "PeterNeumann+c74f20a3".to_owned(),
        good.replacen("PeterNeumann", "Peter Neumann", 1),
    ] {
        assert!(
            matches!(parse_verifier_key(&bad), Err(LedgerError::BadNote(_))),
            "{bad}"
        );
    }
}

fn log_key() -> (SigningKey, Verifier) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let v = Verifier::new("assent.example/ledger", &key.verifying_key().to_bytes()).unwrap();
    (key, v)
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: "assent.example/ledger".to_owned(),
        size: 20852163,
        root: [0xab; 32],
    }
}

#[test]
fn checkpoint_round_trip_and_tampering() {
    let (key, v) = log_key();
    let cp = checkpoint();
    let note = cp.sign(&v.name, &key).unwrap();
    assert!(note.starts_with("assent.example/ledger\n20852163\nq6ur"));
    assert_eq!(Checkpoint::verify(&note, &cp.origin, &v).unwrap(), cp);
    assert!(matches!(
        Checkpoint::verify(&note, "other.example/log", &v),
        Err(LedgerError::BadCheckpoint(_))
    ));
    let bigger = note.replacen("20852163", "20852164", 1);
    assert_eq!(
        Checkpoint::verify(&bigger, &cp.origin, &v),
        Err(LedgerError::BadSignature)
    );
    let other_root = note.replacen("q6ur", "q6uq", 1);
    assert_eq!(
        Checkpoint::verify(&other_root, &cp.origin, &v),
        Err(LedgerError::BadSignature)
    );
    let empty = Checkpoint {
        size: 0,
        ..cp.clone()
    };
    let note = empty.sign(&v.name, &key).unwrap();
    assert_eq!(Checkpoint::verify(&note, &cp.origin, &v).unwrap(), empty);
    let bad_origin = Checkpoint {
        origin: "a\nb".to_owned(),
        ..cp
    };
    assert!(matches!(
        bad_origin.sign(&v.name, &key),
        Err(LedgerError::BadCheckpoint(_))
    ));
}

#[test]
fn checkpoint_body_parsing_is_strict() {
    let root = STANDARD.encode([1u8; 32]);
    let body = |origin: &str, size: &str, root: &str| format!("{origin}\n{size}\n{root}\n");
    let ok = Checkpoint::parse_body(&body("o", "0", &root)).unwrap();
    assert_eq!((ok.origin.as_str(), ok.size, ok.root), ("o", 0, [1; 32]));
    let max = Checkpoint::parse_body(&body("o", &u64::MAX.to_string(), &root)).unwrap();
    assert_eq!(max.size, u64::MAX);
    assert_eq!(Checkpoint::parse_body(&max.body()).unwrap(), max);
    let with_ext = format!("{}ext one\next two\n", body("o", "5", &root));
    assert_eq!(Checkpoint::parse_body(&with_ext).unwrap().size, 5);
    let root31 = STANDARD.encode([1u8; 31]);
    let root33 = STANDARD.encode([1u8; 33]);
    for bad in [
        body("o", "01", &root),
        body("o", "+1", &root),
        body("o", "-1", &root),
        body("o", "", &root),
        body("o", "1 ", &root),
        body("o", "18446744073709551616", &root),
        body("o", "1", &root31),
        body("o", "1", &root33),
        body("o", "1", &root.replace('=', "")),
        body("", "1", &root),
        format!("o\n1\n{root}"),
        "o\n1\n".to_owned(),
        format!("o\n{root}\n"),
        format!("{}\n", body("o", "1", &root)),
        body("o\r", "1", &root),
    ] {
        assert!(
            matches!(
                Checkpoint::parse_body(&bad),
                Err(LedgerError::BadCheckpoint(_))
            ),
            "{bad:?}"
        );
    }
}

/// Wire v2 access receipts against known answers made by an independent implementation
/// (`tests/vectors/receipt-batch-v2.mjs`: Node's crypto and RFC 9162 written out): the same
/// root, message, signature and paths, every path verifying, and any changed field refused.
#[test]
fn batch_receipts_match_the_vector_and_bind_every_field() {
    use assent::crypto::b64;
    use assent::ledger::receipt::{BatchHead, SealedBatch, batch_message, verify_access_receipt};
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/receipt-batch-v2.json")).unwrap();
    let arr = |s: &serde_json::Value| -> [u8; 32] {
        b64::decode_array(s.as_str().unwrap(), "x").unwrap()
    };
    let seed = arr(&v["ed25519_seed"]);
    let key = SigningKey::from_bytes(&seed);
    let public = key.verifying_key().to_bytes();
    assert_eq!(public, arr(&v["ed25519_public"]));
    for c in v["cases"].as_array().unwrap() {
        let leaves: Vec<[u8; 32]> = c["leaves"].as_array().unwrap().iter().map(arr).collect();
        let first = c["first"].as_u64().unwrap();
        let time = c["time"].as_str().unwrap().to_owned();
        let sealed = SealedBatch::seal(&key, first, &leaves, time.clone()).unwrap();
        assert_eq!(sealed.head.root, arr(&c["root"]));
        assert_eq!(sealed.head.size, leaves.len() as u64);
        assert_eq!(
            batch_message(&sealed.head),
            c["message"].as_str().unwrap().as_bytes()
        );
        let signature: [u8; 64] =
            b64::decode_array(c["signature"].as_str().unwrap(), "sig").unwrap();
        assert_eq!(
            sealed.signature, signature,
            "Ed25519 is deterministic (RFC 8032)"
        );
        for (i, want) in c["paths"].as_array().unwrap().iter().enumerate() {
            let want: Vec<[u8; 32]> = want.as_array().unwrap().iter().map(arr).collect();
            let index = first + i as u64;
            assert_eq!(sealed.path_of(index).unwrap(), want);
            verify_access_receipt(&public, index, &leaves[i], &sealed.head, &want, &signature)
                .unwrap();
            let bent = [
                BatchHead {
                    first: first + 1,
                    ..sealed.head.clone()
                },
                BatchHead {
                    size: sealed.head.size + 1,
                    ..sealed.head.clone()
                },
                BatchHead {
                    root: [9; 32],
                    ..sealed.head.clone()
                },
                BatchHead {
                    time: "2026-12-01T12:00:01Z".into(),
                    ..sealed.head.clone()
                },
            ];
            for b in &bent {
                assert!(
                    verify_access_receipt(&public, index, &leaves[i], b, &want, &signature)
                        .is_err()
                );
            }
            assert!(
                verify_access_receipt(&public, index, &[7; 32], &sealed.head, &want, &signature)
                    .is_err()
            );
            let other = SigningKey::from_bytes(&[6; 32]).verifying_key().to_bytes();
            assert_eq!(
                verify_access_receipt(&other, index, &leaves[i], &sealed.head, &want, &signature),
                Err(LedgerError::BadSignature)
            );
        }
    }
}

/// One edit of a note's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

proptest! {
    #[test]
    fn open_never_panics_on_arbitrary_strings(s in any::<String>(), t in "[a-z\n \u{2014}+=/A-Z0-9]{0,200}") {
        let verifiers = [go_verifier()];
        let _ = open(&s, &verifiers);
        let _ = open(&t, &verifiers);
        let _ = Checkpoint::parse_body(&s);
        let _ = Checkpoint::parse_body(&t);
    }

    #[test]
    fn open_never_accepts_a_changed_text(edits in proptest::collection::vec(edit(), 1..6)) {
        let v = go_vector();
        let mut bytes = v.note.clone().into_bytes();
        for e in edits {
            match e {
                Edit::Flip(i, b) if !bytes.is_empty() => { let i = i % bytes.len(); bytes[i] ^= b; }
                Edit::Insert(i, b) => { let i = i % (bytes.len() + 1); bytes.insert(i, b); }
                Edit::Delete(i) if !bytes.is_empty() => { let i = i % bytes.len(); bytes.remove(i); }
                _ => {}
            }
        }
        let mutated = String::from_utf8_lossy(&bytes);
        if let Ok((text, _)) = open(&mutated, &[go_verifier()]) {
            prop_assert_eq!(text, v.text);
        }
    }
}
