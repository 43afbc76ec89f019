//! JWTs (RFC 7519), all EdDSA (RFC 8037) with the algorithm pinned: the vault's access tokens
//! (`typ: at+jwt`, RFC 9068) for customers and organizations, operator tokens signed by the admin
//! key, and organizations' client assertions (`private_key_jwt`, RFC 7523).

use crate::crypto::keys::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Seconds of clock difference tolerated on `exp`/`nbf`.
pub const LEEWAY_SECS: u64 = 30;
/// Access-token lifetimes: short, so a stolen token is worth little.
pub const CUSTOMER_TTL_SECS: i64 = 15 * 60;
pub const ORG_TTL_SECS: i64 = 10 * 60;
/// A client assertion may live at most this long (RFC 7523 §3 leaves it to the server).
pub const MAX_ASSERTION_TTL_SECS: i64 = 5 * 60;
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ADMIN_ISSUER: &str = "assent-admin";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("could not create a token: {0}")]
    Signing(String),
}

/// Who a token is for; each has its own `aud`, so a token of one kind is refused everywhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Customer,
    Org,
    Admin,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "assent:customer",
            Self::Org => "assent:org",
            Self::Admin => "assent:admin",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
}

fn map_err(e: jsonwebtoken::errors::Error) -> TokenError {
    match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
        other => TokenError::Invalid(format!("{other:?}")),
    }
}

fn encoding_key(key: &SigningKey) -> Result<EncodingKey, TokenError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| TokenError::Signing(e.to_string()))?;
    Ok(EncodingKey::from_ed_der(der.as_bytes()))
}

fn validation(aud: &str, iss: &str) -> Validation {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.algorithms = vec![Algorithm::EdDSA];
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.set_audience(&[aud]);
    v.set_issuer(&[iss]);
    v.validate_nbf = true;
    v.leeway = LEEWAY_SECS;
    v
}

fn random_jti() -> String {
    use rand::Rng;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    crate::crypto::b64::encode(&b)
}

fn sign(
    key: &EncodingKey,
    typ: &str,
    kid: Option<String>,
    claims: &Claims,
) -> Result<String, TokenError> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(typ.to_owned());
    header.kid = kid;
    jsonwebtoken::encode(&header, claims, key).map_err(|e| TokenError::Signing(e.to_string()))
}

fn verify(
    token: &str,
    key: &DecodingKey,
    v: &Validation,
    typ: Option<&str>,
) -> Result<Claims, TokenError> {
    let data = jsonwebtoken::decode::<Claims>(token, key, v).map_err(map_err)?;
    if let Some(want) = typ
        && !data
            .header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(want))
    {
        return Err(TokenError::Invalid(format!("typ must be {want}")));
    }
    Ok(data.claims)
}

/// Verified tokens kept until they expire, so the hot path skips the ~50–100 µs Ed25519 check.
const CACHE_MAX: usize = 100_000;

/// Issues and checks the vault's own access tokens.
pub struct TokenIssuer {
    issuer: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    /// SHA-256(token) → its verified claims. Only fully verified tokens enter; an entry is used
    /// only before its `exp` and only for the audience it was verified for.
    cache: std::sync::Mutex<std::collections::HashMap<[u8; 32], Claims>>,
}

impl TokenIssuer {
    pub fn new(issuer: String, key: &SigningKey) -> Result<Self, TokenError> {
        let public = key.verifying_key().to_bytes();
        Ok(Self {
            issuer,
            encoding: encoding_key(key)?,
            decoding: DecodingKey::from_ed_der(&public),
            kid: crate::crypto::sign::fingerprint(&public).replace(' ', ""),
            cache: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn issue(
        &self,
        aud: Audience,
        sub: &str,
        ttl_secs: i64,
        now: i64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: sub.to_owned(),
            aud: aud.as_str().to_owned(),
            exp: now.saturating_add(ttl_secs),
            iat: now,
            nbf: now,
            jti: random_jti(),
        };
        sign(
            &self.encoding,
            ACCESS_TOKEN_TYP,
            Some(self.kid.clone()),
            &claims,
        )
    }

    pub fn verify(&self, token: &str, aud: Audience) -> Result<Claims, TokenError> {
        use sha2::{Digest, Sha256};
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        if let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.get(&key)
            && c.exp > now
            && c.aud == aud.as_str()
        {
            return Ok(c.clone());
        }
        let claims = self.verify_uncached(token, aud)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_MAX {
                cache.retain(|_, c| c.exp > now);
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, claims.clone());
        }
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str, aud: Audience) -> Result<Claims, TokenError> {
        verify(
            token,
            &self.decoding,
            &validation(aud.as_str(), &self.issuer),
            Some(ACCESS_TOKEN_TYP),
        )
    }
}

/// An operator token, minted by the CLI with the admin key.
pub fn mint_admin(key: &SigningKey, now: i64) -> Result<String, TokenError> {
    let claims = Claims {
        iss: ADMIN_ISSUER.to_owned(),
        sub: "operator".to_owned(),
        aud: Audience::Admin.as_str().to_owned(),
        exp: now.saturating_add(MAX_ASSERTION_TTL_SECS),
        iat: now,
        nbf: now,
        jti: random_jti(),
    };
    sign(&encoding_key(key)?, ACCESS_TOKEN_TYP, None, &claims)
}

pub fn verify_admin(token: &str, admin_public: &[u8; 32]) -> Result<Claims, TokenError> {
    let key = DecodingKey::from_ed_der(admin_public);
    let claims = verify(
        token,
        &key,
        &validation(Audience::Admin.as_str(), ADMIN_ISSUER),
        Some(ACCESS_TOKEN_TYP),
    )?;
    if claims.exp - claims.iat > MAX_ASSERTION_TTL_SECS {
        return Err(TokenError::Invalid(
            "operator tokens live at most 5 minutes".into(),
        ));
    }
    Ok(claims)
}

/// An organization's client assertion for the token endpoint (RFC 7523 §2.2, §3):
/// `iss` = `sub` = org id, `aud` = the token endpoint URL, short `exp`, unique `jti`.
pub fn client_assertion(
    key: &SigningKey,
    org_id: &str,
    token_endpoint: &str,
    now: i64,
) -> Result<String, TokenError> {
    let claims = Claims {
        iss: org_id.to_owned(),
        sub: org_id.to_owned(),
        aud: token_endpoint.to_owned(),
        exp: now.saturating_add(120),
        iat: now,
        nbf: now,
        jti: random_jti(),
    };
    sign(&encoding_key(key)?, "JWT", None, &claims)
}

/// The org an assertion claims to come from, read before its signature is checked (to find
/// the key that must have signed it). Never trust it until [`verify_client_assertion`] passes.
pub fn assertion_subject(assertion: &str) -> Result<String, TokenError> {
    let data = jsonwebtoken::dangerous::insecure_decode::<Claims>(assertion).map_err(map_err)?;
    if data.header.alg != Algorithm::EdDSA {
        return Err(TokenError::Invalid("alg must be EdDSA".into()));
    }
    Ok(data.claims.sub)
}

/// Claims of a client assertion; `iat`/`nbf` are optional there (RFC 7523 §3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    pub jti: String,
}

/// Checks signature, `iss` = `sub` = org, `aud` = token endpoint, `exp` no further than
/// [`MAX_ASSERTION_TTL_SECS`] ahead of `now`, and a 1–256 character `jti`. Replay of the `jti`
/// is the caller's check (it needs storage).
pub fn verify_client_assertion(
    assertion: &str,
    org_id: &str,
    org_public: &[u8; 32],
    token_endpoint: &str,
    now: i64,
) -> Result<AssertionClaims, TokenError> {
    let key = DecodingKey::from_ed_der(org_public);
    let mut v = validation(token_endpoint, org_id);
    v.sub = Some(org_id.to_owned());
    let data = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &v).map_err(map_err)?;
    let claims = data.claims;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(TokenError::Invalid("jti must be 1–256 characters".into()));
    }
    let limit = now.saturating_add(MAX_ASSERTION_TTL_SECS + LEEWAY_SECS as i64);
    if claims.exp > limit {
        return Err(TokenError::Invalid(
            "a client assertion may expire at most 5 minutes ahead".into(),
        ));
    }
    Ok(claims)
}
