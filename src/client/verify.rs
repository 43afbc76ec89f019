//! Client-side ledger verification. A device believes a ledger answer only after checking it
//! against things the vault cannot forge: the checkpoint's signature under the PINNED vault key,
//! its consistency with the last checkpoint this device verified, each entry's leaf recomputed
//! from its event and nonce, and each entry's inclusion proof against the signed root. A party's
//! own listing must also be complete: its sequence numbers run 1, 2, 3, … without a gap and never
//! go back below what this device saw before. With a pinned witness policy, every checkpoint
//! must also carry the policy's quorum of witness cosignatures (C2SP tlog-cosignature): the
//! witnesses cosign only one history, so a vault showing this device a history others do not
//! see cannot get it cosigned.

use super::{Api, ClientError};
use crate::crypto::b64;
use crate::crypto::sign::{OrgKeyChange, verify_org_key, verify_org_key_change};
use crate::domain::ids::OrgId;
use crate::domain::time::Timestamp;
use crate::ledger::LedgerError;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::cosignature::WitnessPolicy;
use crate::ledger::merkle::{self, Hash};
use crate::ledger::note::{Verifier, parse_verifier_key};
use crate::ledger::{Event, Sequenced, leaf_commitment};
use serde::Deserialize;
use serde_json::Value;

/// Which check failed, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    #[error("the checkpoint's signature does not verify against the pinned vault key: {0}")]
    Signature(String),
    #[error(
        "the ledger shrank: it was {old} entries, the vault now signs {new} (truncated or rolled-back history)"
    )]
    Truncated { old: u64, new: u64 },
    #[error(
        "the new checkpoint ({new}) is not an extension of the last one seen ({old}): history was rewritten ({reason})"
    )]
    Inconsistent { old: u64, new: u64, reason: String },
    #[error("the same tree size {size} has two different signed roots (a fork)")]
    Fork { size: u64 },
    #[error("entry {index}: its leaf does not match its event and nonce")]
    Leaf { index: u64 },
    #[error("entry {index} is not included in the signed tree: {reason}")]
    Inclusion { index: u64, reason: String },
    #[error(
        "entry {index} is at or beyond the signed checkpoint's size {size}: the vault cannot prove it"
    )]
    BeyondCheckpoint { index: u64, size: u64 },
    #[error("entry {index} is not about {party}: the vault listed someone else's event")]
    Foreign { index: u64, party: String },
    #[error(
        "events are missing from {party}'s ledger: after event #{after} came #{got} (hidden history)"
    )]
    Gap { party: String, after: u64, got: u64 },
    #[error(
        "{party}'s ledger went back: this device already saw event #{pinned}, the vault now shows {shown} (hidden history)"
    )]
    WentBack {
        party: String,
        pinned: u64,
        shown: u64,
    },
    #[error(
        "not cosigned by enough of your trusted witnesses (have {have}, need {need}): the vault may be showing you a different history than others see"
    )]
    Unwitnessed { have: usize, need: usize },
    #[error(
        "a cosignature claiming to be from one of your trusted witnesses does not verify ({0}): the vault may be showing you a different history than others see"
    )]
    BadCosignature(String),
    #[error("{org}'s key log does not verify: {reason}")]
    KeyLog { org: String, reason: String },
    #[error("{0}")]
    Client(#[from] ClientError),
}

/// What a device has pinned about a vault and its own place in it: the vault's verifier key,
/// the witness policy its checkpoints must satisfy, the last checkpoint it verified and the
/// highest own sequence number it saw.
#[derive(Debug, Clone)]
pub struct Trust {
    pub verifier: Verifier,
    /// Pinned like the vault key; a quorum of 0 asks for no cosignature.
    pub witnesses: WitnessPolicy,
    pub last_checkpoint: Option<String>,
    pub last_seq: u64,
}

impl Trust {
    pub fn new(
        vault_key: &str,
        witnesses: WitnessPolicy,
        last_checkpoint: Option<String>,
        last_seq: u64,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            verifier: pinned(vault_key)?,
            witnesses,
            last_checkpoint,
            last_seq,
        })
    }
}

/// Parses a witness policy (text form, see [`WitnessPolicy`]); `what` names its source.
pub fn parse_policy(text: &str, what: &str) -> Result<WitnessPolicy, ClientError> {
    WitnessPolicy::parse(text)
        .map_err(|e| ClientError::Usage(format!("{what} is not a valid witness policy: {e}")))
}

/// Reads a witness policy file (`--witness-policy`).
pub fn policy_file(path: &std::path::Path) -> Result<WitnessPolicy, ClientError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ClientError::Usage(format!("{}: {e}", path.display())))?;
    parse_policy(&text, &path.display().to_string())
}

/// The policy the vault says it follows (`GET /v1/ledger/witnesses`): the vault's word, only
/// pinned on first use or compared with a pin, never believed over one.
pub fn served_policy(api: &Api) -> Result<WitnessPolicy, ClientError> {
    // A vault from before witnesses has no such endpoint: it has no witnesses (as the page
    // reads it too). This is only ever pinned on first use; a pin never moves because of it.
    let text = match api.get_text("/v1/ledger/witnesses") {
        Err(ClientError::Api { status: 404, .. }) => return Ok(WitnessPolicy::default()),
        other => other?,
    };
    WitnessPolicy::parse(&text)
        .map_err(|e| ClientError::Protocol(format!("the vault's witness policy: {e}")))
}

/// The same witnesses (in any order) and the same quorum.
pub fn same_policy(a: &WitnessPolicy, b: &WitnessPolicy) -> bool {
    let keys = |p: &WitnessPolicy| {
        let mut k: Vec<String> = p.witnesses.iter().map(|w| w.to_key_string()).collect();
        k.sort();
        k
    };
    a.quorum == b.quorum && keys(a) == keys(b)
}

/// Refuses when the vault now serves another policy than the pinned one: the pin never moves
/// silently (a vault naming other witnesses may be naming witnesses it controls).
pub fn check_served_policy(api: &Api, pinned: &WitnessPolicy) -> Result<(), ClientError> {
    let served = served_policy(api)?;
    if same_policy(&served, pinned) {
        return Ok(());
    }
    Err(ClientError::Refused(format!(
        "the vault now serves another witness policy than the one this device pinned \
         (pinned: {}; served: {}): its checkpoints may not be cosigned by the witnesses you \
         trust. Nothing was done; ask the vault's operator why the witnesses changed.",
        describe(pinned),
        describe(&served)
    )))
}

/// A policy in one line, for messages.
pub fn describe(p: &WitnessPolicy) -> String {
    if p.quorum == 0 {
        return "no witnesses".into();
    }
    let names: Vec<&str> = p.witnesses.iter().map(|w| w.name.as_str()).collect();
    format!("{} of {}", p.quorum, names.join(", "))
}

/// Checks that `note` carries the pinned policy's quorum of valid cosignatures (nothing to
/// check with a quorum of 0). Returns the witnesses that cosigned.
pub fn check_witnessed(policy: &WitnessPolicy, note: &str) -> Result<Vec<String>, VerifyFailure> {
    if policy.quorum == 0 {
        return Ok(Vec::new());
    }
    match policy.check(note) {
        Ok(found) => Ok(found.into_iter().map(|c| c.witness).collect()),
        Err(LedgerError::NoQuorum { have, need }) => Err(VerifyFailure::Unwitnessed { have, need }),
        Err(e) => Err(VerifyFailure::BadCosignature(e.to_string())),
    }
}

pub fn pinned(key: &str) -> Result<Verifier, ClientError> {
    parse_verifier_key(key.trim())
        .map_err(|e| ClientError::Usage(format!("the pinned vault key is not valid: {e}")))
}

fn hashes(v: &Value) -> Result<Vec<Hash>, ClientError> {
    v.as_array()
        .ok_or_else(|| ClientError::Protocol("proof is not a list".into()))?
        .iter()
        .map(|h| {
            let bytes = b64::decode(h.as_str().unwrap_or_default())?;
            merkle::parse_hash(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
        })
        .collect()
}

/// Checks `note` against the pinned key and the pinned witness policy, then against the last
/// checkpoint seen (if any): a smaller tree, another root for the same size, or a failed
/// consistency proof is a failure.
pub fn check_checkpoint(
    api: &Api,
    verifier: &Verifier,
    witnesses: &WitnessPolicy,
    note: &str,
    last_seen: Option<&str>,
) -> Result<(Checkpoint, Option<u64>), VerifyFailure> {
    check_checkpoint_across(
        api,
        verifier,
        witnesses,
        note,
        last_seen.map(|n| (n, verifier)),
    )
}

/// [`check_checkpoint`] where the last checkpoint seen was signed by `last_seen.1` (the key
/// pinned before an accepted rotation): consistency proofs need no signature, so the history
/// kept under the old key must still extend into the new key's tree.
pub fn check_checkpoint_across(
    api: &Api,
    verifier: &Verifier,
    witnesses: &WitnessPolicy,
    note: &str,
    last_seen: Option<(&str, &Verifier)>,
) -> Result<(Checkpoint, Option<u64>), VerifyFailure> {
    // The server-sent note: its vault line against the pinned key, its cosignatures against
    // the pinned witness policy, before anything else about it is believed.
    let cp = Checkpoint::verify(note, &verifier.name, verifier)
        .map_err(|e| VerifyFailure::Signature(e.to_string()))?;
    check_witnessed(witnesses, note)?;
    // The last checkpoint seen was accepted (and witnessed, if a policy was pinned) before.
    let Some((old_note, old_verifier)) = last_seen else {
        return Ok((cp, None));
    };
    let old = Checkpoint::verify(old_note, &old_verifier.name, old_verifier)
        .map_err(|e| VerifyFailure::Signature(e.to_string()))?;
    if cp.size < old.size {
        return Err(VerifyFailure::Truncated {
            old: old.size,
            new: cp.size,
        });
    }
    if cp.size == old.size {
        if cp.root != old.root {
            return Err(VerifyFailure::Fork { size: cp.size });
        }
        return Ok((cp, Some(old.size)));
    }
    if old.size == 0 {
        return Ok((cp, Some(0)));
    }
    let answer: Value = api.get_query(
        "/v1/ledger/proof/consistency",
        &[("from", old.size), ("to", cp.size)],
    )?;
    let proof = hashes(&answer["proof"])?;
    merkle::verify_consistency(old.size, cp.size, &old.root, &cp.root, &proof).map_err(|e| {
        VerifyFailure::Inconsistent {
            old: old.size,
            new: cp.size,
            reason: e.to_string(),
        }
    })?;
    Ok((cp, Some(old.size)))
}

#[derive(Deserialize)]
struct RawEntry {
    index: u64,
    nonce: String,
    event: Value,
    leaf: String,
    #[serde(default)]
    proof: Option<Value>,
}

/// One ledger entry whose leaf and inclusion were verified.
#[derive(Debug, Clone)]
pub struct VerifiedEntry {
    pub index: u64,
    pub nonce: [u8; 32],
    pub event: Sequenced,
}

/// A page of entries (`GET /v1/me/ledger`, `/v1/org/ledger`, `/v1/orgs/{id}/keys`) verified
/// against a checkpoint that is itself verified.
#[derive(Debug)]
pub struct Verified {
    pub checkpoint: Checkpoint,
    pub note: String,
    /// The previous checkpoint size this one was proved consistent with.
    pub consistent_with: Option<u64>,
    pub entries: Vec<VerifiedEntry>,
}

impl Verified {
    pub fn entries_checked(&self) -> usize {
        self.entries.len()
    }
}

/// Verifies a page: the checkpoint (pinned key, pinned witness quorum, consistency with
/// `last_seen`), then for every
/// entry the leaf recomputed from the event exactly as sent and the nonce, the index below the
/// checkpoint size, and the inclusion proof against the signed root. Entries come back in
/// index order.
pub fn verify_page(
    api: &Api,
    verifier: &Verifier,
    witnesses: &WitnessPolicy,
    page: &Value,
    last_seen: Option<&str>,
) -> Result<Verified, VerifyFailure> {
    let note = page["checkpoint"]
        .as_str()
        .ok_or_else(|| ClientError::Protocol("no checkpoint in the ledger answer".into()))?;
    // The page's `checkpoint` field: pinned key, pinned witness quorum, consistency.
    let (cp, consistent_with) = check_checkpoint(api, verifier, witnesses, note, last_seen)?;
    let raw: Vec<RawEntry> = serde_json::from_value(page["entries"].clone())
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    let mut entries = Vec::with_capacity(raw.len());
    for e in raw {
        let nonce: [u8; 32] = b64::decode_array(&e.nonce, "nonce").map_err(ClientError::from)?;
        // The event is parsed strictly and re-canonicalized: what is checked is what is shown.
        let event: Sequenced = serde_json::from_value(e.event)
            .map_err(|err| ClientError::Protocol(format!("entry {}: {err}", e.index)))?;
        event
            .check()
            .map_err(|err| ClientError::Protocol(format!("entry {}: {err}", e.index)))?;
        let canonical = event
            .canonical()
            .map_err(|err| ClientError::Protocol(err.to_string()))?;
        let leaf = leaf_commitment(&nonce, &canonical);
        if b64::encode(&leaf) != e.leaf {
            return Err(VerifyFailure::Leaf { index: e.index });
        }
        if e.index >= cp.size {
            return Err(VerifyFailure::BeyondCheckpoint {
                index: e.index,
                size: cp.size,
            });
        }
        let proof = match &e.proof {
            Some(p) => hashes(p)?,
            None => {
                return Err(VerifyFailure::Inclusion {
                    index: e.index,
                    reason: "no proof given".into(),
                });
            }
        };
        merkle::verify_inclusion(
            e.index,
            cp.size,
            &merkle::leaf_hash(&leaf),
            &proof,
            &cp.root,
        )
        .map_err(|err| VerifyFailure::Inclusion {
            index: e.index,
            reason: err.to_string(),
        })?;
        entries.push(VerifiedEntry {
            index: e.index,
            nonce,
            event,
        });
    }
    entries.sort_by_key(|e| e.index);
    if entries.windows(2).any(|w| w[0].index == w[1].index) {
        return Err(ClientError::Protocol("the same entry is listed twice".into()).into());
    }
    Ok(Verified {
        checkpoint: cp,
        note: note.to_owned(),
        consistent_with,
        entries,
    })
}

/// Whose listing a page is, for the completeness check.
#[derive(Clone, Copy)]
pub enum Party<'a> {
    Customer(&'a str),
    Org(&'a str),
}

impl Party<'_> {
    fn name(&self) -> String {
        match self {
            Party::Customer(c) => (*c).to_owned(),
            Party::Org(o) => (*o).to_owned(),
        }
    }

    fn seq(&self, e: &Sequenced) -> Option<u64> {
        match self {
            Party::Customer(c) => e
                .event
                .customer()
                .filter(|x| x.as_str() == *c)
                .and(e.customer_seq),
            Party::Org(o) => e.event.org().filter(|x| x.as_str() == *o).and(e.org_seq),
        }
    }
}

/// A party's own listing is complete: every entry is about the party, its sequence numbers
/// are 1, 2, 3, … in index order without a gap, and the highest is not below `pinned` (what
/// this device saw before). Returns the highest number shown.
pub fn check_complete(
    entries: &[VerifiedEntry],
    party: Party<'_>,
    pinned: u64,
) -> Result<u64, VerifyFailure> {
    let mut last = 0;
    for e in entries {
        let seq = party.seq(&e.event).ok_or_else(|| VerifyFailure::Foreign {
            index: e.index,
            party: party.name(),
        })?;
        if seq != last + 1 {
            return Err(VerifyFailure::Gap {
                party: party.name(),
                after: last,
                got: seq,
            });
        }
        last = seq;
    }
    if last < pinned {
        return Err(VerifyFailure::WentBack {
            party: party.name(),
            pinned,
            shown: last,
        });
    }
    Ok(last)
}

/// Verifies a party's own ledger page and moves `trust` forward (new checkpoint, highest
/// sequence number) only once every check passed.
pub fn verify_own(
    api: &Api,
    trust: &mut Trust,
    page: &Value,
    party: Party<'_>,
) -> Result<Verified, VerifyFailure> {
    let v = verify_page(
        api,
        &trust.verifier,
        &trust.witnesses,
        page,
        trust.last_checkpoint.as_deref(),
    )?;
    let last = check_complete(&v.entries, party, trust.last_seq)?;
    trust.last_checkpoint = Some(v.note.clone());
    trust.last_seq = last;
    Ok(v)
}

/// One set of an organization's keys, as its verified key log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgKeySet {
    pub key_seq: u64,
    pub identity_key: [u8; 32],
    pub encryption_key: [u8; 32],
    /// When the vault logged them, and where.
    pub at: Timestamp,
    pub index: u64,
}

/// An organization's key log, verified: its registered name and every key set in order.
#[derive(Debug, Clone)]
pub struct OrgKeyLog {
    pub org_id: OrgId,
    pub name: String,
    /// The organization's current keys: the newest entry of the log.
    pub current: OrgKeySet,
    /// Every key set in order (the last is `current`).
    pub keys: Vec<OrgKeySet>,
}

/// Checks an organization's key log (entries already verified by [`verify_page`]): every entry
/// is about `org`; the first is its registration with key_seq 1; each later one is a change
/// with the next key_seq, naming the previous identity key and signed by it; every encryption
/// key is signed by its identity key.
pub fn check_key_log(org: &OrgId, entries: &[VerifiedEntry]) -> Result<OrgKeyLog, VerifyFailure> {
    let fail = |reason: String| VerifyFailure::KeyLog {
        org: org.to_string(),
        reason,
    };
    let mut name = None;
    let mut keys: Vec<OrgKeySet> = Vec::new();
    for e in entries {
        let (org_id, key_seq, identity, encryption, key_sig, at) = match &e.event.event {
            Event::OrgRegistered {
                org_id,
                name: n,
                key_seq,
                identity_key,
                encryption_key,
                key_signature,
                at,
            } => {
                if !keys.is_empty() {
                    return Err(fail(format!(
                        "entry {} registers the organization a second time",
                        e.index
                    )));
                }
                name = Some(n.clone());
                (
                    org_id,
                    *key_seq,
                    identity_key,
                    encryption_key,
                    key_signature,
                    at,
                )
            }
            Event::OrgKeysChanged {
                org_id,
                key_seq,
                identity_key,
                encryption_key,
                key_signature,
                previous_identity_key,
                change_signature,
                at,
            } => {
                let prev = keys.last().ok_or_else(|| {
                    fail(format!("entry {} changes keys never registered", e.index))
                })?;
                if *previous_identity_key != prev.identity_key {
                    return Err(fail(format!(
                        "entry {} names a previous identity key that is not the logged one",
                        e.index
                    )));
                }
                let change = OrgKeyChange {
                    org_id: org_id.as_str(),
                    key_seq: *key_seq,
                    identity_key: *identity_key,
                    encryption_key: *encryption_key,
                };
                verify_org_key_change(&prev.identity_key, &change, change_signature).map_err(
                    |_| {
                        fail(format!(
                            "the key change in entry {} is not signed by the previous identity key",
                            e.index
                        ))
                    },
                )?;
                (
                    org_id,
                    *key_seq,
                    identity_key,
                    encryption_key,
                    key_signature,
                    at,
                )
            }
            _ => {
                return Err(fail(format!("entry {} is not a key event", e.index)));
            }
        };
        if org_id != org {
            return Err(fail(format!("entry {} is about {org_id}", e.index)));
        }
        if key_seq != keys.len() as u64 + 1 {
            return Err(fail(format!(
                "entry {} has key_seq {key_seq}, expected {}",
                e.index,
                keys.len() + 1
            )));
        }
        verify_org_key(identity, encryption, key_sig).map_err(|_| {
            fail(format!(
                "the encryption key in entry {} is not signed by its identity key",
                e.index
            ))
        })?;
        keys.push(OrgKeySet {
            key_seq,
            identity_key: *identity,
            encryption_key: *encryption,
            at: *at,
            index: e.index,
        });
    }
    match (name, keys.last().cloned()) {
        (Some(name), Some(current)) => Ok(OrgKeyLog {
            org_id: org.clone(),
            name,
            current,
            keys,
        }),
        _ => Err(fail("the log is empty".into())),
    }
}

/// Fetches and verifies an organization's key log; moves `trust`'s checkpoint forward.
pub fn org_key_log(api: &Api, trust: &mut Trust, org: &OrgId) -> Result<OrgKeyLog, VerifyFailure> {
    let page: Value = api.get(&format!("/v1/orgs/{org}/keys"))?;
    let v = verify_page(
        api,
        &trust.verifier,
        &trust.witnesses,
        &page,
        trust.last_checkpoint.as_deref(),
    )?;
    let log = check_key_log(org, &v.entries)?;
    trust.last_checkpoint = Some(v.note);
    Ok(log)
}

/// A change of the vault's key, as this device can check it.
#[derive(Debug)]
pub enum KeyChange {
    /// The pinned key still signs the checkpoints.
    None,
    /// The vault signs with another key, and rotation statements verified from the pinned key
    /// lead to it: the customer may accept it.
    Vouched {
        chain: Vec<crate::ledger::rotation::Rotation>,
        note: String,
    },
    /// The vault signs with a key the pinned key never vouched for: do not accept it.
    Unvouched { current: String },
}

/// Looks at the vault's current checkpoint and, if the pinned key no longer signs it, at the
/// rotation statements (`GET /v1/ledger/key/rotations`): only statements verified from the
/// pinned key count, and the chain must end at the key that signs the current checkpoint.
/// A checkpoint without the pinned witness quorum is refused whoever signed it.
pub fn key_change(api: &Api, trust: &Trust) -> Result<KeyChange, VerifyFailure> {
    let note = api.get_text("/v1/ledger/checkpoint")?;
    // The served checkpoint: the pinned witness quorum first (it binds the body, whichever
    // key signed it), then which vault key signs it.
    check_witnessed(&trust.witnesses, &note)?;
    if Checkpoint::verify(&note, &trust.verifier.name, &trust.verifier).is_ok() {
        return Ok(KeyChange::None);
    }
    let history: Value = api.get("/v1/ledger/key/rotations")?;
    let statements: Vec<String> = serde_json::from_value(history["rotations"].clone())
        .map_err(|e| ClientError::Protocol(format!("rotation statements: {e}")))?;
    let chain = crate::ledger::rotation::follow(&statements, &trust.verifier);
    match chain.last() {
        Some(last) if Checkpoint::verify(&note, &last.next.name, &last.next).is_ok() => {
            Ok(KeyChange::Vouched { chain, note })
        }
        _ => Ok(KeyChange::Unvouched {
            current: history["current"].as_str().unwrap_or_default().to_owned(),
        }),
    }
}

/// Moves the pin along a vouched chain: the new key's checkpoint must extend the last one
/// this device verified under the old key (consistency proof), so accepting a new key never
/// accepts a rewritten history.
pub fn accept_key(api: &Api, trust: &mut Trust, change: &KeyChange) -> Result<(), VerifyFailure> {
    let KeyChange::Vouched { chain, note } = change else {
        return Err(VerifyFailure::Signature(
            "no key change vouched for by the pinned key to accept".into(),
        ));
    };
    let Some(next) = chain.last().map(|r| r.next.clone()) else {
        return Err(VerifyFailure::Signature("empty rotation chain".into()));
    };
    let last = trust.last_checkpoint.clone();
    // The vouched note: the new key's signature, the pinned witness quorum, and consistency
    // with the history verified under the old key.
    check_checkpoint_across(
        api,
        &next,
        &trust.witnesses,
        note,
        last.as_deref().map(|n| (n, &trust.verifier)),
    )?;
    trust.verifier = next;
    trust.last_checkpoint = Some(note.clone());
    Ok(())
}
