//! `assent org`: the organization's client, with its own key file.

use super::{CliError, print_json, split_list};
use crate::client::org::OrgClient;
use crate::client::parse_duration;
use crate::config::{OrgKeys, write_json};
use crate::crypto::b64;
use crate::crypto::keys::{X25519Secret, generate_signing_key};
use crate::crypto::sign::{fingerprint, sign_org_key};
use crate::domain::ids::OrgId;
use clap::{Args, Subcommand};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct OrgArgs {
    #[arg(
        long,
        env = "ASSENT_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// The organization's key file.
    #[arg(
        long,
        env = "ASSENT_ORG_KEY",
        default_value = "keys-example/demo-org.key",
        global = true
    )]
    pub key: PathBuf,
    #[command(subcommand)]
    pub command: OrgCommand,
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create an organization key file (identity Ed25519 + encryption X25519).
    Keygen {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        demo: bool,
    },
    /// Print the public half to give the operator (`assent admin org add`).
    Show,
    /// Get an access token (client credentials with private_key_jwt) and print it.
    Token,
    /// Ask a customer for access.
    Request {
        /// The customer's id (cus_…) or handle.
        #[arg(long)]
        customer: String,
        /// Comma-separated labels, e.g. email,postal_address.
        #[arg(long)]
        labels: String,
        /// Comma-separated DPV purposes, e.g. dpv:IdentityVerification.
        #[arg(long)]
        purposes: String,
        /// How long, e.g. 30d, 12h.
        #[arg(long, default_value = "30d")]
        duration: String,
        /// Why, in words the customer will read.
        #[arg(long)]
        justification: String,
    },
    /// List this organization's requests and their status.
    Requests,
    /// Read and decrypt a customer's envelope.
    Read {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        label: String,
        #[arg(long)]
        purpose: String,
        /// Write the plaintext here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// This organization's entries in the ledger.
    Ledger,
}

pub fn run(a: OrgArgs) -> Result<(), CliError> {
    match a.command {
        OrgCommand::Keygen {
            id,
            name,
            out,
            demo,
        } => {
            OrgId::parse(&id)?;
            if out.exists() {
                return Err(CliError::Usage(format!("{} exists", out.display())));
            }
            let keys = OrgKeys {
                demo,
                org_id: id,
                name,
                identity: generate_signing_key(),
                encryption: X25519Secret::generate(),
            };
            write_json(&out, &keys.to_file())?;
            eprintln!(
                "wrote {}; give the operator the output of `assent org show --key {0}`",
                out.display()
            );
            show(&keys)
        }
        OrgCommand::Show => show(&OrgKeys::load(&a.key)?),
        OrgCommand::Token => {
            let c = OrgClient::connect(&a.server, OrgKeys::load(&a.key)?)?;
            eprintln!("authenticated as {}", c.keys.org_id);
            print_json(&json!({ "access_token": c.api.token() }))
        }
        OrgCommand::Request {
            customer,
            labels,
            purposes,
            duration,
            justification,
        } => {
            let c = OrgClient::connect(&a.server, OrgKeys::load(&a.key)?)?;
            let answer = c.request(
                &customer,
                &split_list(&labels),
                &split_list(&purposes),
                parse_duration(&duration)?,
                &justification,
            )?;
            eprintln!(
                "request {} is waiting for the customer",
                answer["request_id"]
            );
            print_json(&answer)
        }
        OrgCommand::Requests => {
            print_json(&OrgClient::connect(&a.server, OrgKeys::load(&a.key)?)?.requests()?)
        }
        OrgCommand::Read {
            customer,
            label,
            purpose,
            out,
        } => {
            let c = OrgClient::connect(&a.server, OrgKeys::load(&a.key)?)?;
            let (r, plain) = c.read(&customer, &label, &purpose)?;
            eprintln!(
                "read {} v{} ({}) under grant {}; logged at ledger index {}",
                r.label, r.version, r.content_type, r.grant_id, r.ledger.index
            );
            match out {
                Some(path) => {
                    std::fs::write(&path, &plain[..]).map_err(|e| CliError::Usage(e.to_string()))
                }
                None => {
                    let mut so = std::io::stdout();
                    so.write_all(&plain)
                        .and_then(|()| so.flush())
                        .map_err(|e| CliError::Usage(e.to_string()))
                }
            }
        }
        OrgCommand::Ledger => {
            print_json(&OrgClient::connect(&a.server, OrgKeys::load(&a.key)?)?.ledger()?)
        }
    }
}

fn show(keys: &OrgKeys) -> Result<(), CliError> {
    let x = keys.encryption.public();
    let id = keys.identity.verifying_key().to_bytes();
    print_json(&json!({
        "org_id": keys.org_id,
        "name": keys.name,
        "identity_key": b64::encode(&id),
        "encryption_key": b64::encode(&x),
        "key_signature": b64::encode(&sign_org_key(&keys.identity, &x)),
        "fingerprint": fingerprint(&id),
    }))
}
