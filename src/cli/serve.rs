//! `assent serve` and `assent config check`.

use super::CliError;
use crate::settings::Settings;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Default)]
pub struct ServeArgs {
    /// A TOML configuration file (see assent.example.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory of the redb database (storage.data_dir).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A PostgreSQL database instead of the redb file: `postgres://user:pass@host:port/db`
    /// (storage.url; env ASSENT_STORAGE_URL). Several nodes may share one.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Directory with vault.key and admin.pub (keys.dir).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (server.listen).
    #[arg(long)]
    pub listen: Option<String>,
    /// Public base URL (server.public_url).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Metrics address; "" disables (server.metrics_listen).
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Accept the published demo keys and register the demo organization (keys.demo).
    #[arg(long)]
    pub demo: bool,
    /// Largest envelope ciphertext in bytes (limits.max_envelope_bytes).
    #[arg(long)]
    pub max_envelope_bytes: Option<u64>,
    /// Dashboard static files (server.web_dir).
    #[arg(long)]
    pub web: Option<PathBuf>,
    /// `human` or `json` (log.format).
    #[arg(long)]
    pub log_format: Option<String>,
    /// Write the bound URL to this file once listening (for scripts and tests).
    #[arg(long)]
    pub addr_file: Option<PathBuf>,
    /// A witness to ask for cosignatures: `URL VERIFIER-KEY` (witnesses.list; repeatable).
    #[arg(long = "witness", value_name = "URL KEY")]
    pub witnesses: Vec<String>,
    /// How many witnesses must cosign a checkpoint before it is offered (witnesses.quorum).
    #[arg(long)]
    pub witness_quorum: Option<u32>,
    /// Run a demo witness in this process with `<keys>/witness.key` (witnesses.demo).
    #[arg(long)]
    pub demo_witness: bool,
}

#[derive(Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration and print the effective settings (file + environment + flags).
    Check(ServeArgs),
}

/// Defaults < file < environment < flags.
pub fn settings(a: &ServeArgs) -> Result<Settings, CliError> {
    let mut s = Settings::load(a.config.as_deref(), |k| std::env::var(k).ok())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(v) = &a.data {
        s.storage.data_dir = v.clone();
    }
    if let Some(v) = &a.store {
        s.storage.url = v.clone();
    }
    if let Some(v) = &a.keys {
        s.keys.dir = v.clone();
    }
    if let Some(v) = &a.listen {
        s.server.listen = v.clone();
    }
    if let Some(v) = &a.public_url {
        s.server.public_url = v.clone();
    }
    if let Some(v) = &a.metrics_listen {
        s.server.metrics_listen = v.clone();
    }
    if a.demo {
        s.keys.demo = true;
    }
    if let Some(v) = a.max_envelope_bytes {
        s.limits.max_envelope_bytes = v;
    }
    if let Some(v) = &a.web {
        s.server.web_dir = v.clone();
    }
    if let Some(v) = &a.log_format {
        s.log.format = v.clone();
    }
    for w in &a.witnesses {
        if !s.witnesses.list.trim().is_empty() {
            s.witnesses.list.push(',');
        }
        s.witnesses.list.push_str(w);
    }
    if let Some(q) = a.witness_quorum {
        s.witnesses.quorum = q;
    }
    if a.demo_witness {
        s.witnesses.demo = true;
    }
    s.validate().map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(s)
}

/// Whether `server.metrics_listen` was asked for — by flag, environment or configuration file —
/// rather than left at its default. Only an address asked for must be bound for the vault to
/// start.
pub fn metrics_explicit(a: &ServeArgs) -> bool {
    let var = crate::settings::env_name("server", "metrics_listen");
    a.metrics_listen.is_some()
        || std::env::var_os(var).is_some()
        || a.config.as_deref().is_some_and(|path| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.parse::<toml::Table>().ok())
                .is_some_and(|t| {
                    t.get("server")
                        .and_then(|s| s.as_table())
                        .is_some_and(|s| s.contains_key("metrics_listen"))
                })
        })
}

pub fn check(a: ConfigArgs) -> Result<(), CliError> {
    let ConfigCommand::Check(args) = a.command;
    let s = settings(&args)?;
    let text = s.to_toml().map_err(|e| CliError::Usage(e.to_string()))?;
    println!(
        "# effective configuration (no secrets are kept in configuration; keys live in keys.dir)\n{text}"
    );
    eprintln!("ok: the configuration is valid");
    Ok(())
}

pub fn run(a: ServeArgs) -> Result<(), CliError> {
    let s = settings(&a)?;
    super::init_logging(&s.log.format, &s.log.level);
    let config = s
        .serve_config()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Serve(e.to_string()))?;
    rt.block_on(async move {
        let options = crate::http::server::ServeOptions {
            conn: crate::http::conn::ConnLimits {
                header_read_timeout: std::time::Duration::from_secs(
                    s.server.header_read_timeout_secs,
                ),
                max_connections: usize::try_from(s.server.max_connections).unwrap_or(usize::MAX),
                max_connections_per_ip: usize::try_from(s.server.max_connections_per_ip)
                    .unwrap_or(usize::MAX),
            },
            requests: (
                s.limits.requests_per_org_per_minute,
                s.limits.pending_requests_per_customer,
            ),
            metrics_explicit: metrics_explicit(&a),
            clock: crate::clock::Clock::system(),
        };
        let running = crate::http::server::start_with(config, options, shutdown_signal())
            .await
            .map_err(|e| CliError::Serve(e.to_string()))?;
        if let Some(path) = a.addr_file {
            std::fs::write(&path, running.public_url.as_bytes())
                .map_err(|e| CliError::Serve(e.to_string()))?;
        }
        eprintln!("assent: listening on {}", running.public_url);
        running
            .serve
            .await
            .map_err(|e| CliError::Serve(e.to_string()))?
            .map_err(|e| CliError::Serve(e.to_string()))
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
