//! Envelope payloads and wrapped data keys from hostile bytes.
//!
//! Input: a mode byte, then either (even) `key[32] | aad_len | nonce_len | aad | nonce |
//! ciphertext…` for `open_payload`, or (odd) a JSON `Wrap` for `unwrap_key` with the wire
//! vector's organization key and `info`. Nothing may panic; whatever opens must re-seal and
//! re-open to the same plaintext.
#![no_main]

use assent::crypto::envelope::{DataKey, open_payload, seal_payload};
use assent::crypto::wrap::{Wrap, unwrap_key};
use assent_fuzz::{Input, ORG_SECRET, WRAP_INFO};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    if input.u8().is_multiple_of(2) {
        let key = DataKey::from_bytes(input.array());
        let aad_len = usize::from(input.u8());
        let nonce_len = usize::from(input.u8());
        let aad = input.bytes(aad_len);
        let nonce = input.bytes(nonce_len);
        let ciphertext = input.rest();
        if let Ok(plain) = open_payload(&key, aad, nonce, ciphertext) {
            assert_eq!(plain.len() + 16, ciphertext.len(), "tag length");
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
