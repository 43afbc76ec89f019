//! The customer's profile file: who they are on which vault, and their sealed key bundle.
//! The private keys in it are sealed under the passphrase; the file alone opens nothing.

use super::ClientError;
use crate::crypto::b64::serde_array;
use crate::crypto::bundle::SealedBundle;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Profile {
    pub kind: String,
    pub server: String,
    pub handle: String,
    pub customer_id: String,
    pub bundle: SealedBundle,
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
    /// The vault's checkpoint key (C2SP verifier form), pinned at sign-up.
    #[serde(default)]
    pub vault_key: Option<String>,
    /// The last checkpoint verified, for the next consistency check.
    #[serde(default)]
    pub last_checkpoint: Option<String>,
}

pub const PROFILE_KIND: &str = "assent/customer-profile";

impl Profile {
    pub fn load(path: &Path) -> Result<Self, ClientError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ClientError::Usage(format!(
                "cannot read the profile {}: {e} (run `assent customer signup` first, or pass --profile)",
                path.display()
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| ClientError::Usage(format!("{}: {e}", path.display())))
    }

    pub fn save(&self, path: &Path) -> Result<(), ClientError> {
        Ok(crate::config::write_json(path, self)?)
    }
}
