//! The labels an envelope can carry and the purposes an organization can ask for.
//! Purposes and personal-data categories are terms of the W3C Data Privacy Vocabulary 2.x
//! (DPV 2.3, https://w3id.org/dpv): core `dpv:`, personal data `pd:`, locations `loc:` and the
//! finance sector extension `finance:`. `tests/it/ledger_transparency.rs` checks every term here against the
//! DPV 2.3 term list.

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

/// The personal-data category (DPV 2.3 `pd:`) each catalog label stands for; a custom `x_…`
/// label is plain `dpv:PersonalData`.
pub const LABEL_TERMS: &[(&str, &str)] = &[
    ("email", "pd:EmailAddress"),
    ("phone", "pd:TelephoneNumber"),
    ("full_name", "pd:Name"),
    ("postal_address", "pd:PhysicalAddress"),
    ("date_of_birth", "pd:BirthDate"),
    ("nationality", "pd:Nationality"),
    ("national_id", "pd:OfficialID"),
    ("passport", "pd:Passport"),
    ("drivers_license", "pd:VehicleLicense"),
    ("tax_id", "pd:Tax"),
    ("bank_account", "pd:BankAccount"),
    ("employment", "pd:CurrentEmployment"),
    ("income", "pd:Income"),
    ("health_insurance", "pd:Insurance"),
    ("photo", "pd:Picture"),
    ("document", "pd:PersonalDocuments"),
];

/// The DPV category of a custom label.
pub const CUSTOM_LABEL_TERM: &str = "dpv:PersonalData";

/// CURIE prefixes of the DPV 2.x namespaces the vault emits, and their IRIs.
pub const DPV_PREFIXES: &[(&str, &str)] = &[
    ("dpv", "https://w3id.org/dpv#"),
    ("pd", "https://w3id.org/dpv/pd#"),
    ("loc", "https://w3id.org/dpv/loc#"),
    ("finance", "https://w3id.org/dpv/sector/finance#"),
];

/// Expands a CURIE with one of [`DPV_PREFIXES`] to its IRI (`None` for another prefix).
pub fn dpv_iri(curie: &str) -> Option<String> {
    let (prefix, local) = curie.split_once(':')?;
    DPV_PREFIXES
        .iter()
        .find(|(p, _)| *p == prefix)
        .map(|(_, ns)| format!("{ns}{local}"))
}

/// ISO 3166-1 alpha-2 country codes, plus `EU` (exceptionally reserved in ISO 3166-1): the
/// jurisdictions an organization can register, each a DPV 2.3 location `loc:XX`.
pub const JURISDICTIONS: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "EU", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE",
    "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE",
    "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB",
    "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH",
    "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ",
    "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF",
    "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU",
    "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR",
    "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN",
    "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG",
    "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `code` is one of [`JURISDICTIONS`].
pub fn is_jurisdiction(code: &str) -> bool {
    JURISDICTIONS.contains(&code)
}

/// Purposes from earlier catalogs that DPV 2.x moved, with the term that replaced them. They
/// are still accepted (a grant signed with one must keep verifying: its terms re-serialize
/// exactly), and receipts name the replacement.
pub const DEPRECATED_PURPOSES: &[(&str, &str)] = &[
    // DPV 2.1 moved CreditChecking to the finance sector extension.
    ("dpv:CreditChecking", "finance:CreditChecking"),
];

/// DPV 2.x purposes with the plain words a customer sees.
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
    ("finance:CreditChecking", "credit checks"),
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

    /// The DPV 2.3 personal-data category this label stands for (a CURIE).
    pub fn dpv_term(&self) -> &'static str {
        LABEL_TERMS
            .iter()
            .find(|(l, _)| *l == self.0)
            .map_or(CUSTOM_LABEL_TERM, |(_, t)| t)
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
        if PURPOSES.iter().any(|(p, _)| *p == s) || DEPRECATED_PURPOSES.iter().any(|(p, _)| *p == s)
        {
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

    /// The DPV 2.x term (a CURIE): the purpose itself, or the replacement of a deprecated one.
    pub fn dpv_term(&self) -> &str {
        DEPRECATED_PURPOSES
            .iter()
            .find(|(old, _)| *old == self.0)
            .map_or(self.0.as_str(), |(_, new)| new)
    }

    /// The same purpose under its current DPV 2.x name (itself unless deprecated).
    pub fn current(&self) -> Self {
        Self(self.dpv_term().to_owned())
    }

    /// Whether two names denote the same purpose (a deprecated name and its replacement do):
    /// grants signed under the old name keep allowing what they allowed.
    pub fn same_as(&self, other: &Self) -> bool {
        self.dpv_term() == other.dpv_term()
    }

    /// Why this purpose's name is deprecated and what replaces it, if it is.
    pub fn deprecation(&self) -> Option<String> {
        DEPRECATED_PURPOSES
            .iter()
            .find(|(old, _)| *old == self.0)
            .map(|(old, new)| {
                format!("`{old}` is not a DPV 2.x term (moved to the finance extension in DPV 2.1): use `{new}`")
            })
    }

    /// The plain words shown to a customer.
    pub fn words(&self) -> &'static str {
        PURPOSES
            .iter()
            .find(|(p, _)| *p == self.dpv_term())
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
        let old = Purpose::parse("dpv:CreditChecking").unwrap();
        assert_eq!(old.as_str(), "dpv:CreditChecking");
        assert_eq!(old.dpv_term(), "finance:CreditChecking");
        assert_eq!(old.words(), "credit checks");
        assert!(old.deprecation().is_some());
        assert_eq!(
            dpv_iri("finance:CreditChecking").unwrap(),
            "https://w3id.org/dpv/sector/finance#CreditChecking"
        );
        assert_eq!(Label::parse("email").unwrap().dpv_term(), "pd:EmailAddress");
        assert_eq!(
            Label::parse("x_card").unwrap().dpv_term(),
            "dpv:PersonalData"
        );
        assert!(is_jurisdiction("IE") && is_jurisdiction("EU") && !is_jurisdiction("XX"));
        assert_eq!(
            Purpose::parse("dpv:Whatever").unwrap_err().code(),
            "unknown_purpose"
        );
        assert!(distinct_sorted(&[1, 1], "labels", 5).is_err());
        assert!(distinct_sorted::<u8>(&[], "labels", 5).is_err());
        assert_eq!(distinct_sorted(&[2, 1], "labels", 5).unwrap(), vec![1, 2]);
    }
}
