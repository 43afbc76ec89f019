//! The customer's device: key generation, unlock, envelope sealing, approvals and rotation.

use super::profile::{OrgAnchor, PROFILE_KIND, Profile};
use super::verify::{self, OrgKeyLog, Party, Trust, VerifyFailure};
use super::{Api, ClientError};
use crate::crypto::b64::{self};
use crate::crypto::bundle::{CustomerSecrets, KdfParams, derive_keys, open_bundle, seal_bundle};
use crate::crypto::envelope::{DataKey, envelope_aad, open_payload, seal_payload};
use crate::crypto::sign::{fingerprint, fingerprint_matches, sign_grant, verify_grant};
use crate::crypto::wrap::{OWNER, unwrap_key, wrap_info, wrap_key};
use crate::domain::catalog::{Label, Purpose};
use crate::domain::grant::{GrantState, GrantTerms};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId, RequestId};
use crate::domain::request::RequestStatus;
use crate::domain::time::Timestamp;
use crate::ledger::Event;
use crate::ledger::cosignature::WitnessPolicy;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use zeroize::{Zeroize, Zeroizing};

// Wire types are shared with the server (`crate::wire`); what each field is believed for is
// said where the device reads it.
use crate::wire::customers::{
    CloseBody, KdfAnswer, LogInBody, PassphraseBody, Session, SignUpBody,
};
pub use crate::wire::envelopes::{EnvelopeFull, EnvelopeSummary};
use crate::wire::envelopes::{GrantWrapBody, PutBody};
pub use crate::wire::grants::GrantView;
pub use crate::wire::org::OrgInfo;
pub use crate::wire::requests::RequestView;
use crate::wire::requests::{ApproveBody, WrapBody};

/// Cost of the passphrase KDF for a new account.
pub struct KdfCost {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

/// Creates keys on this device, seals them under the passphrase and registers the account,
/// pinning the vault's key and the witness policy it serves (trust on first use).
pub fn sign_up(
    server: &str,
    handle: &str,
    passphrase: &[u8],
    cost: &KdfCost,
) -> Result<Profile, ClientError> {
    sign_up_pinned(server, handle, passphrase, cost, None)
}

/// [`sign_up`], pinning `witnesses` (a policy the customer got from outside the vault) when
/// given: a vault serving another policy is refused before any account is made.
pub fn sign_up_pinned(
    server: &str,
    handle: &str,
    passphrase: &[u8],
    cost: &KdfCost,
    witnesses: Option<WitnessPolicy>,
) -> Result<Profile, ClientError> {
    let api = Api::new(server)?;
    // Trust on first use unless given: pin the policy the vault serves now.
    let witnesses = match witnesses {
        Some(p) => {
            verify::check_served_policy(&api, &p)?;
            p
        }
        None => verify::served_policy(&api)?,
    };
    let kdf = KdfParams::with_cost(cost.m_kib, cost.t, cost.p)?;
    let keys = derive_keys(passphrase, &kdf)?;
    let secrets = CustomerSecrets::generate();
    let bundle = seal_bundle(&keys.kek, kdf, &secrets)?;
    let mut body = SignUpBody {
        handle: handle.to_owned(),
        auth: *keys.auth,
        bundle: bundle.clone(),
        x25519_public: secrets.x25519_public(),
        ed25519_public: secrets.ed25519_public(),
    };
    let answer = api.post::<crate::wire::customers::Profile, _>("/v1/customers", &body);
    body.auth.zeroize();
    let customer_id = answer?.customer_id;
    // Trust on first use: pin the vault's checkpoint key now; every later verification uses it.
    let vault_key = api.get_text("/v1/ledger/key")?.trim().to_owned();
    super::verify::pinned(&vault_key)?;
    Ok(Profile {
        vault_key: Some(vault_key),
        witness_policy: Some(witnesses.to_text()),
        last_checkpoint: None,
        last_seq: 0,
        org_anchors: BTreeMap::new(),
        kind: PROFILE_KIND.into(),
        server: api.base().to_owned(),
        handle: handle.to_owned(),
        customer_id: customer_id.to_string(),
        bundle,
        x25519_public: secrets.x25519_public(),
        ed25519_public: secrets.ed25519_public(),
    })
}

/// A logged-in, unlocked customer device.
pub struct Device {
    pub api: Api,
    pub customer_id: CustomerId,
    secrets: CustomerSecrets,
    /// The pinned vault key, last verified checkpoint and highest own sequence number; moved
    /// forward only by checks that passed. Written back to the profile by [`Device::save_into`].
    pub trust: Trust,
    anchors: BTreeMap<String, OrgAnchor>,
}

/// Derives keys from the passphrase, logs in, opens the key bundle the server returns and
/// checks it holds the keys this profile knows.
pub fn unlock(profile: &Profile, passphrase: &[u8]) -> Result<Device, ClientError> {
    let mut api = Api::new(&profile.server)?;
    let kdf: KdfAnswer =
        api.get_query("/v1/customers/kdf", &[("handle", profile.handle.as_str())])?;
    let keys = derive_keys(passphrase, &kdf.kdf)?;
    // The sealed bundle is believed only once it opens under the passphrase and holds this
    // profile's keys; the customer id must be the profile's.
    let mut login = LogInBody {
        handle: profile.handle.clone(),
        auth: *keys.auth,
    };
    let answer = api.post("/v1/sessions", &login);
    login.auth.zeroize();
    let session: Session = answer?;
    let secrets = open_bundle(&keys.kek, &session.profile.bundle)?;
    if secrets.x25519_public() != profile.x25519_public
        || secrets.ed25519_public() != profile.ed25519_public
    {
        return Err(ClientError::Protocol(
            "the key bundle from the vault does not hold this profile's keys; refusing it".into(),
        ));
    }
    if session.profile.customer_id.as_str() != profile.customer_id {
        return Err(ClientError::Protocol(
            "the vault answered for another customer".into(),
        ));
    }
    api.set_token(session.token);
    let customer_id = session.profile.customer_id;
    // A profile made before pinning existed pins the vault key now (trust on first use).
    let vault_key = match &profile.vault_key {
        Some(k) => k.clone(),
        None => api.get_text("/v1/ledger/key")?.trim().to_owned(),
    };
    // The same for the witness policy; a pinned one must still be the one the vault serves.
    let witnesses = match &profile.witness_policy {
        Some(text) => {
            let pinned = verify::parse_policy(text, "the profile's witness policy")?;
            verify::check_served_policy(&api, &pinned)?;
            pinned
        }
        None => verify::served_policy(&api)?,
    };
    Ok(Device {
        trust: Trust::new(
            &vault_key,
            witnesses,
            profile.last_checkpoint.clone(),
            profile.last_seq,
        )?,
        anchors: profile.org_anchors.clone(),
        api,
        customer_id,
        secrets,
    })
}

fn path_label(label: &Label) -> String {
    format!("/v1/me/envelopes/{label}")
}

fn refused(e: VerifyFailure) -> ClientError {
    match e {
        VerifyFailure::Client(c) => c,
        other => ClientError::Refused(other.to_string()),
    }
}

/// The customer's own ledger, verified and complete (see [`verify::verify_own`]).
#[derive(Debug)]
pub struct OwnLedger {
    pub verified: verify::Verified,
}

impl OwnLedger {
    /// The customer's signature (base64url) and the time of `grant`'s `grant_created`, if the
    /// ledger holds it.
    fn created(&self, grant: &GrantId) -> Option<(&str, Timestamp)> {
        self.verified
            .entries
            .iter()
            .find_map(|e| match &e.event.event {
                Event::GrantCreated {
                    grant_id,
                    signature,
                    at,
                    ..
                } if grant_id == grant => Some((signature.as_str(), *at)),
                _ => None,
            })
    }

    fn revoked(&self, grant: &GrantId) -> bool {
        self.verified.entries.iter().any(
            |e| matches!(&e.event.event, Event::GrantRevoked { grant_id, .. } if grant_id == grant),
        )
    }
}

/// What the customer decided about an organization they cannot check against a pin.
#[derive(Default, Clone)]
pub struct OrgCheck {
    /// The fingerprint the organization handed out through its own channel.
    pub fingerprint: Option<String>,
    /// "Approve an organization I could not verify".
    pub accept_unverified: bool,
    /// Go on although the organization's keys changed since an earlier approval.
    pub accept_key_change: bool,
}

/// A grant the device verified itself: its own signature, its own id, logged as created and
/// not logged as revoked.
#[derive(Debug)]
pub struct CheckedGrant {
    pub terms: GrantTerms,
    /// When the customer approved it (the `grant_created` event's time).
    pub approved_at: Timestamp,
}

impl Device {
    /// Writes what this device learned (pins, anchors) back into its profile.
    pub fn save_into(&self, profile: &mut Profile) {
        profile.vault_key = Some(self.trust.verifier.to_key_string());
        profile.witness_policy = Some(self.trust.witnesses.to_text());
        profile.last_checkpoint = self.trust.last_checkpoint.clone();
        profile.last_seq = self.trust.last_seq;
        profile.org_anchors = self.anchors.clone();
    }

    pub fn envelopes(&self) -> Result<Vec<EnvelopeSummary>, ClientError> {
        self.api.get("/v1/me/envelopes")
    }

    fn envelope(&self, label: &Label) -> Result<Option<EnvelopeFull>, ClientError> {
        match self.api.get(&path_label(label)) {
            Ok(e) => Ok(Some(e)),
            Err(e) if e.code() == Some("envelope_not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn owner_key(&self, e: &EnvelopeFull) -> Result<DataKey, ClientError> {
        let info = wrap_info(
            e.summary.envelope_id.as_str(),
            e.summary.version,
            self.customer_id.as_str(),
            OWNER,
        );
        Ok(unwrap_key(&self.secrets.x25519, &info, &e.owner_wrap)?)
    }

    /// Decrypts one envelope on this device. The AAD binds the label asked for and the content
    /// type as served, so a relabelled envelope does not open.
    pub fn get(&self, label: &Label) -> Result<(EnvelopeFull, Zeroizing<Vec<u8>>), ClientError> {
        let e = self
            .envelope(label)?
            .ok_or_else(|| ClientError::Usage(format!("there is no `{label}` envelope")))?;
        let key = self.owner_key(&e)?;
        let aad = envelope_aad(
            self.customer_id.as_str(),
            e.summary.envelope_id.as_str(),
            e.summary.version,
            label.as_str(),
            &e.summary.content_type,
        );
        let plain = open_payload(&key, &aad, &e.nonce, &e.ciphertext).map_err(|_| {
            ClientError::Refused(format!(
                "the `{label}` envelope does not open: its ciphertext, label or content type \
                 is not what this device sealed"
            ))
        })?;
        Ok((e, plain))
    }

    /// The customer's ledger, verified against the pinned vault key and checked complete.
    pub fn own_ledger(&mut self) -> Result<OwnLedger, ClientError> {
        let page: Value = self.api.get("/v1/me/ledger")?;
        let verified = verify::verify_own(
            &self.api,
            &mut self.trust,
            &page,
            Party::Customer(self.customer_id.as_str()),
        )
        .map_err(refused)?;
        Ok(OwnLedger { verified })
    }

    /// Changes the passphrase: the same keys sealed under the new one (fresh salt), and the new
    /// login proof; the vault checks the current passphrase's proof. Updates `profile`.
    pub fn change_passphrase(
        &self,
        profile: &mut Profile,
        current: &[u8],
        new: &[u8],
        cost: &KdfCost,
    ) -> Result<(), ClientError> {
        let old_keys = derive_keys(current, &profile.bundle.kdf)?;
        let kdf = KdfParams::with_cost(cost.m_kib, cost.t, cost.p)?;
        let keys = derive_keys(new, &kdf)?;
        let bundle = seal_bundle(&keys.kek, kdf, &self.secrets)?;
        let mut body = PassphraseBody {
            auth: *old_keys.auth,
            new_auth: *keys.auth,
            bundle: bundle.clone(),
        };
        let answer = self.api.post::<Value, _>("/v1/me/passphrase", &body);
        body.auth.zeroize();
        body.new_auth.zeroize();
        answer?;
        profile.bundle = bundle;
        Ok(())
    }

    /// Closes the account (revokes, declines, erases; the vault checks the passphrase's proof).
    pub fn close_account(
        &self,
        profile: &Profile,
        passphrase: &[u8],
    ) -> Result<Value, ClientError> {
        let keys = derive_keys(passphrase, &profile.bundle.kdf)?;
        let mut body = CloseBody { auth: *keys.auth };
        let answer = self.api.post("/v1/me/close", &body);
        body.auth.zeroize();
        answer
    }

    /// Whether the vault's key changed since this device pinned it, and if so whether the
    /// pinned key vouched for the new one.
    pub fn vault_key_change(&self) -> Result<verify::KeyChange, ClientError> {
        verify::key_change(&self.api, &self.trust).map_err(refused)
    }

    /// Accepts a vouched key change (the customer's decision), re-pinning the new key.
    pub fn accept_vault_key(&mut self, change: &verify::KeyChange) -> Result<(), ClientError> {
        verify::accept_key(&self.api, &mut self.trust, change).map_err(refused)
    }

    /// An organization's keys, from its key log verified against the pinned vault key.
    pub fn org_keys(&mut self, org: &OrgId) -> Result<OrgKeyLog, ClientError> {
        verify::org_key_log(&self.api, &mut self.trust, org).map_err(refused)
    }

    pub fn grants(&self) -> Result<Vec<GrantView>, ClientError> {
        self.api.get("/v1/me/grants")
    }

    /// A listed grant this device's own key signed for this customer, whose `grant_created`
    /// (with the same signature) is in the verified ledger: revoked or not, it pins the keys the
    /// customer approved.
    fn signed_grant(&self, g: &GrantView, ledger: &OwnLedger) -> Result<CheckedGrant, ClientError> {
        let refuse = |why: &str| refused_grant(g, why);
        if g.terms.customer_id != self.customer_id {
            return Err(refuse("it was made for another customer"));
        }
        verify_grant(&self.secrets.ed25519_public(), &g.terms, &g.signature)
            .map_err(|_| refuse("your key did not sign it"))?;
        let Some((signature, approved_at)) = ledger.created(&g.terms.grant_id) else {
            return Err(refuse("your verified ledger does not hold its approval"));
        };
        if signature != b64::encode(&g.signature) {
            return Err(refuse(
                "its approval in your ledger carries another signature",
            ));
        }
        Ok(CheckedGrant {
            terms: g.terms.clone(),
            approved_at,
        })
    }

    /// Believes a listed grant only if it is [`Device::signed_grant`] and the verified ledger
    /// shows no `grant_revoked` for it.
    pub fn checked_grant(
        &self,
        g: &GrantView,
        ledger: &OwnLedger,
    ) -> Result<CheckedGrant, ClientError> {
        let checked = self.signed_grant(g, ledger)?;
        if ledger.revoked(&g.terms.grant_id) {
            return Err(refused_grant(
                g,
                "your verified ledger shows you revoked it",
            ));
        }
        Ok(checked)
    }

    /// The grants to wrap a new data key of `label` for: every grant the vault lists as active
    /// on the label, each checked by [`Device::checked_grant`] and still in force by its signed
    /// terms. Any that fails stops everything: nothing is sent.
    fn recipients(&mut self, label: &Label) -> Result<Vec<GrantTerms>, ClientError> {
        let listed: Vec<GrantView> = self
            .grants()?
            .into_iter()
            .filter(|g| g.state == GrantState::Active && g.terms.labels.contains(label))
            // A grant whose read quota is used up can never read again: no new wraps.
            .filter(|g| g.terms.max_reads.is_none_or(|max| g.reads < max))
            .collect();
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        let ledger = self.own_ledger()?;
        let now = crate::clock::now();
        let mut out = Vec::new();
        for g in &listed {
            let checked = self.checked_grant(g, &ledger)?;
            if checked.terms.not_after <= now {
                return Err(ClientError::Refused(format!(
                    "the vault lists grant {} as active, but it expired at {}; refusing it",
                    checked.terms.grant_id, checked.terms.not_after
                )));
            }
            out.push(checked.terms);
        }
        Ok(out)
    }

    /// Seals `plaintext` under a fresh data key as the label's next version, wrapped to the
    /// owner and — only — to the `org_encryption_key` of each checked grant on the label.
    pub fn put(
        &mut self,
        label: &Label,
        content_type: &str,
        plaintext: &[u8],
        rotate: bool,
    ) -> Result<Value, ClientError> {
        crate::domain::catalog::check_content_type(content_type)
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        let existing = self.envelope(label)?;
        let recipients = self.recipients(label)?;
        let (envelope_id, version) = match &existing {
            Some(e) => (e.summary.envelope_id.clone(), e.summary.version + 1),
            None => (
                EnvelopeId::from_random(crate::crypto::keys::random_array()),
                1,
            ),
        };
        let key = DataKey::generate();
        let aad = envelope_aad(
            self.customer_id.as_str(),
            envelope_id.as_str(),
            version,
            label.as_str(),
            content_type,
        );
        let sealed = seal_payload(&key, &aad, plaintext)?;
        let owner = wrap_key(
            &self.secrets.x25519_public(),
            &wrap_info(
                envelope_id.as_str(),
                version,
                self.customer_id.as_str(),
                OWNER,
            ),
            &key,
        )?;
        let mut grant_wraps = Vec::new();
        for g in &recipients {
            let info = wrap_info(
                envelope_id.as_str(),
                version,
                g.org_id.as_str(),
                g.grant_id.as_str(),
            );
            let w = wrap_key(&g.org_encryption_key, &info, &key)?;
            grant_wraps.push(GrantWrapBody {
                grant_id: g.grant_id.clone(),
                enc: w.enc,
                ct: w.ct,
            });
        }
        self.api.put(
            &path_label(label),
            &PutBody {
                envelope_id,
                version,
                content_type: content_type.to_owned(),
                nonce: sealed.nonce,
                ciphertext: sealed.ciphertext,
                owner_wrap: owner,
                grant_wraps,
                rotate,
            },
        )
    }

    /// Re-encrypts every envelope marked `rotation_pending` under a new data key, so a revoked
    /// organization's old wrapped key opens nothing new. Returns the labels rotated.
    pub fn rotate_pending(&mut self) -> Result<Vec<Label>, ClientError> {
        let mut done = Vec::new();
        for e in self.envelopes()? {
            if !e.rotation_pending {
                continue;
            }
            let (full, plain) = self.get(&e.label)?;
            self.put(&e.label, &full.summary.content_type, &plain, true)?;
            done.push(e.label);
        }
        Ok(done)
    }

    pub fn erase(&self, label: &Label) -> Result<Value, ClientError> {
        self.api.delete(&path_label(label))
    }

    pub fn requests(&self) -> Result<Vec<RequestView>, ClientError> {
        self.api.get("/v1/me/requests")
    }

    /// Decides whether this device may trust `log`'s current keys for a new grant:
    /// - keys pinned by an earlier checked grant to the same organization must be the same
    ///   (else "keys changed since you approved it on …", unless the customer accepts it);
    /// - with no earlier grant (first contact) an anchor from outside the vault is needed: the
    ///   fingerprint the organization handed out, or an explicit "approve an organization I
    ///   could not verify".
    ///
    /// Returns whether the keys are verified by fingerprint (`Some(true)`), accepted unverified
    /// (`Some(false)`), or pinned by a grant another device approved (`None`).
    pub fn check_org(
        &mut self,
        log: &OrgKeyLog,
        check: &OrgCheck,
    ) -> Result<Option<bool>, ClientError> {
        let current = &log.current;
        let fp = fingerprint(&current.identity_key);
        if let Some(given) = &check.fingerprint
            && !fingerprint_matches(&current.identity_key, given)
        {
            return Err(ClientError::Refused(format!(
                "{} ({}) has the fingerprint {fp}, not the {given} you were given: these are \
                 not the organization's keys. Nothing was approved.",
                log.name, log.org_id
            )));
        }
        let ledger = self.own_ledger()?;
        let mut pinned: Option<CheckedGrant> = None;
        for g in self.grants()? {
            if g.terms.org_id != log.org_id {
                continue;
            }
            // Revoked or not, the customer's own grant pins the keys it was approved for.
            let c = self.signed_grant(&g, &ledger)?;
            if pinned
                .as_ref()
                .is_none_or(|p| c.approved_at > p.approved_at)
            {
                pinned = Some(c);
            }
        }
        let anchor = self.anchors.get(log.org_id.as_str()).cloned();
        let verified = match &pinned {
            Some(p)
                if p.terms.org_identity_key == current.identity_key
                    && p.terms.org_encryption_key == current.encryption_key =>
            {
                // Pinned by the customer's own earlier grant: verified if this device anchored
                // these keys by fingerprint then or now; unknown if another device approved.
                if check.fingerprint.is_some() {
                    Some(true)
                } else {
                    anchor
                        .filter(|a| a.identity_key == current.identity_key)
                        .map(|a| a.verified)
                }
            }
            Some(p) => {
                let changes: Vec<String> = log
                    .keys
                    .iter()
                    .filter(|k| k.at >= p.approved_at && k.key_seq > 1)
                    .map(|k| {
                        format!(
                            "key change #{} logged at ledger entry {} on {} (new fingerprint {})",
                            k.key_seq,
                            k.index,
                            k.at,
                            fingerprint(&k.identity_key)
                        )
                    })
                    .collect();
                if !check.accept_key_change {
                    return Err(ClientError::Refused(format!(
                        "{}'s keys changed since you approved it on {}: {}. Ask {} whether it \
                         changed its keys; to go on, approve again with the new fingerprint \
                         {fp} confirmed (--org-fingerprint) and --accept-key-change. Nothing \
                         was approved.",
                        log.name,
                        p.approved_at.date(),
                        if changes.is_empty() {
                            "the keys the vault now names are not in the grants you signed"
                                .to_owned()
                        } else {
                            changes.join("; ")
                        },
                        log.name
                    )));
                }
                Some(check.fingerprint.is_some())
            }
            None if check.fingerprint.is_some() => Some(true),
            None if check.accept_unverified => Some(false),
            None => {
                return Err(ClientError::Refused(format!(
                    "this is your first grant to {} ({}), and nothing outside the vault vouches \
                     for its keys yet. Compare its fingerprint {fp} with the one {} gave you \
                     (its website, app or letter) and pass it with --org-fingerprint, or pass \
                     --accept-unverified-org to approve an organization you could not verify. \
                     Nothing was approved.",
                    log.name, log.org_id, log.name
                )));
            }
        };
        if let Some(verified) = verified {
            self.anchors.insert(
                log.org_id.to_string(),
                OrgAnchor {
                    identity_key: current.identity_key,
                    verified,
                },
            );
        }
        Ok(verified)
    }

    /// Approves a request, optionally narrowing its labels, shortening its duration or capping
    /// reads: checks the organization's keys ([`Device::check_org`]), signs a grant naming them
    /// and wraps each granted envelope's data key to the encryption key in that grant.
    pub fn approve(
        &mut self,
        request_id: &RequestId,
        choice: &Choice,
        check: &OrgCheck,
    ) -> Result<Value, ClientError> {
        let request = self
            .requests()?
            .into_iter()
            .find(|r| &r.request.request_id == request_id)
            .ok_or_else(|| ClientError::Usage(format!("no request {request_id}")))?;
        if request.request.status != RequestStatus::Pending {
            return Err(ClientError::Usage(format!(
                "request {request_id} was already answered ({:?})",
                request.request.status
            )));
        }
        if request.request.customer_id != self.customer_id {
            return Err(ClientError::Refused(format!(
                "request {request_id} is addressed to another customer; refusing it"
            )));
        }
        // The organization's keys come from its verified key log, never from the request; a
        // request that describes the organization otherwise is the vault contradicting itself.
        let log = self.org_keys(&request.request.org_id)?;
        if request.org.org_id != log.org_id
            || request.org.ed25519_public != log.current.identity_key
            || request.org.x25519_public != log.current.encryption_key
        {
            return Err(ClientError::Refused(format!(
                "the vault shows request {request_id} with keys for {} that are not the ones in \
                 {}'s key log; refusing it. Nothing was approved.",
                request.org.org_id, log.org_id
            )));
        }
        self.check_org(&log, check)?;
        let keys = log.current;
        let (labels, purposes) = choice.terms(&request)?;
        let max_reads = choice.max_reads;
        let duration = choice
            .duration_secs
            .unwrap_or(request.request.duration_secs)
            .min(request.request.duration_secs);
        let now = crate::clock::now();
        let terms = GrantTerms {
            grant_id: GrantId::from_random(crate::crypto::keys::random_array()),
            customer_id: self.customer_id.clone(),
            org_id: log.org_id.clone(),
            org_identity_key: keys.identity_key,
            org_encryption_key: keys.encryption_key,
            labels,
            purposes,
            not_after: now.plus(i64::try_from(duration).unwrap_or(i64::MAX)),
            max_reads,
        };
        let mut wraps = Vec::new();
        for label in &terms.labels {
            let Some(e) = self.envelope(label)? else {
                continue;
            };
            let key = self.owner_key(&e)?;
            let info = wrap_info(
                e.summary.envelope_id.as_str(),
                e.summary.version,
                terms.org_id.as_str(),
                terms.grant_id.as_str(),
            );
            let w = wrap_key(&terms.org_encryption_key, &info, &key)?;
            wraps.push(WrapBody {
                label: label.clone(),
                envelope_id: e.summary.envelope_id,
                version: e.summary.version,
                enc: w.enc,
                ct: w.ct,
            });
        }
        let signature = sign_grant(&self.secrets.ed25519, &terms)?;
        self.api.post(
            &format!("/v1/me/requests/{request_id}/approve"),
            &ApproveBody {
                grant: terms,
                signature: signature.to_vec(),
                wraps,
            },
        )
    }

    /// Whether this device anchored `org` (fingerprint checked) or approved it unverified;
    /// `None` when this device never approved it.
    pub fn org_verified(&self, org: &OrgId) -> Option<bool> {
        self.anchors.get(org.as_str()).map(|a| a.verified)
    }

    pub fn decline(&self, request_id: &RequestId) -> Result<Value, ClientError> {
        self.api
            .post(&format!("/v1/me/requests/{request_id}/decline"), &json!({}))
    }

    pub fn revoke(&self, grant_id: &GrantId) -> Result<Value, ClientError> {
        self.api
            .post(&format!("/v1/me/grants/{grant_id}/revoke"), &json!({}))
    }

    pub fn ledger(&self) -> Result<Value, ClientError> {
        self.api.get("/v1/me/ledger")
    }
}

/// What the customer keeps of a request: `None` keeps everything asked for. Labels and purposes
/// must be among those asked; purposes must include the required ones.
#[derive(Clone, Debug, Default)]
pub struct Choice {
    pub labels: Option<Vec<Label>>,
    pub purposes: Option<Vec<Purpose>>,
    pub duration_secs: Option<u64>,
    pub max_reads: Option<u32>,
}

impl Choice {
    /// The labels and purposes to sign, sorted, checked against the request before anything
    /// is signed (the vault checks again).
    fn terms(&self, r: &RequestView) -> Result<(Vec<Label>, Vec<Purpose>), ClientError> {
        let mut labels = self
            .labels
            .clone()
            .unwrap_or_else(|| r.request.labels.clone());
        let mut purposes = self
            .purposes
            .clone()
            .unwrap_or_else(|| r.request.purposes.clone());
        labels.sort();
        labels.dedup();
        purposes.sort();
        purposes.dedup();
        if labels.is_empty() || purposes.is_empty() {
            return Err(ClientError::Usage(
                "choose at least one label and one purpose, or decline the request".into(),
            ));
        }
        if let Some(l) = labels.iter().find(|l| !r.request.labels.contains(l)) {
            return Err(ClientError::Usage(format!(
                "`{l}` was not asked for; choose among {}",
                join(&r.request.labels)
            )));
        }
        if let Some(p) = purposes.iter().find(|p| !r.request.purposes.contains(p)) {
            return Err(ClientError::Usage(format!(
                "`{p}` was not asked for; choose among {}",
                join(&r.request.purposes)
            )));
        }
        if let Some(p) = r
            .request
            .required_purposes
            .iter()
            .find(|p| !purposes.contains(p))
        {
            return Err(ClientError::Usage(format!(
                "{} needs `{p}` for its service: include it, or decline the request",
                r.request.org_id
            )));
        }
        Ok((labels, purposes))
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a grant the vault listed is not believed.
fn refused_grant(g: &GrantView, why: &str) -> ClientError {
    ClientError::Refused(format!(
        "the vault lists grant {} ({}) as yours, but {why}; refusing it",
        g.terms.grant_id, g.terms.org_id
    ))
}

/// The fingerprint of an organization's identity key as this device computes it (never the
/// string a vault sends).
pub fn org_fingerprint(keys: &verify::OrgKeySet) -> String {
    fingerprint(&keys.identity_key)
}
