//! Test harness: a real server (the library's `http::server::start`) on 127.0.0.1:0 with a
//! real redb file in a temp dir — or, when the PostgreSQL suites run (`tests/it/pg.rs`), a
//! fresh database on a real PostgreSQL — the demo keys from keys-example/, and blocking clients.
#![allow(dead_code)]

use assent::client::customer::{self, Device, KdfCost};
use assent::client::org::{Ask, OrgClient};
use assent::client::profile::Profile;
use assent::config::{OrgKeys, ServeConfig};
use assent::crypto::b64;
use assent::crypto::bundle::{CustomerSecrets, KdfParams, derive_keys, seal_bundle};
use assent::crypto::keys::{X25519Secret, generate_signing_key};
use assent::vault::Vault;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub struct TestVault {
    /// The vault's public URL (what clients use; the bound address unless configured).
    pub url: String,
    /// The address the server is bound to (differs from `url` behind a proxy).
    pub addr: std::net::SocketAddr,
    /// Where `/metrics` is served, when the config enabled it.
    pub metrics: Option<std::net::SocketAddr>,
    pub vault: Vault,
    /// Moves the vault's clock forward (expiry without sleeping).
    pub clock: assent::clock::ClockHandle,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A child process (`assent serve`, `assent witness serve`) killed with SIGKILL and reaped when
/// dropped, so a failing test leaves nothing running.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for TestVault {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn install_crypto() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

/// Starts a vault in demo mode (demo org registered) on a free port.
pub fn start() -> TestVault {
    start_with(|_| {})
}

pub fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestVault {
    start_with_options(adjust, assent::http::server::ServeOptions::default())
}

/// [`start_with`], with options beyond the configuration (e.g. connection limits).
pub fn start_with_options(
    adjust: impl FnOnce(&mut ServeConfig),
    mut options: assent::http::server::ServeOptions,
) -> TestVault {
    install_crypto();
    let (clock, clock_handle) = assent::clock::Clock::adjustable();
    options.clock = clock;
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServeConfig {
        data_dir: dir.path().join("data"),
        store_url: None,
        keys_dir: repo("keys-example"),
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        demo: true,
        max_envelope_bytes: 1 << 20,
        web_dir: repo("web"),
        jurisdiction: "EU".into(),
        metrics_listen: None,
        request_timeout_secs: 30,
        shutdown_grace_secs: 5,
        auth_per_ip_per_minute: 1_000_000,
        auth_per_account_per_minute: 1_000_000,
        witnesses: Default::default(),
        erasure_deadline_days: 30,
        // Test receivers listen on 127.0.0.1 over http.
        webhooks: assent::vault::webhooks::WebhookSettings {
            allow_private: true,
            timeout: std::time::Duration::from_secs(5),
        },
    };
    adjust(&mut config);
    if crate::pg::available() && config.store_url.is_none() {
        config.store_url = Some(database_of(&config.data_dir));
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let running = assent::http::server::start_with(config, options, async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
            ready_tx
                .send((
                    running.public_url.clone(),
                    running.addr,
                    running.vault.clone(),
                    running.metrics_addr,
                ))
                .unwrap();
            let _ = running.serve.await;
        });
    });
    let (url, addr, vault, metrics) = ready_rx.recv().unwrap();
    TestVault {
        url,
        addr,
        metrics,
        vault,
        clock: clock_handle,
        dir,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// On PostgreSQL, the database that stands for a data directory: a fresh one the first time,
/// the same one when a test restarts a vault on the same directory.
fn database_of(data_dir: &std::path::Path) -> String {
    static DATABASES: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    let mut known = DATABASES.lock().unwrap();
    if let Some((_, url)) = known.iter().find(|(d, _)| d == data_dir) {
        return url.clone();
    }
    let url = crate::pg::scratch_database();
    known.push((data_dir.to_owned(), url.clone()));
    url
}

/// The PostgreSQL database of a data directory, for the CLI (`ASSENT_STORAGE_URL`), when the
/// PostgreSQL suites run; nothing on redb.
pub fn store_env(data_dir: &std::path::Path) -> Vec<(&'static str, String)> {
    if crate::pg::available() {
        vec![("ASSENT_STORAGE_URL", database_of(data_dir))]
    } else {
        Vec::new()
    }
}

/// Makes sure `data_dir/assent.redb` holds the stopped vault's data: on redb it does already;
/// on PostgreSQL the database is exported to it (what `assent backup` writes), so the offline
/// audit and its tamper tests run on a PostgreSQL vault's data too.
pub fn redb_file_of(data_dir: &std::path::Path) {
    let file = data_dir.join(assent::store::DB_FILE);
    if crate::pg::available() && !file.exists() {
        assent::store::pg::with_database(&database_of(data_dir), |pg| pg.export_to(&file)).unwrap();
    }
}

static HANDLES: AtomicU32 = AtomicU32::new(0);

/// A unique handle per call within a test binary.
pub fn handle(prefix: &str) -> String {
    format!("{prefix}{}", HANDLES.fetch_add(1, Ordering::Relaxed))
}

/// The cheapest KDF cost the bundle format accepts, to keep tests fast.
pub const FAST: KdfCost = KdfCost {
    m_kib: 19456,
    t: 2,
    p: 1,
};

/// Signs a customer up and unlocks their device.
pub fn customer(tv: &TestVault, handle: &str) -> (Profile, Device) {
    let profile = customer::sign_up(&tv.url, handle, PASSPHRASE.as_bytes(), &FAST).unwrap();
    let device = customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
    (profile, device)
}

/// The demo organization's fingerprint, as it would hand it to customers (computed from its key
/// file, not asked of the vault).
pub fn demo_org_check() -> customer::OrgCheck {
    org_check(&demo_org_keys())
}

/// First contact with an organization whose fingerprint the customer got from the org itself.
pub fn org_check(keys: &OrgKeys) -> customer::OrgCheck {
    customer::OrgCheck {
        fingerprint: Some(assent::crypto::sign::fingerprint(
            &keys.identity.verifying_key().to_bytes(),
        )),
        ..Default::default()
    }
}

pub fn demo_org_keys() -> OrgKeys {
    OrgKeys::load(&repo("keys-example/demo-org.key")).unwrap()
}

/// The demo organization, authenticated.
pub fn demo_org(tv: &TestVault) -> OrgClient {
    OrgClient::connect(&tv.url, demo_org_keys()).unwrap()
}

/// Registers a fresh organization through the admin API and authenticates it.
pub fn new_org(tv: &TestVault, id: &str) -> OrgClient {
    let keys = OrgKeys {
        demo: false,
        org_id: id.into(),
        name: format!("Org {id}"),
        identity: generate_signing_key(),
        encryption: X25519Secret::generate(),
    };
    let x = keys.encryption.public();
    let body = serde_json::json!({
        "org_id": id,
        "name": keys.name,
        "ed25519_public": assent::crypto::b64::encode(&keys.identity.verifying_key().to_bytes()),
        "x25519_public": assent::crypto::b64::encode(&x),
        "key_signature": assent::crypto::b64::encode(&assent::crypto::sign::sign_org_key(&keys.identity, &x)),
        "controller": controller_json(),
    });
    let (status, answer) = call(
        tv,
        "POST",
        "/v1/admin/orgs",
        Some(&admin_token()),
        Some(&body),
    );
    assert_eq!(status, 201, "{answer}");
    OrgClient::connect(&tv.url, keys).unwrap()
}

/// Well-formed controller details for registering a test organization.
pub fn controller_json() -> Value {
    serde_json::to_value(assent::config::demo_controller()).unwrap()
}

pub fn admin_token() -> String {
    let key = assent::config::load_admin_key(&repo("keys-example/admin.key")).unwrap();
    assent::tokens::mint_admin(&key, assent::clock::now().unix()).unwrap()
}

/// A raw JSON call: (status, body).
pub fn call(
    tv: &TestVault,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.request(method.parse().unwrap(), format!("{}{path}", tv.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().unwrap();
    let status = res.status().as_u16();
    let text = res.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A raw call with an arbitrary body and content type.
pub fn call_raw(
    tv: &TestVault,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut req = client
        .request(method.parse().unwrap(), format!("{}{path}", tv.url))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().unwrap();
    let status = res.status().as_u16();
    let text = res.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Asserts an error response: the status, a JSON body with `error` = `code` and a message.
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "body: {}", got.1);
    assert_eq!(got.1["error"], code, "body: {}", got.1);
    assert!(
        got.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "body: {}",
        got.1
    );
}

/// Signs up a customer with `email` stored, has the demo org request it, approves, and returns
/// (device, org, grant id).
pub fn granted(
    tv: &TestVault,
    handle: &str,
    max_reads: Option<u32>,
) -> (Device, OrgClient, String) {
    let (_, mut device) = customer(tv, handle);
    device
        .put(
            &"email".parse_label(),
            "text/plain",
            b"alice@example.com",
            false,
        )
        .unwrap();
    let org = demo_org(tv);
    let req = org
        .request(&Ask::new(
            handle,
            &["email".into()],
            &["dpv:IdentityVerification".into()],
            86_400,
            "to verify you",
        ))
        .unwrap();
    let rid = assent::domain::ids::RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
    let approved = device
        .approve(
            &rid,
            &assent::client::customer::Choice {
                max_reads,
                ..Default::default()
            },
            &demo_org_check(),
        )
        .unwrap();
    let gid = approved["grant"]["grant_id"].as_str().unwrap().to_owned();
    (device, org, gid)
}

pub trait ParseLabel {
    fn parse_label(&self) -> assent::domain::catalog::Label;
}

impl ParseLabel for str {
    fn parse_label(&self) -> assent::domain::catalog::Label {
        assent::domain::catalog::Label::parse(self).unwrap()
    }
}

/// The demo organization's (identity, encryption) public keys.
pub fn demo_org_public() -> ([u8; 32], [u8; 32]) {
    let k = demo_org_keys();
    (k.identity.verifying_key().to_bytes(), k.encryption.public())
}

/// The purpose most tests ask for.
pub const PURPOSE: &str = "dpv:IdentityVerification";
/// The demo organization's id.
pub const DEMO_ORG: &str = "org_demo_acme";

/// Runs `assent serve` (demo keys, port 0) with `args`; returns the child once it wrote its
/// address, or its stderr if it exited first.
pub fn serve_binary(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(std::process::Child, String), String> {
    let addr = dir.join("addr");
    let err = dir.join("stderr");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_assent"));
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(["--data", dir.join("data").to_str().unwrap()])
        .args(["--keys", repo("keys-example").to_str().unwrap()])
        .args(["--addr-file", addr.to_str().unwrap()])
        .args(args)
        .env_remove("ASSENT_SERVER_METRICS_LISTEN")
        .env("ASSENT_LOG", "warn")
        .stderr(std::fs::File::create(&err).unwrap());
    for (k, v) in crate::common::store_env(&dir.join("data")) {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let t0 = std::time::Instant::now();
    loop {
        if let Ok(url) = std::fs::read_to_string(&addr)
            && !url.is_empty()
        {
            return Ok((child, url));
        }
        if child.try_wait().unwrap().is_some() {
            return Err(std::fs::read_to_string(&err).unwrap());
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "the vault did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The vault's ledger size.
pub fn ledger_size(tv: &TestVault) -> u64 {
    tv.vault.ledger_size().unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A valid sign-up body made the way the device makes it (cheapest KDF cost); also returns the
/// login proof (base64url) and the secrets.
pub fn signup_body(handle: &str) -> (Value, String, CustomerSecrets) {
    let kdf = KdfParams::with_cost(19456, 2, 1).unwrap();
    let keys = derive_keys(PASSPHRASE.as_bytes(), &kdf).unwrap();
    let secrets = CustomerSecrets::generate();
    let bundle = seal_bundle(&keys.kek, kdf, &secrets).unwrap();
    let auth = b64::encode(&keys.auth[..]);
    let body = serde_json::json!({
        "handle": handle,
        "auth": auth,
        "bundle": bundle,
        "x25519_public": b64::encode(&secrets.x25519_public()),
        "ed25519_public": b64::encode(&secrets.ed25519_public()),
    });
    (body, auth, secrets)
}

/// Posts a sign-up body and expects 201; returns the answer.
pub fn sign_up_ok(tv: &TestVault, body: &Value) -> Value {
    let (status, created) = call(tv, "POST", "/v1/customers", None, Some(body));
    assert_eq!(status, 201, "{created}");
    created
}

/// A customer made by hand over raw HTTP, so the test holds the key that signs grants.
pub struct HandCustomer {
    pub handle: String,
    pub id: String,
    /// The login proof, base64url.
    pub auth: String,
    pub bundle: Value,
    pub token: String,
    pub secrets: CustomerSecrets,
}

/// Signs a customer up and logs in over raw HTTP.
pub fn hand_signed_up(tv: &TestVault, handle: &str) -> HandCustomer {
    let (body, auth, secrets) = signup_body(handle);
    let created = sign_up_ok(tv, &body);
    let bundle = body["bundle"].clone();
    let login = serde_json::json!({ "handle": handle, "auth": auth });
    let (status, session) = call(tv, "POST", "/v1/sessions", None, Some(&login));
    assert_eq!(status, 200, "{session}");
    HandCustomer {
        handle: handle.to_owned(),
        id: created["customer_id"].as_str().unwrap().to_owned(),
        auth,
        bundle,
        token: session["token"].as_str().unwrap().to_owned(),
        secrets,
    }
}

/// A registration body for a new organization with fresh keys and the demo controller details.
pub fn org_registration(org_id: &str) -> Value {
    let identity = generate_signing_key();
    let x = X25519Secret::generate().public();
    serde_json::json!({
        "org_id": org_id,
        "name": format!("Org {org_id}"),
        "ed25519_public": b64::encode(&identity.verifying_key().to_bytes()),
        "x25519_public": b64::encode(&x),
        "key_signature": b64::encode(&assent::crypto::sign::sign_org_key(&identity, &x)),
        "controller": controller_json(),
    })
}

/// What differs between an acknowledged act and the ledger entry at its index: the leaf, the
/// event type and each acknowledged field (the crash and multi-node tests' check). Empty when
/// they agree.
pub fn act_differences(
    want_leaf: &[u8; 32],
    kind: &str,
    fields: &Value,
    leaf: &[u8; 32],
    event: &Value,
) -> Vec<String> {
    let mut wrong = Vec::new();
    if leaf != want_leaf {
        wrong.push("leaf".to_owned());
    }
    if event["type"] != kind {
        wrong.push(format!("type {}", event["type"]));
    }
    for (k, v) in fields.as_object().into_iter().flatten() {
        if &event[k] != v {
            wrong.push(format!("{k}: {} (acknowledged {v})", event[k]));
        }
    }
    wrong
}

/// A ledger page's entries as the API lists them: index → (leaf, event).
pub type Entries = std::collections::BTreeMap<u64, ([u8; 32], Value)>;

/// The entries of a ledger page; an entry listed twice is an error.
pub fn entries_of(page: &Value) -> Result<Entries, String> {
    let mut out = Entries::new();
    for e in page["entries"].as_array().ok_or("no entries")? {
        let index = e["index"].as_u64().ok_or("an entry without index")?;
        let leaf = b64::decode_array::<32>(e["leaf"].as_str().unwrap_or_default(), "leaf")
            .map_err(|e| e.to_string())?;
        if out.insert(index, (leaf, e["event"].clone())).is_some() {
            return Err(format!("entry {index} listed twice"));
        }
    }
    Ok(out)
}

/// The `addr` of the last "assent listening" line of a vault's JSON log (its `--addr-file`
/// names the public URL, which may be a proxy's).
pub fn listening_address(log: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| {
            let fields = if v["fields"].is_object() {
                &v["fields"]
            } else {
                &v
            };
            (fields["message"] == "assent listening")
                .then(|| fields["addr"].as_str().map(str::to_owned))
                .flatten()
        })
}
