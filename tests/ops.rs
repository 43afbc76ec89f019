//! Operating the vault: configuration checks, health and readiness, metrics, request ids,
//! rate limits, online backup under write load with restore, and graceful shutdown under load.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
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

    // Per account: guessing one handle's passphrase from many addresses is bounded too.
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
    let ledger = assent::store::Reads::ledger_size(&tv.vault.store().read().unwrap()).unwrap();
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
    let (ok, out, err) = assent(
        &[
            "ledger",
            "audit",
            "--keys",
            repo("keys-example").to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "audit failed: {err}{out}");
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
    let (ok, _, err) = assent(
        &[
            "restore",
            "--from",
            out.to_str().unwrap(),
            "--data",
            restored.path().to_str().unwrap(),
            "--keys",
            repo("keys-example").to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = assent(
        &[
            "restore",
            "--from",
            out.to_str().unwrap(),
            "--data",
            restored.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        !ok && err.contains("--force"),
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
    let addr = dir.path().join("addr");
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "",
        ])
        .args([
            "--data",
            data.to_str().unwrap(),
            "--keys",
            repo("keys-example").to_str().unwrap(),
        ])
        .args(["--addr-file", addr.to_str().unwrap()])
        .env("ASSENT_LIMITS_AUTH_PER_IP_PER_MINUTE", "100000")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !addr.exists() {
        assert!(t0.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = std::fs::read_to_string(&addr).unwrap();
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
    let (ok, _, err) = assent(
        &[
            "ledger",
            "audit",
            "--keys",
            keys.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(ok, want_ok, "{err}");
}
