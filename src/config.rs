//! Key files and server settings. Key files are JSON; secrets in them are base64url and are
//! zeroized once loaded. Files marked `"demo": true` are throw-away keys from `keys-example/`.

use crate::crypto::b64;
use crate::crypto::keys::{SigningKey, X25519Secret};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub const VAULT_KEY_FILE: &str = "vault.key";
pub const ADMIN_PUBLIC_FILE: &str = "admin.pub";
pub const ADMIN_KEY_FILE: &str = "admin.key";
pub const DEMO_ORG_FILE: &str = "demo-org.key";
/// Verifier keys (C2SP form, one per line) of vault keys retired by `assent keygen --rotate`,
/// kept to verify checkpoints signed before the rotation.
pub const RETIRED_FILE: &str = "vault-retired.pub";
/// Rotation statements (JSON array of signed notes, oldest first), each signed by the key it
/// retires and naming its successor (`ledger::rotation`): what lets a client move its pin.
pub const ROTATIONS_FILE: &str = "vault-rotations.json";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {detail}")]
    File { path: String, detail: String },
    #[error("{0}")]
    Invalid(String),
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ConfigError> {
    let err = |detail: String| ConfigError::File {
        path: path.display().to_string(),
        detail,
    };
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
    serde_json::from_str(&text).map_err(|e| err(e.to_string()))
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ConfigError> {
    let text = Zeroizing::new(
        serde_json::to_string_pretty(value).map_err(|e| ConfigError::Invalid(e.to_string()))?,
    );
    let err = |e: std::io::Error| ConfigError::File {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.write_all(b"\n").map_err(err)?;
    f.sync_all().map_err(err)
}

fn seed(s: &str, what: &'static str) -> Result<Zeroizing<[u8; 32]>, ConfigError> {
    b64::decode_array::<32>(s, what)
        .map(Zeroizing::new)
        .map_err(|e| ConfigError::Invalid(format!("{what}: {e}")))
}

/// The vault's Ed25519 key: signs access tokens (and, later, checkpoints and receipts).
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct VaultKeyFile {
    pub kind: String,
    #[serde(default)]
    pub demo: bool,
    /// The key's name in signed notes (C2SP signed-note).
    pub name: String,
    pub ed25519_seed: String,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct AdminKeyFile {
    pub kind: String,
    #[serde(default)]
    pub demo: bool,
    pub ed25519_seed: String,
}

/// A witness's cosigning key (`assent witness keygen`), kept by the witness's operator.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct WitnessKeyFile {
    pub kind: String,
    #[serde(default)]
    pub demo: bool,
    /// The witness's key name in cosignature lines.
    pub name: String,
    pub ed25519_seed: String,
}

impl WitnessKeyFile {
    pub fn load(path: &Path) -> Result<(Self, SigningKey), ConfigError> {
        let f: Self = read_json(path)?;
        let key = SigningKey::from_bytes(&*seed(&f.ed25519_seed, "ed25519_seed")?);
        Ok((f, key))
    }
}

#[derive(Serialize, Deserialize)]
pub struct AdminPublicFile {
    pub kind: String,
    #[serde(default)]
    pub demo: bool,
    pub ed25519_public: String,
}

/// An organization's own key file (kept by the organization, never by the vault).
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct OrgKeyFile {
    pub kind: String,
    #[serde(default)]
    pub demo: bool,
    pub org_id: String,
    pub name: String,
    pub ed25519_seed: String,
    pub x25519_secret: String,
}

pub struct VaultKeys {
    pub demo: bool,
    pub name: String,
    pub signing: SigningKey,
    pub admin_public: [u8; 32],
    /// Retired verifier keys (may be empty).
    pub retired: Vec<String>,
    /// Rotation statements, oldest first (may be empty).
    pub rotations: Vec<String>,
}

impl VaultKeys {
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let vault: VaultKeyFile = read_json(&dir.join(VAULT_KEY_FILE))?;
        let admin: AdminPublicFile = read_json(&dir.join(ADMIN_PUBLIC_FILE))?;
        let signing = SigningKey::from_bytes(&*seed(&vault.ed25519_seed, "ed25519_seed")?);
        let admin_public = b64::decode_array::<32>(&admin.ed25519_public, "ed25519_public")
            .map_err(|e| ConfigError::Invalid(format!("admin.pub: {e}")))?;
        let retired = std::fs::read_to_string(dir.join(RETIRED_FILE))
            .map(|t| {
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let rotations_path = dir.join(ROTATIONS_FILE);
        let rotations = if rotations_path.exists() {
            read_json(&rotations_path)?
        } else {
            Vec::new()
        };
        Ok(Self {
            demo: vault.demo || admin.demo,
            name: vault.name.clone(),
            signing,
            admin_public,
            retired,
            rotations,
        })
    }

    /// The current verifier first, then the retired ones.
    pub fn verifiers(&self) -> Result<Vec<crate::ledger::note::Verifier>, ConfigError> {
        let mut out = vec![
            crate::ledger::note::Verifier::new(
                &self.name,
                &self.signing.verifying_key().to_bytes(),
            )
            .map_err(|e| ConfigError::Invalid(e.to_string()))?,
        ];
        for line in &self.retired {
            out.push(
                crate::ledger::note::parse_verifier_key(line)
                    .map_err(|e| ConfigError::Invalid(format!("{RETIRED_FILE}: {e}")))?,
            );
        }
        Ok(out)
    }
}

pub struct OrgKeys {
    pub demo: bool,
    pub org_id: String,
    pub name: String,
    pub identity: SigningKey,
    pub encryption: X25519Secret,
}

impl OrgKeys {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let f: OrgKeyFile = read_json(path)?;
        Ok(Self {
            demo: f.demo,
            org_id: f.org_id.clone(),
            name: f.name.clone(),
            identity: SigningKey::from_bytes(&*seed(&f.ed25519_seed, "ed25519_seed")?),
            encryption: X25519Secret::from_bytes(*seed(&f.x25519_secret, "x25519_secret")?),
        })
    }

    pub fn to_file(&self) -> OrgKeyFile {
        OrgKeyFile {
            kind: "assent/org-key".into(),
            demo: self.demo,
            org_id: self.org_id.clone(),
            name: self.name.clone(),
            ed25519_seed: b64::encode(&self.identity.to_bytes()),
            x25519_secret: b64::encode(&self.encryption.to_bytes()[..]),
        }
    }
}

/// Plausible, fictional controller details for the demo organization (an `.example` domain,
/// RFC 2606; keys-example/ is the demo organization's other half).
pub fn demo_controller() -> crate::domain::controller::ControllerDetails {
    use crate::domain::controller::{ControllerDetails, PostalAddress};
    ControllerDetails {
        legal_name: "Acme Bank (demo) plc".into(),
        address: PostalAddress {
            street_address: "1 Demo Quay".into(),
            locality: "Dublin".into(),
            region: None,
            postal_code: Some("D02 XY00".into()),
            country: "IE".into(),
        },
        email: "privacy@acme-bank.example".into(),
        phone: "+35315550100".into(),
        privacy_policy_url: "https://acme-bank.example/privacy".into(),
        jurisdiction: "IE".into(),
    }
}

pub fn load_admin_key(path: &Path) -> Result<SigningKey, ConfigError> {
    let f: AdminKeyFile = read_json(path)?;
    Ok(SigningKey::from_bytes(&*seed(
        &f.ed25519_seed,
        "ed25519_seed",
    )?))
}

/// Settings of `assent serve`.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The redb file's directory (with `store_url`: private staging files only).
    pub data_dir: PathBuf,
    /// A PostgreSQL database shared by every node (`storage.url`); `None` = redb.
    pub store_url: Option<String>,
    pub keys_dir: PathBuf,
    pub listen: SocketAddr,
    /// The URL clients use (issuer of tokens, audience of client assertions). Defaults to
    /// `http://<bound address>`.
    pub public_url: Option<String>,
    /// Allow keys marked as demo keys, and register the demo organization.
    pub demo: bool,
    pub max_envelope_bytes: usize,
    /// Directory of the dashboard's static files.
    pub web_dir: PathBuf,
    /// Jurisdiction named in consent receipts.
    pub jurisdiction: String,
    /// Where Prometheus metrics are served (separate from the API); `None` = not served.
    pub metrics_listen: Option<SocketAddr>,
    pub request_timeout_secs: u64,
    /// How long shutdown waits for in-flight requests before closing anyway.
    pub shutdown_grace_secs: u64,
    /// Sign-ups, logins, KDF lookups and token requests allowed per client IP per minute.
    pub auth_per_ip_per_minute: u32,
    /// Logins per handle and token requests per organization per minute.
    pub auth_per_account_per_minute: u32,
    /// Witnesses asked to cosign checkpoints.
    pub witnesses: WitnessSetup,
    /// Days an organization has to answer an erasure request.
    pub erasure_deadline_days: u32,
    /// Webhook deliveries (address rules, receiver timeout).
    pub webhooks: crate::vault::webhooks::WebhookSettings,
}

/// The witnesses a vault asks to cosign its checkpoints (C2SP tlog-witness).
#[derive(Clone, Debug, Default)]
pub struct WitnessSetup {
    pub endpoints: Vec<crate::vault::witnessing::WitnessEndpoint>,
    /// How many must cosign (0 only without witnesses).
    pub quorum: usize,
    /// Run a demo witness in the same process (counted in `quorum`).
    pub demo: bool,
}
