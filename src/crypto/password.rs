//! Server-side login verifier: the server stores only an Argon2id (RFC 9106)
//! PHC hash of the client's `auth` value and verifies it in constant time.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use zeroize::Zeroizing;

use super::error::CryptoError;
use super::keys::random_array;

/// Server verifier cost (`auth` is already a 256-bit key, so this is defence in depth).
pub const SERVER_M_KIB: u32 = 19456;
pub const SERVER_T: u32 = 2;
pub const SERVER_P: u32 = 1;

fn server_argon2() -> Result<Argon2<'static>, CryptoError> {
    let params = Params::new(SERVER_M_KIB, SERVER_T, SERVER_P, Some(32))
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `auth` with a fresh 16-byte salt; returns the PHC string.
pub fn hash_auth(auth: &[u8]) -> Result<String, CryptoError> {
    let salt = random_array::<16>();
    server_argon2()?
        .hash_password_with_salt(auth, &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Kdf(e.to_string()))
}

/// True iff `auth` matches the stored PHC hash. Only Argon2id hashes are accepted;
/// the final comparison is constant time (argon2's `Output` equality).
pub fn verify_auth(auth: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    Argon2::default().verify_password(auth, &hash).is_ok()
}

/// Spends the same Argon2id work as [`verify_auth`] for an unknown account, so
/// response time does not reveal whether the account exists.
pub fn dummy_verify(auth: &[u8]) {
    let mut out = Zeroizing::new([0u8; 32]);
    if let Ok(argon) = server_argon2() {
        let _ = argon.hash_password_into(auth, &[0x5a; 16], &mut *out);
    }
    std::hint::black_box(&*out);
}
