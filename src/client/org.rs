//! The organization's side: `private_key_jwt` token, requests, and reads decrypted locally.

use super::{Api, ClientError};
use crate::config::OrgKeys;
use crate::crypto::b64::{serde_array, serde_bytes};
use crate::crypto::envelope::{envelope_aad, open_payload};
use crate::crypto::wrap::{Wrap, unwrap_key, wrap_info};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId};
use crate::tokens;
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize, Debug)]
pub struct LedgerRef {
    pub index: u64,
    #[serde(with = "serde_array")]
    pub leaf: [u8; 32],
}

/// The wire format of an organization read.
#[derive(Deserialize, Debug)]
pub struct ReadResponse {
    pub customer_id: CustomerId,
    pub envelope_id: EnvelopeId,
    pub label: String,
    pub version: u64,
    pub content_type: String,
    #[serde(with = "serde_array")]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    pub wrap: Wrap,
    pub grant_id: GrantId,
    pub ledger: LedgerRef,
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
            &self.label,
        );
        Ok(open_payload(&key, &aad, &self.nonce, &self.ciphertext)?)
    }
}

pub struct OrgClient {
    pub api: Api,
    pub keys: OrgKeys,
}

impl OrgClient {
    /// Authenticates with a fresh client assertion (RFC 7523) and keeps the access token.
    pub fn connect(server: &str, keys: OrgKeys) -> Result<Self, ClientError> {
        let mut api = Api::new(server)?;
        let endpoint = format!("{}/v1/oauth/token", api.base());
        let now = crate::vault::Vault::now().unix();
        let assertion = tokens::client_assertion(&keys.identity, &keys.org_id, &endpoint, now)
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        let answer: TokenAnswer = api.post_form(
            "/v1/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ],
        )?;
        api.set_token(answer.access_token);
        Ok(Self { api, keys })
    }

    /// Asks a customer (by id `cus_…` or by handle) for labels and purposes.
    pub fn request(
        &self,
        customer: &str,
        labels: &[String],
        purposes: &[String],
        duration_secs: u64,
        justification: &str,
    ) -> Result<Value, ClientError> {
        let who = if customer.starts_with("cus_") {
            "customer_id"
        } else {
            "customer_handle"
        };
        self.api.post(
            "/v1/org/requests",
            &json!({
                who: customer,
                "labels": labels,
                "purposes": purposes,
                "duration_secs": duration_secs,
                "justification": justification,
            }),
        )
    }

    pub fn requests(&self) -> Result<Value, ClientError> {
        self.api.get("/v1/org/requests")
    }

    /// Reads and decrypts one envelope for `purpose`.
    pub fn read(
        &self,
        customer: &str,
        label: &str,
        purpose: &str,
    ) -> Result<(ReadResponse, Zeroizing<Vec<u8>>), ClientError> {
        let r: ReadResponse = self.api.get_query(
            &format!("/v1/org/customers/{customer}/envelopes/{label}"),
            &[("purpose", purpose)],
        )?;
        let plain = r.open(&self.keys)?;
        Ok((r, plain))
    }

    pub fn ledger(&self) -> Result<Value, ClientError> {
        self.api.get("/v1/org/ledger")
    }
}
