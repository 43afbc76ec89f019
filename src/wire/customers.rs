//! Customers: sign-up, unlock parameters, sessions, the account.

use crate::crypto::b64::serde_array;
use crate::crypto::bundle::{KdfParams, SealedBundle};
use crate::domain::ids::{CustomerId, Handle};
use crate::domain::time::Timestamp;
use crate::wire::schema::Base64Url32;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct SignUpBody {
    #[schema(value_type = Handle)]
    pub handle: String,
    /// HKDF(master, "assent/v1/auth"): the login proof. Never the passphrase.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub auth: [u8; 32],
    pub bundle: SealedBundle,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub ed25519_public: [u8; 32],
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Profile {
    pub customer_id: CustomerId,
    pub handle: Handle,
    pub bundle: SealedBundle,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub ed25519_public: [u8; 32],
    pub created_at: Timestamp,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct KdfAnswer {
    pub kdf: KdfParams,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct LogInBody {
    #[schema(value_type = Handle)]
    pub handle: String,
    /// HKDF(master, "assent/v1/auth").
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub auth: [u8; 32],
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Session {
    /// The customer token (EdDSA JWT) for `Authorization: Bearer`.
    pub token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// Until when `POST /v1/me/session` renews the token (then the passphrase is needed again).
    pub renewable_until: Timestamp,
    #[serde(flatten)]
    pub profile: Profile,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Renewed {
    /// A new customer token; the one sent stays valid until it expires.
    pub token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: String,
    /// Seconds until the new token expires (shorter near the end of the session).
    pub expires_in: i64,
    pub renewable_until: Timestamp,
}
#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PassphraseBody {
    /// The login proof of the current passphrase.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub auth: [u8; 32],
    /// The login proof of the new passphrase.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub new_auth: [u8; 32],
    /// The same keys, sealed on the device under the new passphrase (new salt).
    pub bundle: SealedBundle,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// The login proof of the current passphrase.
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub auth: [u8; 32],
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ClosedAnswer {
    pub grants_revoked: usize,
    pub requests_declined: usize,
    pub envelopes_erased: usize,
}
