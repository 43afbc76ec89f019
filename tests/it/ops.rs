//! Operating the vault: configuration checks, health and readiness, metrics, request ids,
//! rate limits, online backup under write load with restore, and graceful shutdown under load.

use crate::common::*;
use assent::client::org::Ask;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_assent");

fn assent(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("ASSENT_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_validates_and_prints_the_effective_settings() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"oops\"\n",
    )
    .unwrap();
    let (ok, _, err) = assent(&["config", "check", "--config", bad.to_str().unwrap()], &[]);
    assert!(!ok && err.contains("lisen"), "{err}");

    let example = repo("assent.example.toml");
    let (ok, out, _) = assent(
        &[
            "config",
            "check",
            "--config",
            example.to_str().unwrap(),
            "--listen",
            "127.0.0.1:9999",
        ],
        &[
            ("ASSENT_LIMITS_MAX_ENVELOPE_BYTES", "4096"),
            ("ASSENT_LOG_FORMAT", "json"),
        ],
    );
    assert!(ok);
    let effective: toml::Table = toml::from_str(&out).unwrap();
    assert_eq!(
        effective["server"]["listen"].as_str(),
        Some("127.0.0.1:9999"),
        "flag wins"
    );
    assert_eq!(
        effective["limits"]["max_envelope_bytes"].as_integer(),
        Some(4096),
        "env wins over file"
    );
    assert_eq!(effective["log"]["format"].as_str(), Some("json"));
    let (ok, _, err) = assent(&["config", "check"], &[("ASSENT_KEYS_DEMO", "perhaps")]);
    assert!(!ok && err.contains("ASSENT_KEYS_DEMO"), "{err}");
}

#[test]
fn health_readiness_metrics_and_request_ids() {
    let tv = start_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()));
    assert_eq!(
        call(&tv, "GET", "/healthz", None, None),
        (200, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(call(&tv, "GET", "/readyz", None, None).1["status"], "ready");
    let (d, org, _) = granted(&tv, &handle("metrics"), None);
    org.read(d.customer_id.as_str(), "email", "dpv:IdentityVerification")
        .unwrap();

    // Each response carries a request id; one sent by a proxy is kept.
    let client = reqwest::blocking::Client::new();
    let res = client.get(format!("{}/healthz", tv.url)).send().unwrap();
    assert_eq!(res.headers()["x-request-id"].to_str().unwrap().len(), 36);
    let res = client
        .get(format!("{}/healthz", tv.url))
        .header("x-request-id", "proxy-42")
        .send()
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "proxy-42");

    // Metrics live on their own address, not on the API.
    assert_error(&call(&tv, "GET", "/metrics", None, None), 404, "not_found");
    let text = client
        .get(format!("http://{}/metrics", tv.metrics.unwrap()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for needle in [
        r#"assent_http_requests_total{route="/v1/customers",method="POST",status="201"}"#,
        r#"route="/v1/org/customers/{customer}/envelopes/{label}",method="GET",status="200""#,
        "assent_http_request_duration_seconds_bucket",
        "assent_group_commit_batch_size",
        "assent_group_commit_seconds",
        "assent_ledger_size",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}");
    }
    assert!(
        !text.contains(d.customer_id.as_str()),
        "ids never become metric labels"
    );
}

#[test]
fn expensive_endpoints_are_rate_limited_per_ip_and_per_account() {
    let tv = start_with(|c| {
        c.auth_per_ip_per_minute = 4;
        c.auth_per_account_per_minute = 2;
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    });
    for _ in 0..4 {
        assert_eq!(
            call(&tv, "GET", "/v1/customers/kdf?handle=alice", None, None).0,
            200
        );
    }
    let limited = call(&tv, "GET", "/v1/customers/kdf?handle=alice", None, None);
    assert_error(&limited, 429, "rate_limited");
    let res = reqwest::blocking::get(format!("{}/v1/customers/kdf?handle=alice", tv.url)).unwrap();
    assert_eq!(res.headers()["retry-after"], "60");
    let text = reqwest::blocking::get(format!("http://{}/metrics", tv.metrics.unwrap()))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains(r#"assent_rate_limited_total{endpoint="kdf"}"#),
        "{text}"
    );

    // Per account: failed logins for one handle from one client network are bounded (they are
    // charged per (account, network), so this address never locks the account out elsewhere).
    let tv = start_with(|c| c.auth_per_account_per_minute = 2);
    let guess =
        serde_json::json!({ "handle": "bob", "auth": assent::crypto::b64::encode(&[7u8; 32]) });
    for _ in 0..2 {
        assert_error(
            &call(&tv, "POST", "/v1/sessions", None, Some(&guess)),
            401,
            "bad_credentials",
        );
    }
    assert_error(
        &call(&tv, "POST", "/v1/sessions", None, Some(&guess)),
        429,
        "rate_limited",
    );
    let other =
        serde_json::json!({ "handle": "carol", "auth": assent::crypto::b64::encode(&[7u8; 32]) });
    assert_error(
        &call(&tv, "POST", "/v1/sessions", None, Some(&other)),
        401,
        "bad_credentials",
    );
}

/// (customer id, ledger index, leaf, when acknowledged).
type Ack = (String, u64, String, Instant);

/// Writes envelopes as fast as the vault takes them, recording each acknowledged ledger entry.
struct Load {
    stop: Arc<AtomicBool>,
    acks: Arc<Mutex<Vec<Ack>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn load(url: &str, clients: usize) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Mutex::new(Vec::new()));
    let threads = (0..clients)
        .map(|i| {
            let (stop, acks, url) = (stop.clone(), acks.clone(), url.to_owned());
            std::thread::spawn(move || {
                let profile = assent::client::customer::sign_up(
                    &url,
                    &handle(&format!("load{i}_")),
                    PASSPHRASE.as_bytes(),
                    &FAST,
                )
                .unwrap();
                let mut d =
                    assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let label = format!("x_item_{n}").parse_label();
                    match d.put(&label, "text/plain", format!("value {n}").as_bytes(), false) {
                        Ok(v) => acks.lock().unwrap().push((
                            profile.customer_id.clone(),
                            v["ledger"]["index"].as_u64().unwrap(),
                            v["ledger"]["leaf"].as_str().unwrap().to_owned(),
                            Instant::now(),
                        )),
                        Err(_) => break, // the server went away
                    }
                }
            })
        })
        .collect();
    Load {
        stop,
        acks,
        threads,
    }
}

impl Load {
    /// Waits (up to a minute, the machine may be busy) until `n` writes were acknowledged.
    fn wait_for(&self, n: usize) {
        let start = Instant::now();
        while self.acks.lock().unwrap().len() < n {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the load did not get going"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn acked(&self) -> usize {
        self.acks.lock().unwrap().len()
    }

    fn finish(self) -> Vec<Ack> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        Arc::try_unwrap(self.acks).unwrap().into_inner().unwrap()
    }
}

/// Every acknowledged (customer, index, leaf) is in that customer's ledger on `tv`.
fn all_present(tv: &TestVault, acks: &[Ack]) {
    let ledger = tv.vault.store().read().unwrap().ledger_size().unwrap();
    for (_, index, leaf, _) in acks {
        assert!(
            *index < ledger,
            "acknowledged entry {index} lost (ledger size {ledger})"
        );
        assert_eq!(
            &assent::crypto::b64::encode(&tv.vault.leaf_at(*index).unwrap()),
            leaf,
            "entry {index} changed"
        );
    }
}

fn audit(data: &Path) {
    let env = crate::common::store_env(data);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (ok, out, err) = assent(
        &[
            "ledger",
            "audit",
            "--keys",
            repo("keys-example").to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ],
        &env,
    );
    assert!(ok, "audit failed: {err}{out}");
}

/// `assent restore --from FILE --data DIR --keys keys-example`; on PostgreSQL into the data
/// directory's own (empty) database.
fn restore(from: &Path, into: &Path) -> (bool, String, String) {
    let env = crate::common::store_env(into);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let keys = repo("keys-example");
    let args = [
        "restore",
        "--from",
        from.to_str().unwrap(),
        "--data",
        into.to_str().unwrap(),
    ];
    assent(
        &[&args[..], &["--keys", keys.to_str().unwrap()]].concat(),
        &env,
    )
}

#[test]
fn a_backup_from_before_webhooks_and_erasure_requests_restores_and_audits() {
    let tv = start();
    let (_, _, _) = granted(&tv, &handle("older"), None);
    let size = ledger_size(&tv);
    let out = tv.dir.path().join("older.redb");
    tv.vault.store().backup_to(&out).unwrap();
    // The file as a build before those tables wrote it.
    {
        use assent::store::tables::*;
        let db = redb::Database::open(&out).unwrap();
        let w = db.begin_write().unwrap();
        w.delete_table(ERASURE_REQUESTS).unwrap();
        w.delete_table(ORG_ERASURE_REQUESTS).unwrap();
        w.delete_table(WEBHOOK_DELIVERIES).unwrap();
        w.delete_table(WEBHOOK_DUE).unwrap();
        w.delete_table(ORG_WEBHOOK_DELIVERIES).unwrap();
        w.delete_table(WEBHOOK_ORGS).unwrap();
        w.delete_table(WEBHOOK_STATE).unwrap();
        w.commit().unwrap();
    }
    let restored = tempfile::tempdir().unwrap();
    let (ok, _, err) = restore(&out, restored.path());
    assert!(ok, "{err}");
    let path = restored.path().to_owned();
    {
        let back = start_with(|c| c.data_dir = path.clone());
        assert_eq!(ledger_size(&back), size);
        // It takes webhooks from here on.
        crate::common::demo_org(&back)
            .add_webhook("http://127.0.0.1:9/after-restore", &[])
            .unwrap();
    }
    audit(restored.path());
}

#[test]
fn a_backup_taken_under_write_load_restores_every_acknowledged_entry() {
    let tv = start();
    let l = load(&tv.url, 3);
    l.wait_for(10);
    let started = Instant::now();
    let out = tv.dir.path().join("backup.redb");
    let (ok, _, err) = assent(
        &[
            "backup",
            "--server",
            &tv.url,
            "--out",
            out.to_str().unwrap(),
            "--keys",
            repo("keys-example").to_str().unwrap(),
        ],
        &[(
            "ASSENT_ADMIN_KEY",
            repo("keys-example/admin.key").to_str().unwrap(),
        )],
    );
    assert!(ok, "{err}");
    let after_backup = l.acked();
    l.wait_for(after_backup + 5);
    let acks = l.finish();
    let before: Vec<_> = acks.iter().filter(|a| a.3 < started).cloned().collect();
    assert!(
        before.len() > 5 && acks.len() > before.len(),
        "load ran across the backup: {} / {}",
        before.len(),
        acks.len()
    );

    let restored = tempfile::tempdir().unwrap();
    let (ok, _, err) = restore(&out, restored.path());
    assert!(ok, "{err}");
    // Again into the same place: refused.
    let (ok, _, err) = restore(&out, restored.path());
    let refusal = if crate::common::store_env(restored.path()).is_empty() {
        "--force"
    } else {
        "already holds a vault"
    };
    assert!(
        !ok && err.contains(refusal),
        "restore never overwrites silently: {err}"
    );
    let path = restored.path().to_owned();
    {
        let back = start_with(|c| c.data_dir = path.clone());
        all_present(&back, &before);
    }
    audit(restored.path());
}

#[test]
fn sigterm_finishes_in_flight_requests_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, url) = serve_binary(
        dir.path(),
        &["--metrics-listen", ""],
        &[("ASSENT_LIMITS_AUTH_PER_IP_PER_MINUTE", "100000")],
    )
    .unwrap();
    let l = load(&url, 4);
    l.wait_for(20);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    let acks = l.finish();
    assert!(acks.len() > 10, "load ran: {}", acks.len());
    audit(&data);
    let path = data.clone();
    let back = start_with(|c| c.data_dir = path.clone());
    all_present(&back, &acks);
    // The last checkpoint signed at shutdown covers everything acknowledged.
    let (size, _) = back.vault.latest_checkpoint().unwrap().unwrap();
    assert!(acks.iter().all(|a| a.1 < size));
}

#[test]
fn the_server_refuses_demo_keys_without_demo_mode() {
    let (ok, _, err) = assent(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--keys",
            repo("keys-example").to_str().unwrap(),
            "--data",
            "/nonexistent/never-created",
        ],
        &[],
    );
    assert!(
        !ok && err.contains("DEMO keys") && err.contains("--demo"),
        "{err}"
    );
}

#[test]
fn rotating_the_vault_key_keeps_old_checkpoints_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let data = dir.path().join("data");
    let (ok, _, err) = assent(
        &[
            "keygen",
            "--out",
            keys.to_str().unwrap(),
            "--name",
            "rotation.test",
        ],
        &[],
    );
    assert!(ok, "{err}");
    let run = |who: &str| {
        let (k, d) = (keys.clone(), data.clone());
        let tv = start_with(|c| {
            c.keys_dir = k;
            c.data_dir = d;
            c.demo = false;
        });
        customer(&tv, &handle(who));
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(tv.vault.checkpoint_now())
            .unwrap();
    };
    run("before");
    let (ok, _, err) = assent(
        &["keygen", "--out", keys.to_str().unwrap(), "--rotate"],
        &[],
    );
    assert!(ok && err.contains("retired rotation.test+"), "{err}");
    run("after");
    audit_with_keys(&data, &keys, true);
    std::fs::remove_file(keys.join("vault-retired.pub")).unwrap();
    audit_with_keys(&data, &keys, false);
}

fn audit_with_keys(data: &Path, keys: &Path, want_ok: bool) {
    let env = crate::common::store_env(data);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (ok, _, err) = assent(
        &[
            "ledger",
            "audit",
            "--keys",
            keys.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(ok, want_ok, "{err}");
}

// ---------------------------------------------------------------------------------------------
// Issue 12: connections (slowloris), static files, a second vault's metrics address
// ---------------------------------------------------------------------------------------------

use assent::http::conn::ConnLimits;
use assent::http::server::ServeOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// A vault started with `ServeOptions` (connection limits); stops when dropped.
/// A vault with these connection limits (the test harness, not another copy of it).
fn start_limited(conn: ConnLimits) -> TestVault {
    start_with_options(
        |_| {},
        ServeOptions {
            conn,
            ..Default::default()
        },
    )
}

/// A TCP connection to `to` from the loopback address `from` (e.g. 127.0.0.2).
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(format!("{from}:0").parse().unwrap()).unwrap();
        s.connect(to).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Sends one keep-alive request and reads its answer head and (Content-Length) body. `None`
/// when the server closed or reset the connection instead.
fn exchange(s: &mut TcpStream, request: &str) -> Option<String> {
    s.write_all(request.as_bytes()).ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return Some(text);
            }
        }
    }
    (!got.is_empty()).then(|| String::from_utf8_lossy(&got).into_owned())
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: vault\r\n\r\n";

/// How long until the server closes `s` (EOF or reset), reading at most `limit`.
fn closed_after(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(t0.elapsed()),
            Ok(_) => continue, // a 408 or similar before closing is fine
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(t0.elapsed()), // reset
        }
    }
}

#[test]
fn a_partial_header_or_a_trickle_is_closed_within_the_header_timeout() {
    let timeout = Duration::from_secs(2);
    let v = start_limited(ConnLimits {
        header_read_timeout: timeout,
        ..ConnLimits::default()
    });
    // A partial header, then nothing.
    let mut partial = connect_from("127.0.0.1", v.addr);
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: vault\r\nX-Slow: ")
        .unwrap();
    // A header trickled a byte every 300 ms: the deadline counts from the start, not per byte.
    let trickler = std::thread::spawn({
        let mut s = connect_from("127.0.0.1", v.addr);
        move || {
            let t0 = Instant::now();
            for b in b"GET /healthz HTTP/1.1\r\nHost: vault\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                if s.write_all(&[*b]).is_err() {
                    return Some(t0.elapsed());
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            None
        }
    });
    // An idle connection that never sends a byte.
    let mut idle = connect_from("127.0.0.1", v.addr);
    let bound = timeout + Duration::from_secs(3);
    let took = closed_after(&mut partial, Duration::from_secs(8));
    assert!(
        took.is_some_and(|t| t <= bound),
        "partial header still open after {took:?}"
    );
    assert!(
        closed_after(&mut idle, Duration::from_secs(8)).is_some_and(|t| t <= bound),
        "an idle connection is closed too"
    );
    let trickled = trickler.join().unwrap();
    assert!(
        trickled.is_some_and(|t| t <= bound + Duration::from_secs(1)),
        "a trickled header still open after {trickled:?}"
    );
    // A client that sends its request on time is served, and keep-alive still works.
    let mut ok = connect_from("127.0.0.1", v.addr);
    for _ in 0..2 {
        let answer = exchange(&mut ok, HEALTHZ).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

#[test]
fn a_slow_or_idle_connection_does_not_hold_up_shutdown() {
    let v = start_limited(ConnLimits::default());
    let mut slow = connect_from("127.0.0.1", v.addr);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: vault\r\nX-Slow: ")
        .unwrap();
    let mut idle = connect_from("127.0.0.1", v.addr);
    assert!(exchange(&mut idle, HEALTHZ).is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    drop(v); // stops the server and waits for it
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "shutdown waited {:?} for a slow client",
        t0.elapsed()
    );
    assert!(closed_after(&mut slow, Duration::from_secs(1)).is_some());
    assert!(closed_after(&mut idle, Duration::from_secs(1)).is_some());
}

/// A connection whose request is in flight: the head is sent, the body never finishes.
fn in_flight(from: &str, to: SocketAddr) -> TcpStream {
    let mut s = connect_from(from, to);
    s.write_all(
        b"POST /v1/sessions HTTP/1.1\r\nHost: vault\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(150)); // the head is parsed: the request is in flight
    s
}

#[test]
fn connections_beyond_the_per_ip_and_global_caps_are_refused_or_make_room() {
    let v = start_limited(ConnLimits {
        max_connections: 6,
        max_connections_per_ip: 3,
        ..ConnLimits::default()
    });
    let served =
        |s: &mut TcpStream| exchange(s, HEALTHZ).is_some_and(|a| a.starts_with("HTTP/1.1 200"));
    let refused = |s: &mut TcpStream| {
        let answer = exchange(s, HEALTHZ);
        let ok = answer.as_deref().is_none_or(|a| {
            a.starts_with("HTTP/1.1 503")
                && a.ends_with(
                    r#"{"error":"unavailable","message":"too many connections, try again"}"#,
                )
        });
        assert!(ok, "{answer:?}");
        closed_after(s, Duration::from_secs(5)).is_some()
    };

    // Ten slow (partial-head) connections from one address: only the cap's worth stay open, the
    // oldest are closed as new ones come.
    let mut slow: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = connect_from("127.0.0.1", v.addr);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: vault\r\nX-Slow: ")
                .unwrap();
            std::thread::sleep(Duration::from_millis(50));
            s
        })
        .collect();
    for (i, s) in slow.iter_mut().enumerate().take(7) {
        assert!(
            closed_after(s, Duration::from_secs(3)).is_some(),
            "slow connection {i} is still open beyond the per-address cap"
        );
    }
    // A working client from that address still gets in (an idle one makes room) …
    let mut working = connect_from("127.0.0.1", v.addr);
    assert!(
        served(&mut working),
        "a new connection takes an idle one's place"
    );
    drop(slow);

    // … but when the cap's worth of requests are in flight, a new connection is refused (503)
    // and closed, while another address is served.
    let busy: Vec<TcpStream> = (0..3).map(|_| in_flight("127.0.0.1", v.addr)).collect();
    let mut over = connect_from("127.0.0.1", v.addr);
    assert!(refused(&mut over), "beyond the per-address cap");
    let mut other = connect_from("127.0.0.2", v.addr);
    assert!(served(&mut other), "another address is served");

    // The global cap (6) with every connection serving a request: a third address is refused.
    let busy2: Vec<TcpStream> = (0..3).map(|_| in_flight("127.0.0.2", v.addr)).collect();
    let mut third = connect_from("127.0.0.3", v.addr);
    assert!(refused(&mut third), "beyond the global cap");
    // A closed connection frees its place.
    drop(busy);
    std::thread::sleep(Duration::from_millis(300));
    let mut again = connect_from("127.0.0.1", v.addr);
    assert!(served(&mut again), "a freed place is used again");
    drop(busy2);
}

/// A `web/` tree as a checkout has it: built files next to sources, packages and build files.
fn web_tree() -> tempfile::TempDir {
    let web = tempfile::tempdir().unwrap();
    let put = |path: &str, body: &str| {
        let p = web.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    put(
        "index.html",
        "<!doctype html><link rel=\"stylesheet\" href=\"/app.css\"><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"><script type=\"module\" src=\"/dist/app.js\"></script>",
    );
    put("app.css", &"body { margin: 0 }\n".repeat(50));
    put(
        "favicon.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
    );
    put(
        "dist/app.js",
        &"export function f(x){return x+1}\n".repeat(400),
    );
    put("dist/app.js.map", "{\"version\":3}");
    put("dist/app.js.LEGAL.txt", "MIT");
    put("src/main.js", "import './x.js';");
    put("package.json", "{}");
    put("package-lock.json", "{}");
    put("build.mjs", "");
    put("README.md", "# web");
    put("node_modules/esbuild/package.json", "{}");
    put(
        "node_modules/some-app/index.html",
        "<script>alert(1)</script>",
    );
    web
}

/// Raw HTTP/1.1 GET: (status line, headers lower-cased, body bytes).
fn raw_get(addr: &str, path: &str, extra: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: vault\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = all[end + 4..].to_vec();
    if header_of(&headers, "transfer-encoding") == Some("chunked") {
        let (mut rest, mut out) = (&body[..], Vec::new());
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    (status, headers, body)
}

fn header_of<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn only_the_built_dashboard_files_are_served_with_hashed_names_caching_and_compression() {
    let web = web_tree();
    let path = web.path().to_owned();
    let tv = start_with(|c| c.web_dir = path);
    let addr = tv.addr.to_string();

    for path in [
        "/node_modules/some-app/index.html",
        "/node_modules/esbuild/package.json",
        "/src/main.js",
        "/package.json",
        "/package-lock.json",
        "/build.mjs",
        "/README.md",
        "/web/index.html",
        "/dist/app.js.map",
        "/dist/",
        "/dist",
        "//dist",
        "//dist/",
        "//evil.example/",
        "/dist/../package.json",
        "/%2e%2e/Cargo.toml",
    ] {
        let (status, headers, body) = raw_get(&addr, path, "");
        assert!(
            status.starts_with("HTTP/1.1 404"),
            "{path}: {status} {headers:?}"
        );
        assert!(
            header_of(&headers, "location").is_none(),
            "{path} redirects"
        );
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "not_found", "{path}");
    }

    // index.html: references rewritten to content-hashed names, revalidated on each visit,
    // under the CSP.
    let (status, headers, body) = raw_get(&addr, "/", "");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(header_of(&headers, "cache-control"), Some("no-cache"));
    assert!(
        header_of(&headers, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        header_of(&headers, "content-security-policy")
            .is_some_and(|c| c.contains("script-src 'self'"))
    );
    let html = String::from_utf8(body).unwrap();
    let bundle = html
        .split('"')
        .find(|s| s.starts_with("/dist/app.") && s.ends_with(".js"))
        .unwrap_or_else(|| panic!("no hashed bundle in {html}"))
        .to_owned();
    assert_ne!(bundle, "/dist/app.js", "{html}");
    assert!(
        html.contains("\"/app.") && !html.contains("\"/app.css\""),
        "{html}"
    );
    assert_eq!(raw_get(&addr, "/index.html", "").2, html.as_bytes());

    // The hashed bundle: cached for a year, immutable; gzip or Brotli when asked.
    let original = std::fs::read(web.path().join("dist/app.js")).unwrap();
    let (status, headers, body) = raw_get(&addr, &bundle, "");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(
        header_of(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        header_of(&headers, "content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(header_of(&headers, "content-encoding").is_none());
    assert_eq!(body, original);
    let (_, headers, gz) = raw_get(&addr, &bundle, "Accept-Encoding: gzip\r\n");
    assert_eq!(header_of(&headers, "content-encoding"), Some("gzip"));
    assert!(header_of(&headers, "vary").is_some_and(|v| v.contains("accept-encoding")));
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(
        gz.len() < original.len() / 4,
        "{} of {}",
        gz.len(),
        original.len()
    );
    let (_, headers, br) = raw_get(&addr, &bundle, "Accept-Encoding: br\r\n");
    assert_eq!(header_of(&headers, "content-encoding"), Some("br"));
    assert!(br.len() < original.len() / 4);
    // The stable name stays (revalidated), with an ETag that answers 304.
    let (status, headers, _) = raw_get(&addr, "/dist/app.js", "");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(header_of(&headers, "cache-control"), Some("no-cache"));
    let etag = header_of(&headers, "etag").unwrap().to_owned();
    let (status, _, body) = raw_get(&addr, "/dist/app.js", &format!("If-None-Match: {etag}\r\n"));
    assert!(
        status.starts_with("HTTP/1.1 304") && body.is_empty(),
        "{status}"
    );
    for path in ["/app.css", "/favicon.svg", "/dist/app.js.LEGAL.txt"] {
        assert!(
            raw_get(&addr, path, "").0.starts_with("HTTP/1.1 200"),
            "{path}"
        );
    }
    // API answers are still never cached, nor compressed.
    let (_, headers, _) = raw_get(&addr, "/healthz", "Accept-Encoding: gzip\r\n");
    assert_eq!(header_of(&headers, "cache-control"), Some("no-store"));
    assert!(header_of(&headers, "content-encoding").is_none());
}

#[test]
fn a_second_vault_starts_without_metrics_when_the_default_metrics_address_is_taken() {
    // Hold the default metrics address (if something else already holds it, it is taken anyway).
    let _held = std::net::TcpListener::bind("127.0.0.1:9464");
    assert!(
        std::net::TcpListener::bind("127.0.0.1:9464").is_err(),
        "127.0.0.1:9464 is taken"
    );
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serve_binary(dir.path(), &[], &[]).expect("starts");
    let health = reqwest::blocking::get(format!("{url}/healthz")).unwrap();
    assert_eq!(health.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert!(
        log.contains("without metrics") && log.contains("9464"),
        "{log}"
    );

    // Asked for explicitly — by flag, environment or file — it is an error that says so.
    let file = dir.path().join("assent.toml");
    std::fs::write(&file, "[server]\nmetrics_listen = \"127.0.0.1:9464\"\n").unwrap();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 3] = [
        (&["--metrics-listen", "127.0.0.1:9464"], &[]),
        (&[], &[("ASSENT_SERVER_METRICS_LISTEN", "127.0.0.1:9464")]),
        (&["--config", file.to_str().unwrap()], &[]),
    ];
    for (args, env) in cases {
        let d = tempfile::tempdir().unwrap();
        match serve_binary(d.path(), args, env) {
            Ok((mut child, _)) => {
                let _ = child.kill();
                panic!("{args:?} {env:?}: started although its metrics address is taken");
            }
            Err(err) => assert!(
                err.contains("127.0.0.1:9464") && err.contains("metrics"),
                "{args:?} {env:?}: {err}"
            ),
        }
    }
}

#[test]
fn request_limits_are_settings_the_vault_applies() {
    // Zero is refused; the example file documents every key (checked above).
    let (ok, _, err) = assent(
        &["config", "check"],
        &[("ASSENT_LIMITS_REQUESTS_PER_ORG_PER_MINUTE", "0")],
    );
    assert!(!ok && err.contains("requests_per_org_per_minute"), "{err}");
    let (ok, _, err) = assent(
        &["config", "check"],
        &[("ASSENT_SERVER_MAX_CONNECTIONS_PER_IP", "0")],
    );
    assert!(!ok && err.contains("max_connections_per_ip"), "{err}");
    // A vault started with 2 requests per organization per minute refuses the third.
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serve_binary(
        dir.path(),
        &["--metrics-listen", ""],
        &[("ASSENT_LIMITS_REQUESTS_PER_ORG_PER_MINUTE", "2")],
    )
    .unwrap();
    let org = assent::client::org::OrgClient::connect(&url, demo_org_keys()).unwrap();
    let ask = || {
        org.request(&Ask::new(
            "nobody",
            &["email".into()],
            &["dpv:IdentityVerification".into()],
            3600,
            "hello",
        ))
    };
    for _ in 0..2 {
        assert_eq!(ask().unwrap_err().code(), Some("customer_not_found"));
    }
    let third = ask().unwrap_err();
    assert_eq!(third.code(), Some("rate_limited"), "{third}");
    let _ = child.kill();
    let _ = child.wait();
}
