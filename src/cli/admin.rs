//! `assent admin`: operator tasks, authenticated by a short-lived token signed with admin.key.

use super::{CliError, print_json};
use crate::client::Api;
use crate::config::{OrgKeys, load_admin_key};
use crate::crypto::b64;
use crate::crypto::sign::sign_org_key;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Args)]
pub struct AdminArgs {
    #[arg(
        long,
        env = "ASSENT_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// The operator's admin key file.
    #[arg(
        long,
        env = "ASSENT_ADMIN_KEY",
        default_value = "keys-example/admin.key",
        global = true
    )]
    pub admin_key: PathBuf,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Register an organization: its identity key, its encryption key and the identity key's
    /// signature over the encryption key (as printed by `assent org show`).
    Add {
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Ed25519 identity public key, base64url.
        #[arg(long, allow_hyphen_values = true)]
        identity_key: Option<String>,
        /// X25519 encryption public key, base64url.
        #[arg(long, allow_hyphen_values = true)]
        encryption_key: Option<String>,
        /// Identity signature over `assent/v1/org-key\n` ‖ encryption key, base64url.
        #[arg(long, allow_hyphen_values = true)]
        key_signature: Option<String>,
        /// Take all of the above from an organization key file instead (demo convenience).
        #[arg(long, conflicts_with_all = ["id", "name", "identity_key", "encryption_key", "key_signature"])]
        from_key_file: Option<PathBuf>,
        /// The controller details consent receipts state, a JSON file: {"legal_name", "address":
        /// {"street_address", "locality", "region"?, "postal_code"?, "country"}, "email",
        /// "phone" (E.164), "privacy_policy_url" (https), "jurisdiction" (ISO 3166-1 alpha-2 or
        /// EU)}. Optional only with the demo organization's key file (demo details are used).
        #[arg(long)]
        controller: Option<PathBuf>,
    },
    /// Set or replace an organization's controller details (for one registered before they
    /// existed, or when they change).
    SetController {
        #[arg(long)]
        id: String,
        /// The controller details, a JSON file (see `add --help`).
        #[arg(long)]
        controller: PathBuf,
    },
}

pub fn run(a: AdminArgs) -> Result<(), CliError> {
    let key = load_admin_key(&a.admin_key)?;
    let token = crate::tokens::mint_admin(&key, crate::clock::now().unix())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let api = Api::new(&a.server)?.with_token(token);
    match a.command {
        AdminCommand::Org {
            command:
                OrgCommand::Add {
                    id,
                    name,
                    identity_key,
                    encryption_key,
                    key_signature,
                    from_key_file,
                    controller,
                },
        } => {
            let mut demo = false;
            let mut body = match from_key_file {
                Some(path) => {
                    let org = OrgKeys::load(&path)?;
                    demo = org.demo;
                    let x = org.encryption.public();
                    json!({
                        "org_id": org.org_id, "name": org.name,
                        "ed25519_public": b64::encode(&org.identity.verifying_key().to_bytes()),
                        "x25519_public": b64::encode(&x),
                        "key_signature": b64::encode(&sign_org_key(&org.identity, &x)),
                    })
                }
                None => {
                    let need = |v: Option<String>, flag: &str| {
                        v.ok_or_else(|| CliError::Usage(format!("--{flag} is required")))
                    };
                    json!({
                        "org_id": need(id, "id")?, "name": need(name, "name")?,
                        "ed25519_public": need(identity_key, "identity-key")?,
                        "x25519_public": need(encryption_key, "encryption-key")?,
                        "key_signature": need(key_signature, "key-signature")?,
                    })
                }
            };
            body["controller"] = match controller {
                Some(path) => read_controller(&path)?,
                None if demo => json!(crate::config::demo_controller()),
                None => {
                    return Err(CliError::Usage(
                        "--controller FILE is required: the organization's controller details \
                         (see `assent admin org add --help`)"
                            .into(),
                    ));
                }
            };
            let answer: Value = api.post("/v1/admin/orgs", &body)?;
            eprintln!(
                "registered {} (identity fingerprint {})",
                answer["org_id"], answer["fingerprint"]
            );
            print_json(&answer)
        }
        AdminCommand::Org {
            command: OrgCommand::SetController { id, controller },
        } => {
            let id = crate::domain::ids::OrgId::parse(&id)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let answer: Value = api.put(
                &format!("/v1/admin/orgs/{id}/controller"),
                &read_controller(&controller)?,
            )?;
            print_json(&answer)
        }
    }
}

fn read_controller(path: &std::path::Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str::<Value>(&text)
        .map_err(|e| CliError::Usage(format!("{} is not JSON: {e}", path.display())))
}
