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
        (name = "webhooks", description = "Organizations' webhooks (Standard Webhooks, signed by the vault key)"),
        (name = "admin", description = "The operator"),
    ),
)]
pub struct ApiDoc;

/// The document, built once from the route list (`http::api_routes`).
pub fn spec() -> &'static utoipa::openapi::OpenApi {
    static SPEC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| open_flattened(super::api_routes().split_for_parts().1))
}

/// A `#[serde(flatten)]` field becomes an `allOf` branch; if the flattened type refuses unknown
/// fields (`additionalProperties: false`), that branch would refuse the fields of the other
/// branches, so no object could match (JSON Schema 2020-12 §10.2.1.1: each branch validates
/// alone). Such a branch is inlined without `additionalProperties`; the type keeps it wherever
/// it is used whole (a grant in an approval body, say).
fn open_flattened(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use serde_json::Value;
    fn walk(v: &mut Value, closed: &serde_json::Map<String, Value>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Array(branches)) = o.get_mut("allOf") {
                    for b in branches.iter_mut() {
                        let name = b
                            .get("$ref")
                            .and_then(Value::as_str)
                            .and_then(|r| r.strip_prefix("#/components/schemas/"));
                        if let Some(mut open) = name.and_then(|n| closed.get(n)).cloned() {
                            if let Some(m) = open.as_object_mut() {
                                m.remove("additionalProperties");
                            }
                            *b = open;
                        }
                    }
                }
                for child in o.values_mut() {
                    walk(child, closed);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, closed)),
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::to_value(&doc) else {
        return doc;
    };
    let closed: serde_json::Map<String, Value> = v["components"]["schemas"]
        .as_object()
        .map(|all| {
            all.iter()
                .filter(|(_, s)| s["additionalProperties"] == Value::Bool(false))
                .map(|(k, s)| (k.clone(), s.clone()))
                .collect()
        })
        .unwrap_or_default();
    walk(&mut v, &closed);
    serde_json::from_value(v).unwrap_or(doc)
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
