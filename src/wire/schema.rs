//! OpenAPI schemas of the crate's own wire forms: typed ids, labels, purposes, timestamps and
//! base64url byte strings, built from the code's own constants (id prefixes, the label and
//! purpose catalogs, the KDF bounds). The types themselves derive or implement `ToSchema`, so
//! no documentation-only mirror of any of them exists. Descriptions only: nothing here runs on
//! a request.

use crate::crypto::bundle;
use crate::domain::catalog::{LABELS, Label, PURPOSES, Purpose};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, Handle, OrgId, RequestId};
use crate::domain::time::Timestamp;
use std::borrow::Cow;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// The error body of every refusal: one stable code per cause, one HTTP status per code.
#[derive(serde::Serialize, serde::Deserialize, ToSchema)]
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

/// Gives one of the crate's own types its named schema, built at run time from the code.
macro_rules! own_schema {
    ($ty:ty, $name:literal, $build:expr) => {
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

/// Declares a marker type naming the schema of a byte string field (`[u8; N]` or `Vec<u8>`
/// with a base64url serde adapter), for `#[schema(value_type = …)]`.
macro_rules! wire_string {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $build:expr) => {
        $(#[$doc])*
        pub struct $ty;
        own_schema!($ty, $name, $build);
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

own_schema!(
    CustomerId,
    "CustomerId",
    id_schema(CustomerId::PREFIX, "customer")
);
own_schema!(OrgId, "OrgId", id_schema(OrgId::PREFIX, "organization"));
own_schema!(
    EnvelopeId,
    "EnvelopeId",
    id_schema(EnvelopeId::PREFIX, "envelope")
);
own_schema!(GrantId, "GrantId", id_schema(GrantId::PREFIX, "grant"));
own_schema!(
    RequestId,
    "RequestId",
    id_schema(RequestId::PREFIX, "access request")
);
own_schema!(
    Handle,
    "Handle",
    pattern(
        "^[a-z0-9][a-z0-9._-]{2,63}$".to_owned(),
        "login handle: 3–64 of `[a-z0-9._-]`, starting with a letter or digit"
    )
);
own_schema!(
    Label,
    "Label",
    pattern(
        format!(
            "^(?:{}|x_[a-z0-9_]{{1,40}})$",
            LABELS.iter().map(|(l, _)| *l).collect::<Vec<_>>().join("|")
        ),
        "an envelope label from the catalog, or a custom `x_[a-z0-9_]{1,40}`"
    )
);
own_schema!(
    Purpose,
    "Purpose",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(PURPOSES.iter().map(|(p, _)| *p)))
        .description(Some("a W3C Data Privacy Vocabulary purpose"))
        .into()
);
own_schema!(
    Timestamp,
    "Timestamp",
    pattern(
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$".to_owned(),
        "RFC 3339 UTC with whole seconds, exactly `YYYY-MM-DDTHH:MM:SSZ`"
    )
);
wire_string!(
    /// Any number of bytes, base64url without padding.
    Base64Url,
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
    Binary,
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

pub fn bundle_version_schema() -> Object {
    let v = u32::from(bundle::BUNDLE_VERSION);
    bounded(v, v, "bundle format version")
}

pub fn m_kib_schema() -> Object {
    bounded(
        bundle::MIN_M_KIB,
        bundle::MAX_M_KIB,
        "Argon2id memory in KiB",
    )
}

pub fn t_schema() -> Object {
    bounded(bundle::MIN_T, bundle::MAX_T, "Argon2id passes")
}

pub fn p_schema() -> Object {
    bounded(bundle::MIN_P, bundle::MAX_P, "Argon2id lanes")
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
    exactly(crate::wire::org::JWT_BEARER)
}
