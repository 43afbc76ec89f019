//! Pure cryptography for Assent's v1 wire format: envelopes, wrapped data keys,
//! grant and org-key signatures, the customer key bundle and the login verifier.
//!
//! Nothing here does I/O or keeps state; every secret lives in a zeroizing type.

pub mod b64;
pub mod bundle;
pub mod envelope;
pub mod error;
pub mod keys;
pub mod password;
pub mod sign;
pub mod wrap;

pub use bundle::{
    CustomerSecrets, DerivedKeys, KdfParams, SealedBundle, derive_keys, open_bundle, seal_bundle,
};
pub use envelope::{DataKey, SealedPayload, envelope_aad, open_payload, seal_payload};
pub use error::CryptoError;
pub use keys::{
    SigningKey, VerifyingKey, X25519Secret, generate_signing_key, random_array, verifying_key,
};
pub use password::{dummy_verify, hash_auth, verify_auth};
pub use sign::{
    fingerprint, grant_message, jcs, org_key_message, sign_grant, sign_org_key, verify_grant,
    verify_org_key, verify_signature,
};
pub use wrap::{OWNER, Wrap, unwrap_key, wrap_info, wrap_key};
