//! The customer's device: key generation, unlock, envelope sealing, approvals and rotation.

use super::profile::{PROFILE_KIND, Profile};
use super::{Api, ClientError};
use crate::crypto::b64::{self, serde_array, serde_bytes};
use crate::crypto::bundle::{
    CustomerSecrets, KdfParams, SealedBundle, derive_keys, open_bundle, seal_bundle,
};
use crate::crypto::envelope::{DataKey, envelope_aad, open_payload, seal_payload};
use crate::crypto::sign::{sign_grant, verify_org_key};
use crate::crypto::wrap::{OWNER, Wrap, unwrap_key, wrap_info, wrap_key};
use crate::domain::catalog::{Label, Purpose};
use crate::domain::grant::GrantTerms;
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId, RequestId};
use crate::domain::time::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

#[derive(Deserialize)]
struct SessionAnswer {
    token: String,
    customer_id: String,
    bundle: SealedBundle,
}

#[derive(Deserialize)]
struct KdfAnswer {
    kdf: KdfParams,
}

/// What the vault holds of one envelope.
#[derive(Deserialize, Debug)]
pub struct EnvelopeFull {
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub content_type: String,
    pub rotation_pending: bool,
    #[serde(with = "serde_array")]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    pub owner_wrap: Wrap,
}

#[derive(Deserialize, Debug)]
pub struct EnvelopeSummary {
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub content_type: String,
    pub size: usize,
    pub rotation_pending: bool,
    pub updated_at: Timestamp,
}

/// An organization as the device checks it before wrapping anything to it.
#[derive(Deserialize, Debug, Clone)]
pub struct OrgInfo {
    pub org_id: OrgId,
    pub name: String,
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub key_signature: Vec<u8>,
    pub fingerprint: String,
}

impl OrgInfo {
    /// The identity key must have signed the encryption key (design: "refuses a key whose
    /// signature does not verify").
    pub fn checked(self) -> Result<Self, ClientError> {
        verify_org_key(
            &self.ed25519_public,
            &self.x25519_public,
            &self.key_signature,
        )
        .map_err(|_| {
            ClientError::Protocol(format!(
                "{}'s encryption key is not signed by its identity key; refusing it",
                self.org_id
            ))
        })?;
        Ok(self)
    }
}

#[derive(Deserialize, Debug)]
pub struct RequestView {
    pub request_id: RequestId,
    pub org: OrgInfo,
    pub labels: Vec<Label>,
    pub purposes: Vec<Purpose>,
    pub duration_secs: u64,
    pub justification: String,
    pub status: String,
    pub created_at: Timestamp,
}

#[derive(Deserialize, Debug)]
pub struct GrantView {
    pub grant_id: GrantId,
    pub org_id: OrgId,
    pub labels: Vec<Label>,
    pub purposes: Vec<Purpose>,
    pub not_after: Timestamp,
    pub state: String,
    pub reads: u32,
    #[serde(default)]
    pub org_name: Option<String>,
}

/// Cost of the passphrase KDF for a new account.
pub struct KdfCost {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

/// Creates keys on this device, seals them under the passphrase and registers the account.
pub fn sign_up(
    server: &str,
    handle: &str,
    passphrase: &[u8],
    cost: &KdfCost,
) -> Result<Profile, ClientError> {
    let api = Api::new(server)?;
    let kdf = KdfParams::with_cost(cost.m_kib, cost.t, cost.p)?;
    let keys = derive_keys(passphrase, &kdf)?;
    let secrets = CustomerSecrets::generate();
    let bundle = seal_bundle(&keys.kek, kdf, &secrets)?;
    let answer: Value = api.post(
        "/v1/customers",
        &json!({
            "handle": handle,
            "auth": b64::encode(&keys.auth[..]),
            "bundle": bundle,
            "x25519_public": b64::encode(&secrets.x25519_public()),
            "ed25519_public": b64::encode(&secrets.ed25519_public()),
        }),
    )?;
    let customer_id = answer["customer_id"]
        .as_str()
        .ok_or_else(|| ClientError::Protocol("no customer_id".into()))?;
    // Trust on first use: pin the vault's checkpoint key now; every later verification uses it.
    let vault_key = api.get_text("/v1/ledger/key")?.trim().to_owned();
    super::verify::pinned(&vault_key)?;
    Ok(Profile {
        vault_key: Some(vault_key),
        last_checkpoint: None,
        kind: PROFILE_KIND.into(),
        server: api.base().to_owned(),
        handle: handle.to_owned(),
        customer_id: customer_id.to_owned(),
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
}

/// Derives keys from the passphrase, logs in, opens the key bundle the server returns and
/// checks it holds the keys this profile knows.
pub fn unlock(profile: &Profile, passphrase: &[u8]) -> Result<Device, ClientError> {
    let mut api = Api::new(&profile.server)?;
    let kdf: KdfAnswer =
        api.get_query("/v1/customers/kdf", &[("handle", profile.handle.as_str())])?;
    let keys = derive_keys(passphrase, &kdf.kdf)?;
    let session: SessionAnswer = api.post(
        "/v1/sessions",
        &json!({ "handle": profile.handle, "auth": b64::encode(&keys.auth[..]) }),
    )?;
    let secrets = open_bundle(&keys.kek, &session.bundle)?;
    if secrets.x25519_public() != profile.x25519_public
        || secrets.ed25519_public() != profile.ed25519_public
    {
        return Err(ClientError::Protocol(
            "the key bundle from the vault does not hold this profile's keys; refusing it".into(),
        ));
    }
    if session.customer_id != profile.customer_id {
        return Err(ClientError::Protocol(
            "the vault answered for another customer".into(),
        ));
    }
    api.set_token(session.token);
    let customer_id = CustomerId::parse(&session.customer_id)
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    Ok(Device {
        api,
        customer_id,
        secrets,
    })
}

fn path_label(label: &Label) -> String {
    format!("/v1/me/envelopes/{label}")
}

impl Device {
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
            e.envelope_id.as_str(),
            e.version,
            self.customer_id.as_str(),
            OWNER,
        );
        Ok(unwrap_key(&self.secrets.x25519, &info, &e.owner_wrap)?)
    }

    /// Decrypts one envelope on this device.
    pub fn get(&self, label: &Label) -> Result<(EnvelopeFull, Zeroizing<Vec<u8>>), ClientError> {
        let e = self
            .envelope(label)?
            .ok_or_else(|| ClientError::Usage(format!("there is no `{label}` envelope")))?;
        let key = self.owner_key(&e)?;
        let aad = envelope_aad(
            self.customer_id.as_str(),
            e.envelope_id.as_str(),
            e.version,
            label.as_str(),
        );
        let plain = open_payload(&key, &aad, &e.nonce, &e.ciphertext)?;
        Ok((e, plain))
    }

    pub fn org(&self, id: &OrgId) -> Result<OrgInfo, ClientError> {
        self.api
            .get::<OrgInfo>(&format!("/v1/orgs/{id}"))?
            .checked()
    }

    pub fn grants(&self) -> Result<Vec<GrantView>, ClientError> {
        self.api.get("/v1/me/grants")
    }

    /// Seals `plaintext` under a fresh data key as the label's next version, wrapped to the
    /// owner and to every organization with an active grant on the label.
    pub fn put(
        &self,
        label: &Label,
        content_type: &str,
        plaintext: &[u8],
        rotate: bool,
    ) -> Result<Value, ClientError> {
        let existing = self.envelope(label)?;
        let (envelope_id, version) = match &existing {
            Some(e) => (e.envelope_id.clone(), e.version + 1),
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
        for g in self.grants()? {
            if g.state != "active" || !g.labels.contains(label) {
                continue;
            }
            let org = self.org(&g.org_id)?;
            let info = wrap_info(
                envelope_id.as_str(),
                version,
                org.org_id.as_str(),
                g.grant_id.as_str(),
            );
            let w = wrap_key(&org.x25519_public, &info, &key)?;
            grant_wraps.push(json!({ "grant_id": g.grant_id, "enc": b64::encode(&w.enc), "ct": b64::encode(&w.ct) }));
        }
        self.api.put(
            &path_label(label),
            &json!({
                "envelope_id": envelope_id,
                "version": version,
                "content_type": content_type,
                "nonce": b64::encode(&sealed.nonce),
                "ciphertext": b64::encode(&sealed.ciphertext),
                "owner_wrap": owner,
                "grant_wraps": grant_wraps,
                "rotate": rotate,
            }),
        )
    }

    /// Re-encrypts every envelope marked `rotation_pending` under a new data key, so a revoked
    /// organization's old wrapped key opens nothing new. Returns the labels rotated.
    pub fn rotate_pending(&self) -> Result<Vec<Label>, ClientError> {
        let mut done = Vec::new();
        for e in self.envelopes()? {
            if !e.rotation_pending {
                continue;
            }
            let (full, plain) = self.get(&e.label)?;
            self.put(&e.label, &full.content_type, &plain, true)?;
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

    /// Approves a request, optionally narrowing its labels, shortening its duration or capping
    /// reads: signs the grant and wraps each granted envelope's data key to the organization.
    pub fn approve(
        &self,
        request_id: &RequestId,
        labels: Option<Vec<Label>>,
        duration_secs: Option<u64>,
        max_reads: Option<u32>,
    ) -> Result<Value, ClientError> {
        let request = self
            .requests()?
            .into_iter()
            .find(|r| &r.request_id == request_id)
            .ok_or_else(|| ClientError::Usage(format!("no request {request_id}")))?;
        if request.status != "pending" {
            return Err(ClientError::Usage(format!(
                "request {request_id} is already {}",
                request.status
            )));
        }
        let org = request.org.clone().checked()?;
        let mut labels = labels.unwrap_or_else(|| request.labels.clone());
        labels.sort();
        let duration = duration_secs
            .unwrap_or(request.duration_secs)
            .min(request.duration_secs);
        let now = crate::vault::Vault::now();
        let terms = GrantTerms {
            grant_id: GrantId::from_random(crate::crypto::keys::random_array()),
            customer_id: self.customer_id.clone(),
            org_id: org.org_id.clone(),
            labels,
            purposes: request.purposes.clone(),
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
                e.envelope_id.as_str(),
                e.version,
                org.org_id.as_str(),
                terms.grant_id.as_str(),
            );
            let w = wrap_key(&org.x25519_public, &info, &key)?;
            wraps.push(json!({
                "label": label, "envelope_id": e.envelope_id, "version": e.version,
                "enc": b64::encode(&w.enc), "ct": b64::encode(&w.ct),
            }));
        }
        let signature = sign_grant(&self.secrets.ed25519, &terms)?;
        self.api.post(
            &format!("/v1/me/requests/{request_id}/approve"),
            &json!({ "grant": terms, "signature": b64::encode(&signature), "wraps": wraps }),
        )
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
