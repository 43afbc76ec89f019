//! The customer's key bundle: passphrase → Argon2id (RFC 9106) → master key →
//! HKDF-SHA256 (RFC 5869) into `auth` (login proof) and `kek`; the private keys
//! are sealed under `kek` with XChaCha20-Poly1305.

use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::envelope::{xchacha_open, xchacha_seal};
use super::error::CryptoError;
use super::keys::{SigningKey, X25519Secret, generate_signing_key, random_array};

/// The only KDF algorithm of bundle v1.
pub const KDF_ALG: &str = "argon2id";
/// Bundle format version.
pub const BUNDLE_VERSION: u8 = 1;
/// Defaults for new bundles: 64 MiB, 3 passes, 4 lanes.
pub const DEFAULT_M_KIB: u32 = 65536;
pub const DEFAULT_T: u32 = 3;
pub const DEFAULT_P: u32 = 4;
/// Accepted ranges when loading (minimums per OWASP guidance; maximums bound DoS).
pub const MIN_M_KIB: u32 = 19456;
pub const MAX_M_KIB: u32 = 1 << 20;
pub const MIN_T: u32 = 2;
pub const MAX_T: u32 = 20;
pub const MIN_P: u32 = 1;
pub const MAX_P: u32 = 16;

const AUTH_INFO: &[u8] = b"assent/v1/auth";
const KEK_INFO: &[u8] = b"assent/v1/kek";
const BUNDLE_AAD: &[u8] = b"assent/v1/bundle";

/// Argon2id parameters, stored with the bundle.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    #[schema(pattern = "^argon2id$")]
    pub alg: String,
    #[schema(schema_with = crate::wire::schema::m_kib_schema)]
    pub m_kib: u32,
    #[schema(schema_with = crate::wire::schema::t_schema)]
    pub t: u32,
    #[schema(schema_with = crate::wire::schema::p_schema)]
    pub p: u32,
    #[serde(with = "super::b64::serde_array")]
    #[schema(value_type = crate::wire::schema::Base64Url16)]
    pub salt: [u8; 16],
}

impl KdfParams {
    /// Default cost with a fresh random salt.
    pub fn new_default() -> Self {
        Self {
            alg: KDF_ALG.to_owned(),
            m_kib: DEFAULT_M_KIB,
            t: DEFAULT_T,
            p: DEFAULT_P,
            salt: random_array(),
        }
    }

    /// Chosen cost with a fresh random salt; refused if outside the accepted range.
    pub fn with_cost(m_kib: u32, t: u32, p: u32) -> Result<Self, CryptoError> {
        let params = Self {
            m_kib,
            t,
            p,
            ..Self::new_default()
        };
        params.validate()?;
        Ok(params)
    }

    /// Refuses unknown algorithms and costs outside `[MIN, MAX]`.
    pub fn validate(&self) -> Result<(), CryptoError> {
        if self.alg != KDF_ALG {
            return Err(CryptoError::WeakKdfParams(format!(
                "unsupported algorithm {:?}",
                self.alg
            )));
        }
        in_range("m_kib", self.m_kib, MIN_M_KIB, MAX_M_KIB)?;
        in_range("t", self.t, MIN_T, MAX_T)?;
        in_range("p", self.p, MIN_P, MAX_P)
    }
}

fn in_range(name: &str, value: u32, min: u32, max: u32) -> Result<(), CryptoError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(CryptoError::WeakKdfParams(format!(
            "{name}={value} outside {min}..={max}"
        )))
    }
}

/// Keys derived from the passphrase. Both zeroized on drop.
pub struct DerivedKeys {
    /// Login proof sent to the server (which stores only a hash of it).
    pub auth: Zeroizing<[u8; 32]>,
    /// Key-encryption key for the bundle; never leaves the device.
    pub kek: Zeroizing<[u8; 32]>,
}

/// Argon2id(passphrase, salt) → master; HKDF-SHA256(ikm = master, no salt)
/// expanded with distinct infos, so `auth` reveals nothing about `kek`.
pub fn derive_keys(passphrase: &[u8], params: &KdfParams) -> Result<DerivedKeys, CryptoError> {
    params.validate()?;
    let argon_params = Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| CryptoError::WeakKdfParams(e.to_string()))?;
    let mut master = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into(passphrase, &params.salt, &mut *master)
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    let hk = Hkdf::<Sha256>::new(None, &*master);
    let mut auth = Zeroizing::new([0u8; 32]);
    let mut kek = Zeroizing::new([0u8; 32]);
    hk.expand(AUTH_INFO, &mut *auth)
        .and_then(|()| hk.expand(KEK_INFO, &mut *kek))
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    Ok(DerivedKeys { auth, kek })
}

/// A customer's private keys (HPKE recipient and grant signer).
pub struct CustomerSecrets {
    pub x25519: X25519Secret,
    pub ed25519: SigningKey,
}

impl CustomerSecrets {
    pub fn generate() -> Self {
        Self {
            x25519: X25519Secret::generate(),
            ed25519: generate_signing_key(),
        }
    }

    pub fn x25519_public(&self) -> [u8; 32] {
        self.x25519.public()
    }

    pub fn ed25519_public(&self) -> [u8; 32] {
        self.ed25519.verifying_key().to_bytes()
    }
}

impl std::fmt::Debug for CustomerSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerSecrets")
            .field("x25519", &self.x25519)
            .field(
                "ed25519_public",
                &super::b64::encode(&self.ed25519_public()),
            )
            .finish_non_exhaustive()
    }
}

/// The serialized bundle: `{"v":1,"kdf":{…},"nonce":…,"ct":…}`: the customer's private keys,
/// sealed on the device.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedBundle {
    /// Bundle format version.
    #[schema(schema_with = crate::wire::schema::bundle_version_schema)]
    pub v: u8,
    pub kdf: KdfParams,
    #[serde(with = "super::b64::serde_array")]
    #[schema(value_type = crate::wire::schema::Base64Url24)]
    pub nonce: [u8; 24],
    #[serde(with = "super::b64::serde_bytes")]
    #[schema(value_type = crate::wire::schema::Base64Url)]
    pub ct: Vec<u8>,
}

/// Seals `x25519 secret (32) ‖ ed25519 seed (32)` under `kek`, AAD `"assent/v1/bundle"`.
pub fn seal_bundle(
    kek: &[u8; 32],
    kdf: KdfParams,
    secrets: &CustomerSecrets,
) -> Result<SealedBundle, CryptoError> {
    kdf.validate()?;
    let mut plain = Zeroizing::new([0u8; 64]);
    plain[..32].copy_from_slice(&*secrets.x25519.to_bytes());
    plain[32..].copy_from_slice(&*Zeroizing::new(secrets.ed25519.to_bytes()));
    let nonce = random_array::<24>();
    let ct = xchacha_seal(kek, &nonce, BUNDLE_AAD, &*plain)?;
    Ok(SealedBundle {
        v: BUNDLE_VERSION,
        kdf,
        nonce,
        ct,
    })
}

/// Opens a bundle; refuses unknown versions and out-of-range KDF params first.
pub fn open_bundle(kek: &[u8; 32], bundle: &SealedBundle) -> Result<CustomerSecrets, CryptoError> {
    if bundle.v != BUNDLE_VERSION {
        return Err(CryptoError::UnsupportedVersion {
            what: "key bundle",
            got: u64::from(bundle.v),
        });
    }
    bundle.kdf.validate()?;
    let plain = xchacha_open(kek, &bundle.nonce, BUNDLE_AAD, &bundle.ct)?;
    if plain.len() != 64 {
        return Err(CryptoError::BadLength {
            what: "bundle plaintext",
            expected: 64,
            got: plain.len(),
        });
    }
    let mut x = Zeroizing::new([0u8; 32]);
    let mut ed = Zeroizing::new([0u8; 32]);
    x.copy_from_slice(&plain[..32]);
    ed.copy_from_slice(&plain[32..]);
    Ok(CustomerSecrets {
        x25519: X25519Secret::from_bytes(*x),
        ed25519: SigningKey::from_bytes(&ed),
    })
}
