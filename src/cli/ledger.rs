//! `assent ledger`: verification anyone can run against a vault, and the operator's offline audit.

use super::{CliError, print_json};
use crate::client::Api;
use crate::client::verify::{
    VerifyFailure, check_checkpoint, check_witnessed, pinned, policy_file,
};
use crate::config::VaultKeys;
use crate::crypto::b64;
use crate::ledger::cosignature::WitnessPolicy;
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub command: LedgerCommand,
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Fetch the vault's checkpoint, check its signature against a pinned key, its witness
    /// cosignatures against --witness-policy, and its consistency with the last checkpoint seen
    /// (kept in --state).
    Verify {
        #[arg(long, env = "ASSENT_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// The vault's verifier key (`name+keyid+base64`), as published by the operator.
        #[arg(long, env = "ASSENT_VAULT_KEY", allow_hyphen_values = true)]
        vault_key: String,
        /// Where the last verified checkpoint is kept between runs.
        #[arg(long, default_value = "assent-checkpoint.txt")]
        state: PathBuf,
        /// The witness policy (`witness <key>` lines and `quorum <k>`) the checkpoint must
        /// satisfy. Without it, a vault showing you a history others do not see (a split view)
        /// is not detected.
        #[arg(long, env = "ASSENT_WITNESS_POLICY")]
        witness_policy: Option<PathBuf>,
    },
    /// Offline: recompute the whole tree from the stored events and check every stored node
    /// and signed checkpoint. The vault must be stopped (redb); on PostgreSQL (`--store`) the
    /// nodes may keep serving: one snapshot is audited.
    Audit {
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Audit this PostgreSQL database instead of the redb file in `--data`.
        #[arg(long, value_name = "URL", env = "ASSENT_STORAGE_URL")]
        store: Option<String>,
        /// The key directory (for the vault's public key and name).
        #[arg(long, default_value = "keys-example")]
        keys: PathBuf,
    },
}

pub fn run(a: LedgerArgs) -> Result<(), CliError> {
    match a.command {
        LedgerCommand::Verify {
            server,
            vault_key,
            state,
            witness_policy,
        } => {
            let verifier = pinned(&vault_key)?;
            let witnesses = match &witness_policy {
                Some(f) => policy_file(f)?,
                None => {
                    eprintln!(
                        "note: no witness policy given (--witness-policy): the checkpoint's \
                         cosignatures are not checked, so a vault showing you a different \
                         history than others see (a split view) would not be detected"
                    );
                    WitnessPolicy::default()
                }
            };
            let api = Api::new(&server)?;
            let note = api.get_text("/v1/ledger/checkpoint")?;
            let last = std::fs::read_to_string(&state).ok();
            let failed = |e: VerifyFailure| CliError::Usage(format!("VERIFICATION FAILED: {e}"));
            // The served note: pinned key, then the policy's quorum, then consistency.
            let (cp, consistent) =
                check_checkpoint(&api, &verifier, &witnesses, &note, last.as_deref())
                    .map_err(failed)?;
            let cosigned = check_witnessed(&witnesses, &note).map_err(failed)?;
            std::fs::write(&state, &note)
                .map_err(|e| CliError::Usage(format!("{}: {e}", state.display())))?;
            eprintln!(
                "ok: checkpoint of {} entries signed by {}{}{}",
                cp.size,
                verifier.name,
                if cosigned.is_empty() {
                    String::new()
                } else {
                    format!(" and cosigned by {}", cosigned.join(", "))
                },
                consistent.map_or(
                    String::from(" (first run: nothing to compare with yet)"),
                    |s| format!(", consistent with the last one seen ({s})")
                )
            );
            print_json(&json!({
                "size": cp.size,
                "root": b64::encode(&cp.root),
                "consistent_with": consistent,
                "cosigned_by": cosigned,
            }))
        }
        LedgerCommand::Audit { data, store, keys } => {
            let keys = VaultKeys::load(&keys)?;
            let verifiers = keys.verifiers()?;
            let report = match store {
                Some(url) => crate::store::audit::audit_postgres(
                    &url,
                    &data.join("staging"),
                    &keys.name,
                    &verifiers,
                ),
                None => crate::store::audit::audit_with(&data, &keys.name, &verifiers),
            }
            .map_err(|e| CliError::Usage(format!("AUDIT FAILED: {e}")))?;
            eprintln!(
                "ok: {} entries, {} tree nodes and {} signed checkpoints match the recomputed tree",
                report.size, report.nodes_checked, report.checkpoints_checked
            );
            print_json(&json!({
                "size": report.size,
                "root": b64::encode(&report.root),
                "nodes_checked": report.nodes_checked,
                "checkpoints_checked": report.checkpoints_checked,
            }))
        }
    }
}
