//! The `assent` command line: the server, key generation, operator tasks, and the customer and
//! organization clients. Data goes to stdout as JSON; notes for humans go to stderr.

pub mod admin;
pub mod backup;
pub mod customer;
pub mod keygen;
pub mod ledger;
pub mod org;
pub mod serve;
pub mod witness;

use crate::client::ClientError;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "assent",
    version,
    about = "A customer-controlled personal data consent vault"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the vault server.
    Serve(serve::ServeArgs),
    /// Generate keys for a vault (vault + admin keys).
    Keygen(keygen::KeygenArgs),
    /// Operator tasks (needs the admin key).
    Admin(admin::AdminArgs),
    /// The customer client: your data, your consent.
    Customer(customer::CustomerArgs),
    /// The organization client.
    Org(org::OrgArgs),
    /// Copy the live database through the running vault (needs the admin key).
    Backup(backup::BackupArgs),
    /// Put a backup in place of a (stopped) vault's database, after auditing it.
    Restore(backup::RestoreArgs),
    /// Check a configuration file.
    Config(serve::ConfigArgs),
    /// Verify a vault's ledger (anyone) or audit its database (operator, offline).
    Ledger(ledger::LedgerArgs),
    /// An independent witness that cosigns a vault's checkpoints (C2SP tlog-witness).
    Witness(witness::WitnessArgs),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Serve(String),
    #[error("{0}")]
    Usage(String),
}

impl From<crate::config::ConfigError> for CliError {
    fn from(e: crate::config::ConfigError) -> Self {
        Self::Client(e.into())
    }
}

impl From<crate::domain::DomainError> for CliError {
    fn from(e: crate::domain::DomainError) -> Self {
        Self::Usage(e.to_string())
    }
}

/// Logs go to stderr, `human` or `json`, filtered by `level` (overridable with `ASSENT_LOG`).
pub fn init_logging(format: &str, level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ASSENT_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    if !matches!(cli.command, Command::Serve(_) | Command::Witness(_)) {
        init_logging("human", "warn");
    }
    match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Keygen(a) => keygen::run(a),
        Command::Admin(a) => admin::run(a),
        Command::Customer(a) => customer::run(a),
        Command::Org(a) => org::run(a),
        Command::Ledger(a) => ledger::run(a),
        Command::Config(a) => serve::check(a),
        Command::Backup(a) => backup::backup(a),
        Command::Restore(a) => backup::restore(a),
        Command::Witness(a) => witness::run(a),
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// Splits `a,b,c` into trimmed, non-empty parts.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Writes an opened envelope's contents to `out` (or stdout), unpacking a named file: its name
/// and type go to stderr, its bytes to the output. The name is never used as a path.
pub fn write_contents(
    content_type: &str,
    plain: &[u8],
    out: Option<&std::path::Path>,
) -> Result<(), CliError> {
    use std::io::Write as _;
    let (name, media_type, bytes) = crate::domain::named_file::contents(content_type, plain)?;
    match name {
        Some(n) => eprintln!("file {n:?} ({media_type}, {} bytes)", bytes.len()),
        None => eprintln!("{media_type}, {} bytes", bytes.len()),
    }
    match out {
        Some(path) => std::fs::write(path, bytes).map_err(|e| CliError::Usage(e.to_string())),
        None => {
            let mut so = std::io::stdout();
            so.write_all(bytes)
                .and_then(|()| so.flush())
                .map_err(|e| CliError::Usage(e.to_string()))
        }
    }
}
