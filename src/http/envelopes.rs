//! The customer's envelopes: ciphertext in, ciphertext out.

use super::AppState;
use super::auth::CustomerAuth;
use super::error::ApiError;
use super::extract::{Json, Path};
use super::ledger::LedgerRef;
use crate::crypto::b64::{serde_array, serde_bytes};
use crate::crypto::wrap::Wrap;
use crate::domain::catalog::Label;
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId};
use crate::domain::time::Timestamp;
use crate::store::records::EnvelopeRecord;
use crate::vault::Vault;
use crate::vault::envelopes::EnvelopeWrite;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct EnvelopeSummary {
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub content_type: String,
    pub size: usize,
    pub rotation_pending: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

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

/// An org that holds an active grant on this label: the device wraps each new data key to it.
#[derive(Serialize)]
pub struct Recipient {
    pub grant_id: GrantId,
    pub org_id: OrgId,
    pub org_name: String,
    #[serde(with = "serde_array")]
    pub x25519_public: [u8; 32],
    #[serde(with = "serde_array")]
    pub ed25519_public: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub key_signature: Vec<u8>,
}

#[derive(Serialize)]
pub struct EnvelopeFull {
    pub customer_id: CustomerId,
    #[serde(flatten)]
    pub summary: EnvelopeSummary,
    #[serde(with = "serde_array")]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    pub owner_wrap: Wrap,
    pub recipients: Vec<Recipient>,
}

fn label(raw: &str) -> Result<Label, ApiError> {
    Ok(Label::parse(raw)?)
}

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
    let now = Vault::now();
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantWrapBody {
    pub grant_id: GrantId,
    #[serde(with = "serde_bytes")]
    pub enc: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub ct: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutBody {
    pub envelope_id: EnvelopeId,
    pub version: u64,
    pub content_type: String,
    #[serde(with = "serde_array")]
    pub nonce: [u8; 24],
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    pub owner_wrap: Wrap,
    #[serde(default)]
    pub grant_wraps: Vec<GrantWrapBody>,
    #[serde(default)]
    pub rotate: bool,
}

#[derive(Serialize)]
pub struct Written {
    pub envelope_id: EnvelopeId,
    pub label: Label,
    pub version: u64,
    pub ledger: LedgerRef,
}

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

#[derive(Serialize)]
pub struct Erased {
    pub label: Label,
    pub erased: bool,
    pub ledger: LedgerRef,
}

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
