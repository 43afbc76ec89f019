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
/// A customer session renews its token while the page is in use, for at most this long after
/// the passphrase was last typed; then the passphrase is asked for again.
pub const CUSTOMER_SESSION_MAX_SECS: i64 = 12 * 3600;
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
    /// When the customer last proved the passphrase (OpenID Connect Core §2 `auth_time`):
    /// renewed tokens keep it, so a session cannot be renewed forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
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
        self.issue_with(aud, sub, ttl_secs, now, None)
    }

    /// A customer's access token; `auth_time` is when the passphrase was proved.
    pub fn issue_customer(
        &self,
        sub: &str,
        auth_time: i64,
        now: i64,
    ) -> Result<String, TokenError> {
        // Never beyond the session's end: the last renewal is shorter.
        let ttl = CUSTOMER_TTL_SECS.min(auth_time.saturating_add(CUSTOMER_SESSION_MAX_SECS) - now);
        self.issue_with(Audience::Customer, sub, ttl, now, Some(auth_time))
    }

    fn issue_with(
        &self,
        aud: Audience,
        sub: &str,
        ttl_secs: i64,
        now: i64,
        auth_time: Option<i64>,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: sub.to_owned(),
            aud: aud.as_str().to_owned(),
            exp: now.saturating_add(ttl_secs),
            iat: now,
            nbf: now,
            jti: random_jti(),
            auth_time,
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
        let now = unix_now();
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
        auth_time: None,
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
    check_admin_lifetime(&claims, unix_now())?;
    Ok(claims)
}

fn unix_now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// An operator token lives at most 5 minutes from now, not from its own `iat`: `exp` no
/// further than 5 minutes (plus leeway) ahead, `iat` not in the future beyond the leeway, and
/// `exp − iat` ≤ 5 minutes. (Checking only `exp − iat` let a token dated a year ahead live a
/// year.)
fn check_admin_lifetime(claims: &Claims, now: i64) -> Result<(), TokenError> {
    let leeway = LEEWAY_SECS as i64;
    if claims.iat > now.saturating_add(leeway) {
        return Err(TokenError::Invalid(
            "an operator token's iat may not be in the future".into(),
        ));
    }
    if claims.exp > now.saturating_add(MAX_ASSERTION_TTL_SECS + leeway)
        || claims.exp.saturating_sub(claims.iat) > MAX_ASSERTION_TTL_SECS
    {
        return Err(TokenError::Invalid(
            "operator tokens live at most 5 minutes".into(),
        ));
    }
    Ok(())
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
        auth_time: None,
    };
    sign(&encoding_key(key)?, "JWT", None, &claims)
}

/// The org an assertion claims to come from, read before its signature is checked (only to find
/// the key that must have signed it). Checks first that the header pins `alg` to EdDSA. Never
/// trust the answer, nor charge anything to that org, until [`verify_client_assertion`] passes.
pub fn assertion_subject(assertion: &str) -> Result<String, TokenError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| {
        TokenError::Invalid("not a JWT with a JSON header naming a known alg".into())
    })?;
    if header.alg != Algorithm::EdDSA {
        return Err(TokenError::Invalid(format!(
            "alg must be EdDSA, not {:?}",
            header.alg
        )));
    }
    #[derive(Deserialize)]
    struct Subject {
        #[serde(default)]
        sub: Option<String>,
    }
    let claims = jsonwebtoken::dangerous::insecure_decode_claims::<Subject>(assertion)
        .map_err(|_| TokenError::Invalid("the claims are not a JSON object".into()))?;
    claims
        .sub
        .ok_or_else(|| TokenError::Invalid("the sub claim (the organization id) is missing".into()))
}

/// Claims of a client assertion (RFC 7523 §3): `iss`, `sub`, `aud`, `exp` and `jti` required,
/// `iat` and `nbf` optional; `aud` may be a string or an array (RFC 7519 §4.1.3), checked by
/// the validation, so it is not kept here.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// As sent: every claim optional, so a missing one is named rather than a serde error.
#[derive(Deserialize)]
struct RawAssertionClaims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(default)]
    nbf: Option<serde_json::Number>,
}

/// A NumericDate (RFC 7519 §2): whole seconds, or a fraction rounded as jsonwebtoken does.
fn numeric_date(n: Option<serde_json::Number>, claim: &str) -> Result<Option<i64>, TokenError> {
    let Some(n) = n else { return Ok(None) };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(Some(f.round() as i64)),
        _ => Err(TokenError::Invalid(format!(
            "the {claim} claim is malformed"
        ))),
    }
}

/// Why an assertion was refused, in words an integrator can act on (no token contents).
fn assertion_reason(e: &jsonwebtoken::errors::Error, token_endpoint: &str) -> TokenError {
    use jsonwebtoken::errors::ErrorKind as K;
    let reason = match e.kind() {
        K::ExpiredSignature => "the assertion has expired (exp is in the past)".to_owned(),
        K::InvalidSignature => {
            "the signature does not verify with the organization's registered identity key"
                .to_owned()
        }
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => {
            "alg must be EdDSA".to_owned()
        }
        K::ImmatureSignature => "nbf is in the future".to_owned(),
        K::InvalidAudience => format!("aud must be, or be an array containing, {token_endpoint}"),
        K::InvalidIssuer => "iss must be the organization id".to_owned(),
        K::InvalidSubject => "sub must be the organization id".to_owned(),
        K::MissingRequiredClaim(c) => format!("the {c} claim is missing"),
        K::InvalidClaimFormat(c) => format!("the {c} claim is malformed"),
        K::Json(_) => "a claim has the wrong type (exp, nbf and iat are numbers; iss, sub and jti \
                       strings; aud a string or an array of strings)"
            .to_owned(),
        K::InvalidToken | K::Base64(_) | K::Utf8(_) => {
            "not a JWS compact serialization (header.payload.signature, base64url)".to_owned()
        }
        other => format!("{other:?}"),
    };
    TokenError::Invalid(reason)
}

/// Checks, in this order: `alg` = EdDSA and the signature with the org's identity key (nothing
/// else is looked at before), then `iss` = `sub` = org, `aud` (a string or an array) naming the
/// token endpoint, `exp` present and no further than [`MAX_ASSERTION_TTL_SECS`] ahead of `now`,
/// `nbf` (if any) not in the future, `iat` (if any) not in the future, and a 1–256 character
/// `jti`. Each refusal says why. Replay of the `jti` is the caller's check (it needs storage).
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
    // jsonwebtoken verifies the signature before it decodes or validates any claim.
    let data = jsonwebtoken::decode::<RawAssertionClaims>(assertion, &key, &v)
        .map_err(|e| assertion_reason(&e, token_endpoint))?;
    let raw = data.claims;
    let missing = |c: &str| TokenError::Invalid(format!("the {c} claim is missing"));
    let claims = AssertionClaims {
        iss: raw.iss.ok_or_else(|| missing("iss"))?,
        sub: raw.sub.ok_or_else(|| missing("sub"))?,
        exp: numeric_date(raw.exp, "exp")?.ok_or_else(|| missing("exp"))?,
        jti: raw.jti.ok_or_else(|| missing("jti"))?,
        iat: numeric_date(raw.iat, "iat")?,
        nbf: numeric_date(raw.nbf, "nbf")?,
    };
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(TokenError::Invalid("jti must be 1–256 characters".into()));
    }
    let leeway = LEEWAY_SECS as i64;
    let limit = now.saturating_add(MAX_ASSERTION_TTL_SECS + leeway);
    if claims.exp > limit {
        return Err(TokenError::Invalid(
            "a client assertion may expire at most 5 minutes ahead".into(),
        ));
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now.saturating_add(leeway))
    {
        return Err(TokenError::Invalid("iat is in the future".into()));
    }
    Ok(claims)
}
