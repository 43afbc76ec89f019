//! The labels an envelope can carry and the purposes an organization can ask for.
//! Purposes are terms of the W3C Data Privacy Vocabulary (DPV, https://w3id.org/dpv).

use super::DomainError;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Well-known labels. Anything else must use the custom prefix `x_`.
pub const LABELS: &[(&str, &str)] = &[
    ("email", "email address"),
    ("phone", "phone number"),
    ("full_name", "full name"),
    ("postal_address", "postal address"),
    ("date_of_birth", "date of birth"),
    ("nationality", "nationality"),
    ("national_id", "national identity number"),
    ("passport", "passport"),
    ("drivers_license", "driving licence"),
    ("tax_id", "tax identification number"),
    ("bank_account", "bank account"),
    ("employment", "employment details"),
    ("income", "income"),
    ("health_insurance", "health insurance"),
    ("photo", "photo"),
    ("document", "document"),
];

/// DPV purposes with the plain words a customer sees.
pub const PURPOSES: &[(&str, &str)] = &[
    ("dpv:IdentityVerification", "identity verification"),
    ("dpv:FraudPreventionAndDetection", "fraud prevention"),
    ("dpv:LegalCompliance", "legal compliance"),
    ("dpv:ServiceProvision", "providing the service"),
    ("dpv:AccountManagement", "account management"),
    ("dpv:CustomerCare", "customer care"),
    ("dpv:CommunicationManagement", "communications"),
    ("dpv:DeliveryOfGoods", "delivery"),
    ("dpv:PaymentManagement", "payments"),
    ("dpv:CreditChecking", "credit checks"),
    ("dpv:Personalisation", "personalisation"),
    ("dpv:Marketing", "marketing"),
    ("dpv:ResearchAndDevelopment", "research and development"),
];

/// An envelope label: a catalog entry or a custom `x_[a-z0-9_]{1,40}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Label(String);

impl Label {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let custom = s.strip_prefix("x_").is_some_and(|rest| {
            (1..=40).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
        if custom || LABELS.iter().any(|(l, _)| *l == s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::invalid(
                "unknown_label",
                format!(
                    "unknown label `{}`: use one of {} or a custom `x_…` label",
                    s.chars().take(40).collect::<String>(),
                    LABELS
                        .iter()
                        .map(|(l, _)| *l)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DPV purpose from [`PURPOSES`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Purpose(String);

impl Purpose {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if PURPOSES.iter().any(|(p, _)| *p == s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::invalid(
                "unknown_purpose",
                format!(
                    "unknown purpose `{}`: use a DPV purpose such as dpv:IdentityVerification",
                    s.chars().take(60).collect::<String>()
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plain words shown to a customer.
    pub fn words(&self) -> &'static str {
        PURPOSES
            .iter()
            .find(|(p, _)| *p == self.0)
            .map_or("an unknown purpose", |(_, w)| w)
    }
}

impl<'de> Deserialize<'de> for Purpose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a list of labels or purposes: non-empty, at most `max`, no duplicates; returns it sorted.
pub fn distinct_sorted<T: Ord + Clone>(
    items: &[T],
    what: &'static str,
    max: usize,
) -> Result<Vec<T>, DomainError> {
    let mut v = items.to_vec();
    v.sort();
    v.dedup();
    if v.is_empty() || v.len() != items.len() || v.len() > max {
        return Err(DomainError::invalid(
            "bad_list",
            format!("{what} must be a non-empty list of at most {max} distinct entries"),
        ));
    }
    Ok(v)
}

/// Whether `c` may appear in text a person reads (an organization's name, a justification, a
/// content type): no control characters (Unicode Cc; a line break only where `newline` allows)
/// and no format characters (Cf: bidi overrides such as U+202E, zero-width characters), which
/// make text display as something other than what it is.
pub fn is_plain_text_char(c: char, newline: bool) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};
    (newline && c == '\n')
        || !matches!(
            c.general_category(),
            GeneralCategory::Control | GeneralCategory::Format
        )
}

/// Longest content type an envelope may carry (it is part of the envelope AAD, wire v2).
pub const MAX_CONTENT_TYPE: usize = 255;

/// A content type is authenticated exactly as stored and served (the sixth line of the
/// envelope AAD), so it must not be able to smuggle a line break: a media type `type/subtype`
/// (RFC 6838 token characters) with optional parameters, at most 255 bytes, no control
/// or format characters.
pub fn check_content_type(ct: &str) -> Result<(), DomainError> {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let essence = ct.split(';').next().unwrap_or_default();
    let ok = ct.len() <= MAX_CONTENT_TYPE
        && ct.chars().all(|c| is_plain_text_char(c, false))
        && essence
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "bad_content_type",
            format!(
                "content_type must be a media type like text/plain (optionally with parameters), \
                 at most {MAX_CONTENT_TYPE} bytes, without control characters"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_purposes() {
        assert!(Label::parse("email").is_ok());
        assert!(Label::parse("x_loyalty_card").is_ok());
        assert_eq!(Label::parse("emails").unwrap_err().code(), "unknown_label");
        assert!(Label::parse("x_").is_err());
        assert!(Purpose::parse("dpv:IdentityVerification").is_ok());
        assert_eq!(
            Purpose::parse("dpv:Whatever").unwrap_err().code(),
            "unknown_purpose"
        );
        assert!(distinct_sorted(&[1, 1], "labels", 5).is_err());
        assert!(distinct_sorted::<u8>(&[], "labels", 5).is_err());
        assert_eq!(distinct_sorted(&[2, 1], "labels", 5).unwrap(), vec![1, 2]);
    }
}
