//! The HTTP API. [`router`] is the one route table; handlers are thin and live per resource.

pub mod account;
pub mod admin;
pub mod auth;
pub mod conn;
pub mod customers;
pub mod envelopes;
pub mod erasure;
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
pub mod webhooks;

use crate::tokens::TokenIssuer;
use crate::vault::Vault;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::sync::Arc;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

/// What every handler shares. Cloned per request by axum's `State` extractor: one reference
/// count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
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

/// The route table: every endpoint, and through its extractor, who may call it. Each
/// `routes!` call also adds the handlers' `#[utoipa::path]` operations to the OpenAPI document,
/// so the router and the document come from this one list. Handlers of one path share a call.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(server::healthz))
        .routes(routes!(server::readyz))
        .routes(routes!(openapi::document))
        // customers: sign-up and login (no token yet)
        .routes(routes!(customers::sign_up))
        .routes(routes!(customers::kdf_params))
        .routes(routes!(customers::log_in))
        // the signed-in customer
        .routes(routes!(customers::me))
        .routes(routes!(customers::renew))
        .routes(routes!(account::change_passphrase))
        .routes(routes!(account::close))
        .routes(routes!(events::stream))
        .routes(routes!(envelopes::list))
        .routes(routes!(
            envelopes::get_one,
            envelopes::put,
            envelopes::erase
        ))
        .routes(routes!(requests::list_mine))
        .routes(routes!(requests::approve))
        .routes(routes!(requests::decline))
        .routes(routes!(grants::list_mine))
        .routes(routes!(grants::get_mine))
        .routes(routes!(grants::revoke))
        .routes(routes!(grants::receipt))
        .routes(routes!(erasure::ask))
        .routes(routes!(ledger::mine))
        // the public ledger: checkpoints, key, proofs, the receipts' JSON-LD context
        .routes(routes!(transparency::checkpoint))
        .routes(routes!(transparency::key))
        .routes(routes!(transparency::witnesses))
        .routes(routes!(transparency::rotations))
        .routes(routes!(transparency::inclusion))
        .routes(routes!(transparency::consistency))
        .routes(routes!(grants::ld_context))
        // organizations
        .routes(routes!(org::public_info))
        .routes(routes!(ledger::org_keys))
        .routes(routes!(org::change_keys))
        .routes(routes!(org::token))
        .routes(routes!(requests::create, requests::list_org))
        .routes(routes!(requests::get_org))
        .routes(routes!(org::read))
        .routes(routes!(ledger::org))
        .routes(routes!(erasure::list_org))
        .routes(routes!(erasure::answer))
        .routes(routes!(webhooks::add, webhooks::list))
        .routes(routes!(webhooks::remove))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::retry))
        // operator
        .routes(routes!(admin::register_org))
        .routes(routes!(admin::set_controller))
        .routes(routes!(admin::backup))
}

/// The API router with its state, metrics and body limit.
pub fn router(state: AppState) -> Router {
    let limit = body_limit(state.vault.limits().max_envelope_bytes);
    let (api, _) = api_routes().split_for_parts();
    api.route_layer(axum::middleware::from_fn(observe::track))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
