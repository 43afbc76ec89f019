//! `assent org`: the organization's client, with its own key file.

use super::{CliError, print_json, split_list};
use crate::client::Api;
use crate::client::org::{Ask, OrgClient};
use crate::client::parse_duration;
use crate::client::verify::{self, Trust};
use crate::config::{OrgKeys, write_json};
use crate::crypto::b64;
use crate::crypto::keys::{X25519Secret, generate_signing_key};
use crate::crypto::sign::{fingerprint, fingerprint_words, sign_org_key};
use crate::domain::ids::OrgId;
use crate::ledger::cosignature::WitnessPolicy;
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;

mod webhook;

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
    /// What this organization pinned (vault key, witness policy, last checkpoint, highest
    /// org_seq, earlier keys); default: the key file's path with `.state.json` appended.
    #[arg(long, env = "ASSENT_ORG_STATE", global = true)]
    pub state: Option<PathBuf>,
    /// Pin this vault key (C2SP verifier form) instead of trusting the first one seen.
    #[arg(long, env = "ASSENT_VAULT_KEY", global = true)]
    pub vault_key: Option<String>,
    /// The witness policy to pin instead of trusting the one the vault serves first; once
    /// pinned (in the state file) it must be the same. Every checkpoint must then carry the
    /// quorum of these witnesses' cosignatures.
    #[arg(long, env = "ASSENT_WITNESS_POLICY", global = true)]
    pub witness_policy: Option<PathBuf>,
    #[command(subcommand)]
    pub command: OrgCommand,
}

/// The organization's pins, kept beside its key file.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct OrgState {
    vault_key: Option<String>,
    /// The pinned witness policy (text form); a state file without one pins on next use.
    #[serde(default)]
    witness_policy: Option<String>,
    last_checkpoint: Option<String>,
    #[serde(default)]
    last_seq: u64,
    /// Public halves of this organization's earlier keys (identity, encryption), base64url:
    /// key events naming them are its own.
    #[serde(default)]
    previous_keys: Vec<(String, String)>,
}

impl OrgArgs {
    fn state_path(&self) -> PathBuf {
        self.state.clone().unwrap_or_else(|| {
            let mut p = self.key.clone().into_os_string();
            p.push(".state.json");
            PathBuf::from(p)
        })
    }

    fn load_state(&self) -> Result<OrgState, CliError> {
        let path = self.state_path();
        if !path.exists() {
            return Ok(OrgState::default());
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
    }

    /// The witness policy to hold the vault to: the state file's pin (a `--witness-policy`
    /// given must be the same), else the flag's, else `None` (the vault's, on first use).
    fn witnesses(&self, state: &OrgState) -> Result<Option<WitnessPolicy>, CliError> {
        let given = self
            .witness_policy
            .as_deref()
            .map(verify::policy_file)
            .transpose()?;
        let Some(text) = &state.witness_policy else {
            return Ok(given);
        };
        let pinned = verify::parse_policy(text, &self.state_path().display().to_string())?;
        if let Some(given) = given
            && !verify::same_policy(&pinned, &given)
        {
            return Err(CliError::Usage(format!(
                "{} pins another witness policy ({}) than the one given ({}); the pin does not move",
                self.state_path().display(),
                verify::describe(&pinned),
                verify::describe(&given)
            )));
        }
        Ok(Some(pinned))
    }

    /// Connects with the pinned vault key (the flag, else the state file, else the first one
    /// seen, which is then pinned) and the pinned witness policy ([`OrgArgs::witnesses`], else
    /// the vault's on first use, which is then pinned).
    fn connect(&self) -> Result<(OrgClient, OrgState), CliError> {
        let state = self.load_state()?;
        let api = Api::new(&self.server)?;
        let key = match self.vault_key.as_ref().or(state.vault_key.as_ref()) {
            Some(k) => k.clone(),
            None => api.get_text("/v1/ledger/key")?,
        };
        let witnesses = match self.witnesses(&state)? {
            Some(p) => p,
            None => verify::served_policy(&api)?,
        };
        let trust = Trust::new(
            &key,
            witnesses,
            state.last_checkpoint.clone(),
            state.last_seq,
        )?;
        let c = OrgClient::connect_pinned(&self.server, OrgKeys::load(&self.key)?, Some(trust))?;
        if state.vault_key.is_none() || state.witness_policy.is_none() {
            // Keep the key pinned on first use, whatever this command does next.
            self.save_state(&c, &state)?;
        }
        Ok((c, state))
    }

    fn save_state(&self, c: &OrgClient, state: &OrgState) -> Result<(), CliError> {
        let state = OrgState {
            vault_key: Some(c.trust.verifier.to_key_string()),
            witness_policy: Some(c.trust.witnesses.to_text()),
            last_checkpoint: c.trust.last_checkpoint.clone(),
            last_seq: c.trust.last_seq,
            previous_keys: state.previous_keys.clone(),
        };
        Ok(write_json(&self.state_path(), &state)?)
    }
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
        /// Comma-separated purposes (among --purposes) your service cannot do without: the
        /// customer keeps them or declines; the other purposes are the customer's choice.
        #[arg(long, default_value = "")]
        required_purposes: String,
        /// How long, e.g. 30d, 12h.
        #[arg(long, default_value = "30d")]
        duration: String,
        /// Why, in words the customer will read.
        #[arg(long)]
        justification: String,
    },
    /// List this organization's requests and their status; with a request id, that request
    /// and what the customer granted (`granted`: labels, purposes, until when, read cap).
    Requests { request_id: Option<String> },
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
    /// Check this organization's ledger: signed by the pinned vault key, consistent with the
    /// last check, complete (org_seq 1, 2, 3, …), and every key event under its id one it made.
    /// Exits non-zero naming the event otherwise.
    Monitor,
    /// Replace this organization's keys: writes a new key file and logs the change, signed by
    /// the current identity key. Customers approve again for the new keys.
    RotateKeys {
        /// Where to write the new key file (the old one is left in place).
        #[arg(long)]
        out: PathBuf,
    },
    /// Compare the pinned witness policy with the vault's; with --accept, pin the vault's (or
    /// the one given with --witness-policy). A pinned policy never changes otherwise.
    WitnessPolicy {
        #[arg(long)]
        accept: bool,
    },
    /// Erasure requests customers made to this organization, with deadlines and answers.
    Erasures,
    /// Answer an erasure request, signed with the identity key: --erased, or --refused with
    /// the legal reason. Logged in the customer's ledger.
    AnswerErasure {
        grant_id: String,
        #[arg(long, conflicts_with = "refused")]
        erased: bool,
        /// The legal reason for keeping the data (e.g. a retention duty).
        #[arg(long)]
        refused: Option<String>,
    },
    /// Webhooks: endpoints told of approvals, declines, revocations, expiries, new versions
    /// and erasure requests (Standard Webhooks, signed by the vault key).
    Webhook {
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
}

pub fn run(a: OrgArgs) -> Result<(), CliError> {
    match &a.command {
        OrgCommand::Keygen {
            id,
            name,
            out,
            demo,
        } => {
            OrgId::parse(id)?;
            if out.exists() {
                return Err(CliError::Usage(format!("{} exists", out.display())));
            }
            let keys = OrgKeys {
                demo: *demo,
                org_id: id.clone(),
                name: name.clone(),
                identity: generate_signing_key(),
                encryption: X25519Secret::generate(),
            };
            write_json(out, &keys.to_file())?;
            eprintln!(
                "wrote {}; give the operator the output of `assent org show --key {0}`",
                out.display()
            );
            show(&keys)
        }
        OrgCommand::Show => show(&OrgKeys::load(&a.key)?),
        OrgCommand::WitnessPolicy { accept } => witness_policy(&a, *accept),
        OrgCommand::Webhook { command } => webhook::run(&a, command),
        OrgCommand::Erasures => print_json(&a.connect()?.0.erasure_requests()?),
        OrgCommand::AnswerErasure {
            grant_id,
            erased,
            refused,
        } => {
            use crate::domain::erasure::ErasureOutcome;
            let (outcome, reason) = match (erased, refused) {
                (true, None) => (ErasureOutcome::Erased, None),
                (false, Some(r)) => (ErasureOutcome::Refused, Some(r.as_str())),
                _ => {
                    return Err(CliError::Usage(
                        "answer --erased, or --refused \"the legal reason\"".into(),
                    ));
                }
            };
            let answered = a.connect()?.0.answer_erasure(grant_id, outcome, reason)?;
            eprintln!(
                "answered; logged at ledger index {} in the customer's ledger",
                answered.ledger.index
            );
            print_json(&answered)
        }
        OrgCommand::Token => {
            let (c, _) = a.connect()?;
            eprintln!("authenticated as {}", c.keys.org_id);
            print_json(&json!({ "access_token": c.api.token() }))
        }
        OrgCommand::Request {
            customer,
            labels,
            purposes,
            required_purposes,
            duration,
            justification,
        } => {
            let (c, _) = a.connect()?;
            let answer = c.request(&Ask {
                customer,
                labels: &split_list(labels),
                purposes: &split_list(purposes),
                required_purposes: &split_list(required_purposes),
                duration_secs: parse_duration(duration)?,
                justification,
            })?;
            eprintln!(
                "request {} is waiting for the customer",
                answer["request_id"]
            );
            print_json(&answer)
        }
        OrgCommand::Requests { request_id: None } => print_json(&a.connect()?.0.requests()?),
        OrgCommand::Requests {
            request_id: Some(id),
        } => print_json(&a.connect()?.0.request_status(id)?),
        OrgCommand::Read {
            customer,
            label,
            purpose,
            out,
        } => {
            let (c, state) = a.connect()?;
            let (r, plain) = c.read(customer, label, purpose)?;
            a.save_state(&c, &state)?;
            eprintln!(
                "read {} version {} under grant {}; logged at ledger index {}",
                r.label, r.version, r.grant_id, r.ledger.index
            );
            super::write_contents(&r.content_type, &plain, out.as_deref())
        }
        OrgCommand::Ledger => print_json(&a.connect()?.0.ledger()?),
        OrgCommand::Monitor => {
            let (mut c, state) = a.connect()?;
            let known = state
                .previous_keys
                .iter()
                .map(|(i, e)| {
                    Ok((
                        b64::decode_array(i, "identity_key")?,
                        b64::decode_array(e, "encryption_key")?,
                    ))
                })
                .collect::<Result<Vec<_>, crate::crypto::CryptoError>>()
                .map_err(|e| CliError::Usage(format!("{}: {e}", a.state_path().display())))?;
            let m = c
                .monitor(&known)
                .map_err(|e| CliError::Usage(format!("MONITOR FAILED: {e}")))?;
            a.save_state(&c, &state)?;
            eprintln!(
                "ok: {} of your entries (org_seq 1–{}) included in a checkpoint of {}; {} key event(s), all yours",
                m.entries, m.last_seq, m.size, m.key_events
            );
            print_json(&json!({
                "size": m.size,
                "entries": m.entries,
                "last_seq": m.last_seq,
                "key_events": m.key_events,
            }))
        }
        OrgCommand::RotateKeys { out } => {
            if out.exists() {
                return Err(CliError::Usage(format!("{} exists", out.display())));
            }
            let (c, mut state) = a.connect()?;
            let new = OrgKeys {
                demo: c.keys.demo,
                org_id: c.keys.org_id.clone(),
                name: c.keys.name.clone(),
                identity: generate_signing_key(),
                encryption: X25519Secret::generate(),
            };
            let answer = c.change_keys(&new)?;
            write_json(out, &new.to_file())?;
            state.previous_keys.push((
                b64::encode(&c.keys.identity.verifying_key().to_bytes()),
                b64::encode(&c.keys.encryption.public()),
            ));
            a.save_state(&c, &state)?;
            eprintln!(
                "new keys in {} (key_seq {}); use --key {0} from now on, and publish the new \
                 words for customers to compare: {}",
                out.display(),
                answer["key_seq"],
                fingerprint_words(&new.identity.verifying_key().to_bytes())
            );
            print_json(&answer)
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
        // What customers compare: publish these words where they know it is you.
        "words": fingerprint_words(&id),
    }))
}

/// `org witness-policy [--accept]`: the only way the state file's pinned policy moves, by the
/// organization's choice; the verified history must still extend (the next check proves it).
fn witness_policy(a: &OrgArgs, accept: bool) -> Result<(), CliError> {
    let mut state = a.load_state()?;
    let served = verify::served_policy(&Api::new(&a.server)?)?;
    let pinned = state
        .witness_policy
        .as_deref()
        .map(|t| verify::parse_policy(t, &a.state_path().display().to_string()))
        .transpose()?;
    let next = match &a.witness_policy {
        Some(file) => verify::policy_file(file)?,
        None => served.clone(),
    };
    let same = pinned
        .as_ref()
        .is_some_and(|p| verify::same_policy(p, &served));
    if accept {
        if !verify::same_policy(&next, &served) {
            return Err(CliError::Usage(format!(
                "the vault serves {}, not the policy given ({}): its checkpoints would be refused",
                verify::describe(&served),
                verify::describe(&next)
            )));
        }
        state.witness_policy = Some(next.to_text());
        write_json(&a.state_path(), &state)?;
        eprintln!("pinned: {}", verify::describe(&next));
    }
    print_json(&json!({
        "pinned": pinned.as_ref().map(verify::describe),
        "served": verify::describe(&served),
        "same": same,
    }))
}
