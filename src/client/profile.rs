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
    /// The witness policy (text form) every checkpoint must satisfy, pinned at sign-up; a
    /// profile without one pins the vault's on its next use.
    #[serde(default)]
    pub witness_policy: Option<String>,
    /// The last checkpoint verified, for the next consistency check.
    #[serde(default)]
    pub last_checkpoint: Option<String>,
    /// The highest `customer_seq` this device has seen in its own ledger: a listing that ends
    /// below it hides events.
    #[serde(default)]
    pub last_seq: u64,
    /// Organizations this device approved, and whether their fingerprint was checked against
    /// one the organization gave the customer itself (for the grant listing).
    #[serde(default)]
    pub org_anchors: std::collections::BTreeMap<String, OrgAnchor>,
}

/// How this device came to trust an organization's identity key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgAnchor {
    #[serde(with = "serde_array")]
    pub identity_key: [u8; 32],
    /// True when the customer gave the fingerprint the organization handed out (or the keys
    /// were pinned by an earlier grant that was); false for "approve an organization I could
    /// not verify".
    pub verified: bool,
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
