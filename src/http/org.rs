//! Organizations: public identity, the OAuth2 token endpoint, and the envelope read.

use super::AppState;
use super::auth::OrgAuth;
use super::error::ApiError;
use super::extract::{Form, Json, Path, Query};
use super::ledger::LedgerRef;
use crate::crypto::b64::{serde_array, serde_bytes};
use crate::crypto::sign::fingerprint;
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::{Label, Purpose};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId};
use crate::store::records::OrgRecord;
use crate::tokens::{self, Audience, ORG_TTL_SECS};
use crate::vault::Vault;
use axum::extract::{ConnectInfo, State};
use serde::{Deserialize, Serialize};

/// An organization's public identity. `fingerprint` is of the identity key; a client must check
/// `key_signature` (identity over the encryption key) before wrapping anything to it.
#[derive(Serialize)]
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

impl From<OrgRecord> for OrgInfo {
    fn from(o: OrgRecord) -> Self {
        Self {
            fingerprint: fingerprint(&o.ed25519_public),
            org_id: o.org_id,
            name: o.name,
            ed25519_public: o.ed25519_public,
            x25519_public: o.x25519_public,
            key_signature: o.key_signature,
        }
    }
}

pub async fn public_info(
    State(s): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<OrgInfo>, ApiError> {
    let id = OrgId::parse(&raw)?;
    Ok(Json(s.vault.org(&id)?.into()))
}

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub grant_type: String,
    #[serde(default)]
    pub client_assertion_type: String,
    #[serde(default)]
    pub client_assertion: String,
}

#[derive(Serialize)]
pub struct TokenAnswer {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

fn invalid_client() -> ApiError {
    ApiError::Unauthorized("invalid_client", "client authentication failed".into())
}

/// OAuth 2.0 client credentials (RFC 6749 §4.4) authenticated with `private_key_jwt`
/// (RFC 7523 §2.2): the assertion must be signed by the org's registered identity key, name
/// this endpoint as `aud`, expire within 5 minutes, and carry a `jti` never used before.
pub async fn token(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Form(f): Form<TokenForm>,
) -> Result<Json<TokenAnswer>, ApiError> {
    s.limits.check_ip(peer.ip(), "token")?;
    if f.grant_type != "client_credentials" {
        return Err(ApiError::bad(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    if f.client_assertion_type != JWT_BEARER {
        return Err(ApiError::bad(
            "invalid_request",
            format!("client_assertion_type must be {JWT_BEARER}"),
        ));
    }
    if f.client_assertion.is_empty() || f.client_assertion.len() > 8192 {
        return Err(ApiError::bad(
            "invalid_request",
            "client_assertion is missing or too long",
        ));
    }
    let subject = tokens::assertion_subject(&f.client_assertion).map_err(|_| invalid_client())?;
    let org_id = OrgId::parse(&subject).map_err(|_| invalid_client())?;
    s.limits.check_account(org_id.as_str(), "token")?;
    let org = s.vault.find_org(&org_id)?.ok_or_else(invalid_client)?;
    let now = Vault::now().unix();
    let claims = tokens::verify_client_assertion(
        &f.client_assertion,
        org_id.as_str(),
        &org.ed25519_public,
        &s.token_endpoint,
        now,
    )
    .map_err(|e| {
        tracing::info!(org = %org_id, reason = %e, "client assertion refused");
        invalid_client()
    })?;
    // Remember the jti as long as the assertion could still be accepted (exp + leeway).
    let remember_until = claims.exp.saturating_add(tokens::LEEWAY_SECS as i64);
    if !s
        .vault
        .use_assertion_jti(&org_id, &claims.jti, remember_until)
        .await?
    {
        return Err(ApiError::Unauthorized(
            "invalid_client",
            "this client assertion was already used".into(),
        ));
    }
    Ok(Json(TokenAnswer {
        access_token: s
            .tokens
            .issue(Audience::Org, org_id.as_str(), ORG_TTL_SECS, now)?,
        token_type: "Bearer",
        expires_in: ORG_TTL_SECS,
    }))
}

#[derive(Deserialize)]
pub struct ReadQuery {
    pub purpose: Option<String>,
}

/// The wire format of an organization read (see README, "Wire format").
#[derive(Serialize)]
pub struct ReadResponse {
    pub customer_id: CustomerId,
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub content_type: String,
    #[serde(with = "serde_array")]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    pub wrap: Wrap,
    pub grant_id: GrantId,
    pub purpose: Purpose,
    pub ledger: LedgerRef,
    /// The vault's signature over (index, leaf, time): proof the access was logged.
    pub receipt: ReadReceipt,
}

#[derive(Serialize)]
pub struct ReadReceipt {
    pub index: u64,
    #[serde(with = "serde_array")]
    pub leaf: [u8; 32],
    pub time: String,
    /// Ed25519 over `assent/v1/receipt\n` index `\n` leaf (base64url) `\n` time.
    #[serde(with = "serde_array")]
    pub signature: [u8; 64],
    /// The signing key, in C2SP signed-note verifier form.
    pub vault_key: String,
}

pub async fn read(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path((customer, label)): Path<(String, String)>,
    Query(q): Query<ReadQuery>,
) -> Result<Json<ReadResponse>, ApiError> {
    let customer = CustomerId::parse(&customer)?;
    let label = Label::parse(&label)?;
    let purpose = q.purpose.ok_or_else(|| {
        ApiError::bad(
            "purpose_required",
            "name the purpose of this read: ?purpose=dpv:…",
        )
    })?;
    let purpose = Purpose::parse(&purpose)?;
    let r = s
        .vault
        .read_envelope(org, customer.clone(), label, purpose)
        .await?;
    let (signed, signature) =
        s.vault
            .access_receipt(r.ledger.index, r.ledger.leaf, r.at.to_rfc3339());
    let receipt = ReadReceipt {
        index: signed.index,
        leaf: signed.leaf,
        time: signed.time,
        signature,
        vault_key: s.vault.signer().verifier_key(),
    };
    Ok(Json(ReadResponse {
        customer_id: customer,
        envelope_id: r.envelope.envelope_id,
        label: r.envelope.label,
        version: r.envelope.version,
        content_type: r.envelope.content_type,
        nonce: r.envelope.nonce,
        ciphertext: r.envelope.ciphertext,
        wrap: r.wrap.wrap,
        grant_id: r.grant.terms.grant_id,
        purpose: r.purpose,
        ledger: r.ledger.into(),
        receipt,
    }))
}
