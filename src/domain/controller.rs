//! An organization's controller details: who is responsible for the personal data it reads
//! (GDPR Art. 13(1)(a)), as consent receipts must state them (Kantara CR v1.1 `piiControllers`,
//! ISO/IEC TS 27560 party fields).
//!
//! These are the operator's registration of the organization's own claims: the vault checks
//! their form, nobody checks their truth, and clients show them as such.

use super::DomainError;
use super::catalog::{is_jurisdiction, is_plain_text_char};
use serde::{Deserialize, Serialize};

/// A postal address (schema.org `PostalAddress` fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    pub street_address: String,
    pub locality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// The controller details an organization registers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerDetails {
    /// The registered legal name (may differ from the display name).
    pub legal_name: String,
    pub address: PostalAddress,
    /// Where data subjects write about their data.
    pub email: String,
    /// E.164: `+` and 7 to 15 digits.
    pub phone: String,
    /// The privacy policy, an `https://` URL.
    pub privacy_policy_url: String,
    /// The jurisdiction whose law governs the processing: ISO 3166-1 alpha-2, or `EU`.
    pub jurisdiction: String,
}

fn text(value: &str, max: usize, code: &'static str, what: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || !v.chars().all(|c| is_plain_text_char(c, false)) {
        return Err(DomainError::invalid(
            code,
            format!(
                "{what} must be 1–{max} characters of text on one line, without control or \
                 format characters"
            ),
        ));
    }
    Ok(v.to_owned())
}

fn email(value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && v.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(v.to_owned())
    } else {
        Err(DomainError::invalid(
            "bad_email",
            "controller.email must be an email address such as privacy@example.com (ASCII, at \
             most 254 characters)",
        ))
    }
}

fn phone(value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    let digits = v.strip_prefix('+').unwrap_or_default();
    if (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(v.to_owned())
    } else {
        Err(DomainError::invalid(
            "bad_phone",
            "controller.phone must be an international number in E.164 form: `+`, the country \
             code and the number, 7 to 15 digits, no spaces (e.g. +35315550100)",
        ))
    }
}

fn https_url(value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    let host = v
        .strip_prefix("https://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    let ok = v.len() <= 2048
        && v.chars().all(|c| c.is_ascii_graphic())
        && host.is_some_and(|h| {
            !h.is_empty()
                && !h.contains('@')
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    if ok {
        Ok(v.to_owned())
    } else {
        Err(DomainError::invalid(
            "bad_privacy_policy_url",
            "controller.privacy_policy_url must be an https:// URL of the organization's privacy \
             policy (at most 2048 characters, no spaces, no user name)",
        ))
    }
}

fn jurisdiction(value: &str, code: &'static str, what: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if is_jurisdiction(v) && (what != "controller.address.country" || v != "EU") {
        Ok(v.to_owned())
    } else {
        Err(DomainError::invalid(
            code,
            format!(
                "{what} must be an ISO 3166-1 alpha-2 country code in capitals such as IE or DE{}",
                if code == "bad_jurisdiction" {
                    ", or EU"
                } else {
                    ""
                }
            ),
        ))
    }
}

impl ControllerDetails {
    /// Checks every field's form and returns the details trimmed: text without control or
    /// format characters, an email address, an E.164 phone number, an `https://` privacy policy
    /// and ISO 3166 codes (each a DPV 2.3 `loc:` term).
    pub fn checked(self) -> Result<Self, DomainError> {
        let a = self.address;
        Ok(Self {
            legal_name: text(
                &self.legal_name,
                200,
                "bad_legal_name",
                "controller.legal_name",
            )?,
            address: PostalAddress {
                street_address: text(
                    &a.street_address,
                    200,
                    "bad_address",
                    "controller.address.street_address",
                )?,
                locality: text(
                    &a.locality,
                    100,
                    "bad_address",
                    "controller.address.locality",
                )?,
                region: a
                    .region
                    .map(|r| text(&r, 100, "bad_address", "controller.address.region"))
                    .transpose()?,
                postal_code: a
                    .postal_code
                    .map(|p| text(&p, 20, "bad_address", "controller.address.postal_code"))
                    .transpose()?,
                country: jurisdiction(&a.country, "bad_address", "controller.address.country")?,
            },
            email: email(&self.email)?,
            phone: phone(&self.phone)?,
            privacy_policy_url: https_url(&self.privacy_policy_url)?,
            jurisdiction: jurisdiction(
                &self.jurisdiction,
                "bad_jurisdiction",
                "controller.jurisdiction",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ControllerDetails {
        ControllerDetails {
            legal_name: " Acme Bank plc ".into(),
            address: PostalAddress {
                street_address: "1 Main St".into(),
                locality: "Dublin".into(),
                region: None,
                postal_code: Some("D02 X285".into()),
                country: "IE".into(),
            },
            email: "privacy@acme.example".into(),
            phone: "+35315550100".into(),
            privacy_policy_url: "https://acme.example/privacy".into(),
            jurisdiction: "EU".into(),
        }
    }

    #[test]
    fn checks_each_field() {
        assert_eq!(good().checked().unwrap().legal_name, "Acme Bank plc");
        let bad = |f: fn(&mut ControllerDetails), code: &str| {
            let mut c = good();
            f(&mut c);
            assert_eq!(c.checked().unwrap_err().code(), code);
        };
        bad(|c| c.legal_name = "\u{202e}x".into(), "bad_legal_name");
        bad(|c| c.address.street_address = String::new(), "bad_address");
        bad(|c| c.address.country = "EU".into(), "bad_address");
        bad(|c| c.email = "not an email".into(), "bad_email");
        bad(|c| c.email = "a@b".into(), "bad_email");
        bad(|c| c.phone = "555-1234".into(), "bad_phone");
        bad(|c| c.phone = "+0123456789".into(), "bad_phone");
        bad(
            |c| c.privacy_policy_url = "http://acme.example/privacy".into(),
            "bad_privacy_policy_url",
        );
        bad(
            |c| c.privacy_policy_url = "https://user@acme.example/".into(),
            "bad_privacy_policy_url",
        );
        bad(|c| c.jurisdiction = "ie".into(), "bad_jurisdiction");
        bad(|c| c.jurisdiction = "XX".into(), "bad_jurisdiction");
    }
}
