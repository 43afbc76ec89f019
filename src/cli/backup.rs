//! `assent backup` (online, through the running vault) and `assent restore` (offline).

use super::{CliError, print_json};
use crate::config::{VaultKeys, load_admin_key};
use crate::ledger::note::Verifier;
use crate::store::DB_FILE;
use crate::store::audit::AuditReport;
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct BackupArgs {
    #[arg(long, env = "ASSENT_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    #[arg(
        long,
        env = "ASSENT_ADMIN_KEY",
        default_value = "keys-example/admin.key"
    )]
    pub admin_key: PathBuf,
    /// Where to write the copy (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Key directory, to verify the copy's signed checkpoints.
    #[arg(long, default_value = "keys-example")]
    pub keys: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file made by `assent backup`.
    #[arg(long)]
    pub from: PathBuf,
    /// The data directory to restore into (the vault must be stopped).
    #[arg(long, required_unless_present = "store")]
    pub data: Option<PathBuf>,
    /// Restore into this PostgreSQL database instead; it must hold no vault yet (make a new
    /// one with `createdb`, restore, then start the nodes on it).
    #[arg(
        long,
        value_name = "URL",
        env = "ASSENT_STORAGE_URL",
        conflicts_with = "force"
    )]
    pub store: Option<String>,
    #[arg(long, default_value = "keys-example")]
    pub keys: PathBuf,
    /// Replace an existing database (it is kept as assent.redb.replaced-<time>).
    #[arg(long)]
    pub force: bool,
}

fn verifiers(keys: &Path) -> Result<(String, Vec<Verifier>), CliError> {
    let k = VaultKeys::load(keys)?;
    Ok((k.name.clone(), k.verifiers()?))
}

/// Audits a database file; the integrity check's private copy is staged in a private scratch
/// directory next to the file (never the shared temp directory), removed afterwards.
fn audit_file(file: &Path, keys: &Path) -> Result<AuditReport, CliError> {
    let (origin, v) = verifiers(keys)?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = dir.join(format!(
        ".assent-audit-{}",
        crate::crypto::b64::encode(&crate::crypto::keys::random_array::<9>())
    ));
    let result = crate::store::audit::audit_file(file, &scratch, &origin, &v)
        .map_err(|e| CliError::Usage(format!("AUDIT FAILED: {e}")));
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn report_json(r: &AuditReport) -> serde_json::Value {
    json!({
        "ledger_size": r.size,
        "root": crate::crypto::b64::encode(&r.root),
        "checkpoints_checked": r.checkpoints_checked,
    })
}

pub fn backup(a: BackupArgs) -> Result<(), CliError> {
    if a.out.exists() {
        return Err(CliError::Usage(format!("{} exists", a.out.display())));
    }
    let key = load_admin_key(&a.admin_key)?;
    let token = crate::tokens::mint_admin(&key, crate::clock::now().unix())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let http = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut res = http
        .get(format!(
            "{}/v1/admin/backup",
            a.server.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .send()
        .map_err(|e| CliError::Usage(format!("cannot reach the vault: {e}")))?;
    if !res.status().is_success() {
        return Err(CliError::Usage(format!(
            "backup refused: {} {}",
            res.status(),
            res.text().unwrap_or_default()
        )));
    }
    let partial = a.out.with_extension("partial");
    // A copy of the whole database: readable by this user only (0600).
    let mut f = crate::store::private_file(&partial).map_err(|e| CliError::Usage(e.to_string()))?;
    res.copy_to(&mut f)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    f.sync_all().map_err(|e| CliError::Usage(e.to_string()))?;
    let report = audit_file(&partial, &a.keys)?;
    std::fs::rename(&partial, &a.out).map_err(|e| CliError::Usage(e.to_string()))?;
    eprintln!(
        "ok: backup of {} ledger entries written to {} and audited",
        report.size,
        a.out.display()
    );
    print_json(&report_json(&report))
}

pub fn restore(a: RestoreArgs) -> Result<(), CliError> {
    let report = audit_file(&a.from, &a.keys)?;
    if let Some(url) = &a.store {
        let size = crate::store::pg::with_database(url, |pg| pg.import_from(&a.from))
            .map_err(|e| CliError::Usage(format!("restore into PostgreSQL: {e}")))?;
        eprintln!("ok: restored {size} ledger entries into the PostgreSQL database");
        return print_json(&report_json(&report));
    }
    let data = a
        .data
        .ok_or_else(|| CliError::Usage("give --data DIR or --store URL".into()))?;
    crate::store::private_dir(&data).map_err(|e| CliError::Usage(e.to_string()))?;
    let target = data.join(DB_FILE);
    if target.exists() {
        if !a.force {
            return Err(CliError::Usage(format!(
                "{} exists; pass --force to replace it",
                target.display()
            )));
        }
        let aside = data.join(format!("{DB_FILE}.replaced-{}", crate::clock::now().unix()));
        std::fs::rename(&target, &aside).map_err(|e| CliError::Usage(e.to_string()))?;
        eprintln!("the previous database is kept as {}", aside.display());
    }
    let partial = data.join(format!("{DB_FILE}.restoring"));
    // Created 0600 like the database itself (a plain copy would take the source's mode).
    let mut out =
        crate::store::private_file(&partial).map_err(|e| CliError::Usage(e.to_string()))?;
    std::fs::File::open(&a.from)
        .and_then(|mut src| std::io::copy(&mut src, &mut out))
        .and_then(|_| out.sync_all())
        .map_err(|e| CliError::Usage(format!("{}: {e}", a.from.display())))?;
    std::fs::rename(&partial, &target).map_err(|e| CliError::Usage(e.to_string()))?;
    eprintln!(
        "ok: restored {} ledger entries into {}",
        report.size,
        target.display()
    );
    print_json(&report_json(&report))
}
