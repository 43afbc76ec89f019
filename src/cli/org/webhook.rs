//! `assent org webhook …`: the organization's endpoints, their messages, and an offline check
//! of a delivery against the pinned vault key.

use super::{CliError, OrgArgs, print_json};
use crate::client::webhook::{self, Delivery};
use crate::domain::webhook::DeliveryState;
use clap::Subcommand;
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Register an https:// endpoint (it hears of acts from now on).
    Add {
        url: String,
        /// Comma-separated kinds (default: all): request.approved, request.declined,
        /// grant.revoked, grant.expired, envelope.updated, erasure.requested.
        #[arg(long, default_value = "")]
        kinds: String,
    },
    /// List the endpoints.
    List,
    /// Remove an endpoint and the messages still addressed to it.
    Remove { id: String },
    /// Messages waiting for delivery (`--state scheduled`: grant expiries waiting for their
    /// time; `--state dead`: the ones given up).
    Deliveries {
        #[arg(long, default_value = "pending")]
        state: String,
    },
    /// Queue a dead letter again.
    Retry { id: String },
    /// Print the vault's key as Standard Webhooks libraries take it (`whpk_…`), from the
    /// pinned key.
    Key,
    /// Check a delivery offline: the `v1a` signature by the pinned vault key (or --vault-key,
    /// as `whpk_…` or the vault's verifier key) over webhook-id.webhook-timestamp.body, and the
    /// timestamp within 5 minutes of now (--any-time for a delivery captured earlier). Prints
    /// the message; exits non-zero if the check fails.
    Verify {
        /// The `webhook-id` header.
        #[arg(long)]
        id: String,
        /// The `webhook-timestamp` header.
        #[arg(long)]
        timestamp: String,
        /// The `webhook-signature` header.
        #[arg(long)]
        signature: String,
        /// The raw body as received (`-`: standard input).
        #[arg(long)]
        body: PathBuf,
        /// Skip the timestamp check.
        #[arg(long)]
        any_time: bool,
    },
}

pub fn run(a: &OrgArgs, command: &WebhookCommand) -> Result<(), CliError> {
    match command {
        WebhookCommand::Add { url, kinds } => {
            let (c, _) = a.connect()?;
            let added = c.add_webhook(url, &super::split_list(kinds))?;
            eprintln!(
                "{} will be told of {} (from ledger index {}); verify deliveries with `{}`",
                added.url,
                added
                    .kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                added.from_index,
                webhook::public_key_text(&c.trust.verifier.public)
            );
            print_json(&added)
        }
        WebhookCommand::List => print_json(&a.connect()?.0.webhooks()?),
        WebhookCommand::Remove { id } => {
            a.connect()?.0.remove_webhook(id)?;
            print_json(&json!({ "webhook_id": id, "removed": true }))
        }
        WebhookCommand::Deliveries { state } => {
            let state: DeliveryState = serde_json::from_value(json!(state))
                .map_err(|_| CliError::Usage("--state is pending, scheduled or dead".into()))?;
            print_json(&a.connect()?.0.webhook_deliveries(state)?)
        }
        WebhookCommand::Retry { id } => print_json(&a.connect()?.0.retry_webhook(id)?),
        WebhookCommand::Key => {
            let key = pinned_key(a)?;
            println!("{}", webhook::public_key_text(&key));
            Ok(())
        }
        WebhookCommand::Verify {
            id,
            timestamp,
            signature,
            body,
            any_time,
        } => {
            let key = pinned_key(a)?;
            let read = if body.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).map(|_| b)
            } else {
                std::fs::read(body)
            };
            let body = read.map_err(|e| CliError::Usage(format!("{}: {e}", body.display())))?;
            let now = (!any_time).then(|| crate::clock::now().unix());
            let d = Delivery {
                id,
                timestamp,
                signature,
                body: &body,
            };
            let message = webhook::verify(&key, &d, now)?;
            eprintln!("ok: signed by the vault key; {} {}", message.kind, id);
            print_json(&message)
        }
    }
}

/// The vault key given (`--vault-key`), else the one pinned in the organization's state file
/// (offline).
fn pinned_key(a: &OrgArgs) -> Result<[u8; 32], CliError> {
    let state = a.load_state()?;
    let text = a.vault_key.clone().or(state.vault_key).ok_or_else(|| {
        CliError::Usage(format!(
            "no vault key pinned in {} yet: pass --vault-key, or run any `assent org` command \
                 against the vault first",
            a.state_path().display()
        ))
    })?;
    Ok(webhook::parse_public_key(&text)?)
}
