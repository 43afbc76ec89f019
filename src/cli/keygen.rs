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
    /// Replace only the vault signing key; the old key's verifier key is appended to
    /// vault-retired.pub so checkpoints signed before stay verifiable, and the old key signs a
    /// rotation statement naming the new one (vault-rotations.json) that clients check before
    /// they accept the new key. Restart the vault after.
    #[arg(long, conflicts_with = "force")]
    pub rotate: bool,
}

fn rotate(a: &KeygenArgs) -> Result<(), CliError> {
    let old = crate::config::VaultKeys::load(&a.out)?;
    let retired =
        crate::ledger::note::verifier_key(&old.name, &old.signing.verifying_key().to_bytes());
    let path = a.out.join(crate::config::RETIRED_FILE);
    let mut lines = std::fs::read_to_string(&path).unwrap_or_default();
    lines.push_str(&retired);
    lines.push('\n');
    std::fs::write(&path, lines)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let new = generate_signing_key();
    let next = crate::ledger::note::verifier_key(&old.name, &new.verifying_key().to_bytes());
    let statement =
        crate::ledger::rotation::sign_rotation(&old.name, &old.signing, &next, crate::clock::now())
            .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut rotations = old.rotations.clone();
    rotations.push(statement);
    write_json(&a.out.join(crate::config::ROTATIONS_FILE), &rotations)?;
    write_json(
        &a.out.join(VAULT_KEY_FILE),
        &VaultKeyFile {
            kind: "assent/vault-key".into(),
            demo: old.demo,
            name: old.name.clone(),
            ed25519_seed: b64::encode(&new.to_bytes()),
        },
    )?;
    eprintln!(
        "rotated the vault key; retired {retired} (kept in {}). New verifier key: {}",
        path.display(),
        crate::ledger::note::verifier_key(&old.name, &new.verifying_key().to_bytes())
    );
    Ok(())
}

pub fn run(a: KeygenArgs) -> Result<(), CliError> {
    if a.rotate {
        return rotate(&a);
    }
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
