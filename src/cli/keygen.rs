//! `assent keygen`: a vault's signing key and the operator (admin) key pair.

use super::CliError;
use crate::config::{
    ADMIN_KEY_FILE, ADMIN_PUBLIC_FILE, AdminKeyFile, AdminPublicFile, VAULT_KEY_FILE, VaultKeyFile,
    write_json,
};
use crate::crypto::b64;
use crate::crypto::keys::generate_signing_key;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct KeygenArgs {
    /// Directory to write vault.key, admin.key and admin.pub into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The vault's name in signed checkpoints, e.g. vault.example.com.
    #[arg(long, default_value = "assent.local")]
    pub name: String,
    /// Mark the keys as demo keys (the server then refuses them without --demo).
    #[arg(long)]
    pub demo: bool,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: KeygenArgs) -> Result<(), CliError> {
    for f in [VAULT_KEY_FILE, ADMIN_KEY_FILE, ADMIN_PUBLIC_FILE] {
        if a.out.join(f).exists() && !a.force {
            return Err(CliError::Usage(format!(
                "{} exists; pass --force to replace it",
                a.out.join(f).display()
            )));
        }
    }
    let vault = generate_signing_key();
    let admin = generate_signing_key();
    write_json(
        &a.out.join(VAULT_KEY_FILE),
        &VaultKeyFile {
            kind: "assent/vault-key".into(),
            demo: a.demo,
            name: a.name.clone(),
            ed25519_seed: b64::encode(&vault.to_bytes()),
        },
    )?;
    write_json(
        &a.out.join(ADMIN_KEY_FILE),
        &AdminKeyFile {
            kind: "assent/admin-key".into(),
            demo: a.demo,
            ed25519_seed: b64::encode(&admin.to_bytes()),
        },
    )?;
    write_json(
        &a.out.join(ADMIN_PUBLIC_FILE),
        &AdminPublicFile {
            kind: "assent/admin-public".into(),
            demo: a.demo,
            ed25519_public: b64::encode(&admin.verifying_key().to_bytes()),
        },
    )?;
    eprintln!(
        "wrote {0}/vault.key, {0}/admin.key and {0}/admin.pub; keep admin.key with the operator, not on the server",
        a.out.display()
    );
    Ok(())
}
