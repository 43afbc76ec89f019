//! Authorization: every authenticated endpoint refuses a missing, malformed, expired,
//! mis-addressed, mis-signed or mis-typed token without touching the store; one tenant can
//! neither see nor act on another's data; a revoked grant stops reads; the token endpoint
//! refuses bad client assertions.

use crate::common::{
    DEMO_ORG, PURPOSE, ParseLabel, TestVault, assert_error, call, call_raw, hex,
    ledger_size as ledger, org_registration,
};
use crate::common::{HandCustomer as Customer, hand_signed_up as signed_up};
use assent::client::org::Ask;
use assent::crypto::b64;
use assent::crypto::bundle::{CustomerSecrets, KdfParams, derive_keys, seal_bundle};
use assent::crypto::keys::{SigningKey, X25519Secret, generate_signing_key, random_array};
use assent::crypto::sign::{sign_grant, sign_org_key};
use assent::domain::catalog::{Label, Purpose};
use assent::domain::grant::GrantTerms;
use assent::domain::ids::{CustomerId, GrantId, OrgId};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// ---------------------------------------------------------------------------------------------
// Helpers: time, ledger, hand-made tokens
// ---------------------------------------------------------------------------------------------

fn now() -> i64 {
    assent::clock::now().unix()
}

fn vault_key() -> SigningKey {
    assent::config::VaultKeys::load(&crate::common::repo("keys-example"))
        .unwrap()
        .signing
}

fn admin_key() -> SigningKey {
    assent::config::load_admin_key(&crate::common::repo("keys-example/admin.key")).unwrap()
}

fn jti() -> String {
    b64::encode(&random_array::<16>())
}

/// A JWT signed with an Ed25519 key, with the given `typ` header.
fn ed_token(key: &SigningKey, typ: Option<&str>, claims: &Value) -> String {
    crate::common::install_crypto();
    let der = key.to_pkcs8_der().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

/// The same claims under HS256 with `secret` (an algorithm-confusion attempt).
fn hs256_token(secret: &[u8], claims: &Value) -> String {
    crate::common::install_crypto();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// The same claims with `alg: none` and an empty signature.
fn unsigned_token(claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "at+jwt" });
    format!(
        "{}.{}.",
        b64::encode(header.to_string().as_bytes()),
        b64::encode(claims.to_string().as_bytes())
    )
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Aud {
    Customer,
    Org,
    Admin,
}

/// Who a hand-made access token claims to be, and the key that legitimately signs it.
struct Identity {
    aud: &'static str,
    iss: String,
    sub: String,
    key: SigningKey,
}

impl Identity {
    fn claims(&self, iat: i64, exp: i64) -> Value {
        json!({
            "iss": self.iss, "sub": self.sub, "aud": self.aud,
            "iat": iat, "nbf": iat, "exp": exp, "jti": jti(),
        })
    }

    fn fresh_claims(&self) -> Value {
        let n = now();
        self.claims(n, n + 120)
    }

    /// Minted exactly as the vault (or the admin CLI) does: the baseline every variant breaks.
    fn valid(&self) -> String {
        ed_token(&self.key, Some("at+jwt"), &self.fresh_claims())
    }

    /// Expired an hour ago (well past the 30 s leeway), otherwise valid.
    fn expired(&self) -> String {
        let n = now();
        ed_token(&self.key, Some("at+jwt"), &self.claims(n - 3900, n - 3600))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers: customers, requests, bodies
// ---------------------------------------------------------------------------------------------

/// The demo org asks `customer_id` for `labels`; returns the request id.
fn ask(tv: &TestVault, org_token: &str, customer_id: &str, labels: &[&str]) -> String {
    let body = json!({
        "customer_id": customer_id, "labels": labels, "purposes": [PURPOSE],
        "duration_secs": 86_400, "justification": "to verify who you are",
    });
    let (status, answer) = call(tv, "POST", "/v1/org/requests", Some(org_token), Some(&body));
    assert_eq!(status, 201, "{answer}");
    answer["request_id"].as_str().unwrap().to_owned()
}

/// A signed approval of `labels` for the demo org (no envelopes, so no wraps): (grant id, body).
fn approval(c: &Customer, labels: &[&str]) -> (String, Value) {
    let terms = GrantTerms {
        grant_id: GrantId::from_random(random_array()),
        customer_id: CustomerId::parse(&c.id).unwrap(),
        org_id: OrgId::parse(DEMO_ORG).unwrap(),
        org_identity_key: crate::common::demo_org_public().0,
        org_encryption_key: crate::common::demo_org_public().1,
        labels: labels.iter().map(|l| Label::parse(l).unwrap()).collect(),
        purposes: vec![Purpose::parse(PURPOSE).unwrap()],
        not_after: assent::clock::now().plus(3600),
        max_reads: None,
    };
    let signature = sign_grant(&c.secrets.ed25519, &terms).unwrap();
    let body = json!({ "grant": terms, "signature": b64::encode(&signature), "wraps": [] });
    (terms.grant_id.to_string(), body)
}

/// A well-formed first version of an envelope (random bytes of the right lengths: the server
/// cannot and does not check the cryptography).
fn envelope_body() -> Value {
    json!({
        "envelope_id": format!("env_{}", hex(&random_array::<16>())),
        "version": 1,
        "content_type": "text/plain",
        "nonce": b64::encode(&random_array::<24>()),
        "ciphertext": b64::encode(&random_array::<40>()),
        "owner_wrap": { "enc": b64::encode(&random_array::<32>()), "ct": b64::encode(&random_array::<48>()) },
    })
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The endpoint table and a world where each entry would succeed with the right token
// ---------------------------------------------------------------------------------------------

struct Endpoint {
    aud: Aud,
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// Status with the right token (checked by `the_table_succeeds_with_the_right_tokens`).
    ok: u16,
    /// Whether success appends to the ledger.
    writes: bool,
}

struct World {
    tv: TestVault,
    /// Owner of the customer endpoints.
    customer: Customer,
    /// The demo org's access token, issued by the vault.
    org_token: String,
    /// A customer whose `email` the demo org may read.
    reader_id: String,
    approve_id: String,
    decline_id: String,
    grant_id: String,
    approval: Value,
    put_body: Value,
    new_org: Value,
    /// The demo organization's next keys (key_seq 2), signed by its current identity key.
    key_change: Value,
    /// A webhook endpoint of the demo organization, for its removal.
    webhook_id: String,
    /// The reader's grant, under which the reader asked for erasure, and the demo
    /// organization's signed answer to that request.
    erasure_grant: String,
    erasure_answer: Value,
}

/// A genuine key change of the demo organization from its first keys to fresh ones.
fn demo_key_change() -> Value {
    let demo = crate::common::demo_org_keys();
    let (identity, encryption) = (generate_signing_key(), X25519Secret::generate());
    let (identity_key, encryption_key) = (identity.verifying_key().to_bytes(), encryption.public());
    let change = assent::crypto::sign::OrgKeyChange {
        org_id: DEMO_ORG,
        key_seq: 2,
        identity_key,
        encryption_key,
    };
    json!({
        "identity_key": b64::encode(&identity_key),
        "encryption_key": b64::encode(&encryption_key),
        "key_signature": b64::encode(&sign_org_key(&identity, &encryption_key)),
        "change_signature": b64::encode(
            &assent::crypto::sign::sign_org_key_change(&demo.identity, &change).unwrap()
        ),
    })
}

fn world() -> World {
    let tv = crate::common::start();
    let customer = signed_up(&tv, &crate::common::handle("walker"));
    let org_token = crate::common::demo_org(&tv).api.token().unwrap().to_owned();
    let (reader, _, reader_grant) =
        crate::common::granted(&tv, &crate::common::handle("reader"), None);
    let erasure_grant = GrantId::parse(&reader_grant).unwrap();
    let asked = reader.ask_erasure(&erasure_grant).unwrap();
    let erasure_answer = {
        let org = OrgId::parse(DEMO_ORG).unwrap();
        let statement = assent::domain::erasure::AnswerStatement {
            customer_id: &reader.customer_id,
            org_id: &org,
            grant_id: &erasure_grant,
            request_index: asked.ledger.index,
            outcome: assent::domain::erasure::ErasureOutcome::Erased,
            reason: None,
        };
        let sig = assent::crypto::sign::sign_erasure_answer(
            &crate::common::demo_org_keys().identity,
            &statement,
        )
        .unwrap();
        json!({"outcome": "erased", "signature": b64::encode(&sig)})
    };
    let approve_id = ask(&tv, &org_token, &customer.id, &["email"]);
    let decline_id = ask(&tv, &org_token, &customer.id, &["phone"]);
    let (grant_id, approval) = approval(&customer, &["email"]);
    let webhook_id = crate::common::demo_org(&tv)
        .add_webhook("http://127.0.0.1:9/authz-walk", &[])
        .unwrap()
        .webhook_id
        .to_string();
    World {
        webhook_id,
        erasure_grant: erasure_grant.to_string(),
        erasure_answer,
        reader_id: reader.customer_id.to_string(),
        tv,
        customer,
        org_token,
        approve_id,
        decline_id,
        grant_id,
        approval,
        put_body: envelope_body(),
        new_org: org_registration("org_walk_new"),
        key_change: demo_key_change(),
    }
}

impl World {
    fn identity(&self, aud: Aud) -> Identity {
        match aud {
            Aud::Customer => Identity {
                aud: "assent:customer",
                iss: self.tv.url.clone(),
                sub: self.customer.id.clone(),
                key: vault_key(),
            },
            Aud::Org => Identity {
                aud: "assent:org",
                iss: self.tv.url.clone(),
                sub: DEMO_ORG.into(),
                key: vault_key(),
            },
            Aud::Admin => Identity {
                aud: "assent:admin",
                iss: "assent-admin".into(),
                sub: "operator".into(),
                key: admin_key(),
            },
        }
    }

    /// Every authenticated route of `http::router`, in an order in which all succeed.
    fn endpoints(&self) -> Vec<Endpoint> {
        let ep = |aud, method, path: String, body: Option<&Value>, ok, writes| Endpoint {
            aud,
            method,
            path,
            body: body.cloned(),
            ok,
            writes,
        };
        let (c, o) = (Aud::Customer, Aud::Org);
        let (rid, did, gid) = (&self.approve_id, &self.decline_id, &self.grant_id);
        let new_request = json!({
            "customer_id": self.customer.id, "labels": ["full_name"], "purposes": [PURPOSE],
            "duration_secs": 3600, "justification": "to address you by name",
        });
        // Not here: GET /v1/me/events (a stream that does not end; flow.rs tests it, with its
        // refusals) and POST /v1/me/close (it ends the account; flow.rs).
        // A passphrase change to the same passphrase: a valid body that changes nothing.
        let same_passphrase = json!({
            "auth": self.customer.auth,
            "new_auth": self.customer.auth,
            "bundle": self.customer.bundle,
        });
        vec![
            ep(c, "GET", "/v1/me".into(), None, 200, false),
            ep(c, "POST", "/v1/me/session".into(), None, 200, false),
            ep(
                c,
                "POST",
                "/v1/me/passphrase".into(),
                Some(&same_passphrase),
                200,
                false,
            ),
            ep(c, "GET", "/v1/me/envelopes".into(), None, 200, false),
            ep(
                c,
                "PUT",
                "/v1/me/envelopes/phone".into(),
                Some(&self.put_body),
                201,
                true,
            ),
            ep(c, "GET", "/v1/me/envelopes/phone".into(), None, 200, false),
            ep(
                c,
                "DELETE",
                "/v1/me/envelopes/phone".into(),
                None,
                200,
                true,
            ),
            ep(c, "GET", "/v1/me/requests".into(), None, 200, false),
            ep(
                c,
                "POST",
                format!("/v1/me/requests/{rid}/approve"),
                Some(&self.approval),
                201,
                true,
            ),
            ep(
                c,
                "POST",
                format!("/v1/me/requests/{did}/decline"),
                Some(&json!({})),
                200,
                true,
            ),
            ep(c, "GET", "/v1/me/grants".into(), None, 200, false),
            ep(c, "GET", format!("/v1/me/grants/{gid}"), None, 200, false),
            ep(
                c,
                "GET",
                format!("/v1/me/grants/{gid}/receipt"),
                None,
                200,
                false,
            ),
            ep(
                c,
                "POST",
                format!("/v1/me/grants/{gid}/revoke"),
                Some(&json!({})),
                200,
                true,
            ),
            ep(
                c,
                "POST",
                format!("/v1/me/grants/{gid}/erasure"),
                Some(&json!({})),
                201,
                true,
            ),
            ep(c, "GET", "/v1/me/ledger".into(), None, 200, false),
            ep(
                o,
                "POST",
                "/v1/org/requests".into(),
                Some(&new_request),
                201,
                true,
            ),
            ep(o, "GET", "/v1/org/requests".into(), None, 200, false),
            ep(
                o,
                "GET",
                format!("/v1/org/requests/{rid}"),
                None,
                200,
                false,
            ),
            ep(
                o,
                "GET",
                format!(
                    "/v1/org/customers/{}/envelopes/email?purpose={PURPOSE}",
                    self.reader_id
                ),
                None,
                200,
                true,
            ),
            ep(o, "GET", "/v1/org/ledger".into(), None, 200, false),
            ep(
                o,
                "POST",
                "/v1/org/webhooks".into(),
                Some(&json!({"url": "http://127.0.0.1:9/authz-new", "kinds": ["grant.revoked"]})),
                201,
                false,
            ),
            ep(o, "GET", "/v1/org/webhooks".into(), None, 200, false),
            ep(
                o,
                "GET",
                "/v1/org/erasure-requests".into(),
                None,
                200,
                false,
            ),
            ep(
                o,
                "POST",
                format!("/v1/org/erasure-requests/{}/answer", self.erasure_grant),
                Some(&self.erasure_answer),
                201,
                true,
            ),
            ep(
                o,
                "GET",
                "/v1/org/webhooks/deliveries?state=dead".into(),
                None,
                200,
                false,
            ),
            // No dead letter to requeue: the right token reaches the lookup.
            ep(
                o,
                "POST",
                "/v1/org/webhooks/deliveries/msg_000000000001-gr-00/retry".into(),
                None,
                404,
                false,
            ),
            ep(
                o,
                "DELETE",
                format!("/v1/org/webhooks/{}", self.webhook_id),
                None,
                200,
                false,
            ),
            // Last of the organization's: its keys change.
            ep(
                o,
                "POST",
                "/v1/org/keys".into(),
                Some(&self.key_change),
                200,
                true,
            ),
            ep(
                Aud::Admin,
                "POST",
                "/v1/admin/orgs".into(),
                Some(&self.new_org),
                201,
                true,
            ),
            ep(
                Aud::Admin,
                "PUT",
                "/v1/admin/orgs/org_walk_new/controller".into(),
                Some(&crate::common::controller_json()),
                200,
                false,
            ),
            ep(
                Aud::Admin,
                "GET",
                "/v1/admin/backup".into(),
                None,
                200,
                false,
            ),
        ]
    }

    fn call(&self, ep: &Endpoint, token: Option<&str>) -> (u16, Value) {
        call(&self.tv, ep.method, &ep.path, token, ep.body.as_ref())
    }

    /// Calls each endpoint that `only` selects with the tokens `tokens` gives for it and
    /// expects 401 `code` every time; the ledger must not move.
    fn refuse(
        &self,
        only: impl Fn(&Endpoint) -> bool,
        tokens: impl Fn(&Endpoint) -> Vec<String>,
        code: &str,
    ) {
        let before = ledger(&self.tv);
        let table: Vec<Endpoint> = self.endpoints().into_iter().filter(|e| only(e)).collect();
        assert!(!table.is_empty());
        for ep in &table {
            let tokens = tokens(ep);
            assert!(!tokens.is_empty());
            for token in tokens {
                let got = self.call(ep, Some(&token));
                refused(ep, &got, code);
            }
        }
        assert_eq!(
            ledger(&self.tv),
            before,
            "a refused call changed the ledger"
        );
    }
}

/// Asserts a 401 `code` JSON error, naming the endpoint on failure.
fn refused(ep: &Endpoint, got: &(u16, Value), code: &str) {
    assert!(
        got.0 == 401 && got.1["error"] == code,
        "{} {}: expected 401 {code}, got {} {}",
        ep.method,
        ep.path,
        got.0,
        got.1
    );
    assert_error(got, 401, code);
}

// ---------------------------------------------------------------------------------------------
// Helpers: the token endpoint
// ---------------------------------------------------------------------------------------------

fn token_endpoint(tv: &TestVault) -> String {
    format!("{}/v1/oauth/token", tv.url)
}

fn token_request(tv: &TestVault, form: &[(&str, &str)]) -> (u16, Value) {
    let body = serde_urlencoded::to_string(form).unwrap();
    call_raw(
        tv,
        "POST",
        "/v1/oauth/token",
        None,
        "application/x-www-form-urlencoded",
        body.into_bytes(),
    )
}

fn exchange(tv: &TestVault, assertion: &str) -> (u16, Value) {
    token_request(
        tv,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
}

fn demo_identity() -> SigningKey {
    crate::common::demo_org_keys().identity
}

/// A client assertion for the demo org, built with jsonwebtoken so any claim can be bent.
fn demo_assertion(tv: &TestVault, iat: i64, exp: i64) -> String {
    let claims = json!({
        "iss": DEMO_ORG, "sub": DEMO_ORG, "aud": token_endpoint(tv),
        "iat": iat, "nbf": iat, "exp": exp, "jti": jti(),
    });
    ed_token(&demo_identity(), Some("JWT"), &claims)
}

/// Asserts a refused token request left no trace in the ledger.
fn refused_client(tv: &TestVault, assertion: &str) {
    let before = ledger(tv);
    assert_error(&exchange(tv, assertion), 401, "invalid_client");
    assert_eq!(ledger(tv), before);
}

// ---------------------------------------------------------------------------------------------
// The walk: each endpoint with each kind of bad token
// ---------------------------------------------------------------------------------------------

/// The control for every walk below: the table is complete and correct, and hand-minted
/// tokens of the right shape are accepted, so each refusal is due to the one thing broken.
/// Whether the concrete `path` (query left out) is an instance of the template `tpl`.
fn instance_of(path: &str, tpl: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (a, b): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), tpl.split('/').collect());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(seg, t)| seg == t || (t.starts_with('{') && t.ends_with('}')))
}

#[test]
fn the_table_covers_every_authenticated_operation_of_the_document() {
    let w = world();
    let table = w.endpoints();
    let doc = serde_json::to_value(assent::http::openapi::spec()).unwrap();
    // A stream that does not end, and closing the account (flow.rs tests both, with refusals).
    let elsewhere = [("GET", "/v1/me/events"), ("POST", "/v1/me/close")];
    let mut missing = Vec::new();
    for (method, tpl, op) in crate::openapi::operations(&doc) {
        if op["security"].as_array().is_none_or(|s| s.is_empty())
            || elsewhere.contains(&(method.as_str(), tpl.as_str()))
        {
            continue;
        }
        if !table
            .iter()
            .any(|e| e.method == method && instance_of(&e.path, &tpl))
        {
            missing.push(format!("{method} {tpl}"));
        }
    }
    assert!(missing.is_empty(), "not in the authz table: {missing:?}");
    for e in &table {
        assert!(
            crate::openapi::operations(&doc)
                .iter()
                .any(|(m, tpl, _)| *m == e.method && instance_of(&e.path, tpl)),
            "{} {} is not a documented operation",
            e.method,
            e.path
        );
    }
}

#[test]
fn the_table_succeeds_with_the_right_tokens() {
    let w = world();
    let table = w.endpoints();
    let mut before = ledger(&w.tv);
    for ep in &table {
        let token = w.identity(ep.aud).valid();
        let got = w.call(ep, Some(&token));
        assert_eq!(got.0, ep.ok, "{} {}: {}", ep.method, ep.path, got.1);
        let after = ledger(&w.tv);
        assert_eq!(
            after,
            before + u64::from(ep.writes),
            "{} {}",
            ep.method,
            ep.path
        );
        before = after;
    }
    // The vault-issued tokens work too.
    assert_eq!(
        call(&w.tv, "GET", "/v1/me", Some(&w.customer.token), None).0,
        200
    );
    assert_eq!(
        call(&w.tv, "GET", "/v1/org/ledger", Some(&w.org_token), None).0,
        200
    );
}

#[test]
fn no_token_is_refused_everywhere() {
    let w = world();
    let before = ledger(&w.tv);
    for ep in &w.endpoints() {
        refused(ep, &w.call(ep, None), "missing_token");
    }
    assert_eq!(ledger(&w.tv), before);
    // A 401 names the scheme to use (RFC 6750 §3).
    let res = reqwest::blocking::get(format!("{}/v1/me", w.tv.url)).unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
}

#[test]
fn malformed_tokens_are_refused_everywhere() {
    let w = world();
    let junk = |_: &Endpoint| {
        vec![
            "garbage".to_owned(),
            "a.b.c".to_owned(),
            format!("{}x", w.identity(Aud::Customer).valid()),
        ]
    };
    w.refuse(|_| true, junk, "invalid_token");
    // Not a bearer scheme at all.
    let res = reqwest::blocking::Client::new()
        .get(format!("{}/v1/me", w.tv.url))
        .header("authorization", format!("Basic {}", w.customer.token))
        .send()
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().unwrap()["error"], "invalid_token");
}

#[test]
fn expired_tokens_are_refused_everywhere() {
    let w = world();
    w.refuse(
        |_| true,
        |ep| vec![w.identity(ep.aud).expired()],
        "token_expired",
    );
}

#[test]
fn customer_token_is_refused_on_org_and_admin_endpoints() {
    let w = world();
    let customer = |_: &Endpoint| vec![w.customer.token.clone(), w.identity(Aud::Customer).valid()];
    w.refuse(|ep| ep.aud != Aud::Customer, customer, "invalid_token");
}

#[test]
fn org_token_is_refused_on_customer_and_admin_endpoints() {
    let w = world();
    let org = |_: &Endpoint| vec![w.org_token.clone(), w.identity(Aud::Org).valid()];
    w.refuse(|ep| ep.aud != Aud::Org, org, "invalid_token");
}

#[test]
fn admin_token_registers_orgs_but_is_refused_on_customer_and_org_endpoints() {
    let w = world();
    let before = ledger(&w.tv);
    let registered = call(
        &w.tv,
        "POST",
        "/v1/admin/orgs",
        Some(&crate::common::admin_token()),
        Some(&org_registration("org_by_admin")),
    );
    assert_eq!(registered.0, 201, "{}", registered.1);
    assert_eq!(registered.1["org_id"], "org_by_admin");
    assert_eq!(ledger(&w.tv), before + 1);
    let admin = |_: &Endpoint| vec![crate::common::admin_token()];
    w.refuse(|ep| ep.aud != Aud::Admin, admin, "invalid_token");
}

/// A token with the right claims for the endpoint but issued for another audience.
#[test]
fn token_with_another_audience_claim_is_refused() {
    let w = world();
    let relabelled = |ep: &Endpoint| {
        let id = w.identity(ep.aud);
        ["assent:customer", "assent:org", "assent:admin", "assent"]
            .into_iter()
            .filter(|aud| *aud != id.aud)
            .map(|aud| {
                let mut claims = id.fresh_claims();
                claims["aud"] = json!(aud);
                ed_token(&id.key, Some("at+jwt"), &claims)
            })
            .collect()
    };
    w.refuse(|_| true, relabelled, "invalid_token");
}

#[test]
fn hs256_and_unsigned_tokens_are_refused_everywhere() {
    let w = world();
    let forged = |ep: &Endpoint| {
        let id = w.identity(ep.aud);
        let claims = id.fresh_claims();
        let public = id.key.verifying_key().to_bytes();
        vec![
            hs256_token(b"any secret at all", &claims),
            // Classic confusion: the verifier's own public key used as the HMAC secret.
            hs256_token(&public, &claims),
            unsigned_token(&claims),
        ]
    };
    w.refuse(|_| true, forged, "invalid_token");
}

#[test]
fn token_signed_by_another_key_is_refused_everywhere() {
    let w = world();
    let foreign = |ep: &Endpoint| {
        let id = w.identity(ep.aud);
        // A fresh key, and the real key of the *other* signer (vault ↔ admin).
        let other = if ep.aud == Aud::Admin {
            vault_key()
        } else {
            admin_key()
        };
        vec![
            ed_token(&generate_signing_key(), Some("at+jwt"), &id.fresh_claims()),
            ed_token(&other, Some("at+jwt"), &id.fresh_claims()),
        ]
    };
    w.refuse(|_| true, foreign, "invalid_token");
}

#[test]
fn token_with_wrong_typ_is_refused_everywhere() {
    let w = world();
    let mistyped = |ep: &Endpoint| {
        let id = w.identity(ep.aud);
        vec![
            ed_token(&id.key, Some("JWT"), &id.fresh_claims()),
            ed_token(&id.key, None, &id.fresh_claims()),
        ]
    };
    w.refuse(|_| true, mistyped, "invalid_token");
}

/// Operator tokens may live at most 5 minutes even when correctly signed.
#[test]
fn long_lived_admin_token_is_refused() {
    let w = world();
    let long = |_: &Endpoint| {
        let id = w.identity(Aud::Admin);
        let n = now();
        vec![ed_token(&id.key, Some("at+jwt"), &id.claims(n, n + 3600))]
    };
    w.refuse(|ep| ep.aud == Aud::Admin, long, "invalid_token");
}

// ---------------------------------------------------------------------------------------------
// Cross-tenant isolation
// ---------------------------------------------------------------------------------------------

#[test]
fn customer_cannot_answer_another_customers_request() {
    let tv = crate::common::start();
    let a = signed_up(&tv, &crate::common::handle("alice"));
    let b = signed_up(&tv, &crate::common::handle("bob"));
    let org = crate::common::demo_org(&tv);
    let rid = ask(&tv, org.api.token().unwrap(), &a.id, &["email"]);
    let before = ledger(&tv);

    // B sends a well-formed approval (signed with B's own key) and a decline for A's request.
    let (_, b_approval) = approval(&b, &["email"]);
    let got = call(
        &tv,
        "POST",
        &format!("/v1/me/requests/{rid}/approve"),
        Some(&b.token),
        Some(&b_approval),
    );
    assert_error(&got, 404, "request_not_found");
    let got = call(
        &tv,
        "POST",
        &format!("/v1/me/requests/{rid}/decline"),
        Some(&b.token),
        Some(&json!({})),
    );
    assert_error(&got, 404, "request_not_found");
    // ... and does not see it listed.
    let (status, listed) = call(&tv, "GET", "/v1/me/requests", Some(&b.token), None);
    assert_eq!(status, 200);
    assert_eq!(listed, json!([]));
    assert_eq!(ledger(&tv), before);

    // A's request is untouched and A can still answer it.
    let (_, mine) = call(&tv, "GET", "/v1/me/requests", Some(&a.token), None);
    assert_eq!(ids(&mine, "request_id"), vec![rid.clone()]);
    assert_eq!(mine[0]["status"], "pending");
    let (_, a_approval) = approval(&a, &["email"]);
    let got = call(
        &tv,
        "POST",
        &format!("/v1/me/requests/{rid}/approve"),
        Some(&a.token),
        Some(&a_approval),
    );
    assert_eq!(got.0, 201, "{}", got.1);
}

#[test]
fn customer_cannot_see_or_revoke_another_customers_grant() {
    let tv = crate::common::start();
    let (a, _org, gid) = crate::common::granted(&tv, &crate::common::handle("alice"), None);
    let (_, b) = crate::common::customer(&tv, &crate::common::handle("bob"));
    let b_token = b.api.token().unwrap();
    let before = ledger(&tv);

    let got = call(
        &tv,
        "GET",
        &format!("/v1/me/grants/{gid}"),
        Some(b_token),
        None,
    );
    assert_error(&got, 404, "grant_not_found");
    let got = call(
        &tv,
        "POST",
        &format!("/v1/me/grants/{gid}/revoke"),
        Some(b_token),
        Some(&json!({})),
    );
    assert_error(&got, 404, "grant_not_found");
    let (status, listed) = call(&tv, "GET", "/v1/me/grants", Some(b_token), None);
    assert_eq!(status, 200);
    assert_eq!(listed, json!([]));
    assert_eq!(ledger(&tv), before);

    // A's grant is still active with its wrap.
    let (status, grant) = call(
        &tv,
        "GET",
        &format!("/v1/me/grants/{gid}"),
        a.api.token(),
        None,
    );
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["state"], "active");
    assert_eq!(grant["wrapped_labels"], json!(["email"]));
}

#[test]
fn customer_cannot_see_or_erase_another_customers_envelopes() {
    let tv = crate::common::start();
    let (_, mut a) = crate::common::customer(&tv, &crate::common::handle("alice"));
    let (_, mut b) = crate::common::customer(&tv, &crate::common::handle("bob"));
    b.put(&"x_note".parse_label(), "text/plain", b"bob's", false)
        .unwrap();
    let b_token = b.api.token().unwrap().to_owned();
    let b_token = b_token.as_str();
    let path = "/v1/me/envelopes/x_secret";

    // What B gets for a label nobody has ...
    let blind = call(&tv, "GET", path, Some(b_token), None);
    assert_error(&blind, 404, "envelope_not_found");
    // ... is exactly what B gets once A has that label.
    a.put(
        &"x_secret".parse_label(),
        "text/plain",
        b"alice's secret",
        false,
    )
    .unwrap();
    let (_, a_env) = call(&tv, "GET", path, a.api.token(), None);
    let a_env_id = a_env["envelope_id"].as_str().unwrap().to_owned();
    let before = ledger(&tv);
    assert_eq!(call(&tv, "GET", path, Some(b_token), None), blind);

    let (status, listed) = call(&tv, "GET", "/v1/me/envelopes", Some(b_token), None);
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["label"], "x_note");
    assert!(!listed.to_string().contains(&a_env_id));

    assert_error(
        &call(&tv, "DELETE", path, Some(b_token), None),
        404,
        "envelope_not_found",
    );
    assert_eq!(ledger(&tv), before);
    let (status, still) = call(&tv, "GET", path, a.api.token(), None);
    assert_eq!(status, 200);
    assert_eq!(still, a_env);
}

#[test]
fn other_org_cannot_read_or_see_the_demo_orgs_data() {
    let tv = crate::common::start();
    let handle = crate::common::handle("alice");
    let (a, demo, _gid) = crate::common::granted(&tv, &handle, None);
    let pending = demo
        .request(&Ask::new(
            &handle,
            &["phone".into()],
            &[PURPOSE.into()],
            3600,
            "to call you",
        ))
        .unwrap();
    let rid = pending["request_id"].as_str().unwrap().to_owned();
    let intruder = crate::common::new_org(&tv, "org_intruder");
    let token = intruder.api.token().unwrap();
    let read = format!(
        "/v1/org/customers/{}/envelopes/email?purpose={PURPOSE}",
        a.customer_id
    );
    let before = ledger(&tv);

    assert_error(&call(&tv, "GET", &read, Some(token), None), 403, "no_grant");
    assert_error(
        &call(
            &tv,
            "GET",
            &format!("/v1/org/requests/{rid}"),
            Some(token),
            None,
        ),
        404,
        "request_not_found",
    );
    let (status, listed) = call(&tv, "GET", "/v1/org/requests", Some(token), None);
    assert_eq!(status, 200);
    assert_eq!(listed, json!([]));
    assert_eq!(ledger(&tv), before);

    // Control: the demo org itself can do both (and its read is recorded).
    let (status, body) = call(&tv, "GET", &read, demo.api.token(), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(ledger(&tv), before + 1);
    assert_eq!(
        call(
            &tv,
            "GET",
            &format!("/v1/org/requests/{rid}"),
            demo.api.token(),
            None
        )
        .0,
        200
    );
}

// ---------------------------------------------------------------------------------------------
// Revocation
// ---------------------------------------------------------------------------------------------

#[test]
fn revoked_grant_stops_reads_and_cannot_be_revoked_twice() {
    let tv = crate::common::start();
    let (device, org, gid) = crate::common::granted(&tv, &crate::common::handle("alice"), None);
    let token = device.api.token();
    let grant_path = format!("/v1/me/grants/{gid}");
    let read = format!(
        "/v1/org/customers/{}/envelopes/email?purpose={PURPOSE}",
        device.customer_id
    );

    // Before: the org reads, the grant holds a wrap.
    assert_eq!(call(&tv, "GET", &read, org.api.token(), None).0, 200);
    let (_, grant) = call(&tv, "GET", &grant_path, token, None);
    assert_eq!(grant["state"], "active");
    assert_eq!(grant["wrapped_labels"], json!(["email"]));

    let (status, revoked) = call(
        &tv,
        "POST",
        &format!("{grant_path}/revoke"),
        token,
        Some(&json!({})),
    );
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["grant"]["state"], "revoked");
    // The revocation's answer counts the read made before it.
    assert_eq!(revoked["grant"]["reads"], 1, "{revoked}");
    let before = ledger(&tv);

    assert_error(
        &call(&tv, "GET", &read, org.api.token(), None),
        403,
        "grant_revoked",
    );
    let (status, grant) = call(&tv, "GET", &grant_path, token, None);
    assert_eq!(status, 200);
    assert_eq!(grant["state"], "revoked");
    assert_eq!(grant["wrapped_labels"], json!([]));
    assert_eq!(grant["reads"], 1);
    let again = call(
        &tv,
        "POST",
        &format!("{grant_path}/revoke"),
        token,
        Some(&json!({})),
    );
    assert_error(&again, 409, "already_revoked");
    assert_eq!(ledger(&tv), before);
}

// ---------------------------------------------------------------------------------------------
// The token endpoint (client credentials with private_key_jwt)
// ---------------------------------------------------------------------------------------------

#[test]
fn fresh_client_assertion_is_exchanged_for_a_working_org_token() {
    let tv = crate::common::start();
    let lib =
        assent::tokens::client_assertion(&demo_identity(), DEMO_ORG, &token_endpoint(&tv), now())
            .unwrap();
    let hand = demo_assertion(&tv, now(), now() + 240);
    for assertion in [lib, hand] {
        let (status, answer) = exchange(&tv, &assertion);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["token_type"], "Bearer");
        let token = answer["access_token"].as_str().unwrap();
        assert_eq!(
            call(&tv, "GET", "/v1/org/requests", Some(token), None).0,
            200
        );
    }
}

#[test]
fn reused_client_assertion_is_refused() {
    let tv = crate::common::start();
    let assertion =
        assent::tokens::client_assertion(&demo_identity(), DEMO_ORG, &token_endpoint(&tv), now())
            .unwrap();
    assert_eq!(exchange(&tv, &assertion).0, 200);
    refused_client(&tv, &assertion);
}

#[test]
fn client_assertion_for_another_audience_is_refused() {
    let tv = crate::common::start();
    let key = demo_identity();
    for aud in [
        "http://127.0.0.1:1/v1/oauth/token",
        tv.url.as_str(),
        &format!("{}/v1/oauth/token/", tv.url),
    ] {
        refused_client(
            &tv,
            &assent::tokens::client_assertion(&key, DEMO_ORG, aud, now()).unwrap(),
        );
    }
}

#[test]
fn client_assertion_signed_by_another_key_is_refused() {
    let tv = crate::common::start();
    let other = generate_signing_key();
    refused_client(
        &tv,
        &assent::tokens::client_assertion(&other, DEMO_ORG, &token_endpoint(&tv), now()).unwrap(),
    );
    // Signed by another registered org's key while claiming to be the demo org.
    let intruder = crate::common::new_org(&tv, "org_intruder");
    let assertion = assent::tokens::client_assertion(
        &intruder.keys.identity,
        DEMO_ORG,
        &token_endpoint(&tv),
        now(),
    )
    .unwrap();
    refused_client(&tv, &assertion);
}

#[test]
fn client_assertion_for_unknown_org_is_refused() {
    let tv = crate::common::start();
    let assertion = assent::tokens::client_assertion(
        &demo_identity(),
        "org_nobody",
        &token_endpoint(&tv),
        now(),
    )
    .unwrap();
    refused_client(&tv, &assertion);
}

#[test]
fn expired_client_assertion_is_refused() {
    let tv = crate::common::start();
    // client_assertion sets exp = now + 120: ten minutes ago it expired 8 minutes ago.
    let assertion = assent::tokens::client_assertion(
        &demo_identity(),
        DEMO_ORG,
        &token_endpoint(&tv),
        now() - 600,
    )
    .unwrap();
    refused_client(&tv, &assertion);
}

#[test]
fn client_assertion_expiring_more_than_5_minutes_ahead_is_refused() {
    let tv = crate::common::start();
    let n = now();
    refused_client(&tv, &demo_assertion(&tv, n, n + 600));
    refused_client(&tv, &demo_assertion(&tv, n, n + 86_400));
}

#[test]
fn malformed_client_assertions_are_refused() {
    let tv = crate::common::start();
    let n = now();
    let claims = json!({
        "iss": DEMO_ORG, "sub": DEMO_ORG, "aud": token_endpoint(&tv),
        "iat": n, "exp": n + 120, "jti": jti(),
    });
    refused_client(&tv, "garbage");
    refused_client(&tv, &unsigned_token(&claims));
    refused_client(
        &tv,
        &hs256_token(&demo_identity().verifying_key().to_bytes(), &claims),
    );
    // iss ≠ sub
    let mut other_iss = claims.clone();
    other_iss["iss"] = json!("org_other");
    refused_client(&tv, &ed_token(&demo_identity(), Some("JWT"), &other_iss));
}

#[test]
fn wrong_grant_type_is_refused() {
    let tv = crate::common::start();
    let assertion =
        assent::tokens::client_assertion(&demo_identity(), DEMO_ORG, &token_endpoint(&tv), now())
            .unwrap();
    let before = ledger(&tv);
    for grant_type in ["password", "authorization_code", ""] {
        let got = token_request(
            &tv,
            &[
                ("grant_type", grant_type),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        );
        assert_error(&got, 400, "unsupported_grant_type");
    }
    assert_eq!(ledger(&tv), before);
    // The assertion was not spent by the refused requests.
    assert_eq!(exchange(&tv, &assertion).0, 200);
}

#[test]
fn missing_client_assertion_type_is_refused() {
    let tv = crate::common::start();
    let assertion =
        assent::tokens::client_assertion(&demo_identity(), DEMO_ORG, &token_endpoint(&tv), now())
            .unwrap();
    let before = ledger(&tv);
    let got = token_request(
        &tv,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion", &assertion),
        ],
    );
    assert_error(&got, 400, "invalid_request");
    let got = token_request(
        &tv,
        &[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
            ("client_assertion", &assertion),
        ],
    );
    assert_error(&got, 400, "invalid_request");
    let got = token_request(
        &tv,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
        ],
    );
    assert_error(&got, 400, "invalid_request");
    assert_eq!(ledger(&tv), before);
}

/// RFC 7523 §3: a `jti` may be refused if already used. The replay table keeps a `jti` only
/// until the assertion's `exp`, but assertions are accepted up to 30 s (LEEWAY_SECS) past
/// `exp`, so inside that window the same assertion can be replayed any number of times.
#[test]
fn client_assertion_cannot_be_replayed_inside_the_expiry_leeway() {
    let tv = crate::common::start();
    let n = now();
    let assertion = demo_assertion(&tv, n - 100, n - 5);
    assert_eq!(
        exchange(&tv, &assertion).0,
        200,
        "accepted inside the leeway"
    );
    assert_error(&exchange(&tv, &assertion), 401, "invalid_client");
}

// ---------------------------------------------------------------------------------------------
// Issue 12: RFC 7523 assertions as the RFC allows them, and no lockout by strangers
// ---------------------------------------------------------------------------------------------

/// Signed with the demo org's key file (keys-example/demo-org.key) by jsonwebtoken directly.
fn demo_signed(claims: &Value) -> String {
    ed_token(&demo_identity(), Some("JWT"), claims)
}

/// RFC 7523 §3: `iat` and `nbf` are optional; RFC 7519 §4.1.3: `aud` may be an array.
#[test]
fn rfc7523_assertion_without_iat_nbf_or_with_an_array_aud_gets_a_token() {
    let tv = crate::common::start();
    let endpoint = token_endpoint(&tv);
    let n = now();
    let minimal = json!({
        "iss": DEMO_ORG, "sub": DEMO_ORG, "aud": endpoint, "exp": n + 120, "jti": jti(),
    });
    let array_aud = json!({
        "iss": DEMO_ORG, "sub": DEMO_ORG, "aud": ["https://elsewhere.example/token", endpoint],
        "exp": n + 120, "jti": jti(),
    });
    for claims in [minimal, array_aud] {
        let (status, answer) = exchange(&tv, &demo_signed(&claims));
        assert_eq!(status, 200, "{claims}: {answer}");
        let token = answer["access_token"].as_str().unwrap();
        assert_eq!(
            call(&tv, "GET", "/v1/org/requests", Some(token), None).0,
            200
        );
    }
}

#[test]
fn rfc7523_assertion_missing_what_is_required_is_refused() {
    let tv = crate::common::start();
    let endpoint = token_endpoint(&tv);
    let n = now();
    let base = json!({
        "iss": DEMO_ORG, "sub": DEMO_ORG, "aud": endpoint, "exp": n + 120, "jti": jti(),
    });
    // An array aud without our endpoint, and an empty one.
    for aud in [json!(["https://elsewhere.example/token"]), json!([])] {
        let mut c = base.clone();
        c["aud"] = aud;
        c["jti"] = json!(jti());
        refused_client(&tv, &demo_signed(&c));
    }
    // Each required claim missing in turn.
    for claim in ["exp", "jti", "aud", "iss", "sub"] {
        let mut c = base.clone();
        c["jti"] = json!(jti());
        c.as_object_mut().unwrap().remove(claim);
        refused_client(&tv, &demo_signed(&c));
    }
    // iat or nbf in the future.
    for (claim, at) in [("iat", n + 3600), ("nbf", n + 3600)] {
        let mut c = base.clone();
        c["jti"] = json!(jti());
        c[claim] = json!(at);
        refused_client(&tv, &demo_signed(&c));
    }
    // HS256 (keyed with the public key: algorithm confusion) and alg none.
    let mut c = base.clone();
    c["jti"] = json!(jti());
    refused_client(
        &tv,
        &hs256_token(&demo_identity().verifying_key().to_bytes(), &c),
    );
    refused_client(&tv, &unsigned_token(&c));
    // A reused jti, without iat/nbf.
    let once = demo_signed(&base);
    assert_eq!(exchange(&tv, &once).0, 200);
    refused_client(&tv, &once);
}

/// A reqwest client whose connections come from `local` (another loopback address is another
/// client network to the vault).
fn client_from(local: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(Some(local.parse().unwrap()))
        .build()
        .unwrap()
}

fn post_json(
    client: &reqwest::blocking::Client,
    tv: &TestVault,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let res = client
        .post(format!("{}{path}", tv.url))
        .json(body)
        .send()
        .unwrap();
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key("retry-after");
    let body: Value = res.json().unwrap_or(Value::Null);
    if status == 429 {
        assert!(retry_after, "429 without Retry-After: {body}");
    }
    (status, body)
}

fn post_form(client: &reqwest::blocking::Client, tv: &TestVault, assertion: &str) -> (u16, Value) {
    let body = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ])
    .unwrap();
    let res = client
        .post(format!("{}/v1/oauth/token", tv.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().unwrap_or(Value::Null))
}

fn lockout_vault() -> TestVault {
    crate::common::start_with(|c| {
        c.auth_per_ip_per_minute = 10_000;
        c.auth_per_account_per_minute = 30;
    })
}

#[test]
fn junk_logins_from_one_address_do_not_lock_the_customer_out_from_another() {
    let tv = lockout_vault();
    let handle = crate::common::handle("victim");
    let kdf = KdfParams::with_cost(19456, 2, 1).unwrap();
    let keys = derive_keys(crate::common::PASSPHRASE.as_bytes(), &kdf).unwrap();
    let secrets = CustomerSecrets::generate();
    let body = json!({
        "handle": handle,
        "auth": b64::encode(&keys.auth[..]),
        "bundle": seal_bundle(&keys.kek, kdf, &secrets).unwrap(),
        "x25519_public": b64::encode(&secrets.x25519_public()),
        "ed25519_public": b64::encode(&secrets.ed25519_public()),
    });
    assert_eq!(call(&tv, "POST", "/v1/customers", None, Some(&body)).0, 201);
    let attacker = client_from("127.0.0.1");
    let junk = json!({ "handle": handle, "auth": b64::encode(&[7u8; 32]) });
    let mut limited = 0;
    for _ in 0..32 {
        match post_json(&attacker, &tv, "/v1/sessions", &junk) {
            (401, b) => assert_eq!(b["error"], "bad_credentials"),
            (429, b) => {
                assert_eq!(b["error"], "rate_limited");
                limited += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(limited >= 2, "the attacker's address was never limited");
    let right = json!({ "handle": handle, "auth": b64::encode(&keys.auth[..]) });
    let victim = client_from("127.0.0.2");
    let (status, session) = post_json(&victim, &tv, "/v1/sessions", &right);
    assert_eq!(status, 200, "{session}");
    assert!(session["token"].is_string());
    // The attacker's address is still held back for this handle.
    let got = post_json(&attacker, &tv, "/v1/sessions", &junk);
    assert_error(&got, 429, "rate_limited");
}

#[test]
fn junk_assertions_from_one_address_do_not_lock_the_organization_out_from_another() {
    let tv = lockout_vault();
    let attacker = client_from("127.0.0.1");
    let stranger = generate_signing_key();
    let mut limited = 0;
    for _ in 0..32 {
        let junk =
            assent::tokens::client_assertion(&stranger, DEMO_ORG, &token_endpoint(&tv), now())
                .unwrap();
        match post_form(&attacker, &tv, &junk) {
            (401, b) => assert_eq!(b["error"], "invalid_client"),
            (429, b) => {
                assert_eq!(b["error"], "rate_limited");
                limited += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(limited >= 2, "the attacker's address was never limited");
    let victim = client_from("127.0.0.2");
    let good =
        assent::tokens::client_assertion(&demo_identity(), DEMO_ORG, &token_endpoint(&tv), now())
            .unwrap();
    let (status, answer) = post_form(&victim, &tv, &good);
    assert_eq!(status, 200, "{answer}");
    let good =
        assent::tokens::client_assertion(&demo_identity(), DEMO_ORG, &token_endpoint(&tv), now())
            .unwrap();
    assert_eq!(post_form(&attacker, &tv, &good).0, 429);
}

/// An operator token dated a year ahead (`exp − iat` = 5 minutes, `nbf` now) used to live a
/// year; now `exp` may be at most 5 minutes ahead of the vault's clock and `iat` not ahead of it.
#[test]
fn admin_token_dated_in_the_future_is_refused() {
    let tv = crate::common::start();
    let n = now();
    let year = 365 * 86_400;
    let before = ledger(&tv);
    for (iat, exp) in [
        (n + year, n + year + 300),
        (n + 3600, n + 3600),
        (n, n + 3600),
    ] {
        let claims = json!({
            "iss": "assent-admin", "sub": "operator", "aud": "assent:admin",
            "iat": iat, "nbf": n, "exp": exp, "jti": jti(),
        });
        let token = ed_token(&admin_key(), Some("at+jwt"), &claims);
        let got = call(
            &tv,
            "POST",
            "/v1/admin/orgs",
            Some(&token),
            Some(&org_registration("org_future")),
        );
        assert_error(&got, 401, "invalid_token");
    }
    assert_eq!(ledger(&tv), before);
    let got = call(
        &tv,
        "POST",
        "/v1/admin/orgs",
        Some(&crate::common::admin_token()),
        Some(&org_registration("org_future")),
    );
    assert_eq!(got.0, 201, "{}", got.1);
}

// ---------------------------------------------------------------------------------------------
// Issue 12: request floods
// ---------------------------------------------------------------------------------------------

/// POST /v1/org/requests: (status, body, Retry-After).
fn create_request_raw(
    tv: &TestVault,
    org_token: &str,
    customer_id: &str,
) -> (u16, Value, Option<String>) {
    let body = json!({
        "customer_id": customer_id, "labels": ["email"], "purposes": [PURPOSE],
        "duration_secs": 86_400, "justification": "to verify who you are",
    });
    let res = reqwest::blocking::Client::new()
        .post(format!("{}/v1/org/requests", tv.url))
        .bearer_auth(org_token)
        .json(&body)
        .send()
        .unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, res.json().unwrap(), retry)
}

#[test]
fn an_org_may_have_at_most_20_requests_pending_with_one_customer() {
    let tv = crate::common::start();
    let org = crate::common::demo_org(&tv);
    let token = org.api.token().unwrap().to_owned();
    let a = signed_up(&tv, &crate::common::handle("flooded"));
    let b = signed_up(&tv, &crate::common::handle("other"));
    let mut first = String::new();
    for i in 0..20 {
        let rid = ask(&tv, &token, &a.id, &["email"]);
        if i == 0 {
            first = rid;
        }
    }
    let before = ledger(&tv);
    let (status, body, retry) = create_request_raw(&tv, &token, &a.id);
    assert_error(&(status, body.clone()), 429, "too_many_pending_requests");
    assert!(
        body["message"].as_str().unwrap().contains("pending"),
        "{body}"
    );
    assert!(retry.is_some(), "no Retry-After");
    assert_eq!(ledger(&tv), before, "a refused request left a trace");
    // Other customers are still reachable, and another organization can still ask this one.
    ask(&tv, &token, &b.id, &["email"]);
    let other = crate::common::new_org(&tv, "org_other_asker");
    ask(&tv, other.api.token().unwrap(), &a.id, &["email"]);
    // Once the customer answers one, the organization may ask again.
    let declined = call(
        &tv,
        "POST",
        &format!("/v1/me/requests/{first}/decline"),
        Some(&a.token),
        None,
    );
    assert_eq!(declined.0, 200, "{}", declined.1);
    ask(&tv, &token, &a.id, &["email"]);
}

#[test]
fn an_org_may_make_at_most_60_requests_a_minute() {
    let tv = crate::common::start();
    let org = crate::common::demo_org(&tv);
    let token = org.api.token().unwrap().to_owned();
    let customers: Vec<Customer> = (0..4)
        .map(|_| signed_up(&tv, &crate::common::handle("asked")))
        .collect();
    for i in 0..60 {
        ask(&tv, &token, &customers[i % 4].id, &["email"]);
    }
    let before = ledger(&tv);
    let (status, body, retry) = create_request_raw(&tv, &token, &customers[0].id);
    assert_error(&(status, body), 429, "rate_limited");
    assert_eq!(retry.as_deref(), Some("60"));
    assert_eq!(ledger(&tv), before, "a refused request left a trace");
    // The limit is this organization's alone.
    let other = crate::common::new_org(&tv, "org_patient");
    ask(
        &tv,
        other.api.token().unwrap(),
        &customers[0].id,
        &["email"],
    );
}
