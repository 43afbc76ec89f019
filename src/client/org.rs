//! The organization's side: `private_key_jwt` token, requests, reads decrypted locally and
//! checked against what was asked, key changes, and the monitor of its own ledger.

use super::verify::{self, Party, Trust, VerifyFailure};
use super::{Api, ClientError};
use crate::config::OrgKeys;
use crate::crypto::envelope::{envelope_aad, open_payload};
use crate::crypto::wrap::{unwrap_key, wrap_info};
use crate::domain::catalog::{Label, Purpose};
use crate::domain::ids::{CustomerId, OrgId};
use crate::ledger::Event;
use crate::ledger::receipt::verify_access_receipt;
use crate::tokens;
use crate::wire::requests::CreateBody;
use serde_json::Value;
use zeroize::Zeroizing;

// Read answers are the wire module's types; what the client checks of each is said at
// `OrgClient::read`.
pub use crate::wire::ledger::LedgerRef;
use crate::wire::org::TokenAnswer;
pub use crate::wire::org::{ReadReceipt, ReadResponse};

/// An access request as an organization words it.
pub struct Ask<'a> {
    /// A customer id (`cus_…`) or handle.
    pub customer: &'a str,
    pub labels: &'a [String],
    pub purposes: &'a [String],
    /// The purposes (among `purposes`) the service cannot do without.
    pub required_purposes: &'a [String],
    pub duration_secs: u64,
    pub justification: &'a str,
}

impl<'a> Ask<'a> {
    /// A request with no required purposes.
    pub fn new(
        customer: &'a str,
        labels: &'a [String],
        purposes: &'a [String],
        duration_secs: u64,
        justification: &'a str,
    ) -> Self {
        Self {
            customer,
            labels,
            purposes,
            required_purposes: &[],
            duration_secs,
            justification,
        }
    }
}

impl ReadResponse {
    /// Opens the envelope with the organization's X25519 key: unwrap the data key (HPKE, info
    /// bound to envelope, version, org and grant), then the payload (AAD bound to customer,
    /// envelope, version and label).
    pub fn open(&self, keys: &OrgKeys) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        let info = wrap_info(
            self.envelope_id.as_str(),
            self.version,
            &keys.org_id,
            self.grant_id.as_str(),
        );
        let key = unwrap_key(&keys.encryption, &info, &self.wrap)?;
        let aad = envelope_aad(
            self.customer_id.as_str(),
            self.envelope_id.as_str(),
            self.version,
            self.label.as_str(),
            &self.content_type,
        );
        Ok(open_payload(&key, &aad, &self.nonce, &self.ciphertext)?)
    }
}

pub struct OrgClient {
    pub api: Api,
    pub keys: OrgKeys,
    /// The pinned vault key, the last verified checkpoint and the highest `org_seq` seen.
    pub trust: Trust,
}

/// An access token from `api`'s vault for a fresh client assertion (RFC 7523) whose audience
/// is `endpoint`: the token endpoint as this organization names the vault (its own URL, or the
/// balancer's in front of several nodes).
pub fn access_token(api: &Api, keys: &OrgKeys, endpoint: &str) -> Result<String, ClientError> {
    let now = crate::clock::now().unix();
    let assertion = tokens::client_assertion(&keys.identity, &keys.org_id, endpoint, now)
        .map_err(|e| ClientError::Usage(e.to_string()))?;
    let answer: TokenAnswer = api.post_form(
        "/v1/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", crate::wire::org::JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ],
    )?;
    Ok(answer.access_token)
}

impl OrgClient {
    /// Authenticates with a fresh client assertion (RFC 7523) and keeps the access token.
    /// Trusts the first vault key it sees; see [`OrgClient::connect_pinned`].
    pub fn connect(server: &str, keys: OrgKeys) -> Result<Self, ClientError> {
        Self::connect_pinned(server, keys, None)
    }

    /// Authenticates, keeping `trust` (what this organization pinned before); without one, the
    /// vault key and witness policy are fetched and trusted on first use. A vault that serves
    /// another witness policy than the pinned one is refused.
    pub fn connect_pinned(
        server: &str,
        keys: OrgKeys,
        trust: Option<Trust>,
    ) -> Result<Self, ClientError> {
        let mut api = Api::new(server)?;
        let endpoint = format!("{}/v1/oauth/token", api.base());
        let token = access_token(&api, &keys, &endpoint)?;
        api.set_token(token);
        let trust = match trust {
            Some(t) => {
                verify::check_served_policy(&api, &t.witnesses)?;
                t
            }
            None => Trust::new(
                &api.get_text("/v1/ledger/key")?,
                verify::served_policy(&api)?,
                None,
                0,
            )?,
        };
        Ok(Self { api, keys, trust })
    }

    /// Asks a customer (by id `cus_…` or by handle) for labels and purposes.
    pub fn request(&self, ask: &Ask<'_>) -> Result<Value, ClientError> {
        let Ask {
            customer,
            labels,
            purposes,
            required_purposes,
            duration_secs,
            justification,
        } = ask;
        let usage = |e: crate::domain::DomainError| ClientError::Usage(e.to_string());
        let parse_all = |items: &[String]| {
            items
                .iter()
                .map(|p| Purpose::parse(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(usage)
        };
        let (customer_id, customer_handle) = if customer.starts_with("cus_") {
            (Some(CustomerId::parse(customer).map_err(usage)?), None)
        } else {
            (
                None,
                Some(crate::domain::ids::Handle::parse(customer).map_err(usage)?),
            )
        };
        self.api.post(
            "/v1/org/requests",
            &CreateBody {
                customer_id,
                customer_handle,
                labels: labels
                    .iter()
                    .map(|l| Label::parse(l))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(usage)?,
                purposes: parse_all(purposes)?,
                required_purposes: parse_all(required_purposes)?,
                duration_secs: *duration_secs,
                justification: (*justification).to_owned(),
            },
        )
    }

    pub fn requests(&self) -> Result<Value, ClientError> {
        self.api.get("/v1/org/requests")
    }

    /// One request, with `granted` once the customer approved: what the customer chose,
    /// possibly narrower than asked. (The vault's word; the read policy it enforces is the
    /// customer's signed grant.)
    pub fn request_status(&self, request_id: &str) -> Result<Value, ClientError> {
        let id = crate::domain::ids::RequestId::parse(request_id)
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        self.api.get(&format!("/v1/org/requests/{id}"))
    }

    /// Reads and decrypts one envelope for `purpose`, refusing an answer about another
    /// customer, label or purpose, or one whose receipt the pinned vault key did not sign.
    pub fn read(
        &self,
        customer: &str,
        label: &str,
        purpose: &str,
    ) -> Result<(ReadResponse, Zeroizing<Vec<u8>>), ClientError> {
        let customer =
            CustomerId::parse(customer).map_err(|e| ClientError::Usage(e.to_string()))?;
        let label = Label::parse(label).map_err(|e| ClientError::Usage(e.to_string()))?;
        let purpose = Purpose::parse(purpose).map_err(|e| ClientError::Usage(e.to_string()))?;
        let r: ReadResponse = self.api.get_query(
            &format!("/v1/org/customers/{customer}/envelopes/{label}"),
            &[("purpose", purpose.as_str())],
        )?;
        if r.customer_id != customer || r.label != label || r.purpose != purpose {
            return Err(ClientError::Refused(format!(
                "asked for {customer}'s `{label}` for {purpose}, the vault answered with \
                 {}'s `{}` for {}; refusing the answer",
                r.customer_id, r.label, r.purpose
            )));
        }
        crate::domain::catalog::check_content_type(&r.content_type)
            .map_err(|e| ClientError::Refused(e.to_string()))?;
        // The receipt (wire v2): the read's leaf in a batch the pinned vault key signed.
        let receipt = &r.receipt;
        if receipt.index != r.ledger.index || receipt.leaf != r.ledger.leaf {
            return Err(ClientError::Refused(
                "the access receipt names another ledger entry than the answer".into(),
            ));
        }
        verify_access_receipt(
            &self.trust.verifier.public,
            receipt.index,
            &receipt.leaf,
            &receipt.batch.head(),
            &receipt.path,
            &receipt.batch.signature,
        )
        .map_err(|e| {
            ClientError::Refused(format!(
                "the access receipt does not prove the read was logged under the pinned vault key \
                 ({e}): the read may not be logged"
            ))
        })?;
        let plain = r.open(&self.keys).map_err(|_| {
            ClientError::Refused(format!(
                "the answer does not open for {customer}'s `{label}` with this organization's \
                 key: it is not the envelope asked for, or its content type was changed"
            ))
        })?;
        Ok((r, plain))
    }

    /// Replaces this organization's keys: the change is signed by the current identity key
    /// and logged in the organization's key log. Returns the new key_seq.
    pub fn change_keys(&self, new: &OrgKeys) -> Result<Value, ClientError> {
        let org_id =
            OrgId::parse(&self.keys.org_id).map_err(|e| ClientError::Usage(e.to_string()))?;
        let log: Value = self.api.get(&format!("/v1/orgs/{org_id}/keys"))?;
        let key_seq = log["entries"].as_array().map_or(0, Vec::len) as u64 + 1;
        let identity_key = new.identity.verifying_key().to_bytes();
        let encryption_key = new.encryption.public();
        let change = crate::crypto::sign::OrgKeyChange {
            org_id: org_id.as_str(),
            key_seq,
            identity_key,
            encryption_key,
        };
        let change_signature =
            crate::crypto::sign::sign_org_key_change(&self.keys.identity, &change)?;
        self.api.post(
            "/v1/org/keys",
            &crate::wire::org::KeyChangeBody {
                identity_key,
                encryption_key,
                key_signature: crate::crypto::sign::sign_org_key(&new.identity, &encryption_key)
                    .to_vec(),
                change_signature: change_signature.to_vec(),
            },
        )
    }

    /// The organization's monitor: verifies its own ledger (pinned vault key, consistency,
    /// inclusion, `org_seq` complete from 1 and not going back) and that every key event under
    /// its id names keys it made (`known`: the key file's keys and the earlier ones it kept).
    /// Moves `trust` forward only when everything passed.
    pub fn monitor(&mut self, known: &[([u8; 32], [u8; 32])]) -> Result<Monitored, VerifyFailure> {
        let page: Value = self.api.get("/v1/org/ledger")?;
        let mut trust = self.trust.clone();
        let v = verify::verify_own(&self.api, &mut trust, &page, Party::Org(&self.keys.org_id))?;
        let mine = (
            self.keys.identity.verifying_key().to_bytes(),
            self.keys.encryption.public(),
        );
        let mut key_events = 0;
        for e in &v.entries {
            let (identity, encryption, key_seq) = match &e.event.event {
                Event::OrgRegistered {
                    identity_key,
                    encryption_key,
                    key_seq,
                    ..
                }
                | Event::OrgKeysChanged {
                    identity_key,
                    encryption_key,
                    key_seq,
                    ..
                } => (identity_key, encryption_key, key_seq),
                _ => continue,
            };
            key_events += 1;
            let pair = (*identity, *encryption);
            if pair != mine && !known.contains(&pair) {
                return Err(VerifyFailure::KeyLog {
                    org: self.keys.org_id.clone(),
                    reason: format!(
                        "ledger entry {} (key_seq {key_seq}) names keys this organization did \
                         not make: identity fingerprint {}",
                        e.index,
                        crate::crypto::sign::fingerprint(identity)
                    ),
                });
            }
        }
        self.trust = trust;
        Ok(Monitored {
            size: v.checkpoint.size,
            entries: v.entries.len(),
            key_events,
            last_seq: self.trust.last_seq,
        })
    }

    pub fn ledger(&self) -> Result<Value, ClientError> {
        self.api.get("/v1/org/ledger")
    }
}

/// What a monitor run checked.
#[derive(Debug)]
pub struct Monitored {
    pub size: u64,
    pub entries: usize,
    pub key_events: usize,
    pub last_seq: u64,
}
