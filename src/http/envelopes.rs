//! The customer's envelopes: ciphertext in, ciphertext out.

use super::AppState;
use super::auth::CustomerAuth;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::Label;
use crate::domain::ids::CustomerId;
use crate::store::records::EnvelopeRecord;
use crate::vault::Vault;
use crate::vault::envelopes::EnvelopeWrite;
use crate::wire::envelopes::{EnvelopeFull, EnvelopeSummary, Erased, PutBody, Recipient, Written};
use crate::wire::schema::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;

impl From<&EnvelopeRecord> for EnvelopeSummary {
    fn from(e: &EnvelopeRecord) -> Self {
        Self {
            envelope_id: e.envelope_id.clone(),
            label: e.label.clone(),
            version: e.version,
            content_type: e.content_type.clone(),
            size: e.ciphertext.len(),
            rotation_pending: e.rotation_pending,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

fn label(raw: &str) -> Result<Label, ApiError> {
    Ok(Label::parse(raw)?)
}

/// The customer's envelopes (no ciphertext).
#[utoipa::path(
    get,
    path = "/v1/me/envelopes",
    operation_id = "list_envelopes",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "Every envelope", body = Vec<EnvelopeSummary>),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
pub async fn list(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
) -> Result<Json<Vec<EnvelopeSummary>>, ApiError> {
    Ok(Json(
        s.vault
            .envelopes(&me)?
            .iter()
            .map(EnvelopeSummary::from)
            .collect(),
    ))
}

/// Active grants covering `label`, with the keys a device wraps to.
pub fn recipients(
    vault: &Vault,
    me: &CustomerId,
    label: &Label,
) -> Result<Vec<Recipient>, ApiError> {
    let now = vault.now();
    let mut out = Vec::new();
    for g in vault.customer_grants(me)? {
        if g.state(now) != crate::domain::grant::GrantState::Active || !g.covers_label(label) {
            continue;
        }
        if let Some(o) = vault.find_org(&g.terms.org_id)? {
            out.push(Recipient {
                grant_id: g.terms.grant_id,
                org_id: o.org_id,
                org_name: o.name,
                x25519_public: o.x25519_public,
                ed25519_public: o.ed25519_public,
                key_signature: o.key_signature,
            });
        }
    }
    Ok(out)
}

/// One envelope: ciphertext, the owner's wrap, and the organizations to wrap new keys to.
#[utoipa::path(
    get,
    path = "/v1/me/envelopes/{label}",
    operation_id = "get_envelope",
    tag = "customer",
    security(("customer_token" = [])),
    params(("label" = Label, Path, description = "The envelope's label")),
    responses(
        (status = 200, description = "The envelope", body = EnvelopeFull),
        (status = 400, description = "`unknown_label`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`envelope_not_found`, `not_found`", body = ErrorBody),
    ),
)]
pub async fn get_one(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<EnvelopeFull>, ApiError> {
    let label = label(&raw)?;
    let e = s.vault.envelope(&me, &label)?;
    let recipients = recipients(&s.vault, &me, &label)?;
    Ok(Json(EnvelopeFull {
        customer_id: me,
        summary: EnvelopeSummary::from(&e),
        nonce: e.nonce,
        ciphertext: e.ciphertext,
        owner_wrap: e.owner_wrap,
        recipients,
    }))
}

/// Write the next version of an envelope (ciphertext only).
#[utoipa::path(
    put,
    path = "/v1/me/envelopes/{label}",
    operation_id = "put_envelope",
    tag = "customer",
    security(("customer_token" = [])),
    params(("label" = Label, Path, description = "The envelope's label")),
    request_body = PutBody,
    responses(
        (status = 200, description = "A new version was written", body = Written),
        (status = 201, description = "The first version was written", body = Written),
        (status = 400, description = "`bad_json`, `unknown_label`, `bad_path`, `bad_wrap`, `bad_content_type`, …", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such endpoint (empty label)", body = ErrorBody),
        (status = 409, description = "`version_conflict`, `envelope_id_mismatch`, `grant_wraps_missing`", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the ciphertext or the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn put(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
    Json(body): Json<PutBody>,
) -> Result<(StatusCode, Json<Written>), ApiError> {
    let label = label(&raw)?;
    let write = EnvelopeWrite {
        envelope_id: body.envelope_id,
        version: body.version,
        content_type: body.content_type,
        nonce: body.nonce,
        ciphertext: body.ciphertext,
        owner_wrap: body.owner_wrap,
        grant_wraps: body
            .grant_wraps
            .into_iter()
            .map(|g| {
                (
                    g.grant_id,
                    Wrap {
                        enc: g.enc,
                        ct: g.ct,
                    },
                )
            })
            .collect(),
        rotate: body.rotate,
    };
    let (record, appended) = s.vault.put_envelope(me, label, write).await?;
    let status = if record.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(Written {
            envelope_id: record.envelope_id,
            label: record.label,
            version: record.version,
            ledger: appended.into(),
        }),
    ))
}

/// Crypto-erase an envelope: its ciphertext and every wrapped key.
#[utoipa::path(
    delete,
    path = "/v1/me/envelopes/{label}",
    operation_id = "erase_envelope",
    tag = "customer",
    security(("customer_token" = [])),
    params(("label" = Label, Path, description = "The envelope's label")),
    responses(
        (status = 200, description = "Erased", body = Erased),
        (status = 400, description = "`unknown_label`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`envelope_not_found`, `not_found`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn erase(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<Erased>, ApiError> {
    let label = label(&raw)?;
    let appended = s.vault.erase_envelope(me, label.clone()).await?;
    Ok(Json(Erased {
        label,
        erased: true,
        ledger: appended.into(),
    }))
}
