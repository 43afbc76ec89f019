//! Wrapping a data key to a recipient with HPKE (RFC 9180) base mode,
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20Poly1305, single-shot.
//!
//! `info` binds envelope id, version, recipient and grant, so a wrap moved to
//! another context fails to open (RFC 9180 §5.1: info feeds the key schedule).

use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::envelope::{DataKey, TAG_LEN};
use super::error::CryptoError;
use super::keys::X25519Secret;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// The grant-id slot of `info` for the owner's own wrap.
pub const OWNER: &str = "owner";

/// Length of the HPKE encapsulated key (Nenc for X25519).
pub const ENC_LEN: usize = 32;
/// Length of a wrapped 32-byte data key (key plus AEAD tag).
pub const WRAPPED_LEN: usize = 32 + TAG_LEN;

/// HPKE `info`: `"assent/v1/wrap\n" envelope_id "\n" version "\n" recipient_id "\n" grant`,
/// where `grant` is a grant id or [`OWNER`]. Ids contain no '\n' (domain invariant).
pub fn wrap_info(
    envelope_id: &str,
    version: u64,
    recipient_id: &str,
    grant_id_or_owner: &str,
) -> Vec<u8> {
    format!("assent/v1/wrap\n{envelope_id}\n{version}\n{recipient_id}\n{grant_id_or_owner}")
        .into_bytes()
}

/// A wrapped data key: HPKE (RFC 9180) encapsulated key and ciphertext, base64url in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Wrap {
    /// HPKE encapsulated key.
    #[serde(with = "super::b64::serde_bytes")]
    #[schema(value_type = crate::wire::schema::Base64Url32)]
    pub enc: Vec<u8>,
    /// The wrapped 32-byte data key and its tag.
    #[serde(with = "super::b64::serde_bytes")]
    #[schema(value_type = crate::wire::schema::Base64Url48)]
    pub ct: Vec<u8>,
}

/// Seals `key` to `recipient_public` with empty AAD and the given `info`.
pub fn wrap_key(
    recipient_public: &[u8; 32],
    info: &[u8],
    key: &DataKey,
) -> Result<Wrap, CryptoError> {
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient_public)
        .map_err(|_| CryptoError::BadKey)?;
    let (enc, ct) = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
        &OpModeS::Base,
        &pk,
        info,
        key.as_bytes(),
        &[],
        &mut rand::rng(),
    )
    .map_err(|e| match e {
        // Encapsulation fails only for an unusable (low-order) recipient key.
        hpke::HpkeError::EncapError => CryptoError::BadKey,
        _ => CryptoError::Encrypt,
    })?;
    Ok(Wrap {
        enc: enc.to_bytes().to_vec(),
        ct,
    })
}

/// Opens a wrap with the recipient's private key and the same `info`.
pub fn unwrap_key(
    recipient: &X25519Secret,
    info: &[u8],
    wrap: &Wrap,
) -> Result<DataKey, CryptoError> {
    check_len("wrap enc", ENC_LEN, wrap.enc.len())?;
    check_len("wrap ct", WRAPPED_LEN, wrap.ct.len())?;
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(recipient.to_bytes().as_slice())
        .map_err(|_| CryptoError::BadKey)?;
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(&wrap.enc).map_err(|_| CryptoError::BadKey)?;
    let pt =
        hpke::single_shot_open::<Aead, Kdf, Kem>(&OpModeR::Base, &sk, &enc, info, &wrap.ct, &[])
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)?;
    let bytes = <[u8; 32]>::try_from(pt.as_slice()).map_err(|_| CryptoError::BadLength {
        what: "data key",
        expected: 32,
        got: pt.len(),
    })?;
    Ok(DataKey::from_bytes(bytes))
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), CryptoError> {
    if got == expected {
        Ok(())
    } else {
        Err(CryptoError::BadLength {
            what,
            expected,
            got,
        })
    }
}
