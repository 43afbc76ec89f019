//! `assent witness`: generate a witness key, and run a witness (C2SP tlog-witness) for the
//! vault logs it is given.

use super::CliError;
use crate::config::{WitnessKeyFile, write_json};
use crate::crypto::b64;
use crate::crypto::keys::generate_signing_key;
use crate::ledger::cosignature::COSIGNATURE_TYPE;
use crate::ledger::note;
use crate::witness::Witness;
use crate::witness::protocol::Log;
use crate::witness::state::WitnessState;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The witness key file and its public half (the verifier key clients put in their policy).
pub const WITNESS_KEY_FILE: &str = "witness.key";
pub const WITNESS_PUBLIC_FILE: &str = "witness.pub";

#[derive(Args)]
pub struct WitnessArgs {
    #[command(subcommand)]
    pub command: WitnessCommand,
}

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Generate a witness key: witness.key (keep it on the witness) and witness.pub.
    Keygen {
        /// Directory to write the files into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The witness's name in cosignatures, e.g. witness.example.org.
        #[arg(long)]
        name: String,
        /// Mark the key as a demo key.
        #[arg(long)]
        demo: bool,
        /// Overwrite an existing key.
        #[arg(long)]
        force: bool,
    },
    /// Run a witness.
    Serve(ServeWitness),
}

#[derive(Args, Clone)]
pub struct ServeWitness {
    /// The witness key file (from `assent witness keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// The witness's state (a redb file, created if missing): per log, the last cosigned
    /// size and root.
    #[arg(long)]
    pub state: PathBuf,
    /// The rollback seal (default: the state path with `.seal`); keep it on other storage.
    #[arg(long)]
    pub seal: Option<PathBuf>,
    /// A vault log to witness, as its checkpoint verifier key (`name+keyid+base64`, from
    /// `GET /v1/ledger/key`); the origin is the key's name. Repeat for several logs.
    #[arg(long = "log", required = true)]
    pub logs: Vec<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// Write the bound URL to this file once listening.
    #[arg(long)]
    pub addr_file: Option<PathBuf>,
}

pub fn run(a: WitnessArgs) -> Result<(), CliError> {
    match a.command {
        WitnessCommand::Keygen {
            out,
            name,
            demo,
            force,
        } => keygen(&out, &name, demo, force),
        WitnessCommand::Serve(s) => {
            super::init_logging("human", "info");
            let rt = tokio::runtime::Runtime::new().map_err(|e| CliError::Serve(e.to_string()))?;
            rt.block_on(async {
                let (url, served) = start(&s).await?;
                eprintln!("assent witness: listening on {url}");
                served
                    .await
                    .map_err(|e| CliError::Serve(e.to_string()))?
                    .map_err(|e| CliError::Serve(e.to_string()))
            })
        }
    }
}

fn keygen(out: &Path, name: &str, demo: bool, force: bool) -> Result<(), CliError> {
    let path = out.join(WITNESS_KEY_FILE);
    if path.exists() && !force {
        return Err(CliError::Usage(format!(
            "{} exists; pass --force to replace it",
            path.display()
        )));
    }
    if !note::is_valid_name(name) {
        return Err(CliError::Usage(
            "the name must be non-empty, without spaces or `+`".into(),
        ));
    }
    let key = generate_signing_key();
    write_json(
        &path,
        &WitnessKeyFile {
            kind: "assent/witness-key".into(),
            demo,
            name: name.to_owned(),
            ed25519_seed: b64::encode(&key.to_bytes()),
        },
    )?;
    let vkey = note::typed_verifier_key(name, COSIGNATURE_TYPE, &key.verifying_key().to_bytes());
    std::fs::write(out.join(WITNESS_PUBLIC_FILE), format!("{vkey}\n"))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    eprintln!(
        "wrote {}; its verifier key (for clients' witness policies): {vkey}",
        path.display()
    );
    Ok(())
}

/// Loads the key and state and builds the witness (refuses a rolled-back state).
pub fn build(
    key: &Path,
    state: &Path,
    seal: Option<&Path>,
    logs: &[String],
) -> Result<Witness, CliError> {
    let (file, signing) = WitnessKeyFile::load(key)?;
    let mut parsed = Vec::new();
    for l in logs {
        let v = note::parse_verifier_key(l.trim())
            .map_err(|e| CliError::Usage(format!("--log {l}: {e}")))?;
        parsed.push(Log {
            origin: v.name.clone(),
            keys: vec![v],
        });
    }
    let state = WitnessState::open(state, seal).map_err(|e| CliError::Serve(e.to_string()))?;
    Ok(Witness::new(
        file.name.clone(),
        signing,
        parsed,
        state,
        crate::clock::Clock::system(),
    ))
}

/// Binds the listener and serves the witness until the future is dropped; returns its URL.
pub async fn start(
    s: &ServeWitness,
) -> Result<(String, tokio::task::JoinHandle<std::io::Result<()>>), CliError> {
    let witness = Arc::new(build(&s.key, &s.state, s.seal.as_deref(), &s.logs)?);
    crate::witness::serve(witness, &s.listen, s.addr_file.as_deref())
        .await
        .map_err(CliError::Serve)
}
