//! The whole flow with the real binaries: `assent serve` as a separate process with a real redb
//! file, and the `assent` CLI for the operator, the customer and the organization. Afterwards
//! the database file and the server's full debug log are searched for every plaintext, the
//! passphrase and the customer's private keys: none may be there.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_assent");
const PASS: &str = "tangerine-orbit-velvet-42";
const EMAIL: &str = "carol.secret@example.org";
const ADDRESS: &str = "77 Hidden Lane, Nowhere";
const FILE_MARKER: &str = "FILE-PLAINTEXT-MARKER-9f2c";

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

struct Server {
    /// Held for its `Drop`: the process ends with the value.
    _child: crate::common::KillOnDrop,
    url: String,
}

fn serve(dir: &Path) -> Server {
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let addr = dir.join("addr");
    let child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "",
        ])
        .arg("--data")
        .arg(dir.join("data"))
        .arg("--keys")
        .arg(repo("keys-example"))
        .arg("--web")
        .arg(repo("web"))
        .arg("--addr-file")
        .arg(&addr)
        .env("ASSENT_LOG", "debug")
        .env("ASSENT_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !addr.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(50));
    Server {
        _child: crate::common::KillOnDrop(child),
        url: std::fs::read_to_string(&addr).unwrap(),
    }
}

/// Runs the CLI; returns stdout, panicking with stderr on failure.
fn cli(dir: &Path, url: &str, args: &[&str]) -> String {
    let (ok, out, err) = cli_status(dir, url, args);
    assert!(ok, "assent {args:?} failed:\n{err}");
    out
}

fn cli_status(dir: &Path, url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("ASSENT_SERVER", url)
        .env("ASSENT_PASSPHRASE", PASS)
        .env("ASSENT_PROFILE", dir.join("carol.json"))
        .env("ASSENT_ORG_KEY", dir.join("shop.key"))
        .env("ASSENT_ADMIN_KEY", repo("keys-example/admin.key"))
        .env("ASSENT_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn full_flow_with_the_cli_and_nothing_secret_reaches_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = serve(dir);
    let url = server.url.clone();
    let fast = [
        "--kdf-memory-kib",
        "19456",
        "--kdf-iterations",
        "2",
        "--kdf-parallelism",
        "1",
    ];

    // Customer signs up and stores three envelopes.
    let mut signup = vec!["customer", "signup", "--handle", "carol"];
    signup.extend(fast);
    let me = json(&cli(dir, &url, &signup));
    let cid = me["customer_id"].as_str().unwrap().to_owned();
    cli(
        dir,
        &url,
        &["customer", "put", "--label", "email", "--text", EMAIL],
    );
    cli(
        dir,
        &url,
        &[
            "customer",
            "put",
            "--label",
            "postal_address",
            "--text",
            ADDRESS,
        ],
    );
    let doc = dir.join("scan.txt");
    std::fs::write(&doc, FILE_MARKER).unwrap();
    cli(
        dir,
        &url,
        &[
            "customer",
            "put",
            "--label",
            "document",
            "--file",
            doc.to_str().unwrap(),
        ],
    );
    let list = json(&cli(dir, &url, &["customer", "list"]));
    assert_eq!(list.as_array().unwrap().len(), 3);
    // The file's name and type are sealed with it: the vault lists only "a named file".
    assert!(!list.to_string().contains("scan.txt"), "{list}");
    assert!(list.to_string().contains("application/vnd.assent.file"));
    assert_eq!(
        cli(dir, &url, &["customer", "get", "--label", "document"]),
        FILE_MARKER
    );
    assert_eq!(
        cli(dir, &url, &["customer", "get", "--label", "email"]),
        EMAIL
    );

    // An operator registers a new organization from the public half of its key file.
    let shop = dir.join("shop.key");
    cli(
        dir,
        &url,
        &[
            "org",
            "keygen",
            "--id",
            "org_shop",
            "--name",
            "Corner Shop",
            "--out",
            shop.to_str().unwrap(),
        ],
    );
    let public = json(&cli(dir, &url, &["org", "show"]));
    let controller = dir.join("shop-controller.json");
    std::fs::write(
        &controller,
        serde_json::to_string(&assent::config::demo_controller()).unwrap(),
    )
    .unwrap();
    let reg = json(&cli(
        dir,
        &url,
        &[
            "admin",
            "org",
            "add",
            "--id",
            "org_shop",
            "--name",
            "Corner Shop",
            "--identity-key",
            public["identity_key"].as_str().unwrap(),
            "--encryption-key",
            public["encryption_key"].as_str().unwrap(),
            "--key-signature",
            public["key_signature"].as_str().unwrap(),
            "--controller",
            controller.to_str().unwrap(),
        ],
    ));
    assert_eq!(reg["fingerprint"], public["fingerprint"]);

    // The organization asks; the customer approves; the organization reads.
    let req = json(&cli(
        dir,
        &url,
        &[
            "org",
            "request",
            "--customer",
            "carol",
            "--labels",
            "email,postal_address",
            "--purposes",
            "dpv:DeliveryOfGoods",
            "--duration",
            "7d",
            "--justification",
            "to deliver your order",
        ],
    ));
    let rid = req["request_id"].as_str().unwrap().to_owned();
    let pending = json(&cli(dir, &url, &["customer", "requests"]));
    assert_eq!(pending[0]["org"]["name"], "Corner Shop");
    // The fingerprint shown is computed on the device from the verified key log.
    assert_eq!(pending[0]["org"]["fingerprint"], public["fingerprint"]);
    // First contact needs an anchor from outside the vault: without one, or with a fingerprint
    // that is not the organization's, nothing is approved.
    let (ok, _, err) = cli_status(dir, &url, &["customer", "approve", &rid]);
    assert!(!ok && err.contains("first grant to Corner Shop"), "{err}");
    let (ok, _, err) = cli_status(
        dir,
        &url,
        &[
            "customer",
            "approve",
            &rid,
            "--org-fingerprint",
            "0000 1111 2222 3333 4444 5555 6666 7777",
        ],
    );
    assert!(!ok && err.contains("not the organization's keys"), "{err}");
    // The fingerprint the shop handed out (`org show`), typed in capitals without spaces.
    let handed_out = public["fingerprint"]
        .as_str()
        .unwrap()
        .replace(' ', "")
        .to_uppercase();
    let approved = json(&cli(
        dir,
        &url,
        &[
            "customer",
            "approve",
            &rid,
            "--max-reads",
            "5",
            "--org-fingerprint",
            &handed_out,
        ],
    ));
    let grants = json(&cli(dir, &url, &["customer", "grants"]));
    assert_eq!(grants[0]["organization"], "verified by fingerprint");
    assert_eq!(grants[0]["check"], "signed by you and logged");
    let gid = approved["grant"]["grant_id"].as_str().unwrap().to_owned();
    let read = |label: &str| {
        cli_status(
            dir,
            &url,
            &[
                "org",
                "read",
                "--customer",
                &cid,
                "--label",
                label,
                "--purpose",
                "dpv:DeliveryOfGoods",
            ],
        )
    };
    let (ok, out, _) = read("postal_address");
    assert!(ok);
    assert_eq!(out, ADDRESS);
    let (ok, _, err) = read("document");
    assert!(!ok && err.contains("label_not_granted"), "{err}");

    // Revoke, asking for erasure: the very next read is refused; the envelope gets a new data
    // key; the shop answers the erasure request, signed, and the customer checks the answer.
    let revoked = json(&cli(
        dir,
        &url,
        &["customer", "revoke", &gid, "--ask-erasure"],
    ));
    assert_eq!(
        revoked["erasure"]["erasure"]["state"], "pending",
        "{revoked}"
    );
    let (ok, _, err) = read("email");
    assert!(
        !ok && err.contains("403") && err.contains("grant_revoked"),
        "{err}"
    );
    let asked = json(&cli(dir, &url, &["org", "erasures"]));
    assert_eq!(asked[0]["grant_id"], gid.as_str(), "{asked}");
    let reason = "Delivery records are kept 6 years for tax law.";
    let (ok, _, err) = cli_status(
        dir,
        &url,
        &[
            "org",
            "answer-erasure",
            &gid,
            "--erased",
            "--refused",
            reason,
        ],
    );
    assert!(!ok, "both answers at once: {err}");
    cli(
        dir,
        &url,
        &["org", "answer-erasure", &gid, "--refused", reason],
    );
    let erasures = json(&cli(dir, &url, &["customer", "erasures"]));
    assert_eq!(erasures[0]["state"], "refused", "{erasures}");
    assert_eq!(erasures[0]["answer"]["reason"], reason);
    let list = json(&cli(dir, &url, &["customer", "list"]));
    let email = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "email")
        .unwrap()
        .clone();
    assert_eq!(
        (
            email["version"].as_u64(),
            email["rotation_pending"].as_bool()
        ),
        (Some(2), Some(false))
    );
    assert_eq!(
        json(&cli(dir, &url, &["customer", "rotate"]))["rotated"],
        serde_json::json!([])
    );

    // Erase destroys the document; the ledger tells the whole story.
    cli(dir, &url, &["customer", "erase", "--label", "document"]);
    let (ok, _, _) = cli_status(dir, &url, &["customer", "get", "--label", "document"]);
    assert!(!ok);
    let ledger = json(&cli(dir, &url, &["customer", "ledger"]));
    let types: Vec<&str> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "customer_registered",
            "envelope_written",
            "envelope_written",
            "envelope_written",
            "request_created",
            "grant_created",
            "read",
            "grant_revoked",
            "erasure_requested",
            "key_rotated",
            "key_rotated",
            "erasure_answered",
            "envelope_erased"
        ]
    );
    let org_ledger = json(&cli(dir, &url, &["org", "ledger"]));
    assert!(
        org_ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["type"] == "read")
    );
    // The shop's monitor: its ledger is complete and its only key event is its own.
    let monitored = json(&cli(dir, &url, &["org", "monitor"]));
    assert_eq!(monitored["key_events"], 1, "{monitored}");
    assert_eq!(
        monitored["last_seq"].as_u64(),
        Some(org_ledger["entries"].as_array().unwrap().len() as u64)
    );
    // The customer's own ledger verifies, complete, and pins its highest sequence number.
    let verified = json(&cli(dir, &url, &["customer", "ledger", "verify"]));
    assert_eq!(verified["last_seq"], 13, "{verified}");

    // Stop the server cleanly, then search everything it stored and logged.
    drop(server);
    let db = std::fs::read(dir.join("data/assent.redb")).unwrap();
    let log = std::fs::read(dir.join("server.log")).unwrap();
    assert!(
        contains(&log, cid.as_bytes()),
        "the log is real: it names the read path"
    );
    let profile: assent::client::profile::Profile =
        serde_json::from_slice(&std::fs::read(dir.join("carol.json")).unwrap()).unwrap();
    let keys = assent::crypto::bundle::derive_keys(PASS.as_bytes(), &profile.bundle.kdf).unwrap();
    let secrets = assent::crypto::bundle::open_bundle(&keys.kek, &profile.bundle).unwrap();
    let x = secrets.x25519.to_bytes();
    let ed = secrets.ed25519.to_bytes();
    let secret_strings: Vec<Vec<u8>> = vec![
        EMAIL.into(),
        ADDRESS.into(),
        FILE_MARKER.into(),
        PASS.into(),
        x.to_vec(),
        ed.to_vec(),
        assent::crypto::b64::encode(&x[..]).into(),
        assent::crypto::b64::encode(&ed).into(),
        keys.kek.to_vec(),
        assent::crypto::b64::encode(&keys.kek[..]).into(),
        assent::crypto::b64::encode(&keys.auth[..]).into(),
    ];
    // Every line is JSON; every line logged inside a request names its request id; no bearer
    // token (a JWT starts with "eyJ") is ever logged.
    let mut in_requests = 0;
    for line in String::from_utf8_lossy(&log)
        .lines()
        .filter(|l| l.starts_with('{'))
    {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if let Some(span) = v.get("span").filter(|s| s["name"] == "request") {
            assert!(
                span["request_id"].as_str().is_some_and(|id| id.len() == 36),
                "{line}"
            );
            in_requests += 1;
        }
    }
    assert!(in_requests > 20, "request log lines: {in_requests}");
    assert!(!contains(&log, b"eyJ"), "a token reached the log");
    for (i, s) in secret_strings.iter().enumerate() {
        assert!(!contains(&db, s), "secret #{i} found in the database file");
        assert!(!contains(&log, s), "secret #{i} found in the server log");
    }
}

#[test]
fn an_empty_passphrase_variable_is_not_a_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = serve(dir);
    // No terminal to prompt on (a new session), and ASSENT_PASSPHRASE set but empty: the CLI
    // must ask for a passphrase (and fail here), not sign up with an empty one.
    let out = Command::new("setsid")
        .arg(BIN)
        .args(["customer", "signup", "--handle", "dave"])
        .env("ASSENT_SERVER", &server.url)
        .env("ASSENT_PASSPHRASE", "")
        .env("ASSENT_PROFILE", dir.join("dave.json"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(!dir.join("dave.json").exists());
    let kdf = reqwest::blocking::get(format!("{}/v1/customers/kdf?handle=dave", server.url))
        .unwrap()
        .status();
    assert_eq!(
        kdf, 200,
        "the lookup answers decoys for unknown handles too"
    );
    let (ok, _, err) = cli_status(dir, &server.url, &["customer", "list"]);
    assert!(!ok, "{err}");
}
