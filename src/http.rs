//! The HTTP API. [`router`] is the one route table; handlers are thin and live per resource.

pub mod account;
pub mod admin;
pub mod auth;
pub mod conn;
pub mod customers;
pub mod envelopes;
pub mod error;
pub mod events;
pub mod extract;
pub mod grants;
pub mod ledger;
pub mod limits;
pub mod observe;
pub mod openapi;
pub mod org;
pub mod requests;
pub mod server;
pub mod static_files;
pub mod transparency;

use crate::tokens::TokenIssuer;
use crate::vault::Vault;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use std::sync::Arc;

pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub vault: Vault,
    pub tokens: Arc<TokenIssuer>,
    pub admin_public: [u8; 32],
    /// Audience every client assertion must name: `<public url>/v1/oauth/token`.
    pub token_endpoint: Arc<str>,
    /// The vault's public base URL (receipts link to it).
    pub public_url: Arc<str>,
    /// Jurisdiction stated in consent receipts (e.g. `EU`).
    pub jurisdiction: Arc<str>,
    pub limits: Arc<limits::AuthLimits>,
    /// Open live streams per customer.
    pub streams: Arc<events::Streams>,
}

/// Bodies are bounded before parsing: an envelope's ciphertext limit in base64 plus room for
/// its wraps and fields.
pub fn body_limit(max_envelope_bytes: usize) -> usize {
    max_envelope_bytes / 3 * 4 + 64 * 1024
}

/// The route table: every endpoint, and through its extractor, who may call it.
pub fn router(state: AppState) -> Router {
    let limit = body_limit(state.vault.limits().max_envelope_bytes);
    Router::new()
        .route("/healthz", get(server::healthz))
        .route("/readyz", get(server::readyz))
        .route("/openapi.json", get(openapi::document))
        // customers: sign-up and login (no token yet)
        .route("/v1/customers", post(customers::sign_up))
        .route("/v1/customers/kdf", get(customers::kdf_params))
        .route("/v1/sessions", post(customers::log_in))
        // the signed-in customer
        .route("/v1/me", get(customers::me))
        .route("/v1/me/session", post(customers::renew))
        .route("/v1/me/passphrase", post(account::change_passphrase))
        .route("/v1/me/close", post(account::close))
        .route("/v1/me/events", get(events::stream))
        .route("/v1/me/envelopes", get(envelopes::list))
        .route(
            "/v1/me/envelopes/{label}",
            get(envelopes::get_one)
                .put(envelopes::put)
                .delete(envelopes::erase),
        )
        .route("/v1/me/requests", get(requests::list_mine))
        .route("/v1/me/requests/{id}/approve", post(requests::approve))
        .route("/v1/me/requests/{id}/decline", post(requests::decline))
        .route("/v1/me/grants", get(grants::list_mine))
        .route("/v1/me/grants/{id}", get(grants::get_mine))
        .route("/v1/me/grants/{id}/revoke", post(grants::revoke))
        .route("/v1/me/ledger", get(ledger::mine))
        // the public ledger: checkpoints, key, proofs
        .route("/v1/ledger/checkpoint", get(transparency::checkpoint))
        .route("/v1/ledger/key", get(transparency::key))
        .route("/v1/ledger/key/rotations", get(transparency::rotations))
        .route("/v1/ledger/proof/inclusion", get(transparency::inclusion))
        .route(
            "/v1/ledger/proof/consistency",
            get(transparency::consistency),
        )
        .route("/v1/me/grants/{id}/receipt", get(grants::receipt))
        .route("/v1/ld/consent-v1.jsonld", get(grants::ld_context))
        // organizations
        .route("/v1/orgs/{id}", get(org::public_info))
        .route("/v1/orgs/{id}/keys", get(ledger::org_keys))
        .route("/v1/org/keys", post(org::change_keys))
        .route("/v1/oauth/token", post(org::token))
        .route(
            "/v1/org/requests",
            post(requests::create).get(requests::list_org),
        )
        .route("/v1/org/requests/{id}", get(requests::get_org))
        .route(
            "/v1/org/customers/{customer}/envelopes/{label}",
            get(org::read),
        )
        .route("/v1/org/ledger", get(ledger::org))
        // operator
        .route("/v1/admin/orgs", post(admin::register_org))
        .route("/v1/admin/orgs/{id}/controller", put(admin::set_controller))
        .route("/v1/admin/backup", get(admin::backup))
        .route_layer(axum::middleware::from_fn(observe::track))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
