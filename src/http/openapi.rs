//! The OpenAPI 3.1 document, generated from the code: every handler of the route table carries a
//! `#[utoipa::path]` annotation and every request/response struct derives `ToSchema`. It is built
//! once and served at `GET /openapi.json`.
//!
//! The wire forms of the pure layers' types (ids, labels, purposes, timestamps, base64url bytes,
//! key bundles, wraps, grant terms, requests) are described here, in the HTTP layer, so
//! `domain`, `crypto` and `ledger` stay free of documentation concerns. Where a pattern or an
//! enumeration can be taken from the code (id prefixes, the label and purpose catalogs), it is.

use super::{
    account, admin, customers, envelopes, events, grants, ledger, org, requests, server,
    transparency,
};
use crate::crypto::bundle;
use crate::domain::catalog::{LABELS, PURPOSES};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId, RequestId};
use axum::http::header;
use axum::response::IntoResponse;
use std::borrow::Cow;
use std::sync::OnceLock;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The error body of every refusal: one stable code per cause, one HTTP status per code.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code (`bad_json`, `missing_token`, `grant_not_found`, …).
    pub error: String,
    /// For humans; never carries internals.
    pub message: String,
}

/// A string schema with a pattern and a description.
fn pattern(pattern: String, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// Declares a named string schema built at run time from the code's own constants.
macro_rules! wire_string {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $build:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $build
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

fn id_schema(prefix: &str, what: &str) -> RefOr<Schema> {
    pattern(
        format!("^{prefix}[a-z0-9_-]{{1,64}}$"),
        &format!("{what} id: `{prefix}` and 1–64 of `[a-z0-9_-]`"),
    )
}

/// Unpadded base64url (RFC 4648 §5) of exactly `n` bytes, canonical trailing bits included.
fn base64url_exact(n: usize) -> RefOr<Schema> {
    let full = n / 3 * 4;
    let tail = match n % 3 {
        0 => String::new(),
        1 => "[A-Za-z0-9_-][AQgw]".to_owned(),
        _ => "[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]".to_owned(),
    };
    pattern(
        format!("^[A-Za-z0-9_-]{{{full}}}{tail}$"),
        &format!("{n} bytes, base64url without padding"),
    )
}

wire_string!(
    /// `cus_…`
    CustomerIdDoc,
    "CustomerId",
    id_schema(CustomerId::PREFIX, "customer")
);
wire_string!(
    /// `org_…`
    OrgIdDoc,
    "OrgId",
    id_schema(OrgId::PREFIX, "organization")
);
wire_string!(
    /// `env_…`
    EnvelopeIdDoc,
    "EnvelopeId",
    id_schema(EnvelopeId::PREFIX, "envelope")
);
wire_string!(
    /// `grt_…`
    GrantIdDoc,
    "GrantId",
    id_schema(GrantId::PREFIX, "grant")
);
wire_string!(
    /// `req_…`
    RequestIdDoc,
    "RequestId",
    id_schema(RequestId::PREFIX, "access request")
);
wire_string!(
    /// A customer's login handle.
    HandleDoc,
    "Handle",
    pattern(
        "^[a-z0-9][a-z0-9._-]{2,63}$".to_owned(),
        "login handle: 3–64 of `[a-z0-9._-]`, starting with a letter or digit"
    )
);
wire_string!(
    /// An envelope label: the catalog or a custom `x_…` label.
    LabelDoc,
    "Label",
    pattern(
        format!(
            "^(?:{}|x_[a-z0-9_]{{1,40}})$",
            LABELS
                .iter()
                .map(|(l, _)| *l)
                .collect::<Vec<_>>()
                .join("|")
        ),
        "an envelope label from the catalog, or a custom `x_[a-z0-9_]{1,40}`"
    )
);
wire_string!(
    /// A W3C DPV purpose from the catalog.
    PurposeDoc,
    "Purpose",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(PURPOSES.iter().map(|(p, _)| *p)))
        .description(Some("a W3C Data Privacy Vocabulary purpose"))
        .into()
);
wire_string!(
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    TimestampDoc,
    "Timestamp",
    pattern(
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$".to_owned(),
        "RFC 3339 UTC with whole seconds, exactly `YYYY-MM-DDTHH:MM:SSZ`"
    )
);
wire_string!(
    /// Any number of bytes, base64url without padding.
    Base64UrlDoc,
    "Base64Url",
    pattern(
        "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$"
            .to_owned(),
        "bytes, base64url without padding (RFC 4648 §5), canonical"
    )
);
wire_string!(
    /// 16 bytes.
    Base64Url16,
    "Base64Url16",
    base64url_exact(16)
);
wire_string!(
    /// 24 bytes (XChaCha20 nonces).
    Base64Url24,
    "Base64Url24",
    base64url_exact(24)
);
wire_string!(
    /// 32 bytes (public keys, hashes, HPKE `enc`).
    Base64Url32,
    "Base64Url32",
    base64url_exact(32)
);
wire_string!(
    /// 48 bytes (a wrapped data key).
    Base64Url48,
    "Base64Url48",
    base64url_exact(48)
);
wire_string!(
    /// 64 bytes (Ed25519 signatures).
    Base64Url64,
    "Base64Url64",
    base64url_exact(64)
);

wire_string!(
    /// A file: raw bytes, not JSON.
    BinaryDoc,
    "Binary",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type("application/octet-stream")
        .description(Some("raw bytes"))
        .into()
);

/// An integer within the bounds the code accepts.
fn bounded(min: u32, max: u32, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(min))
        .maximum(Some(max))
        .description(Some(description))
        .build()
}

fn bundle_version_schema() -> Object {
    let v = u32::from(bundle::BUNDLE_VERSION);
    bounded(v, v, "bundle format version")
}

fn m_kib_schema() -> Object {
    bounded(
        bundle::MIN_M_KIB,
        bundle::MAX_M_KIB,
        "Argon2id memory in KiB",
    )
}

fn t_schema() -> Object {
    bounded(bundle::MIN_T, bundle::MAX_T, "Argon2id passes")
}

fn p_schema() -> Object {
    bounded(bundle::MIN_P, bundle::MAX_P, "Argon2id lanes")
}

/// Argon2id parameters of a key bundle (`crypto::bundle::KdfParams`).
#[derive(ToSchema)]
#[schema(as = KdfParams)]
pub struct KdfParamsDoc {
    #[schema(pattern = "^argon2id$")]
    pub alg: String,
    #[schema(schema_with = m_kib_schema)]
    pub m_kib: u32,
    #[schema(schema_with = t_schema)]
    pub t: u32,
    #[schema(schema_with = p_schema)]
    pub p: u32,
    pub salt: Base64Url16,
}

/// The customer's private keys, sealed on the device (`crypto::bundle::SealedBundle`).
#[derive(ToSchema)]
#[schema(as = SealedBundle)]
pub struct SealedBundleDoc {
    /// Bundle format version.
    #[schema(schema_with = bundle_version_schema)]
    pub v: u8,
    pub kdf: KdfParamsDoc,
    pub nonce: Base64Url24,
    pub ct: Base64UrlDoc,
}

/// A data key wrapped with HPKE (RFC 9180) to one recipient (`crypto::wrap::Wrap`).
#[derive(ToSchema)]
#[schema(as = Wrap)]
pub struct WrapDoc {
    /// HPKE encapsulated key.
    pub enc: Base64Url32,
    /// The wrapped 32-byte data key and its tag.
    pub ct: Base64Url48,
}

/// The object the customer signs (`domain::grant::GrantTerms`): Ed25519 over
/// `assent/v1/grant\n` ‖ JCS of it. Unknown fields are refused where it is a request body.
#[derive(ToSchema)]
#[schema(as = GrantTerms)]
pub struct GrantTermsDoc {
    pub grant_id: GrantIdDoc,
    pub customer_id: CustomerIdDoc,
    pub org_id: OrgIdDoc,
    /// Distinct labels, a subset of the request's.
    #[schema(min_items = 1)]
    pub labels: Vec<LabelDoc>,
    /// Distinct purposes, a subset of the request's.
    #[schema(min_items = 1)]
    pub purposes: Vec<PurposeDoc>,
    pub not_after: TimestampDoc,
    /// Read quota; absent when there is none.
    #[schema(required = false, minimum = 1)]
    pub max_reads: u32,
}

#[derive(ToSchema)]
#[schema(as = GrantState)]
#[serde(rename_all = "snake_case")]
pub enum GrantStateDoc {
    Active,
    Revoked,
    Expired,
}

#[derive(ToSchema)]
#[schema(as = RequestStatus)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatusDoc {
    Pending,
    Approved,
    Declined,
}

/// An organization's access request (`domain::request::AccessRequest`).
#[derive(ToSchema)]
#[schema(as = AccessRequest)]
pub struct AccessRequestDoc {
    pub request_id: RequestIdDoc,
    pub org_id: OrgIdDoc,
    pub customer_id: CustomerIdDoc,
    pub labels: Vec<LabelDoc>,
    pub purposes: Vec<PurposeDoc>,
    /// The purposes the service needs (a subset of `purposes`); omitted when none.
    #[schema(required = false)]
    pub required_purposes: Vec<PurposeDoc>,
    pub duration_secs: u64,
    pub justification: String,
    pub created_at: TimestampDoc,
    pub status: RequestStatusDoc,
    #[schema(required = false)]
    pub decided_at: TimestampDoc,
    #[schema(required = false)]
    pub grant_id: GrantIdDoc,
}

/// A string that must be exactly `value`.
fn exactly(value: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([value]))
        .build()
}

/// `grant_type` of the token endpoint.
pub fn grant_type_schema() -> Object {
    exactly("client_credentials")
}

/// `client_assertion_type` of the token endpoint.
pub fn client_assertion_type_schema() -> Object {
    exactly(super::org::JWT_BEARER)
}

/// `GET /healthz`.
#[derive(ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /readyz` when ready.
#[derive(ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: String,
}

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
    paths(
        server::healthz,
        server::readyz,
        document,
        customers::sign_up,
        customers::kdf_params,
        customers::log_in,
        customers::me,
        customers::renew,
        account::change_passphrase,
        account::close,
        events::stream,
        envelopes::list,
        envelopes::get_one,
        envelopes::put,
        envelopes::erase,
        requests::list_mine,
        requests::approve,
        requests::decline,
        grants::list_mine,
        grants::get_mine,
        grants::revoke,
        ledger::mine,
        transparency::checkpoint,
        transparency::key,
        transparency::rotations,
        transparency::inclusion,
        transparency::consistency,
        grants::receipt,
        grants::ld_context,
        org::public_info,
        ledger::org_keys,
        org::change_keys,
        org::token,
        requests::create,
        requests::list_org,
        requests::get_org,
        org::read,
        ledger::org,
        admin::register_org,
        admin::set_controller,
        admin::backup,
    ),
    components(schemas(ErrorBody)),
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

/// The document, built once.
pub fn spec() -> &'static utoipa::openapi::OpenApi {
    static SPEC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    SPEC.get_or_init(ApiDoc::openapi)
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
