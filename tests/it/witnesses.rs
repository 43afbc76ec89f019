//! The clients require the witnesses' quorum, with real processes on 127.0.0.1: two
//! `assent witness serve`, the `assent serve` binary asking both (quorum 2), and the `assent`
//! CLI as the customer, the organization and a third party running `ledger verify`.
//!
//! - A witnessed vault: the whole flow works with the policy pinned, and what is served
//!   carries both cosignatures.
//! - A split view: a fork of the vault (same key, another history) gets no cosignature; served
//!   without witnesses, each client refuses it from a fresh start (no checkpoint pinned yet, so
//!   only the quorum check can tell), while the same clients without the policy accept it.
//! - A proxy stripping or altering the cosignatures of an honest vault: refused.

use crate::common::{self, PASSPHRASE, repo};
use crate::witness_server::{WitnessProcess, witness_keygen, witness_serve};
use assent::ledger::cosignature::WitnessPolicy;
use assent::ledger::note;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_assent");
const IDV: &str = "dpv:IdentityVerification";
const EMAIL: &str = "dana@example.org";
const FAST: [&str; 6] = [
    "--kdf-memory-kib",
    "19456",
    "--kdf-iterations",
    "2",
    "--kdf-parallelism",
    "1",
];
/// What every refusal for a missing quorum says.
const SPLIT: &str = "not cosigned by enough of your trusted witnesses";

/// The demo vault key (keys-example), as witnesses and `ledger verify` are given it.
fn vault_key() -> String {
    let keys = assent::config::VaultKeys::load(&repo("keys-example")).unwrap();
    keys.verifiers().unwrap()[0].to_key_string()
}

/// Two witnesses of the demo vault's log and the policy naming both with a quorum of 2.
struct Witnesses {
    procs: Vec<WitnessProcess>,
    vkeys: Vec<String>,
    policy: WitnessPolicy,
    /// The policy as a file, for `--witness-policy`.
    file: PathBuf,
}

fn witnesses(dir: &Path) -> Witnesses {
    let log = vault_key();
    let (mut procs, mut vkeys) = (Vec::new(), Vec::new());
    for name in ["w1", "w2"] {
        let wdir = dir.join(name);
        std::fs::create_dir_all(&wdir).unwrap();
        vkeys.push(witness_keygen(&wdir, &format!("{name}.witness.test")));
        procs.push(witness_serve(&wdir, &[log.as_str()]).unwrap());
    }
    let text: String = vkeys.iter().map(|k| format!("witness {k}\n")).collect();
    let policy = WitnessPolicy::parse(&format!("{text}quorum 2\n")).unwrap();
    let file = dir.join("witness-policy.txt");
    std::fs::write(&file, policy.to_text()).unwrap();
    Witnesses {
        procs,
        vkeys,
        policy,
        file,
    }
}

/// An `assent serve` process; killed when dropped.
struct VaultProcess {
    /// Held for its `Drop`: the process ends with the value.
    _child: crate::common::KillOnDrop,
    /// Its own address (the public URL may be a proxy's).
    url: String,
}

/// Starts the demo vault on `data`, asking `witnesses` (quorum: all of them), under
/// `public_url` when given; returns once it listens.
fn vault(data: &Path, witnesses: Option<&Witnesses>, public_url: Option<&str>) -> VaultProcess {
    std::fs::create_dir_all(data).unwrap();
    let log = data.join("vault.log");
    let addr = data.join("vault.addr");
    let _ = std::fs::remove_file(&addr);
    let mut cmd = Command::new(BIN);
    cmd.args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "",
    ])
    .arg("--data")
    .arg(data)
    .arg("--keys")
    .arg(repo("keys-example"))
    .arg("--web")
    .arg(repo("web"))
    .arg("--addr-file")
    .arg(&addr)
    .env("ASSENT_LOG", "info")
    .env("ASSENT_LOG_FORMAT", "json")
    .env_remove("ASSENT_STORAGE_URL")
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log).unwrap());
    if let Some(u) = public_url {
        cmd.args(["--public-url", u]);
    }
    if let Some(w) = witnesses {
        for (p, k) in w.procs.iter().zip(&w.vkeys) {
            cmd.args(["--witness", &format!("{} {k}", p.url)]);
        }
        cmd.args(["--witness-quorum", &w.procs.len().to_string()]);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::fs::read_to_string(&addr).is_ok_and(|u| u.starts_with("http"))
            && let Some(a) = common::listening_address(&log)
        {
            return VaultProcess {
                _child: common::KillOnDrop(child),
                url: format!("http://{a}"),
            };
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the vault exited ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the vault did not start");
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn get(url: &str, path: &str) -> (u16, String) {
    let r = reqwest::blocking::get(format!("{url}{path}")).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// One party's CLI: the customer's profile, the organization's state file (the demo
/// organization's key) and the third party's checkpoint file, all in `dir`.
struct Cli {
    dir: PathBuf,
    server: String,
}

impl Cli {
    fn new(dir: &Path, name: &str, server: &str) -> Self {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            server: server.to_owned(),
        }
    }

    /// Runs `assent args…`: (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(BIN)
            .args(args)
            .env("ASSENT_SERVER", &self.server)
            .env("ASSENT_PASSPHRASE", PASSPHRASE)
            .env("ASSENT_PROFILE", self.dir.join("profile.json"))
            .env("ASSENT_ORG_KEY", repo("keys-example/demo-org.key"))
            .env("ASSENT_ORG_STATE", self.dir.join("org-state.json"))
            .env("ASSENT_LOG", "warn")
            .env_remove("ASSENT_WITNESS_POLICY")
            .env_remove("ASSENT_VAULT_KEY")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs and expects success; the JSON printed.
    fn ok(&self, args: &[&str]) -> Value {
        let (ok, out, err) = self.run(args);
        assert!(ok, "assent {args:?} failed:\n{err}");
        serde_json::from_str(&out).unwrap_or(Value::String(out))
    }

    /// Runs and expects a failure whose message holds `words`; returns stderr.
    fn refused(&self, args: &[&str], words: &str) -> String {
        let (ok, out, err) = self.run(args);
        assert!(!ok, "assent {args:?} was accepted:\n{out}\n{err}");
        assert!(
            err.contains(words),
            "assent {args:?}: not `{words}`:\n{err}"
        );
        err
    }

    fn signup(&self, handle: &str, policy: Option<&Path>) -> (bool, String, String) {
        let file = policy.map(|p| p.display().to_string());
        let mut args = vec!["customer", "signup", "--handle", handle];
        args.extend(FAST);
        if let Some(f) = &file {
            args.extend(["--witness-policy", f]);
        }
        self.run(&args)
    }

    /// `ledger verify` with a fresh checkpoint file each time (nothing pinned before).
    fn ledger_verify(&self, policy: Option<&Path>) -> (bool, String, String) {
        let state = self
            .dir
            .join(format!("checkpoint-{}.txt", common::handle("")));
        let (key, state) = (vault_key(), state.display().to_string());
        let file = policy.map(|p| p.display().to_string());
        let mut args = vec!["ledger", "verify", "--vault-key", &key, "--state", &state];
        if let Some(f) = &file {
            args.extend(["--witness-policy", f]);
        }
        self.run(&args)
    }
}

/// Rewrites an answer's text: (path, body) → body.
type Rewrite = Box<dyn Fn(&str, String) -> String + Send + Sync>;

/// A real HTTP proxy on 127.0.0.1:0 that may rewrite the text of the vault's answers. Its URL
/// is known before the vault starts (the vault's public URL, the organization's token
/// audience); the upstream is set once the vault listens.
struct Proxy {
    url: String,
    upstream: Arc<OnceLock<String>>,
    rewrite: Arc<Mutex<Option<Rewrite>>>,
    _rt: tokio::runtime::Runtime,
}

impl Proxy {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream: Arc<OnceLock<String>> = Arc::default();
        let rewrite: Arc<Mutex<Option<Rewrite>>> = Arc::default();
        let (up, rw) = (upstream.clone(), rewrite.clone());
        let http = reqwest::Client::new();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: axum::body::Bytes| {
                let (up, rw, http) = (up.clone(), rw.clone(), http.clone());
                async move {
                    let target = uri.path_and_query().map_or("/", |p| p.as_str());
                    let base = up.get().cloned().unwrap_or_default();
                    let mut req = http.request(method, format!("{base}{target}"));
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
                    let mut text = res.text().await.unwrap();
                    if let Some(r) = rw.lock().unwrap().as_ref() {
                        text = r(uri.path(), text);
                    }
                    (status, [("content-type", content_type)], text)
                }
            },
        );
        rt.spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            upstream,
            rewrite,
            _rt: rt,
        }
    }

    fn forward_to(&self, vault: &VaultProcess) {
        self.upstream.set(vault.url.clone()).unwrap();
    }

    fn rewrite(&self, r: impl Fn(&str, String) -> String + Send + Sync + 'static) {
        *self.rewrite.lock().unwrap() = Some(Box::new(r));
    }

    fn transparent(&self) {
        *self.rewrite.lock().unwrap() = None;
    }

    /// Rewrites every checkpoint served: `GET /v1/ledger/checkpoint` and each ledger page's
    /// `checkpoint` field.
    fn rewrite_checkpoints(&self, f: fn(&str) -> String) {
        self.rewrite(move |path, body| {
            if path == "/v1/ledger/checkpoint" && body.contains("\n\n— ") {
                return f(&body);
            }
            match serde_json::from_str::<Value>(&body) {
                Ok(mut v) if v["checkpoint"].is_string() => {
                    let note = v["checkpoint"].as_str().unwrap_or_default().to_owned();
                    v["checkpoint"] = f(&note).into();
                    v.to_string()
                }
                _ => body,
            }
        });
    }
}

/// A note rebuilt from its body and signature lines, each line changed by `f` (or dropped).
fn with_signatures(
    signed: &str,
    f: impl Fn(usize, &note::SignatureLine) -> Option<String>,
) -> String {
    let (body, lines) = note::split(signed).unwrap();
    let mut out = format!("{body}\n");
    for (i, l) in lines.iter().enumerate() {
        if let Some(line) = f(i, l) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn line_of(l: &note::SignatureLine) -> String {
    let mut blob = l.key_id.to_vec();
    blob.extend_from_slice(&l.signature);
    note::signature_line(&l.name, &blob)
}

/// Only the vault's own signature line: every cosignature stripped.
fn strip_all(signed: &str) -> String {
    with_signatures(signed, |i, l| (i == 0).then(|| line_of(l)))
}

/// The last cosignature stripped: one short of the quorum.
fn strip_last(signed: &str) -> String {
    let n = note::split(signed).unwrap().1.len();
    with_signatures(signed, |i, l| (i + 1 < n).then(|| line_of(l)))
}

/// The first cosignature's last signature byte flipped.
fn alter_first(signed: &str) -> String {
    with_signatures(signed, |i, l| {
        let mut l = l.clone();
        if i == 1 {
            let last = l.signature.len() - 1;
            l.signature[last] ^= 1;
        }
        Some(line_of(&l))
    })
}

/// The demo organization's fingerprint as it hands it out (from its key file).
fn demo_fingerprint() -> String {
    let keys = common::demo_org_keys();
    assent::crypto::sign::fingerprint(&keys.identity.verifying_key().to_bytes())
}

#[test]
fn a_witnessed_vault_serves_its_quorum_and_the_clis_work_with_the_policy_pinned() {
    let tmp = tempfile::tempdir().unwrap();
    let w = witnesses(tmp.path());
    let v = vault(&tmp.path().join("vault"), Some(&w), None);
    let policy = w.file.as_path();
    let (status, served) = get(&v.url, "/v1/ledger/witnesses");
    assert_eq!(status, 200);
    assert!(assent::client::verify::same_policy(
        &WitnessPolicy::parse(&served).unwrap(),
        &w.policy
    ));
    let (customer, org) = (
        Cli::new(tmp.path(), "dana", &v.url),
        Cli::new(tmp.path(), "acme", &v.url),
    );
    let (ok, _, err) = customer.signup("dana", Some(policy));
    assert!(ok, "{err}");
    let first = customer.ok(&["customer", "ledger", "verify"]);
    assert_eq!(first["last_seq"], 1, "{first}");
    customer.ok(&["customer", "put", "--label", "email", "--text", EMAIL]);
    let p = policy.to_str().unwrap();
    let asked = org.ok(&[
        "org",
        "request",
        "--witness-policy",
        p,
        "--customer",
        "dana",
        "--labels",
        "email",
        "--purposes",
        IDV,
        "--justification",
        "to verify you",
    ]);
    let rid = asked["request_id"].as_str().unwrap();
    let pending = customer.ok(&["customer", "requests"]);
    assert!(
        pending[0]["org"]["key_log"]
            .as_str()
            .unwrap()
            .starts_with("verified"),
        "{pending}"
    );
    let fp = demo_fingerprint();
    customer.ok(&["customer", "approve", rid, "--org-fingerprint", &fp]);
    let profile: Value =
        serde_json::from_slice(&std::fs::read(customer.dir.join("profile.json")).unwrap()).unwrap();
    let cid = profile["customer_id"].as_str().unwrap();
    let (ok, read, err) = org.run(&[
        "org",
        "read",
        "--customer",
        cid,
        "--label",
        "email",
        "--purpose",
        IDV,
    ]);
    assert!(ok && read == EMAIL, "{err}");
    let verified = customer.ok(&["customer", "ledger", "verify"]);
    assert_eq!(verified["cosigned_by"].as_array().unwrap().len(), 2);
    let monitored = org.ok(&["org", "monitor"]);
    assert_eq!(monitored["key_events"], 1, "{monitored}");
    let state: Value =
        serde_json::from_slice(&std::fs::read(org.dir.join("org-state.json")).unwrap()).unwrap();
    assert_eq!(state["witness_policy"], w.policy.to_text());
    let (ok, out, err) = customer.ledger_verify(Some(policy));
    assert!(ok, "{err}");
    assert!(!err.contains("no witness policy"), "{err}");
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["cosigned_by"].as_array().unwrap().len(), 2, "{out}");
    // What is served carries both cosignatures, valid under the policy.
    let (status, note_text) = get(&v.url, "/v1/ledger/checkpoint");
    assert_eq!(status, 200, "{note_text}");
    assert_eq!(w.policy.check(&note_text).unwrap().len(), 2);
    // Without a policy, `ledger verify` still verifies but says what it cannot detect.
    let (ok, _, err) = customer.ledger_verify(None);
    assert!(ok && err.contains("no witness policy"), "{err}");
    // A profile from before witness policies pins the vault's on its next use.
    let path = customer.dir.join("profile.json");
    let mut old: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    old.as_object_mut().unwrap().remove("witness_policy");
    std::fs::write(&path, old.to_string()).unwrap();
    customer.ok(&["customer", "ledger", "verify"]);
    let pinned: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(pinned["witness_policy"], w.policy.to_text());
}

#[test]
fn a_split_view_gets_no_cosignature_and_uncosigned_checkpoints_are_refused_with_a_pinned_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let w = witnesses(tmp.path());
    let honest = vault(&tmp.path().join("honest"), Some(&w), None);
    let (ok, _, err) =
        Cli::new(tmp.path(), "honest", &honest.url).signup("honest", Some(w.file.as_path()));
    assert!(ok, "{err}");
    // The witnesses cosign the honest history first.
    let (status, cosigned) = get(&honest.url, "/v1/ledger/checkpoint");
    assert_eq!(status, 200, "{cosigned}");
    assert_eq!(w.policy.check(&cosigned).unwrap().len(), 2);

    // The fork: the same vault key (the same keys directory), another data directory, another
    // history. Asked to use the same witnesses, it gets no cosignature.
    let fork_data = tmp.path().join("fork");
    {
        let fork = vault(&fork_data, Some(&w), None);
        let (status, answer) = get(&fork.url, "/v1/ledger/checkpoint");
        assert_eq!(status, 503, "{answer}");
        assert!(answer.contains("unwitnessed"), "{answer}");
    }
    // Served without witnesses (a malicious operator offering uncosigned checkpoints), behind
    // a proxy that is its public face.
    let proxy = Proxy::start();
    let fork = vault(&fork_data, None, Some(&proxy.url));
    proxy.forward_to(&fork);
    let (_, note_text) = get(&proxy.url, "/v1/ledger/checkpoint");
    assert!(
        assent::ledger::checkpoint::Checkpoint::verify(
            &note_text,
            "assent.demo",
            &note::parse_verifier_key(&vault_key()).unwrap()
        )
        .is_ok(),
        "the fork's checkpoints are signed by the vault key: {note_text}"
    );
    let policy = Some(w.file.as_path());
    let p = w.file.to_str().unwrap();

    // Without the policy (each client trusts the policy the fork serves: none), the fork is
    // accepted: without the quorum check nothing below would be refused.
    let plain = Cli::new(tmp.path(), "plain", &proxy.url);
    let (ok, _, err) = plain.signup("plain", None);
    assert!(ok, "{err}");
    plain.ok(&["customer", "put", "--label", "email", "--text", EMAIL]);
    plain.ok(&["customer", "ledger", "verify"]);
    plain.ok(&["org", "monitor"]);
    let (ok, _, err) = plain.ledger_verify(None);
    assert!(ok, "{err}");
    // A device that pinned a policy refuses a vault serving another one.
    let naive = Cli::new(tmp.path(), "naive", &proxy.url);
    let (ok, _, err) = naive.signup("naive", policy);
    assert!(!ok && err.contains("another witness policy"), "{err}");

    // The operator now serves the real witnesses' policy too: only the quorum check is left.
    let text = w.policy.to_text();
    proxy.rewrite(move |path, body| {
        if path == "/v1/ledger/witnesses" {
            text.clone()
        } else {
            body
        }
    });
    // The customer CLI, signed up with the policy pinned and no checkpoint seen yet.
    let pinned = Cli::new(tmp.path(), "pinned", &proxy.url);
    let (ok, _, err) = pinned.signup("pinned", policy);
    assert!(ok, "{err}");
    pinned.ok(&["customer", "put", "--label", "email", "--text", EMAIL]);
    let err = pinned.refused(&["customer", "ledger", "verify"], SPLIT);
    assert!(err.contains("have 0, need 2"), "{err}");
    // The organization's client, a fresh state file with the policy pinned.
    pinned.refused(&["org", "monitor", "--witness-policy", p], SPLIT);
    let state: Value =
        serde_json::from_slice(&std::fs::read(pinned.dir.join("org-state.json")).unwrap()).unwrap();
    assert_eq!(state["last_checkpoint"], Value::Null, "{state}");
    // A third party's `ledger verify`, nothing pinned before.
    let (ok, _, err) = pinned.ledger_verify(policy);
    assert!(!ok && err.contains(SPLIT), "{err}");
    // The device that pinned "no witnesses" does not move its pin either.
    plain.refused(&["customer", "ledger", "verify"], "another witness policy");
    plain.refused(&["org", "monitor"], "another witness policy");
    drop(honest);
}

#[test]
fn cosignatures_stripped_or_altered_by_a_proxy_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let w = witnesses(tmp.path());
    let proxy = Proxy::start();
    let v = vault(&tmp.path().join("vault"), Some(&w), Some(&proxy.url));
    proxy.forward_to(&v);
    let policy = Some(w.file.as_path());
    let p = w.file.to_str().unwrap();
    let cli = Cli::new(tmp.path(), "erin", &proxy.url);
    let (ok, _, err) = cli.signup("erin", policy);
    assert!(ok, "{err}");
    cli.ok(&["customer", "put", "--label", "email", "--text", EMAIL]);
    // Control: through the transparent proxy, every client accepts the witnessed vault.
    let all_pass = |cli: &Cli| {
        cli.ok(&["customer", "ledger", "verify"]);
        cli.ok(&["org", "monitor", "--witness-policy", p]);
        let (ok, _, err) = cli.ledger_verify(policy);
        assert!(ok, "{err}");
    };
    all_pass(&cli);
    for (tamper, words) in [
        (strip_all as fn(&str) -> String, "have 0, need 2"),
        (strip_last, "have 1, need 2"),
        (alter_first, "trusted witnesses does not verify"),
    ] {
        proxy.rewrite_checkpoints(tamper);
        cli.refused(&["customer", "ledger", "verify"], words);
        cli.refused(&["org", "monitor"], words);
        let (ok, _, err) = cli.ledger_verify(policy);
        assert!(!ok && err.contains(words), "{err}");
    }
    // Nothing was pinned from the tampered answers: honest again, everything passes.
    proxy.transparent();
    all_pass(&cli);
}

/// A vault that adds witnesses later: a device (and an organization's client) that pinned "no
/// witnesses" refuses it until the customer (the organization) accepts a policy (from an independent file, or the vault's), and its verified
/// history must still extend under the new policy.
#[test]
fn a_policy_moves_only_when_the_customer_accepts_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("vault");
    let plain = vault(&data, None, None);
    let customer = Cli::new(tmp.path(), "erin", &plain.url);
    let (ok, _, err) = customer.signup("erin", None);
    assert!(ok, "{err}");
    customer.ok(&["customer", "ledger", "verify"]);
    Cli::new(tmp.path(), "acme", &plain.url).ok(&["org", "monitor"]);
    drop(plain);
    let w = witnesses(tmp.path());
    let witnessed = vault(&data, Some(&w), None);
    // The same vault, restarted on another port: the profile follows it.
    let path = customer.dir.join("profile.json");
    let mut profile: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    profile["server"] = Value::String(witnessed.url.clone());
    std::fs::write(&path, profile.to_string()).unwrap();
    customer.refused(&["customer", "ledger", "verify"], "witness policy");
    let shown = customer.ok(&["customer", "witness-policy"]);
    assert_eq!(shown["same"], false, "{shown}");
    // A file naming other witnesses than the vault's is refused, and nothing moves.
    let other = tmp.path().join("other-policy.txt");
    let stranger = assent::ledger::cosignature::WitnessKey::new(
        "stranger.test",
        &ed25519_dalek::SigningKey::from_bytes(&[3; 32])
            .verifying_key()
            .to_bytes(),
    )
    .unwrap();
    std::fs::write(
        &other,
        format!("witness {}\nquorum 1\n", stranger.to_key_string()),
    )
    .unwrap();
    let f = other.to_str().unwrap();
    customer.refused(
        &["customer", "witness-policy", "--accept", "--from", f],
        "not the policy",
    );
    customer.refused(&["customer", "ledger", "verify"], "witness policy");
    let p = w.file.to_str().unwrap();
    customer.ok(&["customer", "witness-policy", "--accept", "--from", p]);
    let verified = customer.ok(&["customer", "ledger", "verify"]);
    assert_eq!(
        verified["cosigned_by"].as_array().unwrap().len(),
        2,
        "{verified}"
    );
    assert_eq!(customer.ok(&["customer", "witness-policy"])["same"], true);
    // The organization's state file: the same, by its own choice.
    let org = Cli::new(tmp.path(), "acme", &witnessed.url);
    org.refused(&["org", "monitor"], "witness policy");
    assert_eq!(org.ok(&["org", "witness-policy"])["same"], false);
    org.ok(&["org", "witness-policy", "--accept", "--witness-policy", p]);
    org.ok(&["org", "monitor"]);
}
