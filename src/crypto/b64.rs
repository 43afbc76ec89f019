//! Base64url without padding (RFC 4648 §5), the encoding of every binary wire field.
//!
//! Decoding is strict: padding, the standard alphabet ('+', '/'), whitespace and
//! non-canonical trailing bits are all refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::error::CryptoError;

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strict base64url without padding.
pub fn decode(s: &str) -> Result<Vec<u8>, CryptoError> {
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|_| CryptoError::BadBase64)
}

/// Decodes into a zeroizing buffer (for secret fields).
pub fn decode_secret(s: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    decode(s).map(Zeroizing::new)
}

/// Decodes exactly `N` bytes; `what` names the field in the error.
pub fn decode_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], CryptoError> {
    let bytes = decode_secret(s)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| CryptoError::BadLength {
        what,
        expected: N,
        got: bytes.len(),
    })
}

/// `#[serde(with = "…::b64::serde_bytes")]` for `Vec<u8>` fields.
pub mod serde_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::decode(&s).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "…::b64::serde_array")]` for `[u8; N]` fields.
pub mod serde_array {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        super::decode_array::<N>(&s, "base64url field").map_err(D::Error::custom)
    }
}

/// `Vec<[u8; N]>` as a list of base64url strings without padding (hash lists such as proofs).
pub mod serde_array_vec {
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer, const N: usize>(
        items: &[[u8; N]],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&super::encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Vec<[u8; N]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| super::decode_array::<N>(s, "base64url list item").map_err(D::Error::custom))
            .collect()
    }
}

/// `Option<[u8; N]>` as base64url without padding, `null`/absent as `None`.
pub mod serde_option_array {
    use serde::{Deserialize, Deserializer, de::Error as _};

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Option<[u8; N]>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::decode_array::<N>(&s, "base64url field").map_err(D::Error::custom))
            .transpose()
    }
}
