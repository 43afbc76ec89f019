//! Envelope payloads, their v2 AAD and wrapped data keys from hostile bytes.
//!
//! Input: a mode byte, then either (even) `key[32] | aad_len | nonce_len | aad | nonce |
//! ciphertext…` for `open_payload`, or (odd) a JSON `Wrap` for `unwrap_key` with the wire
//! vector's organization key and `info`. Nothing may panic; whatever opens must re-seal and
//! re-open to the same plaintext.
//!
//! Wire v2 binds the content type into the AAD (`assent/v2/envelope\n` customer `\n` envelope
//! `\n` version `\n` label `\n` content_type). The target checks that the wire vector's payload
//! opens under no AAD but its own, and that an AAD made of values the domain accepts
//! (ids, label, canonical version, a content type passing `check_content_type`) is rebuilt
//! byte for byte by `envelope_aad` from its six lines: the encoding is unambiguous.
#![no_main]

use assent::crypto::envelope::{DataKey, envelope_aad, open_payload, seal_payload};
use assent::crypto::wrap::{Wrap, unwrap_key};
use assent::domain::catalog::{Label, check_content_type};
use assent::domain::ids::{CustomerId, EnvelopeId};
use assent_fuzz::{ENVELOPE, ENVELOPE_AAD, ENVELOPE_PLAINTEXT, Input, ORG_SECRET, WRAP_INFO};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    if input.u8().is_multiple_of(2) {
        let key_bytes: [u8; 32] = input.array();
        let key = DataKey::from_bytes(key_bytes);
        let aad_len = usize::from(input.u8());
        let nonce_len = usize::from(input.u8());
        let aad = input.bytes(aad_len);
        let nonce = input.bytes(nonce_len);
        let ciphertext = input.rest();
        check_aad_lines(aad);
        if let Ok(plain) = open_payload(&key, aad, nonce, ciphertext) {
            assert_eq!(plain.len() + 16, ciphertext.len(), "tag length");
            let (vector_key, vector_nonce, vector_ct) = &*ENVELOPE;
            if (&key_bytes, nonce, ciphertext)
                == (vector_key, vector_nonce.as_slice(), vector_ct.as_slice())
            {
                assert_eq!(
                    aad, ENVELOPE_AAD,
                    "the vector's payload opened under another AAD"
                );
                assert_eq!(*plain, *ENVELOPE_PLAINTEXT.as_bytes());
            }
            let again = seal_payload(&key, aad, &plain).expect("re-seal");
            let reopened =
                open_payload(&key, aad, &again.nonce, &again.ciphertext).expect("re-open");
            assert_eq!(*reopened, *plain);
        }
    } else if let Ok(wrap) = serde_json::from_slice::<Wrap>(input.rest()) {
        // The JSON form must round-trip (base64url is strict, so the bytes are canonical).
        let json = serde_json::to_vec(&wrap).expect("serialize wrap");
        assert_eq!(
            serde_json::from_slice::<Wrap>(&json).expect("re-parse wrap"),
            wrap
        );
        if let Ok(key) = unwrap_key(&ORG_SECRET, WRAP_INFO, &wrap) {
            assert_eq!(wrap.enc.len(), 32);
            assert_eq!(wrap.ct.len(), 48);
            let _ = key.as_bytes();
        }
    }
});

/// An AAD whose lines are `assent/v2/envelope`, then values the domain accepts, is exactly
/// `envelope_aad` of those values: no value can carry a line break into the next line.
fn check_aad_lines(aad: &[u8]) {
    let Ok(text) = std::str::from_utf8(aad) else {
        return;
    };
    let lines: Vec<&str> = text.splitn(6, '\n').collect();
    let [head, customer, envelope, version, label, content_type] = lines[..] else {
        return;
    };
    if check_content_type(content_type).is_ok() {
        assert!(
            !content_type.contains(['\n', '\r']) && content_type.len() <= 255,
            "check_content_type accepted {content_type:?}"
        );
    }
    let (Ok(c), Ok(e), Ok(l), Ok(v)) = (
        CustomerId::parse(customer),
        EnvelopeId::parse(envelope),
        Label::parse(label),
        version.parse::<u64>(),
    ) else {
        return;
    };
    if head != "assent/v2/envelope"
        || v.to_string() != version
        || check_content_type(content_type).is_err()
    {
        return;
    }
    assert_eq!(
        envelope_aad(c.as_str(), e.as_str(), v, l.as_str(), content_type),
        aad,
        "envelope_aad does not rebuild an AAD of valid values"
    );
}
