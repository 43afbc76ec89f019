//! `assent serve`.

use super::CliError;
use crate::config::ServeConfig;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// Directory of the redb database.
    #[arg(long, env = "ASSENT_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Directory with vault.key and admin.pub.
    #[arg(long, env = "ASSENT_KEYS", default_value = "keys-example")]
    pub keys: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ASSENT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL (token issuer, client-assertion audience). Default: http://<listen address>.
    #[arg(long, env = "ASSENT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Accept the published demo keys and register the demo organization.
    #[arg(long)]
    pub demo: bool,
    /// Largest envelope ciphertext in bytes.
    #[arg(long, env = "ASSENT_MAX_ENVELOPE_BYTES", default_value_t = 1 << 20)]
    pub max_envelope_bytes: usize,
    /// Directory of the dashboard's static files.
    #[arg(long, env = "ASSENT_WEB", default_value = "web")]
    pub web: PathBuf,
    /// Jurisdiction named in consent receipts.
    #[arg(long, env = "ASSENT_JURISDICTION", default_value = "EU")]
    pub jurisdiction: String,
    /// Write the bound address to this file once listening (for scripts and tests).
    #[arg(long)]
    pub addr_file: Option<PathBuf>,
}

pub fn run(a: ServeArgs) -> Result<(), CliError> {
    let config = ServeConfig {
        data_dir: a.data,
        keys_dir: a.keys,
        listen: a.listen,
        public_url: a.public_url,
        demo: a.demo,
        max_envelope_bytes: a.max_envelope_bytes,
        web_dir: a.web,
        jurisdiction: a.jurisdiction,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Serve(e.to_string()))?;
    rt.block_on(async move {
        let running = crate::http::server::start(config, shutdown_signal())
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
    tracing::info!("shutting down");
}
