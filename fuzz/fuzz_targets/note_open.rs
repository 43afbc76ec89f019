//! C2SP signed notes, verifier keys and checkpoints from hostile text.
//!
//! Input: UTF-8 text (invalid sequences replaced). It goes through `note::open` with two known
//! verifiers (Go's vector key and the targets' own checkpoint key), `parse_verifier_key` (whole
//! text and each line), `Checkpoint::parse_body` (whole text and the part before the last blank
//! line) and `Checkpoint::verify` with the fixed checkpoint verifier.
#![no_main]

use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::error::LedgerError;
use assent::ledger::note::{self, MAX_NOTE_LEN, parse_verifier_key};
use assent_fuzz::{CHECKPOINT_ORIGIN, CHECKPOINT_VERIFIER, GO_VERIFIER};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = &*text;
    let known = [GO_VERIFIER.clone(), CHECKPOINT_VERIFIER.clone()];

    match note::open(text, &known) {
        Ok((body, signed_by)) => {
            assert!(text.len() <= MAX_NOTE_LEN);
            assert!(body.ends_with('\n'));
            assert!(
                text.starts_with(&body),
                "the signed text is a prefix of the note"
            );
            assert!(!signed_by.is_empty());
            for v in &signed_by {
                assert!(known.contains(v));
            }
        }
        Err(e) => assert!(
            matches!(
                e,
                LedgerError::BadNote(_) | LedgerError::BadSignature | LedgerError::UnknownKey
            ),
            "{e:?}"
        ),
    }

    for s in std::iter::once(text).chain(text.lines()) {
        if let Ok(v) = parse_verifier_key(s) {
            // Lowercase hex and strict base64: a parsed key has exactly one textual form.
            assert_eq!(v.to_key_string(), s, "verifier key is not canonical");
            assert_eq!(parse_verifier_key(&v.to_key_string()), Ok(v));
        }
    }

    let head = text
        .rsplit_once("\n\n")
        .map(|(head, _)| format!("{head}\n"));
    for body in std::iter::once(text).chain(head.as_deref()) {
        if let Ok(cp) = Checkpoint::parse_body(body) {
            // Documented invariant: body() parses back to the same checkpoint.
            assert_eq!(Checkpoint::parse_body(&cp.body()), Ok(cp.clone()));
            assert!(
                body.starts_with(&cp.body()),
                "extension lines follow the three lines"
            );
        }
    }

    if let Ok(cp) = Checkpoint::verify(text, CHECKPOINT_ORIGIN, &CHECKPOINT_VERIFIER) {
        assert_eq!(cp.origin, CHECKPOINT_ORIGIN);
        let (body, _) = text
            .rsplit_once("\n\n")
            .expect("a verified note has a blank line");
        assert_eq!(Checkpoint::parse_body(&format!("{body}\n")), Ok(cp));
    }
});
