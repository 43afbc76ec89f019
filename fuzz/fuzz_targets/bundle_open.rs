//! The customer's sealed key bundle from hostile JSON.
//!
//! Input: JSON for `SealedBundle`, opened with a fixed kek. The fuzzed KDF parameters are only
//! ever *validated* — `derive_keys` is never called here: a bundle may legally ask for up to
//! `MAX_M_KIB` (1 GiB) of Argon2id, which would make every execution take seconds. The target
//! checks that `open_bundle` refuses, before any decryption, every bundle whose version or KDF
//! parameters are out of range.
#![no_main]

use assent::crypto::bundle::{
    BUNDLE_VERSION, KDF_ALG, MAX_M_KIB, MAX_P, MAX_T, MIN_M_KIB, MIN_P, MIN_T, SealedBundle,
    open_bundle,
};
use assent::crypto::error::CryptoError;
use assent_fuzz::BUNDLE_KEK;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = serde_json::from_slice::<SealedBundle>(data) else {
        return;
    };
    let json = serde_json::to_vec(&bundle).expect("serialize bundle");
    assert_eq!(
        serde_json::from_slice::<SealedBundle>(&json).expect("re-parse bundle"),
        bundle
    );

    let kdf = &bundle.kdf;
    let in_range = kdf.alg == KDF_ALG
        && (MIN_M_KIB..=MAX_M_KIB).contains(&kdf.m_kib)
        && (MIN_T..=MAX_T).contains(&kdf.t)
        && (MIN_P..=MAX_P).contains(&kdf.p);
    let valid = kdf.validate();
    assert_eq!(
        valid.is_ok(),
        in_range,
        "validate() disagrees with the bounds: {kdf:?}"
    );
    if let Err(e) = &valid {
        assert!(matches!(e, CryptoError::WeakKdfParams(_)), "{e:?}");
    }

    match open_bundle(&BUNDLE_KEK, &bundle) {
        Ok(secrets) => {
            assert_eq!(bundle.v, BUNDLE_VERSION);
            assert!(in_range, "opened a bundle with out-of-range KDF parameters");
            assert_eq!(bundle.ct.len(), 64 + 16);
            let _ = (secrets.x25519_public(), secrets.ed25519_public());
        }
        Err(e) => {
            if bundle.v != BUNDLE_VERSION {
                assert!(matches!(e, CryptoError::UnsupportedVersion { .. }), "{e:?}");
            } else if !in_range {
                // Refused on the parameters, before any decryption was attempted.
                assert!(matches!(e, CryptoError::WeakKdfParams(_)), "{e:?}");
            }
        }
    }
});
