//! The OpenAPI 3.1 document: the route list (`http::api_routes`) adds every handler's
//! `#[utoipa::path]` operation, and every body is a `crate::wire` type deriving `ToSchema`
//! (the crate's own wire forms get theirs in `wire::schema`). This module adds the document's
//! header and security schemes, builds it once and serves it at `GET /openapi.json`; it imports
//! no handler.

use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Bearer schemes: one per token audience.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let bearer = |what: &str| {
            let mut h = Http::new(HttpAuthScheme::Bearer);
            h.bearer_format = Some("JWT".to_owned());
            h.description = Some(what.to_owned());
            SecurityScheme::Http(h)
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "customer_token",
            bearer("A customer session token (EdDSA JWT, `typ: at+jwt`) from `POST /v1/sessions`."),
        );
        components.add_security_scheme(
            "org_token",
            bearer("An organization access token (EdDSA JWT, `typ: at+jwt`) from `POST /v1/oauth/token`."),
        );
        components.add_security_scheme(
            "admin_token",
            bearer("An operator token (EdDSA JWT) signed with the operator's admin key."),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Assent",
        description = "A customer-controlled personal data consent vault. Errors are \
`{\"error\": \"<stable_code>\", \"message\": \"…\"}` with one HTTP status per code.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(crate::wire::schema::ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "operations", description = "Liveness, readiness, this document"),
        (name = "customers", description = "Sign-up, unlock parameters, login"),
        (name = "customer", description = "The signed-in customer: envelopes, requests, grants, ledger"),
        (name = "ledger", description = "The public, verifiable ledger"),
        (name = "organizations", description = "Organizations: identity, tokens, requests, reads"),
        (name = "admin", description = "The operator"),
    ),
)]
pub struct ApiDoc;

/// The document, built once from the route list (`http::api_routes`).
pub fn spec() -> &'static utoipa::openapi::OpenApi {
    static SPEC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| super::api_routes().split_for_parts().1)
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi_document",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object),
    ),
)]
pub async fn document() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let body =
        JSON.get_or_init(|| serde_json::to_string(spec()).unwrap_or_else(|_| "{}".to_owned()));
    ([(header::CONTENT_TYPE, "application/json")], body.as_str())
}
