//! A hostile operator: a real tampering proxy between the project's own clients (the customer's
//! device and the organization's client, the code the CLI runs, and the CLI binary itself) and a
//! real, honest vault. One test per attack; each ends with the client refusing with a clear
//! message, and with proof that nothing decryptable left the device: every wrap that passed the
//! proxy is tried with the operator's own X25519 key. A control run through a transparent proxy
//! passes the normal flow, and there the same decryption check succeeds with the real
//! organization's key (so the check can fail).

use crate::common::{ParseLabel, TestVault};
use assent::client::ClientError;
use assent::client::customer::{self, Choice, Device, OrgCheck};
use assent::client::org::{Ask, OrgClient};
use assent::client::verify::Trust;
use assent::config::OrgKeys;
use assent::crypto::b64;
use assent::crypto::keys::{X25519Secret, generate_signing_key};
use assent::crypto::sign::{fingerprint, sign_org_key};
use assent::crypto::wrap::{Wrap, unwrap_key, wrap_info};
use assent::domain::ids::{GrantId, RequestId};
use assent::ledger::Event;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const IDV: &str = "dpv:IdentityVerification";
const EMAIL: &[u8] = b"alice@example.com";

/// Rewrites a JSON answer: (method, path without query, body).
type Rule = Box<dyn Fn(&str, &str, &mut Value) + Send + Sync>;
/// Rewrites the path and query of a request before it is forwarded.
type PathRule = Box<dyn Fn(&str) -> String + Send + Sync>;

#[derive(Default)]
struct Tamper {
    rules: Vec<Rule>,
    paths: Vec<PathRule>,
    /// (method, path, request body) of every request that passed.
    seen: Vec<(String, String, Vec<u8>)>,
}

/// A real HTTP proxy on 127.0.0.1:0 in front of a vault.
struct Proxy {
    url: String,
    state: Arc<Mutex<Tamper>>,
    _rt: tokio::runtime::Runtime,
}

impl Proxy {
    /// Starts a vault whose public URL is the proxy's (clients name it as the token audience),
    /// and the proxy in front of it.
    fn start() -> (TestVault, Self) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(Tamper::default()));
        let shared = state.clone();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let public = url.clone();
        let tv = crate::common::start_with(|c| c.public_url = Some(public));
        let upstream = format!("http://{}", tv.addr);
        let http = reqwest::Client::new();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: axum::body::Bytes| {
                let (state, http, upstream) = (shared.clone(), http.clone(), upstream.clone());
                async move { forward(state, http, upstream, method, uri, headers, body).await }
            },
        );
        rt.spawn(async move { axum::serve(listener, app).await });
        (
            tv,
            Self {
                url,
                state,
                _rt: rt,
            },
        )
    }

    fn rule(&self, r: impl Fn(&str, &str, &mut Value) + Send + Sync + 'static) {
        self.state.lock().unwrap().rules.push(Box::new(r));
    }

    fn rewrite_path(&self, r: impl Fn(&str) -> String + Send + Sync + 'static) {
        self.state.lock().unwrap().paths.push(Box::new(r));
    }

    fn transparent(&self) {
        let mut s = self.state.lock().unwrap();
        s.rules.clear();
        s.paths.clear();
    }

    fn forget_traffic(&self) {
        self.state.lock().unwrap().seen.clear();
    }

    /// Bodies of the writes (PUT, POST) that passed, as JSON.
    fn writes(&self, path_part: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|(m, p, _)| (m == "PUT" || m == "POST") && p.contains(path_part))
            .filter_map(|(_, _, b)| serde_json::from_slice(b).ok())
            .collect()
    }
}

async fn forward(
    state: Arc<Mutex<Tamper>>,
    http: reqwest::Client,
    upstream: String,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut target = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    {
        let mut s = state.lock().unwrap();
        for r in &s.paths {
            target = r(&target);
        }
        s.seen
            .push((method.to_string(), uri.path().to_owned(), body.to_vec()));
    }
    let mut req = http.request(method.clone(), format!("{upstream}{target}"));
    for name in ["authorization", "content-type"] {
        if let Some(v) = headers.get(name) {
            req = req.header(name, v.as_bytes());
        }
    }
    let res = req.body(body.to_vec()).send().await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let bytes = res.bytes().await.unwrap().to_vec();
    let out = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) if content_type.starts_with("application/json") => {
            for r in &state.lock().unwrap().rules {
                r(method.as_str(), uri.path(), &mut v);
            }
            serde_json::to_vec(&v).unwrap()
        }
        _ => bytes,
    };
    (status, [("content-type", content_type)], out).into_response()
}

/// The operator's own organization keys: what it substitutes, and what it decrypts with.
struct Operator {
    identity: assent::crypto::keys::SigningKey,
    x: X25519Secret,
}

impl Operator {
    fn new() -> Self {
        Self {
            identity: generate_signing_key(),
            x: X25519Secret::generate(),
        }
    }
    fn identity_public(&self) -> [u8; 32] {
        self.identity.verifying_key().to_bytes()
    }
}

/// Every wrap in the approvals and envelope writes that passed the proxy, with the HPKE info
/// it would be opened under by `org_id`.
fn wraps_sent(proxy: &Proxy, org_ids: &[&str]) -> Vec<(Vec<u8>, Wrap)> {
    let mut out = Vec::new();
    let wrap = |w: &Value| Wrap {
        enc: b64::decode(w["enc"].as_str().unwrap()).unwrap(),
        ct: b64::decode(w["ct"].as_str().unwrap()).unwrap(),
    };
    for body in proxy.writes("/approve") {
        let gid = body["grant"]["grant_id"].as_str().unwrap();
        for w in body["wraps"].as_array().unwrap() {
            for org in org_ids {
                let info = wrap_info(
                    w["envelope_id"].as_str().unwrap(),
                    w["version"].as_u64().unwrap(),
                    org,
                    gid,
                );
                out.push((info, wrap(w)));
            }
        }
    }
    for body in proxy.writes("/v1/me/envelopes/") {
        for w in body["grant_wraps"].as_array().unwrap() {
            for org in org_ids {
                let info = wrap_info(
                    body["envelope_id"].as_str().unwrap(),
                    body["version"].as_u64().unwrap(),
                    org,
                    w["grant_id"].as_str().unwrap(),
                );
                out.push((info, wrap(w)));
            }
        }
    }
    out
}

/// How many of the wraps that left the device open with `key`.
fn opened_with(proxy: &Proxy, key: &X25519Secret, org_ids: &[&str]) -> usize {
    wraps_sent(proxy, org_ids)
        .iter()
        .filter(|(info, w)| unwrap_key(key, info, w).is_ok())
        .count()
}

fn assert_nothing_for_the_operator(proxy: &Proxy, op: &Operator) {
    assert_eq!(
        opened_with(proxy, &op.x, &["org_demo_acme", "org_evil"]),
        0,
        "a data key that left the device opens with the operator's key"
    );
}

fn assert_refused(r: Result<impl std::fmt::Debug, ClientError>, words: &str) -> String {
    match r {
        Err(ClientError::Refused(m)) => {
            assert!(m.contains(words), "refused, but not for `{words}`: {m}");
            m
        }
        other => panic!("expected a refusal mentioning `{words}`, got {other:?}"),
    }
}

/// A vault, a proxy in front of it, alice signed up through the proxy with her email stored,
/// and the demo organization asking her for it.
struct World {
    tv: TestVault,
    proxy: Proxy,
    alice: Device,
    profile: assent::client::profile::Profile,
    org: OrgClient,
    request: RequestId,
}

fn world() -> World {
    let (tv, proxy) = Proxy::start();
    let h = crate::common::handle("alice");
    let profile = customer::sign_up(
        &proxy.url,
        &h,
        crate::common::PASSPHRASE.as_bytes(),
        &crate::common::FAST,
    )
    .unwrap();
    let mut alice = customer::unlock(&profile, crate::common::PASSPHRASE.as_bytes()).unwrap();
    alice
        .put(&"email".parse_label(), "text/plain", EMAIL, false)
        .unwrap();
    let org = org_client(&tv, &proxy.url, crate::common::demo_org_keys());
    let req = org
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            86_400,
            "to verify you",
        ))
        .unwrap();
    let request = RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
    proxy.forget_traffic();
    World {
        tv,
        proxy,
        alice,
        profile,
        org,
        request,
    }
}

/// An organization client through `url`, pinning the vault's real key (as `--vault-key` does).
fn org_client(tv: &TestVault, url: &str, keys: OrgKeys) -> OrgClient {
    let trust = Trust::new(
        &tv.vault.signer().verifier_key(),
        Default::default(),
        None,
        0,
    )
    .unwrap();
    OrgClient::connect_pinned(url, keys, Some(trust)).unwrap()
}

/// "Approve an organization I could not verify".
fn unverified() -> OrgCheck {
    OrgCheck {
        accept_unverified: true,
        ..Default::default()
    }
}

/// The real CLI as the demo organization, pinning the vault's real key.
fn org_cli(w: &World, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_assent"))
        .arg("org")
        .args(args)
        .args(["--server", &w.proxy.url])
        .env(
            "ASSENT_ORG_KEY",
            crate::common::repo("keys-example/demo-org.key"),
        )
        .env("ASSENT_ORG_STATE", dir.path().join("state.json"))
        .env("ASSENT_VAULT_KEY", w.tv.vault.signer().verifier_key())
        .output()
        .unwrap()
}

fn approve(w: &mut World) -> Result<Value, ClientError> {
    w.alice.approve(
        &w.request,
        &Choice::default(),
        &crate::common::demo_org_check(),
    )
}

/// Replaces the demo org's keys wherever the vault describes them to the customer.
fn substitute_org_descriptions(proxy: &Proxy, op: &Operator) {
    let (id, x) = (
        b64::encode(&op.identity_public()),
        b64::encode(&op.x.public()),
    );
    let sig = b64::encode(&sign_org_key(&op.identity, &op.x.public()));
    let fp = fingerprint(&op.identity_public());
    proxy.rule(move |_, path, v| {
        let swap = |o: &mut Value| {
            o["ed25519_public"] = id.clone().into();
            o["x25519_public"] = x.clone().into();
            o["key_signature"] = sig.clone().into();
            o["fingerprint"] = fp.clone().into();
        };
        if path == "/v1/me/requests" {
            for r in v.as_array_mut().unwrap() {
                swap(&mut r["org"]);
            }
        } else if path == "/v1/orgs/org_demo_acme" {
            swap(v);
        }
    });
}

#[test]
fn control_a_transparent_proxy_passes_the_normal_flow() {
    let mut w = world();
    let approved = approve(&mut w).unwrap();
    let gid = approved["grant"]["grant_id"].as_str().unwrap().to_owned();
    let cid = w.alice.customer_id.to_string();
    let (_, plain) = w.org.read(&cid, "email", IDV).unwrap();
    assert_eq!(&plain[..], EMAIL);
    w.alice
        .put(
            &"email".parse_label(),
            "text/plain",
            b"alice@new.example",
            false,
        )
        .unwrap();
    let (r, plain) = w.org.read(&cid, "email", IDV).unwrap();
    assert_eq!((r.version, &plain[..]), (2, &b"alice@new.example"[..]));
    // What the device sent opens for the organization, and only for it.
    let acme = crate::common::demo_org_keys();
    assert_eq!(
        opened_with(&w.proxy, &acme.encryption, &["org_demo_acme"]),
        2
    );
    assert_nothing_for_the_operator(&w.proxy, &Operator::new());
    w.alice.revoke(&GrantId::parse(&gid).unwrap()).unwrap();
    assert_eq!(w.alice.rotate_pending().unwrap().len(), 1);
    let ledger = w.alice.own_ledger().unwrap();
    assert!(ledger.verified.entries.len() >= 9);
    let mut org = w.org;
    let m = org.monitor(&[]).unwrap();
    assert_eq!(m.key_events, 1);
    let _ = (&w.tv, &w.profile);
}

#[test]
fn org_key_substituted_in_the_request_and_org_description_is_refused() {
    let mut w = world();
    let op = Operator::new();
    substitute_org_descriptions(&w.proxy, &op);
    // The anchor the customer holds is the organization's real fingerprint; the vault's
    // description of the org now names the operator's keys.
    assert_refused(approve(&mut w), "not the ones in");
    assert!(
        w.proxy.writes("/approve").is_empty(),
        "an approval was sent"
    );
    assert_nothing_for_the_operator(&w.proxy, &op);
}

#[test]
fn org_key_substituted_in_the_key_log_is_refused() {
    let mut w = world();
    let op = Operator::new();
    substitute_org_descriptions(&w.proxy, &op);
    let (id, x) = (
        b64::encode(&op.identity_public()),
        b64::encode(&op.x.public()),
    );
    let sig = b64::encode(&sign_org_key(&op.identity, &op.x.public()));
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/orgs/org_demo_acme/keys" {
            let e = &mut v["entries"][0]["event"];
            e["identity_key"] = id.clone().into();
            e["encryption_key"] = x.clone().into();
            e["key_signature"] = sig.clone().into();
        }
    });
    // Without an anchor, the operator's fingerprint would be shown; it still fails the log.
    let r = w
        .alice
        .approve(&w.request, &Choice::default(), &unverified());
    assert_refused(r, "does not match its event and nonce");
    assert!(w.proxy.writes("/approve").is_empty());
    assert_nothing_for_the_operator(&w.proxy, &op);
}

#[test]
fn operator_logged_key_change_is_refused_by_devices_and_named_by_the_org_monitor() {
    let mut w = world();
    let op = Operator::new();
    // The operator controls the database: it appends a key change for Acme to the real ledger
    // (it cannot sign it with Acme's identity key). It leaves Acme's registered identity key
    // alone, so Acme can still authenticate and notices nothing by itself.
    let (idk, xk) = (op.identity_public(), op.x.public());
    let key_sig = sign_org_key(&op.identity, &xk).to_vec();
    let forged = op.identity.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(
        w.tv.vault
            .store()
            .writer()
            .act(move |tx: &mut dyn assent::store::Batch| {
                let org = assent::domain::ids::OrgId::parse("org_demo_acme").unwrap();
                let rec = tx.org(&org)?.unwrap();
                let previous = rec.ed25519_public;
                let change = assent::crypto::sign::OrgKeyChange {
                    org_id: org.as_str(),
                    key_seq: 2,
                    identity_key: idk,
                    encryption_key: xk,
                };
                let change_signature =
                    assent::crypto::sign::sign_org_key_change(&forged, &change).unwrap();
                tx.append(
                    &Event::OrgKeysChanged {
                        org_id: org.clone(),
                        key_seq: 2,
                        identity_key: idk,
                        encryption_key: xk,
                        key_signature: key_sig,
                        previous_identity_key: previous,
                        change_signature: change_signature.to_vec(),
                        at: assent::clock::now(),
                    },
                    [7; 32],
                )?;
                Ok::<_, assent::store::StoreError>(())
            }),
    )
    .unwrap();
    // The device refuses the forged change, even with "approve unverified".
    let r = w
        .alice
        .approve(&w.request, &Choice::default(), &unverified());
    assert_refused(r, "not signed by the previous identity key");
    assert!(w.proxy.writes("/approve").is_empty());
    // Acme's monitor names the event.
    let e = w.org.monitor(&[]).unwrap_err().to_string();
    assert!(
        e.contains("names keys this organization did not make"),
        "{e}"
    );
    assert!(e.contains(&fingerprint(&op.identity_public())), "{e}");
    // And the real CLI exits non-zero naming it.
    let out = org_cli(&w, &["monitor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("MONITOR FAILED") && err.contains("key_seq 2"),
        "{err}"
    );
    assert_nothing_for_the_operator(&w.proxy, &op);
}

#[test]
fn first_contact_without_an_anchor_needs_an_explicit_choice() {
    let mut w = world();
    let r = w
        .alice
        .approve(&w.request, &Choice::default(), &OrgCheck::default());
    assert_refused(r, "nothing outside the vault vouches");
    // Another organization's request shown as "Acme Bank": the device shows the name and
    // fingerprint of the org's own key log, and Acme's fingerprint does not approve it.
    let evil = crate::common::new_org(&w.tv, "org_evil");
    let req = evil
        .request(&Ask::new(
            &w.profile.handle,
            &["email".into()],
            &[IDV.into()],
            3600,
            "hello",
        ))
        .unwrap();
    let acme_fp = crate::common::demo_org_check();
    w.proxy.rule(|_, path, v| {
        if path == "/v1/me/requests" {
            for r in v.as_array_mut().unwrap() {
                r["org"]["name"] = "Acme Bank".into();
                r["org"]["fingerprint"] = "aaaa".into();
            }
        }
    });
    let rid = RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
    let listed = w.alice.org_keys(&evil_id()).unwrap();
    assert_eq!(listed.name, "Org org_evil");
    let r = w.alice.approve(&rid, &Choice::default(), &acme_fp);
    assert_refused(r, "not the organization's keys");
    assert!(w.proxy.writes("/approve").is_empty());
    // The explicit choice works, and the grant listing says so.
    w.proxy.transparent();
    w.alice
        .approve(
            &rid,
            &Choice::default(),
            &OrgCheck {
                accept_unverified: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(w.alice.org_verified(&evil_id()), Some(false));
}

fn evil_id() -> assent::domain::ids::OrgId {
    assent::domain::ids::OrgId::parse("org_evil").unwrap()
}

#[test]
fn keys_changed_since_an_earlier_approval_are_named_and_need_consent() {
    let mut w = world();
    approve(&mut w).unwrap();
    // Acme really changes its keys (signed by its identity key), then asks again.
    let new = OrgKeys {
        demo: false,
        org_id: "org_demo_acme".into(),
        name: "Acme Bank (demo)".into(),
        identity: generate_signing_key(),
        encryption: X25519Secret::generate(),
    };
    w.org.change_keys(&new).unwrap();
    let org2 = org_client(&w.tv, &w.proxy.url, new);
    let req = org2
        .request(&Ask::new(
            &w.profile.handle,
            &["email".into()],
            &[IDV.into()],
            3600,
            "again",
        ))
        .unwrap();
    let rid = RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
    let today = assent::clock::now().date();
    let m = assert_refused(
        w.alice
            .approve(&rid, &Choice::default(), &OrgCheck::default()),
        &format!("keys changed since you approved it on {today}"),
    );
    assert!(m.contains("key change #2 logged at ledger entry"), "{m}");
    // With the new fingerprint confirmed and the change accepted, it goes on.
    let mut check = crate::common::org_check(&org2.keys);
    check.accept_key_change = true;
    let second = w.alice.approve(&rid, &Choice::default(), &check).unwrap();
    // Both grants are active; the read is served under the one naming Acme's current keys.
    let cid = w.alice.customer_id.to_string();
    let (r, plain) = org2.read(&cid, "email", IDV).unwrap();
    assert_eq!(&plain[..], EMAIL);
    assert_eq!(r.grant_id.as_str(), second["grant"]["grant_id"]);
}

#[test]
fn key_substituted_on_a_later_put_is_refused() {
    let mut w = world();
    approve(&mut w).unwrap();
    let op = Operator::new();
    // The vault's descriptions of the org are ignored: the put wraps to the signed grant's key.
    substitute_org_descriptions(&w.proxy, &op);
    w.alice
        .put(&"email".parse_label(), "text/plain", b"v2", false)
        .unwrap();
    // Substituting the key inside the listed grant breaks the customer's signature.
    let x = b64::encode(&op.x.public());
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/me/grants" {
            for g in v.as_array_mut().unwrap() {
                g["org_encryption_key"] = x.clone().into();
            }
        }
    });
    let r = w
        .alice
        .put(&"email".parse_label(), "text/plain", b"v3", false);
    assert_refused(r, "your key did not sign it");
    assert_eq!(
        w.proxy.writes("/v1/me/envelopes/").len(),
        1,
        "only v2 was sent"
    );
    assert_nothing_for_the_operator(&w.proxy, &op);
}

/// A grant as the vault lists it, for the demo org, made up by the operator.
fn fake_grant(customer: &str, org: &str, op: &Operator) -> Value {
    json!({
        "grant_id": "grt_injected", "customer_id": customer, "org_id": org,
        "org_identity_key": b64::encode(&op.identity_public()),
        "org_encryption_key": b64::encode(&op.x.public()),
        "labels": ["email"], "purposes": [IDV], "not_after": "2099-01-01T00:00:00Z",
        "signature": b64::encode(&[0u8; 64]), "request_id": "req_injected", "state": "active",
        "reads": 0, "created_at": "2026-11-01T00:00:00Z", "ledger_index": 1,
    })
}

#[test]
fn injected_unsigned_grant_is_refused() {
    let mut w = world();
    let op = Operator::new();
    let cid = w.alice.customer_id.to_string();
    let fake = fake_grant(&cid, "org_evil", &op);
    w.proxy.rule(move |m, path, v| {
        if m == "GET" && path == "/v1/me/grants" {
            v.as_array_mut().unwrap().push(fake.clone());
        }
    });
    let r = w
        .alice
        .put(&"email".parse_label(), "text/plain", b"v2", false);
    assert_refused(r, "your key did not sign it");
    assert!(
        w.proxy.writes("/v1/me/envelopes/").is_empty(),
        "a write was sent"
    );
    assert_nothing_for_the_operator(&w.proxy, &op);
}

#[test]
fn another_customers_genuine_grant_is_refused() {
    let mut w = world();
    let op = Operator::new();
    // Bob genuinely grants the demo org; the operator shows Bob's signed grant to Alice.
    let (bob, _, bob_gid) = crate::common::granted(&w.tv, &crate::common::handle("bob"), None);
    let (_, bob_grants) = crate::common::call(&w.tv, "GET", "/v1/me/grants", bob.api.token(), None);
    let bobs = bob_grants[0].clone();
    assert_eq!(bobs["grant_id"], bob_gid);
    w.proxy.forget_traffic();
    let shown = bobs.clone();
    w.proxy.rule(move |m, path, v| {
        if m == "GET" && path == "/v1/me/grants" {
            v.as_array_mut().unwrap().push(shown.clone());
        }
    });
    let r = w
        .alice
        .put(&"email".parse_label(), "text/plain", b"v2", false);
    assert_refused(r, "made for another customer");
    // Relabelled as Alice's, Bob's signature no longer verifies under Alice's key.
    let cid = w.alice.customer_id.to_string();
    w.proxy.transparent();
    w.proxy.rule(move |m, path, v| {
        if m == "GET" && path == "/v1/me/grants" {
            let mut g = bobs.clone();
            g["customer_id"] = cid.clone().into();
            v.as_array_mut().unwrap().push(g);
        }
    });
    let r = w
        .alice
        .put(&"email".parse_label(), "text/plain", b"v2", false);
    assert_refused(r, "your key did not sign it");
    assert!(w.proxy.writes("/v1/me/envelopes/").is_empty());
    assert_nothing_for_the_operator(&w.proxy, &op);
}

#[test]
fn a_revoked_grant_shown_as_active_is_refused_and_revocation_rewraps_only_to_signed_keys() {
    let mut w = world();
    let approved = approve(&mut w).unwrap();
    let gid = approved["grant"]["grant_id"].as_str().unwrap().to_owned();
    // A second organization keeps its grant.
    let keeper = crate::common::new_org(&w.tv, "org_keeper");
    let req = keeper
        .request(&Ask::new(
            &w.profile.handle,
            &["email".into()],
            &[IDV.into()],
            86_400,
            "keep",
        ))
        .unwrap();
    let rid = RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
    w.alice
        .approve(
            &rid,
            &Choice::default(),
            &crate::common::org_check(&keeper.keys),
        )
        .unwrap();
    let op = Operator::new();
    // Revocation: the rotation re-wraps for the keeper; the operator swaps the keeper's key.
    let x = b64::encode(&op.x.public());
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/me/grants" {
            for g in v.as_array_mut().unwrap() {
                if g["org_id"] == "org_keeper" {
                    g["org_encryption_key"] = x.clone().into();
                }
            }
        }
    });
    w.proxy.forget_traffic();
    w.alice.revoke(&GrantId::parse(&gid).unwrap()).unwrap();
    assert_refused(w.alice.rotate_pending(), "your key did not sign it");
    assert!(w.proxy.writes("/v1/me/envelopes/").is_empty());
    // The operator shows the revoked grant as active: the device's ledger says otherwise.
    w.proxy.transparent();
    let revoked_gid = gid.clone();
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/me/grants" {
            for g in v.as_array_mut().unwrap() {
                if g["grant_id"] == revoked_gid.as_str() {
                    g["state"] = "active".into();
                }
            }
        }
    });
    assert_refused(w.alice.rotate_pending(), "shows you revoked it");
    assert!(w.proxy.writes("/v1/me/envelopes/").is_empty());
    assert_nothing_for_the_operator(&w.proxy, &op);
    // Honest again: the rotation wraps to the keeper's signed key only.
    w.proxy.transparent();
    assert_eq!(w.alice.rotate_pending().unwrap().len(), 1);
    assert_eq!(
        opened_with(&w.proxy, &keeper.keys.encryption, &["org_keeper"]),
        1
    );
    let acme = crate::common::demo_org_keys();
    assert_eq!(
        opened_with(&w.proxy, &acme.encryption, &["org_demo_acme"]),
        0
    );
}

/// Approves, has the org read, then writes once more so the read is not the newest event.
fn with_a_read(w: &mut World) {
    approve(w).unwrap();
    let cid = w.alice.customer_id.to_string();
    w.org.read(&cid, "email", IDV).unwrap();
    w.alice
        .put(&"email".parse_label(), "text/plain", b"later", false)
        .unwrap();
}

fn drop_entries(proxy: &Proxy, which: impl Fn(&Value) -> bool + Send + Sync + 'static) {
    proxy.rule(move |_, path, v| {
        if path == "/v1/me/ledger" {
            v["entries"].as_array_mut().unwrap().retain(|e| !which(e));
        }
    });
}

#[test]
fn a_hidden_read_leaves_a_gap() {
    let mut w = world();
    with_a_read(&mut w);
    drop_entries(&w.proxy, |e| e["event"]["type"] == "read");
    assert_refused(w.alice.own_ledger(), "events are missing");
}

#[test]
fn a_hidden_newest_event_is_caught_against_the_pinned_sequence_number() {
    let mut w = world();
    with_a_read(&mut w);
    let before = w.alice.own_ledger().unwrap();
    let newest = before.verified.entries.last().unwrap().index;
    drop_entries(&w.proxy, move |e| e["index"] == newest);
    assert_refused(w.alice.own_ledger(), "went back");
    // The CLI keeps the pin in the profile across runs.
    let mut profile = w.profile.clone();
    w.alice.save_into(&mut profile);
    assert_eq!(profile.last_seq, before.verified.entries.len() as u64);
}

#[test]
fn entries_moved_past_the_checkpoint_are_a_failure_not_pending() {
    let mut w = world();
    with_a_read(&mut w);
    w.proxy.rule(|_, path, v| {
        if path == "/v1/me/ledger" {
            let size = v["size"].as_u64().unwrap();
            for (i, e) in v["entries"].as_array_mut().unwrap().iter_mut().enumerate() {
                e["index"] = (size + i as u64).into();
                e["proof"] = Value::Null;
            }
        }
    });
    assert_refused(w.alice.own_ledger(), "at or beyond the signed checkpoint");
}

#[test]
fn a_fabricated_read_past_the_checkpoint_is_refused() {
    let mut w = world();
    with_a_read(&mut w);
    let cid = w.alice.customer_id.to_string();
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/me/ledger" {
            let size = v["size"].as_u64().unwrap();
            let n = v["entries"].as_array().unwrap().len() as u64;
            let event = json!({
                "type": "read", "customer_id": cid, "org_id": "org_demo_acme",
                "grant_id": "grt_fake", "envelope_id": "env_fake", "version": 1,
                "label": "email", "purpose": "dpv:Marketing", "at": "2026-12-01T00:00:00Z",
                "customer_seq": n + 1, "org_seq": 99,
            });
            let nonce = [3u8; 32];
            let leaf = assent::ledger::leaf_commitment(
                &nonce,
                &assent::crypto::sign::jcs(&event).unwrap(),
            );
            v["entries"].as_array_mut().unwrap().push(json!({
                "index": size + 5, "nonce": b64::encode(&nonce), "event": event,
                "leaf": b64::encode(&leaf), "proof": null,
            }));
        }
    });
    assert_refused(w.alice.own_ledger(), "at or beyond the signed checkpoint");
}

#[test]
fn a_rolled_back_checkpoint_is_refused() {
    let mut w = world();
    with_a_read(&mut w);
    // The operator keeps an old page (checkpoint and entries) and serves it later.
    let old = w.alice.ledger().unwrap();
    w.alice
        .put(&"email".parse_label(), "text/plain", b"newer", false)
        .unwrap();
    w.alice.own_ledger().unwrap();
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/me/ledger" {
            *v = old.clone();
        }
    });
    assert_refused(w.alice.own_ledger(), "shrank");
}

#[test]
fn a_forked_tree_is_refused() {
    let mut w = world();
    with_a_read(&mut w);
    w.alice.own_ledger().unwrap();
    // The operator holds the vault key: it signs a checkpoint of another tree of the same
    // size (a fork) and of a larger tree that does not extend the one the device saw.
    let keys = assent::config::VaultKeys::load(&crate::common::repo("keys-example")).unwrap();
    let signer = w.tv.vault.signer();
    let size = w.alice.ledger().unwrap()["size"].as_u64().unwrap();
    let forge = |size: u64| {
        assent::ledger::checkpoint::Checkpoint {
            origin: signer.origin.clone(),
            size,
            root: [0x42; 32],
        }
        .sign(&signer.name, &keys.signing)
        .unwrap()
    };
    let same = forge(size);
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/me/ledger" {
            v["checkpoint"] = same.clone().into();
        }
    });
    assert_refused(w.alice.own_ledger(), "two different signed roots");
    w.proxy.transparent();
    let larger = forge(size + 10);
    w.proxy.rule(move |_, path, v| {
        if path == "/v1/me/ledger" {
            v["checkpoint"] = larger.clone().into();
            v["size"] = (size + 10).into();
        }
    });
    let r = w.alice.own_ledger();
    assert!(
        matches!(
            &r,
            Err(ClientError::Refused(_)) | Err(ClientError::Api { .. })
        ),
        "{:?}",
        r.as_ref().err()
    );
}

#[test]
fn a_swapped_read_is_refused_by_the_org_client_and_the_cli() {
    let mut w = world();
    approve(&mut w).unwrap();
    // Carol too grants the demo org her email.
    let (carol, _, _) = crate::common::granted(&w.tv, &crate::common::handle("carol"), None);
    let (alice_id, carol_id) = (
        w.alice.customer_id.to_string(),
        carol.customer_id.to_string(),
    );
    // Asked for Carol, the proxy asks the vault for Alice's envelope and returns it.
    let (from, to) = (carol_id.clone(), alice_id.clone());
    w.proxy.rewrite_path(move |p| p.replace(&from, &to));
    assert_refused(
        w.org.read(&carol_id, "email", IDV),
        "the vault answered with",
    );
    // Relabelled as Carol's, Alice's envelope does not open (the AAD binds the customer).
    let (a, c) = (alice_id.clone(), carol_id.clone());
    w.proxy.rule(move |_, path, v| {
        if path.starts_with("/v1/org/customers/") && v["customer_id"] == a.as_str() {
            v["customer_id"] = c.clone().into();
        }
    });
    assert_refused(w.org.read(&carol_id, "email", IDV), "does not open");
    // The real CLI exits non-zero and prints nothing.
    let out = org_cli(
        &w,
        &[
            "read",
            "--customer",
            &carol_id,
            "--label",
            "email",
            "--purpose",
            IDV,
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "plaintext printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("REFUSED"), "{err}");
}

#[test]
fn a_forged_access_receipt_is_refused() {
    let mut w = world();
    approve(&mut w).unwrap();
    let cid = w.alice.customer_id.to_string();
    w.proxy.rule(|_, path, v| {
        if path.starts_with("/v1/org/customers/") {
            v["receipt"]["batch"]["time"] = "2020-01-01T00:00:00Z".into();
        }
    });
    assert_refused(
        w.org.read(&cid, "email", IDV),
        "does not prove the read was logged under the pinned vault key",
    );
}

/// A receipt whose path leads elsewhere is no proof that the read was logged, even with the
/// batch's genuine signature.
#[test]
fn an_access_receipt_with_a_bent_path_is_refused() {
    let mut w = world();
    approve(&mut w).unwrap();
    let cid = w.alice.customer_id.to_string();
    w.proxy.rule(|_, path, v| {
        if path.starts_with("/v1/org/customers/") {
            v["receipt"]["path"] = serde_json::json!([b64::encode(&[3u8; 32])]);
        }
    });
    assert_refused(
        w.org.read(&cid, "email", IDV),
        "does not prove the read was logged",
    );
}

#[test]
fn relabelled_content_type_is_refused_by_the_device_and_the_org() {
    let mut w = world();
    approve(&mut w).unwrap();
    w.proxy.rule(|_, path, v| {
        if path.starts_with("/v1/org/customers/") || path == "/v1/me/envelopes/email" {
            v["content_type"] = "text/html".into();
        }
    });
    let cid = w.alice.customer_id.to_string();
    assert_refused(w.org.read(&cid, "email", IDV), "content type was changed");
    assert_refused(w.alice.get(&"email".parse_label()), "content type");
}
