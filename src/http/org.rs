//! Organizations: public identity, the OAuth2 token endpoint, and the envelope read.

use super::AppState;
use super::auth::OrgAuth;
use super::error::ApiError;
use super::extract::{Form, Json, Path, Query};
use crate::crypto::sign::fingerprint;
use crate::domain::catalog::{Label, Purpose};
use crate::domain::ids::{CustomerId, OrgId};
use crate::store::records::OrgRecord;
use crate::tokens::{self, Audience, ORG_TTL_SECS};
use crate::wire::schema::ErrorBody;
use axum::extract::{ConnectInfo, State};
use serde::Deserialize;
use utoipa::IntoParams;

impl From<OrgRecord> for OrgInfo {
    fn from(o: OrgRecord) -> Self {
        Self {
            fingerprint: fingerprint(&o.ed25519_public),
            org_id: o.org_id,
            name: o.name,
            ed25519_public: o.ed25519_public,
            x25519_public: o.x25519_public,
            key_signature: o.key_signature,
            controller: o.controller,
        }
    }
}

/// An organization's public keys and fingerprint.
#[utoipa::path(
    get,
    path = "/v1/orgs/{id}",
    operation_id = "org_public_info",
    tag = "organizations",
    params(("id" = OrgId, Path, description = "The organization")),
    responses(
        (status = 200, description = "The organization's public identity", body = OrgInfo),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 404, description = "`org_not_found`, `not_found`", body = ErrorBody),
    ),
)]
pub async fn public_info(
    State(s): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<OrgInfo>, ApiError> {
    let id = OrgId::parse(&raw)?;
    Ok(Json(s.vault.org(&id)?.into()))
}

use crate::wire::org::{
    JWT_BEARER, KeyChangeBody, KeysChanged, OrgInfo, ReadReceipt, ReadResponse, ReceiptBatch,
    TokenAnswer, TokenForm,
};

fn invalid_client() -> ApiError {
    ApiError::Unauthorized("invalid_client", "client authentication failed".into())
}

/// OAuth 2.0 client credentials (RFC 6749 §4.4) authenticated with `private_key_jwt`
/// (RFC 7523 §2.2): the assertion must be signed by the org's registered identity key, name
/// this endpoint as `aud`, expire within 5 minutes, and carry a `jti` never used before.
#[utoipa::path(
    post,
    path = "/v1/oauth/token",
    operation_id = "org_token",
    tag = "organizations",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An organization token", body = TokenAnswer),
        (status = 400, description = "`unsupported_grant_type`, `invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_client`: the assertion is not valid, or was already used", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not form-encoded", body = ErrorBody),
        (status = 429, description = "`rate_limited` (per client network; refusals per organization and client network; tokens per organization)", body = ErrorBody,
            headers(("retry-after" = u32, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: the `jti` was not committed; retry", body = ErrorBody),
    ),
)]
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
    let ip = peer.ip();
    // Nothing that depends on the assertion's claims is trusted, or charged to the org it
    // names, before its signature verifies: the claimed org only picks the key to check with.
    // Refusals are charged to (claimed org, client network) alone, so junk assertions from one
    // address never lock the organization out from another; issued tokens to the org alone.
    let subject = tokens::assertion_subject(&f.client_assertion).map_err(|e| {
        tracing::info!(org = "-", reason = %e, "client assertion refused");
        invalid_client()
    })?;
    let org_id = OrgId::parse(&subject).map_err(|_| {
        tracing::info!(
            org = "-",
            reason = "sub is not an organization id",
            "client assertion refused"
        );
        invalid_client()
    })?;
    let refuse = |reason: &dyn std::fmt::Display| {
        tracing::info!(org = %org_id, reason = %reason, "client assertion refused");
        s.limits.account_failed(org_id.as_str(), ip);
        invalid_client()
    };
    s.limits.check_account(org_id.as_str(), ip, "token")?;
    let Some(org) = s.vault.find_org(&org_id)? else {
        return Err(refuse(&"no organization is registered under this id"));
    };
    let now = crate::clock::now().unix();
    let claims = tokens::verify_client_assertion(
        &f.client_assertion,
        org_id.as_str(),
        &org.ed25519_public,
        &s.token_endpoint,
        now,
    )
    .map_err(|e| refuse(&e))?;
    // Remember the jti as long as the assertion could still be accepted (exp + leeway).
    let remember_until = claims.exp.saturating_add(tokens::LEEWAY_SECS as i64);
    if !s
        .vault
        .use_assertion_jti(&org_id, &claims.jti, remember_until)
        .await?
    {
        refuse(&"the jti was already used (each assertion is good for one token)");
        return Err(ApiError::Unauthorized(
            "invalid_client",
            "this client assertion was already used".into(),
        ));
    }
    s.limits.account_succeeded(org_id.as_str());
    Ok(Json(TokenAnswer {
        access_token: s
            .tokens
            .issue(Audience::Org, org_id.as_str(), ORG_TTL_SECS, now)?,
        token_type: "Bearer".into(),
        expires_in: ORG_TTL_SECS,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// The purpose of this read; it must fall inside the grant (`purpose_required` without it).
    #[param(value_type = Purpose, required = true)]
    pub purpose: Option<String>,
}

/// The read: the envelope's ciphertext and the organization's wrap, only after the read is
/// durably in the ledger.
#[utoipa::path(
    get,
    path = "/v1/org/customers/{customer}/envelopes/{label}",
    operation_id = "org_read",
    tag = "organizations",
    security(("org_token" = [])),
    params(
        ("customer" = CustomerId, Path, description = "The customer"),
        ("label" = Label, Path, description = "The envelope's label"),
        ReadQuery,
    ),
    responses(
        (status = 200, description = "The envelope, the wrap, the ledger entry and a signed receipt", body = ReadResponse),
        (status = 400, description = "`bad_id`, `unknown_label`, `purpose_required`, `unknown_purpose`, `bad_path`, `bad_query`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 403, description = "`no_grant`, `label_not_granted`, `purpose_not_granted`, `grant_expired`, `grant_revoked`, `quota_exhausted`", body = ErrorBody),
        (status = 404, description = "`envelope_not_found`, `not_found`", body = ErrorBody),
        (status = 409, description = "`wrap_unavailable`: the device has not yet wrapped this version", body = ErrorBody),
        (status = 503, description = "`unavailable`: the read was not committed; retry", body = ErrorBody),
    ),
)]
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
    let (sealed, path) = s.vault.access_receipt(&r.batch, r.ledger.index)?;
    let receipt = ReadReceipt {
        index: r.ledger.index,
        leaf: r.ledger.leaf,
        batch: ReceiptBatch::new(&sealed.head, sealed.signature),
        path,
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

/// Change the organization's keys (its own act, signed by its current identity key); logged
/// as `org_keys_changed` in its key log. Existing grants keep naming the keys they were
/// approved for: customers approve again for the new keys.
#[utoipa::path(
    post,
    path = "/v1/org/keys",
    operation_id = "change_org_keys",
    tag = "organizations",
    security(("org_token" = [])),
    request_body = KeyChangeBody,
    responses(
        (status = 200, description = "The new keys are the organization's", body = KeysChanged),
        (status = 400, description = "`bad_json`, `bad_key`, `bad_signature`, `bad_change_signature`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn change_keys(
    State(s): State<AppState>,
    OrgAuth(org): OrgAuth,
    Json(b): Json<KeyChangeBody>,
) -> Result<Json<KeysChanged>, ApiError> {
    let (key_seq, appended) = s
        .vault
        .change_org_keys(
            org.clone(),
            crate::vault::orgs::KeyChange {
                identity_key: b.identity_key,
                encryption_key: b.encryption_key,
                key_signature: b.key_signature,
                change_signature: b.change_signature,
            },
        )
        .await?;
    Ok(Json(KeysChanged {
        org_id: org,
        key_seq,
        ledger: appended.into(),
    }))
}
