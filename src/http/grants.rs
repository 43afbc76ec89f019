//! The customer's grants and one-tap revocation.

use super::AppState;
use super::auth::CustomerAuth;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::domain::grant::Grant;
use crate::domain::ids::GrantId;
use crate::domain::time::Timestamp;
use crate::vault::Vault;
use crate::vault::consent::Party;
use crate::wire::grants::{GrantDetail, GrantView, Receipts, Revoked, SignedDocument};
use crate::wire::schema::ErrorBody;
use axum::extract::State;

impl GrantView {
    pub fn new(g: Grant, now: Timestamp) -> Self {
        Self {
            state: g.state(now),
            terms: g.terms,
            signature: g.signature,
            request_id: g.request_id,
            reads: g.reads,
            created_at: g.created_at,
            revoked_at: g.revoked_at,
            ledger_index: g.ledger_index,
            org_name: None,
            erasure: None,
        }
    }

    /// Adds the organization's name and the erasure request under the grant, if any.
    fn named(mut self, vault: &Vault) -> Result<Self, ApiError> {
        self.org_name = vault.find_org(&self.terms.org_id)?.map(|o| o.name);
        self.erasure = vault
            .erasure_request(&self.terms.grant_id)?
            .map(|r| crate::wire::erasure::ErasureView::new(r, vault.now()));
        Ok(self)
    }
}

/// The customer's grants with their state and reads.
#[utoipa::path(
    get,
    path = "/v1/me/grants",
    operation_id = "list_my_grants",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "Every grant", body = Vec<GrantView>),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
    ),
)]
pub async fn list_mine(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
) -> Result<Json<Vec<GrantView>>, ApiError> {
    let now = s.vault.now();
    let grants = s.vault.customer_grants(&me)?;
    let views = grants
        .into_iter()
        .map(|g| GrantView::new(g, now).named(&s.vault))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(views))
}

fn grant_id(raw: &str) -> Result<GrantId, ApiError> {
    Ok(GrantId::parse(raw)?)
}

/// One of the customer's grants, with the labels still wrapped to the organization.
#[utoipa::path(
    get,
    path = "/v1/me/grants/{id}",
    operation_id = "get_my_grant",
    tag = "customer",
    security(("customer_token" = [])),
    params(("id" = GrantId, Path, description = "The grant")),
    responses(
        (status = 200, description = "The grant", body = GrantDetail),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`grant_not_found` (also for another customer's grant), `not_found`", body = ErrorBody),
    ),
)]
pub async fn get_mine(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<GrantDetail>, ApiError> {
    let id = grant_id(&raw)?;
    let g = s.vault.grant_for(&id, Party::Customer(&me))?;
    let labels = s
        .vault
        .grant_wraps(&id)?
        .into_iter()
        .map(|w| w.label.to_string())
        .collect();
    Ok(Json(GrantDetail {
        grant: GrantView::new(g, s.vault.now()).named(&s.vault)?,
        wrapped_labels: labels,
    }))
}

/// Revoke a grant: the next read is refused and the organization's wrapped keys are destroyed.
#[utoipa::path(
    post,
    path = "/v1/me/grants/{id}/revoke",
    operation_id = "revoke_grant",
    tag = "customer",
    security(("customer_token" = [])),
    params(("id" = GrantId, Path, description = "The grant")),
    responses(
        (status = 200, description = "Revoked", body = Revoked),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`grant_not_found`, `not_found`", body = ErrorBody),
        (status = 409, description = "`already_revoked`", body = ErrorBody),
        (status = 503, description = "`unavailable`: the write was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn revoke(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    let id = grant_id(&raw)?;
    let (grant, appended) = s.vault.revoke(me, id).await?;
    Ok(Json(Revoked {
        grant: GrantView::new(grant, s.vault.now()).named(&s.vault)?,
        ledger: appended.into(),
        note: "The organization can no longer read this data. Data it already read cannot be recalled."
            .into(),
    }))
}

/// The grant's ledger entry at `index` with its inclusion proof in the tree of `size` leaves.
fn ledger_link(
    vault: &Vault,
    index: u64,
    leaf: [u8; 32],
    size: u64,
) -> Result<crate::domain::receipts::LedgerLink, ApiError> {
    let proof = if index < size {
        Some(super::transparency::hashes(
            &vault.inclusion_proof(index, size)?,
        ))
    } else {
        None
    };
    Ok(crate::domain::receipts::LedgerLink {
        index,
        leaf: crate::crypto::b64::encode(&leaf),
        proof,
        tree_size: size,
    })
}

/// Both receipts for one of the customer's grants, signed by the vault: the grant's
/// `grant_created` entry and, once revoked, its `grant_revoked` entry, each with an inclusion
/// proof against a fresh signed checkpoint that the receipts carry.
#[utoipa::path(
    get,
    path = "/v1/me/grants/{id}/receipt",
    operation_id = "grant_receipts",
    tag = "customer",
    security(("customer_token" = [])),
    params(("id" = GrantId, Path, description = "The grant")),
    responses(
        (status = 200, description = "Kantara CR v1.1 and ISO/IEC TS 27560 receipts, vault-signed", body = Receipts),
        (status = 400, description = "`bad_id`, `bad_path`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 404, description = "`grant_not_found`, `org_not_found`, `request_not_found`, `no_entry`, `not_found`", body = ErrorBody),
        (status = 409, description = "`controller_details_missing`: the organization was registered before controller details existed; the operator must add them", body = ErrorBody),
        (status = 503, description = "`unavailable`: the checkpoint was not committed; retry", body = ErrorBody),
    ),
)]
pub async fn receipt(
    State(s): State<AppState>,
    CustomerAuth(me): CustomerAuth,
    Path(raw): Path<String>,
) -> Result<Json<Receipts>, ApiError> {
    use crate::ledger::Event;
    let id = grant_id(&raw)?;
    let g = s.vault.grant_for(&id, Party::Customer(&me))?;
    let org = s.vault.org(&g.terms.org_id)?;
    let controller = org.controller.as_ref().ok_or_else(|| {
        ApiError::from(crate::vault::VaultError::conflict(
            "controller_details_missing",
            format!(
                "{} was registered before organizations gave controller details, so no valid \
                 receipt can name its address and contacts yet; the operator must add them",
                org.org_id
            ),
        ))
    })?;
    let request = s.vault.request_for(&g.request_id, Party::Customer(&me))?;
    // The withdrawal is the customer's own `grant_revoked` event for this grant.
    let (entries, _) = s.vault.customer_ledger(&me)?;
    let revoked_entry = entries.iter().find(
        |e| matches!(&e.event.event, Event::GrantRevoked { grant_id, .. } if *grant_id == id),
    );
    let (size, checkpoint) = s.vault.witnessed_checkpoint().await?;
    let created = ledger_link(
        &s.vault,
        g.ledger_index,
        s.vault.leaf_at(g.ledger_index)?,
        size,
    )?;
    let revoked = revoked_entry
        .map(|e| ledger_link(&s.vault, e.index, e.leaf, size))
        .transpose()?;
    let erasure_request = s.vault.erasure_request(&id)?;
    let erasure = erasure_request
        .as_ref()
        .map(|r| -> Result<_, ApiError> {
            let link = |i: u64| ledger_link(&s.vault, i, s.vault.leaf_at(i)?, size);
            Ok(crate::domain::receipts::ErasureReceipt {
                request: r,
                requested: link(r.request_index)?,
                answered: r
                    .answer
                    .as_ref()
                    .map(|a| link(a.answer_index))
                    .transpose()?,
            })
        })
        .transpose()?;
    let org_url = format!("{}/v1/orgs/{}", s.public_url, org.org_id);
    let vault_key = s.vault.signer().verifier_key();
    let ctx = crate::domain::receipts::ReceiptContext {
        org_name: &org.name,
        controller,
        org_url: &org_url,
        vault_url: &s.public_url,
        storage_jurisdiction: &s.jurisdiction,
        required_purposes: &request.required_purposes,
        request_justification: &request.justification,
        created,
        revoked,
        checkpoint: &checkpoint,
        vault_key: &vault_key,
        now: s.vault.now(),
        erasure,
    };
    let sign = |doc: serde_json::Value| -> Result<SignedDocument, ApiError> {
        let sig = s.vault.sign_document(&doc)?;
        Ok(SignedDocument {
            receipt: doc,
            signature: crate::crypto::b64::encode(&sig),
        })
    };
    Ok(Json(Receipts {
        kantara: sign(crate::domain::receipts::kantara(&g, &ctx))?,
        iso27560: sign(crate::domain::receipts::iso27560(&g, &ctx))?,
        vault_key,
    }))
}

/// The JSON-LD 1.1 context that ISO/IEC TS 27560 records name in `@context`: DPV 2.x, DCMI
/// and schema.org prefixes, IRI and date-time coercions, and the Assent ledger terms.
#[utoipa::path(
    get,
    path = "/v1/ld/consent-v1.jsonld",
    operation_id = "consent_record_context",
    tag = "customer",
    responses(
        (status = 200, description = "The JSON-LD context", body = Object, content_type = "application/ld+json"),
    ),
)]
pub async fn ld_context() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/ld+json"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        crate::domain::receipts::CONTEXT,
    )
}
