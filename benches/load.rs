//! Load benchmark (`make bench`): the vault against a bare axum server answering a fixed 200-byte
//! JSON body (the HTTP ceiling), both driven by the same load generator (Debian's `wrk`) at 64
//! connections on 127.0.0.1. The vault holds 1,000 customers, 100 organizations and 10,000
//! active grants, seeded through the vault's own use cases. Prints requests/s, p50 and p99 per
//! scenario and as a ratio of the ceiling, in-process group-commit appends/s, and the server's
//! peak RSS. Nothing here is a test: no figure is asserted.

mod support;

use assent::config::ServeConfig;
use assent::crypto::b64;
use assent::crypto::bundle::{CustomerSecrets, KdfParams, seal_bundle};
use assent::crypto::envelope::{DataKey, envelope_aad, seal_payload};
use assent::crypto::keys::{X25519Secret, generate_signing_key, random_array};
use assent::crypto::sign::{sign_grant, sign_org_key};
use assent::crypto::wrap::{OWNER, wrap_info, wrap_key};
use assent::domain::catalog::{Label, Purpose};
use assent::domain::grant::GrantTerms;
use assent::domain::ids::{CustomerId, EnvelopeId, GrantId, Handle, OrgId};
use assent::domain::request::RequestTerms;
use assent::ledger::Event;
use assent::store::Tx;
use assent::vault::consent::{Approval, ApprovalWrap, CustomerRef};
use assent::vault::customers::Signup;
use assent::vault::envelopes::EnvelopeWrite;
use assent::vault::orgs::NewOrg;
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const CUSTOMERS: usize = 1_000;
const ORGS: usize = 100;
const GRANTS_PER_CUSTOMER: usize = 10; // 10,000 active grants
const PENDING: usize = 20_000; // requests kept for the grant + revoke scenario
const WRITERS: usize = 64; // customers whose tokens drive the write scenario
const IDV: &str = "dpv:IdentityVerification";

fn main() {
    if std::env::var_os("BENCH_BARE").is_some() {
        return bare_server();
    }
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vault_bin = std::env::var("BENCH_VAULT_BIN")
        .map_or_else(|_| root.join("target/release/assent"), PathBuf::from);
    let secs = std::env::var("BENCH_SECONDS").unwrap_or_else(|_| "10".into());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();

    let t = Instant::now();
    let seed = rt.block_on(seed(&root, &data));
    println!(
        "seeded {CUSTOMERS} customers, {ORGS} orgs, {} active grants, {PENDING} pending requests in {:.1} s",
        seed.grants.len(),
        t.elapsed().as_secs_f64()
    );
    let appends = rt.block_on(group_commit_appends(&dir.path().join("appends")));

    let (mut vault, url, _) = support::spawn_vault(
        &vault_bin,
        &data,
        &root,
        &[
            ("ASSENT_LOG", "warn"),
            ("ASSENT_LIMITS_AUTH_PER_IP_PER_MINUTE", "1000000"),
            ("ASSENT_LIMITS_AUTH_PER_ACCOUNT_PER_MINUTE", "1000000"),
        ],
    );
    std::thread::sleep(Duration::from_millis(50));
    let org_tokens: Vec<String> = seed
        .orgs
        .iter()
        .map(|(id, key)| org_token(&url, id, key))
        .collect();
    let customer_tokens: Vec<String> = seed
        .customers
        .iter()
        .take(WRITERS)
        .map(|c| customer_token(&url, c))
        .collect();
    let lua = dir.path();
    write_read_lua(lua, &seed, &org_tokens);
    write_write_lua(lua, &seed, &customer_tokens);
    write_grant_lua(lua, &seed, &customer_tokens);

    let exe = std::env::current_exe().unwrap();
    let bare = Command::new(exe)
        .env("BENCH_BARE", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bare = Server::new(bare);
    let ceiling = wrk(&format!("{}/", bare.url), None, &secs);
    // BENCH_PERF=<file>: record a CPU profile of the vault during the read scenario.
    let perf = std::env::var("BENCH_PERF").ok().map(|out| {
        Command::new("perf")
            .args([
                "record",
                "-F",
                "499",
                "-g",
                "-o",
                &out,
                "-p",
                &vault.id().to_string(),
                "--",
                "sleep",
                "8",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    });
    let read = wrk(&url, Some(&lua.join("read.lua")), &secs);
    if let Some(mut p) = perf {
        let _ = p.wait();
    }
    let write = wrk(&url, Some(&lua.join("write.lua")), &secs);
    let grant = wrk(&url, Some(&lua.join("grant.lua")), &secs);
    let rss = peak_rss_kib(vault.id());
    let _ = vault.kill();
    let _ = vault.wait();

    println!(
        "\n{:<42} {:>10} {:>9} {:>9} {:>8} {:>8}",
        "scenario (64 connections, wrk)", "req/s", "p50", "p99", "× ceil", "non-2xx"
    );
    for (name, r) in [
        ("bare axum, 200-byte JSON (ceiling)", &ceiling),
        ("org envelope read (authorized + logged)", &read),
        ("customer envelope write (1 KiB)", &write),
        ("grant + revoke (each request)", &grant),
    ] {
        println!(
            "{name:<42} {:>10.0} {:>9} {:>9} {:>8.2} {:>8}",
            r.rps,
            r.p50,
            r.p99,
            r.rps / ceiling.rps,
            r.non2xx
        );
    }
    println!("\nin-process ledger appends with group commit: {appends:.0} durable appends/s");
    println!(
        "vault peak RSS under the load above: {:.1} MiB",
        rss as f64 / 1024.0
    );
}

struct SeedCustomer {
    id: CustomerId,
    handle: String,
    auth: [u8; 32],
    envelope: EnvelopeId,
}

struct Pending {
    customer: usize,
    request: String,
    body: String,
}

struct Seeded {
    orgs: Vec<(OrgId, assent::crypto::keys::SigningKey)>,
    customers: Vec<SeedCustomer>,
    /// (org index, customer index) of each active grant.
    grants: Vec<(usize, usize)>,
    pending: Vec<Pending>,
}

/// Seeds through the vault's own use cases, in-process, then stops that vault.
async fn seed(root: &Path, data: &Path) -> Seeded {
    let config = ServeConfig {
        data_dir: data.to_owned(),
        keys_dir: root.join("keys-example"),
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        demo: true,
        max_envelope_bytes: 1 << 20,
        web_dir: root.join("web"),
        jurisdiction: "EU".into(),
        metrics_listen: None,
        request_timeout_secs: 30,
        shutdown_grace_secs: 5,
        auth_per_ip_per_minute: 1_000_000,
        auth_per_account_per_minute: 1_000_000,
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = assent::http::server::start(config, async {
        let _ = stop_rx.await;
    })
    .await
    .unwrap();
    let vault = running.vault.clone();

    let mut orgs = Vec::new();
    let mut org_x = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..ORGS {
        let identity = generate_signing_key();
        let enc = X25519Secret::generate();
        let id = OrgId::parse(&format!("org_bench_{i}")).unwrap();
        let x = enc.public();
        let o = NewOrg {
            org_id: id.clone(),
            name: format!("Bench Org {i}"),
            ed25519_public: identity.verifying_key().to_bytes(),
            x25519_public: x,
            key_signature: sign_org_key(&identity, &x).to_vec(),
        };
        let v = vault.clone();
        tasks.push(tokio::spawn(
            async move { v.register_org(o).await.map(|_| ()) },
        ));
        org_x.push(x);
        orgs.push((id, identity));
    }
    join(tasks).await;

    // Customers: real sealed bundles (KDF skipped: the bench picks `auth` and `kek` directly).
    let mut secrets = Vec::new();
    let mut customers = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..CUSTOMERS {
        let s = CustomerSecrets::generate();
        let auth: [u8; 32] = random_array();
        let kek: [u8; 32] = random_array();
        let bundle = seal_bundle(&kek, KdfParams::with_cost(19456, 2, 1).unwrap(), &s).unwrap();
        let handle = format!("bench{i}");
        let su = Signup {
            handle: Handle::parse(&handle).unwrap(),
            auth: Zeroizing::new(auth),
            bundle,
            x25519_public: s.x25519_public(),
            ed25519_public: s.ed25519_public(),
        };
        let v = vault.clone();
        tasks.push(
            Box::pin(async move { v.sign_up(su).await.map(|r| r.customer_id) }) as Task<_, _>,
        );
        secrets.push(s);
        customers.push((handle, auth));
    }
    let ids = join_in_waves(tasks, 8).await;
    let customers: Vec<SeedCustomer> = customers
        .into_iter()
        .zip(ids)
        .map(|((handle, auth), id)| SeedCustomer {
            id,
            handle,
            auth,
            envelope: EnvelopeId::from_random(random_array()),
        })
        .collect();

    // One `email` envelope each (owner-wrapped), then the data keys for the wraps.
    let email = Label::parse("email").unwrap();
    let mut keys = Vec::new();
    let mut tasks = Vec::new();
    for (c, s) in customers.iter().zip(&secrets) {
        let key = DataKey::generate();
        let aad = envelope_aad(c.id.as_str(), c.envelope.as_str(), 1, "email", "text/plain");
        let sealed =
            seal_payload(&key, &aad, format!("{}@example.com", c.handle).as_bytes()).unwrap();
        let owner = wrap_key(
            &s.x25519_public(),
            &wrap_info(c.envelope.as_str(), 1, c.id.as_str(), OWNER),
            &key,
        )
        .unwrap();
        let w = EnvelopeWrite {
            envelope_id: c.envelope.clone(),
            version: 1,
            content_type: "text/plain".into(),
            nonce: sealed.nonce,
            ciphertext: sealed.ciphertext,
            owner_wrap: owner,
            grant_wraps: vec![],
            rotate: false,
        };
        let (v, id, l) = (vault.clone(), c.id.clone(), email.clone());
        tasks.push(tokio::spawn(async move {
            v.put_envelope(id, l, w).await.map(|_| ())
        }));
        keys.push(key);
    }
    join(tasks).await;

    // Requests: 10 granted per customer, plus PENDING left for the grant + revoke scenario.
    let purpose = Purpose::parse(IDV).unwrap();
    let mut tasks = Vec::new();
    let mut wanted = Vec::new();
    for ci in 0..CUSTOMERS {
        for k in 0..GRANTS_PER_CUSTOMER {
            wanted.push(((ci * 7 + k) % ORGS, ci));
        }
    }
    for p in 0..PENDING {
        wanted.push((p % ORGS, p % WRITERS));
    }
    for (oi, ci) in &wanted {
        let terms = RequestTerms {
            labels: vec![email.clone()],
            purposes: vec![purpose.clone()],
            required_purposes: vec![],
            duration_secs: 30 * 86_400,
            justification: "benchmark".into(),
        };
        let (v, org, cust) = (
            vault.clone(),
            orgs[*oi].0.clone(),
            customers[*ci].id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            v.create_request(org, CustomerRef::Id(cust), terms)
                .await
                .map(|(r, _)| r.request_id)
        }));
    }
    let request_ids = join(tasks).await;
    let not_after = assent::clock::now().plus(29 * 86_400);
    let approval = |oi: usize, ci: usize| {
        let c = &customers[ci];
        let terms = GrantTerms {
            grant_id: GrantId::from_random(random_array()),
            customer_id: c.id.clone(),
            org_id: orgs[oi].0.clone(),
            org_identity_key: orgs[oi].1.verifying_key().to_bytes(),
            org_encryption_key: org_x[oi],
            labels: vec![email.clone()],
            purposes: vec![purpose.clone()],
            not_after,
            max_reads: None,
        };
        let wrap = wrap_key(
            &org_x[oi],
            &wrap_info(
                c.envelope.as_str(),
                1,
                orgs[oi].0.as_str(),
                terms.grant_id.as_str(),
            ),
            &keys[ci],
        )
        .unwrap();
        let signature = sign_grant(&secrets[ci].ed25519, &terms).unwrap().to_vec();
        (terms, signature, wrap)
    };
    let mut tasks = Vec::new();
    let mut grants = Vec::new();
    let mut pending = Vec::new();
    for (i, ((oi, ci), rid)) in wanted.iter().zip(request_ids).enumerate() {
        let (terms, signature, wrap) = approval(*oi, *ci);
        if i < CUSTOMERS * GRANTS_PER_CUSTOMER {
            let a = Approval {
                wraps: vec![ApprovalWrap {
                    label: email.clone(),
                    envelope_id: customers[*ci].envelope.clone(),
                    version: 1,
                    wrap,
                }],
                terms,
                signature,
            };
            let (v, cust) = (vault.clone(), customers[*ci].id.clone());
            tasks.push(tokio::spawn(async move {
                v.approve(cust, rid, a).await.map(|_| ())
            }));
            grants.push((*oi, *ci));
        } else {
            let body = json!({
                "grant": terms, "signature": b64::encode(&signature),
                "wraps": [{ "label": "email", "envelope_id": customers[*ci].envelope, "version": 1, "enc": b64::encode(&wrap.enc), "ct": b64::encode(&wrap.ct) }],
            });
            pending.push(Pending {
                customer: *ci,
                request: rid.to_string(),
                body: body.to_string(),
            });
        }
    }
    join(tasks).await;
    let _ = stop_tx.send(());
    let _ = running.serve.await;
    drop(running.vault);
    drop(vault);
    Seeded {
        orgs,
        customers,
        grants,
        pending,
    }
}

type Task<T, E> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

/// Runs tasks in waves of `n` (sign-ups queue on the vault's bounded Argon2id pool).
async fn join_in_waves<T: Send + 'static, E: std::fmt::Debug + Send + 'static>(
    tasks: Vec<Task<T, E>>,
    n: usize,
) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    let mut tasks = tasks.into_iter();
    loop {
        let wave: Vec<_> = tasks.by_ref().take(n).map(tokio::spawn).collect();
        if wave.is_empty() {
            return out;
        }
        for t in wave {
            out.push(t.await.unwrap().unwrap());
        }
    }
}

async fn join<T: std::fmt::Debug, E: std::fmt::Debug>(
    tasks: Vec<tokio::task::JoinHandle<Result<T, E>>>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap().unwrap());
    }
    out
}

/// Durable appends/s through the group-commit writer with 1,024 concurrent callers.
async fn group_commit_appends(dir: &Path) -> f64 {
    let store = assent::store::Store::open(dir).unwrap();
    let customer = CustomerId::parse("cus_bench").unwrap();
    let at = assent::clock::now();
    let per_task = 100;
    let tasks = 1024;
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (s, c) = (store.clone(), customer.clone());
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                let c = c.clone();
                s.writer()
                    .run(move |tx: &mut Tx<'_>| {
                        tx.append(
                            &Event::CustomerRegistered { customer_id: c, at },
                            random_array(),
                        )
                        .map(|_| ())
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let rate = (tasks * per_task) as f64 / start.elapsed().as_secs_f64();
    store.writer().shutdown().await;
    rate
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn new(mut child: Child) -> Self {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Self {
            child,
            url: line.trim().to_owned(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn org_token(url: &str, id: &OrgId, key: &assent::crypto::keys::SigningKey) -> String {
    let keys = assent::config::OrgKeys {
        demo: false,
        org_id: id.to_string(),
        name: String::new(),
        identity: key.clone(),
        encryption: X25519Secret::generate(),
    };
    let c = assent::client::org::OrgClient::connect(url, keys).unwrap();
    c.api.token().unwrap().to_owned()
}

fn customer_token(url: &str, c: &SeedCustomer) -> String {
    let api = assent::client::Api::new(url).unwrap();
    let v: serde_json::Value = api
        .post(
            "/v1/sessions",
            &json!({ "handle": c.handle, "auth": b64::encode(&c.auth) }),
        )
        .unwrap();
    v["token"].as_str().unwrap().to_owned()
}

fn lua_str(s: &str) -> String {
    format!("{s:?}")
}

fn write_read_lua(dir: &Path, seed: &Seeded, org_tokens: &[String]) {
    let mut reqs = String::from("local reqs = {\n");
    for (oi, ci) in &seed.grants {
        let path = format!(
            "/v1/org/customers/{}/envelopes/email?purpose={IDV}",
            seed.customers[*ci].id
        );
        let _ = writeln!(
            reqs,
            "  {{ {}, {} }},",
            lua_str(&path),
            lua_str(&format!("Bearer {}", org_tokens[*oi]))
        );
    }
    reqs.push_str("}\n");
    reqs.push_str(
        r#"local i = 0
init = function(args) i = math.random(#reqs) end
request = function()
  i = i % #reqs + 1
  return wrk.format("GET", reqs[i][1], { ["Authorization"] = reqs[i][2] })
end
"#,
    );
    std::fs::write(dir.join("read.lua"), reqs).unwrap();
}

fn write_write_lua(dir: &Path, seed: &Seeded, tokens: &[String]) {
    let ciphertext = b64::encode(&random_array::<1024>());
    let body = json!({
        "envelope_id": "env_bench", "version": 1, "content_type": "application/octet-stream",
        "nonce": b64::encode(&random_array::<24>()), "ciphertext": ciphertext,
        "owner_wrap": { "enc": b64::encode(&random_array::<32>()), "ct": b64::encode(&random_array::<48>()) },
    })
    .to_string();
    let _ = seed;
    let mut lua = String::from("local tokens = {\n");
    for t in tokens {
        let _ = writeln!(lua, "  {},", lua_str(&format!("Bearer {t}")));
    }
    let _ = write!(
        lua,
        r#"}}
local body = {}
local id = 0
local n = 0
setup = function(thread) thread:set("id", math.random(1, 1000000000)) end
request = function()
  n = n + 1
  local path = "/v1/me/envelopes/x_w" .. id .. "_" .. n
  return wrk.format("PUT", path, {{ ["Authorization"] = tokens[n % #tokens + 1], ["Content-Type"] = "application/json" }}, body)
end
init = function(args) id = wrk.thread:get("id") or math.random(1, 1000000000) end
"#,
        lua_str(&body)
    );
    std::fs::write(dir.join("write.lua"), lua).unwrap();
}

/// Approve, then revoke what was approved: `response` reads the new grant's id from each
/// approval's answer and queues its revocation, which the thread sends next.
fn write_grant_lua(dir: &Path, seed: &Seeded, tokens: &[String]) {
    let mut lua = String::from("local tok = {\n");
    for (c, t) in seed.customers.iter().zip(tokens) {
        let _ = writeln!(
            lua,
            "  [{}] = {},",
            lua_str(c.id.as_str()),
            lua_str(&format!("Bearer {t}"))
        );
    }
    lua.push_str("}\nlocal pend = {\n");
    for p in &seed.pending {
        let _ = writeln!(
            lua,
            "  {{ {}, {}, {} }},",
            lua_str(&format!("/v1/me/requests/{}/approve", p.request)),
            lua_str(&format!("Bearer {}", tokens[p.customer])),
            lua_str(&p.body)
        );
    }
    lua.push_str(
        r#"}
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
local k, queue = 0, {}
init = function(args) k = (wrk.thread:get("tid") - 1) * math.floor(#pend / 2) end
request = function()
  local r = table.remove(queue, 1)
  if r then
    return wrk.format("POST", "/v1/me/grants/" .. r[1] .. "/revoke", { ["Authorization"] = tok[r[2]], ["Content-Type"] = "application/json" }, "{}")
  end
  k = k + 1
  local p = pend[(k % #pend) + 1]
  return wrk.format("POST", p[1], { ["Authorization"] = p[2], ["Content-Type"] = "application/json" }, p[3])
end
response = function(status, headers, body)
  if status == 201 then
    local gid = string.match(body, '"grant_id":"(grt_[0-9a-f]+)"')
    local cid = string.match(body, '"customer_id":"(cus_[0-9a-f]+)"')
    if gid and cid then table.insert(queue, { gid, cid }) end
  end
end
"#,
    );
    std::fs::write(dir.join("grant.lua"), lua).unwrap();
}

struct WrkResult {
    rps: f64,
    p50: String,
    p99: String,
    non2xx: u64,
}

fn wrk(url: &str, script: Option<&Path>, secs: &str) -> WrkResult {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        "2",
        "-c",
        "64",
        "-d",
        &format!("{secs}s"),
        "--latency",
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk (Debian package `wrk`) must be installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let non2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    WrkResult {
        rps,
        p50: field("50%"),
        p99: field("99%"),
        non2xx,
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The ceiling: axum answering a fixed 200-byte JSON body, nothing else.
fn bare_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let body: &'static str = Box::leak(
            format!("{{\"status\":\"ok\",\"pad\":\"{}\"}}", "x".repeat(200 - 27)).into_boxed_str(),
        );
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("http://{}", listener.local_addr().unwrap());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        axum::serve(listener, app).await.unwrap();
    });
}
