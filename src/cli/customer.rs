//! `assent customer`: the customer's device on the command line.

use super::{CliError, print_json, split_list};
use crate::client::customer::{self as device, Choice, Device, KdfCost, OrgCheck};
use crate::client::parse_duration;
use crate::client::profile::Profile;
use crate::client::verify;
use crate::crypto::bundle::{DEFAULT_M_KIB, DEFAULT_P, DEFAULT_T};
use crate::domain::catalog::{Label, Purpose};
use crate::domain::erasure::ErasureState;
use crate::domain::ids::{GrantId, RequestId};
use crate::domain::named_file;
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Args)]
pub struct CustomerArgs {
    /// The profile file (created by `signup`).
    #[arg(
        long,
        env = "ASSENT_PROFILE",
        default_value = "assent-profile.json",
        global = true
    )]
    pub profile: PathBuf,
    /// The witness policy (`witness <key>` lines and `quorum <k>`) to pin at sign-up instead of
    /// trusting the one the vault serves; on a profile that has one pinned, it must be the
    /// same. Every checkpoint must then carry the quorum of these witnesses' cosignatures.
    #[arg(long, env = "ASSENT_WITNESS_POLICY", global = true)]
    pub witness_policy: Option<PathBuf>,
    #[command(subcommand)]
    pub command: CustomerCommand,
}

/// The Argon2id cost a passphrase is sealed under (sign-up and passphrase change).
#[derive(Args)]
pub struct KdfArgs {
    /// Argon2id memory in KiB (minimum 19456).
    #[arg(long, default_value_t = DEFAULT_M_KIB)]
    kdf_memory_kib: u32,
    #[arg(long, default_value_t = DEFAULT_T)]
    kdf_iterations: u32,
    #[arg(long, default_value_t = DEFAULT_P)]
    kdf_parallelism: u32,
}

impl KdfArgs {
    fn cost(&self) -> KdfCost {
        KdfCost {
            m_kib: self.kdf_memory_kib,
            t: self.kdf_iterations,
            p: self.kdf_parallelism,
        }
    }
}

#[derive(Subcommand)]
pub enum CustomerCommand {
    /// Create an account: keys are made here and sealed under your passphrase.
    Signup {
        #[arg(long)]
        handle: String,
        #[arg(long, env = "ASSENT_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Store (or update) an envelope: text or a small file (its name and type are sealed with
    /// it; the vault sees neither).
    Put {
        #[arg(long)]
        label: String,
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        /// The file's media type (default: guessed from its extension).
        #[arg(long, requires = "file")]
        content_type: Option<String>,
    },
    /// List your envelopes.
    List,
    /// Decrypt one envelope.
    Get {
        #[arg(long)]
        label: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Access requests from organizations.
    Requests,
    /// Approve a request (optionally narrower or shorter than asked). The organization's keys
    /// come from its key log, verified against the pinned vault key; the first time you approve
    /// an organization, give the fingerprint it handed you (its website, app or letter).
    Approve {
        request_id: String,
        /// The organization's 12 words (or its hex fingerprint), as it gave them to you
        /// through its own channel (any case, spaces optional).
        #[arg(long)]
        org_fingerprint: Option<String>,
        /// Approve an organization whose fingerprint you could not check.
        #[arg(long)]
        accept_unverified_org: bool,
        /// Go on although the organization's keys changed since you last approved it.
        #[arg(long)]
        accept_key_change: bool,
        /// Grant only these labels (comma-separated).
        #[arg(long)]
        labels: Option<String>,
        /// Grant only these purposes (comma-separated DPV purposes; must include those the
        /// request marks as needed for the service). Default: every purpose asked for.
        #[arg(long)]
        purposes: Option<String>,
        /// Grant for less time than asked, e.g. 7d.
        #[arg(long)]
        duration: Option<String>,
        /// Cap the number of reads.
        #[arg(long)]
        max_reads: Option<u32>,
    },
    /// Decline a request.
    Decline { request_id: String },
    /// Your grants.
    Grants,
    /// Revoke a grant: the organization's next read is refused.
    Revoke {
        grant_id: String,
        /// Also ask the organization to erase what it already read under the grant.
        #[arg(long)]
        ask_erasure: bool,
    },
    /// Ask a grant's organization to erase what it read under the grant (GDPR Art. 17); it
    /// must answer, signed, by the deadline.
    AskErasure { grant_id: String },
    /// Your erasure requests and the organizations' answers, from your verified ledger (each
    /// answer checked against the organization's key log); overdue ones say so.
    Erasures,
    /// Re-encrypt envelopes marked for rotation after a revocation.
    Rotate,
    /// Change your passphrase (the new one from ASSENT_NEW_PASSPHRASE or a prompt).
    Passphrase {
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Close your account: revoke every grant, decline every pending request, erase every
    /// envelope (each recorded in your ledger), then remove the account. Cannot be undone.
    Close {
        /// Confirm that you mean it.
        #[arg(long)]
        yes: bool,
    },
    /// Check whether the vault changed the key it signs your ledger with; with --accept, pin
    /// the new key, but only if the key you pinned signed the change and the history you
    /// already verified continues under the new key.
    VaultKey {
        #[arg(long)]
        accept: bool,
    },
    /// Compare the witness policy this device pinned with the one the vault serves; with
    /// --accept, pin the vault's (or, with --from, a policy you got from outside the vault).
    /// A pinned policy never changes otherwise.
    WitnessPolicy {
        #[arg(long)]
        accept: bool,
        /// A policy file from an independent source, pinned instead of the vault's.
        #[arg(long, requires = "accept")]
        from: Option<PathBuf>,
    },
    /// Destroy an envelope (ciphertext and every wrapped key).
    Erase {
        #[arg(long)]
        label: String,
    },
    /// Your entries in the ledger (`ledger verify` checks them against a signed checkpoint).
    Ledger {
        #[command(subcommand)]
        action: Option<LedgerAction>,
    },
    /// Consent receipts (Kantara CR v1.1 and ISO/IEC TS 27560) for your grants, signed by the vault.
    Receipts {
        /// Only this grant.
        #[arg(long)]
        grant: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum LedgerAction {
    /// Verify the checkpoint signature (pinned key), the inclusion of every one of your events,
    /// and consistency with the last checkpoint you saw. Exits non-zero on any failure.
    Verify,
}

fn passphrase(confirm: bool) -> Result<Zeroizing<String>, CliError> {
    // An empty ASSENT_PASSPHRASE is unset (a script's typo must not become the passphrase).
    if let Ok(p) = std::env::var("ASSENT_PASSPHRASE")
        && !p.is_empty()
    {
        return Ok(Zeroizing::new(p));
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("passphrase: ").map_err(|e| CliError::Usage(e.to_string()))?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("again: ").map_err(|e| CliError::Usage(e.to_string()))?,
        );
        if *again != *p {
            return Err(CliError::Usage("the passphrases differ".into()));
        }
    }
    Ok(p)
}

/// The new passphrase: ASSENT_NEW_PASSPHRASE if set (non-empty), else asked twice.
fn new_passphrase() -> Result<Zeroizing<String>, CliError> {
    if let Ok(p) = std::env::var("ASSENT_NEW_PASSPHRASE")
        && !p.is_empty()
    {
        return Ok(Zeroizing::new(p));
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("new passphrase: ")
            .map_err(|e| CliError::Usage(e.to_string()))?,
    );
    let again = Zeroizing::new(
        rpassword::prompt_password("again: ").map_err(|e| CliError::Usage(e.to_string()))?,
    );
    if *again != *p {
        return Err(CliError::Usage("the passphrases differ".into()));
    }
    Ok(p)
}

/// An unlocked device and the profile it came from: what the device verifies (pins) is
/// written back by [`Unlocked::save`] once the command succeeded.
struct Unlocked {
    path: PathBuf,
    profile: Profile,
    d: Device,
}

impl Unlocked {
    fn save(&mut self) -> Result<(), CliError> {
        self.d.save_into(&mut self.profile);
        Ok(self.profile.save(&self.path)?)
    }
}

fn report_rotated(rotated: &[Label]) {
    if !rotated.is_empty() {
        eprintln!(
            "rotated the data keys of: {}",
            rotated
                .iter()
                .map(Label::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// Loads the profile; a `--witness-policy` given is pinned if the profile has none yet, and
/// must be the pinned one otherwise (the pin never moves silently).
fn load(path: &Path, witness_policy: Option<&Path>) -> Result<Profile, CliError> {
    let mut profile = Profile::load(path)?;
    let Some(file) = witness_policy else {
        return Ok(profile);
    };
    let given = verify::policy_file(file)?;
    match &profile.witness_policy {
        None => profile.witness_policy = Some(given.to_text()),
        Some(text) => {
            let pinned = verify::parse_policy(text, &path.display().to_string())?;
            if !verify::same_policy(&pinned, &given) {
                return Err(CliError::Usage(format!(
                    "{} pins another witness policy ({}) than {} ({}); the pin does not move",
                    path.display(),
                    verify::describe(&pinned),
                    file.display(),
                    verify::describe(&given)
                )));
            }
        }
    }
    Ok(profile)
}

/// Unlocks the device; any unlock also performs pending key rotations.
fn open(path: &Path, witness_policy: Option<&Path>) -> Result<Unlocked, CliError> {
    let profile = load(path, witness_policy)?;
    let d = device::unlock(&profile, passphrase(false)?.as_bytes())?;
    let mut u = Unlocked {
        path: path.to_owned(),
        profile,
        d,
    };
    let rotated = u.d.rotate_pending()?;
    report_rotated(&rotated);
    u.save()?;
    Ok(u)
}

/// `customer vault-key [--accept]`: unlocks without touching the ledger (which does not verify
/// under the old key until a change is accepted).
fn vault_key(path: &Path, witness_policy: Option<&Path>, accept: bool) -> Result<(), CliError> {
    use crate::client::verify::KeyChange;
    let mut profile = load(path, witness_policy)?;
    let mut d = device::unlock(&profile, passphrase(false)?.as_bytes())?;
    let change = d.vault_key_change()?;
    let shown = match &change {
        KeyChange::None => json!({ "changed": false }),
        KeyChange::Vouched { chain, .. } => json!({
            "changed": true,
            "vouched": true,
            "steps": chain.iter().map(|r| json!({
                "previous": r.previous.to_key_string(),
                "next": r.next.to_key_string(),
                "at": r.at,
            })).collect::<Vec<_>>(),
        }),
        KeyChange::Unvouched { current } => json!({
            "changed": true,
            "vouched": false,
            "current": current,
        }),
    };
    match (&change, accept) {
        (KeyChange::Vouched { .. }, true) => {
            d.accept_vault_key(&change)?;
            d.save_into(&mut profile);
            profile.save(path)?;
            eprintln!("accepted the vault's new key; your verified history continues under it");
        }
        (KeyChange::Unvouched { .. }, _) => eprintln!(
            "the vault signs with a key the one you pinned never vouched for: do not approve \
             anything, and ask the vault's operator why"
        ),
        (KeyChange::Vouched { .. }, false) => eprintln!(
            "the vault changed its key and your pinned key signed the change: compare the new \
             key with the one the operator announced, then run again with --accept"
        ),
        (KeyChange::None, _) => {}
    }
    print_json(&shown)
}

/// `customer witness-policy [--accept [--from FILE]]`: the only way a pinned policy moves, by
/// the customer's own choice (a vault that adds or replaces witnesses asks its customers to run
/// it; until then their devices refuse its checkpoints). The history verified so far must still
/// extend: the next verification checks the new checkpoints against the kept one.
fn witness_policy(path: &Path, accept: bool, from: Option<&Path>) -> Result<(), CliError> {
    let mut profile = Profile::load(path)?;
    let api = crate::client::Api::new(&profile.server)?;
    let served = verify::served_policy(&api)?;
    let pinned = profile
        .witness_policy
        .as_deref()
        .map(|t| verify::parse_policy(t, &path.display().to_string()))
        .transpose()?;
    let next = match from {
        Some(file) => verify::policy_file(file)?,
        None => served.clone(),
    };
    let same = pinned
        .as_ref()
        .is_some_and(|p| verify::same_policy(p, &served));
    let shown = json!({
        "pinned": pinned.as_ref().map(verify::describe),
        "served": verify::describe(&served),
        "same": same,
    });
    if accept {
        if !verify::same_policy(&next, &served) {
            return Err(CliError::Usage(format!(
                "the vault serves {}, not the policy you chose ({}): its checkpoints would be \
                 refused; ask its operator",
                verify::describe(&served),
                verify::describe(&next)
            )));
        }
        profile.witness_policy = Some(next.to_text());
        profile.save(path)?;
        eprintln!("pinned: {}", verify::describe(&next));
    } else if !same {
        eprintln!(
            "the vault serves another witness policy than this device pinned; your device refuses \
             its checkpoints until you accept one (--accept, or --accept --from FILE with a policy \
             from an independent source)"
        );
    }
    print_json(&shown)
}

fn guess_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("txt") => "text/plain",
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

pub fn run(a: CustomerArgs) -> Result<(), CliError> {
    let policy = a.witness_policy.as_deref();
    match a.command {
        CustomerCommand::Signup {
            handle,
            server,
            kdf,
        } => {
            if a.profile.exists() {
                return Err(CliError::Usage(format!(
                    "{} exists; pass another --profile",
                    a.profile.display()
                )));
            }
            let witnesses = policy.map(verify::policy_file).transpose()?;
            let profile = device::sign_up_pinned(
                &server,
                &handle,
                passphrase(true)?.as_bytes(),
                &kdf.cost(),
                witnesses,
            )?;
            profile.save(&a.profile)?;
            eprintln!(
                "welcome, {handle}: your profile is in {}",
                a.profile.display()
            );
            print_json(&json!({ "customer_id": profile.customer_id, "handle": profile.handle }))
        }
        CustomerCommand::Put {
            label,
            text,
            file,
            content_type,
        } => {
            let label = Label::parse(&label)?;
            let (bytes, ct) = match (text, file) {
                (Some(t), None) => (
                    Zeroizing::new(t.into_bytes()),
                    "text/plain; charset=utf-8".to_owned(),
                ),
                (None, Some(f)) => {
                    // The file's name and type are sealed with its bytes (named_file).
                    let bytes = Zeroizing::new(
                        std::fs::read(&f)
                            .map_err(|e| CliError::Usage(format!("{}: {e}", f.display())))?,
                    );
                    let name = f
                        .file_name()
                        .and_then(|n| n.to_str())
                        .ok_or_else(|| CliError::Usage(format!("{}: no file name", f.display())))?;
                    let media_type = content_type.unwrap_or_else(|| guess_type(&f).to_owned());
                    (
                        Zeroizing::new(named_file::pack(name, &media_type, &bytes)?),
                        named_file::NAMED_FILE_TYPE.to_owned(),
                    )
                }
                _ => return Err(CliError::Usage("give --text or --file".into())),
            };
            let mut u = open(&a.profile, policy)?;
            let answer = u.d.put(&label, &ct, &bytes, false)?;
            u.save()?;
            print_json(&answer)
        }
        CustomerCommand::List => print_json(
            &open(&a.profile, policy)?
                .d
                .api
                .get::<serde_json::Value>("/v1/me/envelopes")?,
        ),
        CustomerCommand::Get { label, out } => {
            let label = Label::parse(&label)?;
            let (e, plain) = open(&a.profile, policy)?.d.get(&label)?;
            eprintln!("{} version {}", e.summary.label, e.summary.version);
            super::write_contents(&e.summary.content_type, &plain, out.as_deref())
        }
        CustomerCommand::Requests => {
            let mut u = open(&a.profile, policy)?;
            let out = requests(&mut u.d)?;
            u.save()?;
            print_json(&out)
        }
        CustomerCommand::Approve {
            request_id,
            org_fingerprint,
            accept_unverified_org,
            accept_key_change,
            labels,
            purposes,
            duration,
            max_reads,
        } => {
            let rid = RequestId::parse(&request_id)?;
            let choice = Choice {
                labels: labels.map(|l| parse_each(&l, Label::parse)).transpose()?,
                purposes: purposes
                    .map(|p| parse_each(&p, Purpose::parse))
                    .transpose()?,
                duration_secs: duration.map(|d| parse_duration(&d)).transpose()?,
                max_reads,
            };
            let check = OrgCheck {
                fingerprint: org_fingerprint,
                accept_unverified: accept_unverified_org,
                accept_key_change,
            };
            let mut u = open(&a.profile, policy)?;
            let answer = u.d.approve(&rid, &choice, &check)?;
            u.save()?;
            eprintln!("granted: {}", answer["grant"]["grant_id"]);
            print_json(&answer)
        }
        CustomerCommand::Decline { request_id } => print_json(
            &open(&a.profile, policy)?
                .d
                .decline(&RequestId::parse(&request_id)?)?,
        ),
        CustomerCommand::Grants => {
            let mut u = open(&a.profile, policy)?;
            let out = grants(&mut u.d)?;
            u.save()?;
            print_json(&out)
        }
        CustomerCommand::Revoke {
            grant_id,
            ask_erasure,
        } => {
            let mut u = open(&a.profile, policy)?;
            let gid = GrantId::parse(&grant_id)?;
            let mut answer = u.d.revoke(&gid)?;
            eprintln!("{}", answer["note"].as_str().unwrap_or(""));
            if ask_erasure {
                let asked = u.d.ask_erasure(&gid)?;
                eprintln!(
                    "asked {} to erase what it read under the grant; its answer is due by {}",
                    asked.erasure.org_id, asked.erasure.due
                );
                answer["erasure"] =
                    serde_json::to_value(&asked).map_err(|e| CliError::Usage(e.to_string()))?;
            }
            let rotated = u.d.rotate_pending()?;
            report_rotated(&rotated);
            u.save()?;
            print_json(&answer)
        }
        CustomerCommand::AskErasure { grant_id } => {
            let u = open(&a.profile, policy)?;
            let asked = u.d.ask_erasure(&GrantId::parse(&grant_id)?)?;
            eprintln!(
                "asked {} to erase what it read under the grant; its answer is due by {}",
                asked.erasure.org_id, asked.erasure.due
            );
            print_json(&asked)
        }
        CustomerCommand::Erasures => {
            let mut u = open(&a.profile, policy)?;
            let checked = u.d.erasures()?;
            u.save()?;
            for r in checked.iter().filter(|r| r.state == ErasureState::Overdue) {
                eprintln!(
                    "OVERDUE: {} has not answered your erasure request under {} (due {})",
                    r.org_id, r.grant_id, r.due
                );
            }
            print_json(&checked)
        }
        CustomerCommand::VaultKey { accept } => vault_key(&a.profile, policy, accept),
        CustomerCommand::WitnessPolicy { accept, from } => {
            witness_policy(&a.profile, accept, from.as_deref())
        }
        CustomerCommand::Passphrase { kdf } => {
            let mut profile = load(&a.profile, policy)?;
            let current = passphrase(false)?;
            let d = device::unlock(&profile, current.as_bytes())?;
            let new = new_passphrase()?;
            d.change_passphrase(
                &mut profile,
                current.as_bytes(),
                new.as_bytes(),
                &kdf.cost(),
            )?;
            profile.save(&a.profile)?;
            eprintln!("passphrase changed; use the new one from now on");
            Ok(())
        }
        CustomerCommand::Close { yes } => {
            if !yes {
                return Err(CliError::Usage(
                    "closing revokes every grant and erases all your data for good; pass --yes \
                     if you mean it"
                        .into(),
                ));
            }
            let profile = load(&a.profile, policy)?;
            let pass = passphrase(false)?;
            let d = device::unlock(&profile, pass.as_bytes())?;
            print_json(&d.close_account(&profile, pass.as_bytes())?)
        }
        CustomerCommand::Rotate => {
            let mut u = open(&a.profile, policy)?;
            let rotated = u.d.rotate_pending()?;
            u.save()?;
            print_json(&json!({ "rotated": rotated }))
        }
        CustomerCommand::Erase { label } => {
            let label = Label::parse(&label)?;
            print_json(&open(&a.profile, policy)?.d.erase(&label)?)
        }
        CustomerCommand::Ledger { action: None } => {
            print_json(&open(&a.profile, policy)?.d.ledger()?)
        }
        CustomerCommand::Ledger {
            action: Some(LedgerAction::Verify),
        } => verify_ledger(&a.profile, policy),
        CustomerCommand::Receipts { grant } => {
            let u = open(&a.profile, policy)?;
            let (d, profile) = (&u.d, &u.profile);
            let ids: Vec<String> = match grant {
                Some(g) => vec![GrantId::parse(&g)?.to_string()],
                None => d
                    .grants()?
                    .into_iter()
                    .map(|g| g.terms.grant_id.to_string())
                    .collect(),
            };
            let mut out = Vec::new();
            for id in ids {
                let r: serde_json::Value = d.api.get(&format!("/v1/me/grants/{id}/receipt"))?;
                check_receipt_signatures(profile, &r)?;
                out.push(r);
            }
            print_json(&out)
        }
    }
}

/// Receipts are signed by the vault key pinned in the profile.
fn check_receipt_signatures(profile: &Profile, r: &serde_json::Value) -> Result<(), CliError> {
    let Some(key) = &profile.vault_key else {
        return Ok(());
    };
    let verifier = crate::client::verify::pinned(key)?;
    for doc in ["kantara", "iso27560"] {
        let msg = crate::vault::transparency::document_message(&r[doc]["receipt"])
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let sig = crate::crypto::b64::decode(r[doc]["signature"].as_str().unwrap_or_default())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        crate::crypto::sign::verify_signature(&verifier.public, &msg, &sig).map_err(|_| {
            CliError::Usage(format!(
                "the {doc} receipt's signature does not verify against the pinned vault key"
            ))
        })?;
    }
    Ok(())
}

fn verify_ledger(path: &Path, witness_policy: Option<&Path>) -> Result<(), CliError> {
    let mut u = open(path, witness_policy)?;
    let name = u.d.trust.verifier.name.clone();
    let ledger =
        u.d.own_ledger()
            .map_err(|e| CliError::Usage(format!("VERIFICATION FAILED: {e}")))?;
    u.save()?;
    let v = &ledger.verified;
    // Already checked inside own_ledger; listed again to name the witnesses.
    let cosigned = verify::check_witnessed(&u.d.trust.witnesses, &v.note)
        .map_err(|e| CliError::Usage(format!("VERIFICATION FAILED: {e}")))?;
    eprintln!(
        "ok: checkpoint of {} entries signed by {name}{}; all {} of your entries included, numbered 1–{} without a gap{}",
        v.checkpoint.size,
        if cosigned.is_empty() {
            String::new()
        } else {
            format!(" and cosigned by {}", cosigned.join(", "))
        },
        v.entries_checked(),
        u.d.trust.last_seq,
        v.consistent_with.map_or(String::new(), |s| format!(
            "; consistent with the last checkpoint you saw ({s})"
        ))
    );
    print_json(&json!({
        "size": v.checkpoint.size,
        "entries_checked": v.entries_checked(),
        "last_seq": u.d.trust.last_seq,
        "consistent_with": v.consistent_with,
        "cosigned_by": cosigned,
    }))
}

/// Requests as this device sees them: the organization's name, keys and fingerprint from its
/// verified key log (computed here, never the vault's string), and how they compare with what
/// the customer approved before.
fn requests(d: &mut Device) -> Result<Vec<serde_json::Value>, CliError> {
    let mut out = Vec::new();
    for r in d.requests()? {
        let org = match d.org_keys(&r.request.org_id) {
            Ok(log) => json!({
                "org_id": log.org_id,
                "name": log.name,
                "fingerprint": device::org_fingerprint(&log.current),
                "key_log": format!("verified: {} key set(s), the current one logged at entry {}", log.keys.len(), log.current.index),
                "verified_on_this_device": d.org_verified(&r.request.org_id),
            }),
            Err(e) => json!({ "org_id": r.request.org_id, "key_log": format!("FAILED: {e}") }),
        };
        let mut org = org;
        if let Some(c) = &r.org.controller {
            org["controller"] = json!(c);
            org["controller_note"] =
                json!("as registered by the vault's operator; not verified by this device");
        }
        out.push(json!({
            "request_id": r.request.request_id,
            "status": r.request.status,
            "org": org,
            "labels": r.request.labels,
            "purposes": r.request.purposes,
            "required_purposes": r.request.required_purposes,
            "duration_secs": r.request.duration_secs,
            "justification": r.request.justification,
            "created_at": r.request.created_at,
        }));
    }
    Ok(out)
}

/// Grants as this device checks them: signed by its own key and logged, or refused; and
/// whether the organization was verified by fingerprint when this device approved it.
fn grants(d: &mut Device) -> Result<Vec<serde_json::Value>, CliError> {
    let listed = d.grants()?;
    let ledger = d.own_ledger()?;
    let mut out = Vec::new();
    for g in listed {
        let check = match d.checked_grant(&g, &ledger) {
            Ok(_) => "signed by you and logged".to_owned(),
            Err(e) if g.state == crate::domain::grant::GrantState::Revoked => {
                format!("revoked ({e})")
            }
            Err(e) => e.to_string(),
        };
        let org = match d.org_verified(&g.terms.org_id) {
            Some(true) => "verified by fingerprint",
            Some(false) => "NOT VERIFIED: you approved it without checking its fingerprint",
            None => "approved on another device",
        };
        out.push(json!({
            "grant_id": g.terms.grant_id,
            "org_id": g.terms.org_id,
            "org_name": g.org_name,
            "org_fingerprint": crate::crypto::sign::fingerprint(&g.terms.org_identity_key),
            "organization": org,
            "labels": g.terms.labels,
            "purposes": g.terms.purposes,
            "not_after": g.terms.not_after,
            "max_reads": g.terms.max_reads,
            "state": g.state,
            "reads": g.reads,
            "check": check,
        }));
    }
    Ok(out)
}

/// A comma-separated list, each item parsed.
fn parse_each<T, E>(list: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<Vec<T>, E> {
    split_list(list).iter().map(|x| parse(x)).collect()
}
