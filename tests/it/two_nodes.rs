//! Two in-process vault nodes on one PostgreSQL database (only when the PostgreSQL suites run):
//! what must hold across nodes beyond the processes of `multinode.rs` — another node's commit
//! reaches this node's live streams, and a client assertion used on one node is refused on the
//! other. Node B is started with node A's public URL, as nodes behind one balancer share it, so
//! a token either issues is valid at both; requests to B go to its own bound address.

use crate::common::{self, TestVault, customer, demo_org, handle, start_with};
use assent::client::org::Ask;
use assent::crypto::b64;
use assent::crypto::keys::random_array;
use serde_json::{Value, json};

/// Nodes A and B on one fresh database, or `None` on redb.
fn two_nodes() -> Option<(TestVault, TestVault)> {
    if !crate::pg::available() {
        eprintln!("two_nodes: skipped (needs ASSENT_TEST_POSTGRES=1 and a cluster in PG*)");
        return None;
    }
    let url = crate::pg::scratch_database();
    let a = start_with(|c| c.store_url = Some(url.clone()));
    let public = a.url.clone();
    let b = start_with(|c| {
        c.store_url = Some(url.clone());
        c.public_url = Some(public.clone());
    });
    Some((a, b))
}

fn at(node: &TestVault, path: &str) -> String {
    format!("http://{}{path}", node.addr)
}

#[test]
fn another_nodes_commit_reaches_this_nodes_live_stream() {
    let Some((a, b)) = two_nodes() else { return };
    let h = handle("across");
    let (_, mut device) = customer(&a, &h);
    let token = device.api.token().unwrap().to_owned();
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let res = client
        .get(at(&b, "/v1/me/events"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(res));
    let mut next_event = || -> String {
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(kind) = line.strip_prefix("event: ") {
                return kind.to_owned();
            }
        }
        panic!("the stream ended");
    };
    assert_eq!(next_event(), "ready");
    // An act through node A: node B's stream announces it (PostgreSQL NOTIFY, after commit).
    device
        .put(
            &assent::domain::catalog::Label::parse("email").unwrap(),
            "text/plain",
            b"a@example.com",
            false,
        )
        .unwrap();
    let org = demo_org(&a);
    org.request(&Ask::new(
        &h,
        &["email".into()],
        &["dpv:IdentityVerification".into()],
        3600,
        "to check it is you",
    ))
    .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let kind = next_event();
        if kind != "ready" {
            seen.push(kind);
        }
    }
    assert_eq!(seen, ["envelope_written", "request_created"], "{seen:?}");
}

#[test]
fn a_client_assertion_used_on_one_node_is_refused_on_the_other() {
    let Some((a, b)) = two_nodes() else { return };
    common::install_crypto();
    let n = assent::clock::now().unix();
    let claims = json!({
        "iss": common::DEMO_ORG, "sub": common::DEMO_ORG,
        "aud": format!("{}/v1/oauth/token", a.url),
        "iat": n, "exp": n + 120, "jti": b64::encode(&random_array::<16>()),
    });
    let der =
        ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_der(&common::demo_org_keys().identity)
            .unwrap();
    let assertion = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
    )
    .unwrap();
    let exchange = |node: &TestVault| -> (u16, Value) {
        let body = serde_urlencoded::to_string([
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .unwrap();
        let res = reqwest::blocking::Client::new()
            .post(at(node, "/v1/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        (res.status().as_u16(), res.json().unwrap())
    };
    assert_eq!(exchange(&a).0, 200);
    let (status, body) = exchange(&b);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
}
