//! Typed, opaque identifiers. Each kind has its own prefix (`cus_`, `org_`, …) so an id of one
//! kind can never be passed where another is expected, neither in code nor on the wire.

use super::DomainError;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Longest id accepted after the prefix; ids are opaque, this only bounds storage keys.
const MAX_BODY: usize = 64;

fn valid_body(body: &str) -> bool {
    !body.is_empty()
        && body.len() <= MAX_BODY
        && body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Parses an id, checking its prefix and alphabet (`[a-z0-9_-]`, ≤ 64 after the prefix).
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                match s.strip_prefix($prefix) {
                    Some(body) if valid_body(body) => Ok(Self(s.to_owned())),
                    _ => Err(DomainError::invalid(
                        "bad_id",
                        format!("`{}` is not a valid {} id (expected `{}…`)", truncate(s), stringify!($name), $prefix),
                    )),
                }
            }

            /// A fresh id from 16 random bytes supplied by the caller (this layer does no I/O).
            pub fn from_random(random: [u8; 16]) -> Self {
                Self(format!("{}{}", $prefix, hex(&random)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

typed_id!(
    /// A customer; random, never derived from the handle.
    CustomerId, "cus_"
);
typed_id!(
    /// A registered organization.
    OrgId, "org_"
);
typed_id!(
    /// An envelope: one label of one customer, across its versions.
    EnvelopeId, "env_"
);
typed_id!(
    /// A signed grant (chosen by the customer's device, since the signature covers it).
    GrantId, "grt_"
);
typed_id!(
    /// An organization's access request.
    RequestId, "req_"
);
typed_id!(
    /// An organization's webhook endpoint.
    WebhookId, "whk_"
);
typed_id!(
    /// One webhook message (Standard Webhooks `webhook-id`): the same for every attempt, so a
    /// receiver de-duplicates by it. Made from the ledger index and the endpoint
    /// ([`crate::domain::webhook::delivery_id`]), never random, so scheduling twice gives one id.
    DeliveryId, "msg_"
);

impl DeliveryId {
    /// `msg_<ledger index, 12 digits>-<kind code>-<endpoint>`: one id per (event, kind,
    /// endpoint), so a delivery scheduled again after a crash keeps its id.
    pub fn for_event(index: u64, code: &str, webhook: &WebhookId) -> Self {
        let endpoint = webhook.0.get(WebhookId::PREFIX.len()..).unwrap_or_default();
        Self(format!("{}{index:012}-{code}-{endpoint}", Self::PREFIX))
    }
}

/// A customer's login handle: 3–64 of `[a-z0-9._-]`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Handle(String);

impl Handle {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok = (3..=64).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::invalid(
                "bad_handle",
                "a handle is 3–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Handle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_check_prefix_and_alphabet() {
        assert!(CustomerId::parse("cus_7f3a9c").is_ok());
        assert!(OrgId::parse("org_acme_bank").is_ok());
        assert!(CustomerId::parse("org_7f3a9c").is_err());
        assert!(CustomerId::parse("cus_").is_err());
        assert!(CustomerId::parse("cus_A/B").is_err());
        assert!(CustomerId::parse(&format!("cus_{}", "a".repeat(65))).is_err());
        let id = GrantId::from_random([0xab; 16]);
        assert_eq!(GrantId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn handles() {
        assert!(Handle::parse("alice").is_ok());
        assert!(Handle::parse("a.b-c_d9").is_ok());
        assert!(Handle::parse("Al").is_err());
        assert!(Handle::parse("-alice").is_err());
        assert!(Handle::parse("alice smith").is_err());
    }
}
