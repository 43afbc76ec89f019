//! Several vaults on one PostgreSQL database, as a load balancer runs them: three real
//! `assent serve` processes ("nodes" A, B and C, the built binary, demo keys) with `--store` on
//! one scratch database, each with its own `--data` directory and its own address, all with the
//! same `--public-url` (the balancer's), so a token any node issues is valid at every node.
//! Clients talk to the nodes' own addresses and move between them on every step: a customer
//! signs up on one node, logs in on the next, stores data on a third, approves on another; the
//! organization asks, reads and is refused through whichever node comes next.
//!
//! - `three_nodes_one_ledger`: concurrent customers through all three nodes. Afterwards every
//!   acknowledged act is in the ledger exactly once, where its answer said (each customer's
//!   ledger verified as a device verifies it, against the vault key from `keys-example`, not
//!   one a node handed out); the customers' ledgers and the organizations' key logs partition
//!   the whole tree; the organizations' own ledgers are complete; every checkpoint fetched from
//!   any node verifies and each is consistent with the previous ones (proofs from every node);
//!   each revocation acknowledged by one node makes the very next read through another node
//!   fail `403 grant_revoked`; the nodes stop cleanly and `assent ledger audit --store` passes
//!   with exactly as many entries as were acknowledged.
//! - `kill_9_one_node_under_load`: the same load, and node C is killed (SIGKILL) mid-load; the
//!   clients then go to A and B only, and every request there succeeds. Every act acknowledged
//!   by any node, C's before it died included, is in the ledger; a request the kill cut off
//!   adds at most its own event; C restarts on the same database and serves; the audit passes.
//!
//! Both run only with `ASSENT_TEST_POSTGRES=1` and a cluster in the `PG*` variables (see
//! `tests/it/pg.rs`; `bash scripts/with-postgres.sh cargo test --test it multinode`); otherwise
//! they return at once, saying so. The kill test's routing is random: `MULTINODE_SEED` repeats a
//! run's choices (thread interleaving is the machine's).

use crate::common::{self, FAST, PASSPHRASE, repo};
use crate::pg;
use assent::client::customer::{self, Choice, Device};
use assent::client::org::{Ask, OrgClient};
use assent::client::profile::Profile;
use assent::client::verify::{Party, Trust, check_checkpoint, check_complete, verify_page};
use assent::client::{Api, ClientError};
use assent::config::{OrgKeys, VaultKeys};
use assent::crypto::b64;
use assent::crypto::keys::{SigningKey, X25519Secret, generate_signing_key};
use assent::domain::catalog::Label;
use assent::domain::ids::{GrantId, RequestId};
use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::note::Verifier;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_assent");
/// The balancer's address: every node is configured with it (tokens name it as their issuer,
/// client assertions as their audience); nothing listens there.
const PUBLIC_URL: &str = "http://vault.multinode.test";
const NODES: usize = 3;
const NAMES: [&str; NODES] = ["A", "B", "C"];
/// No node killed.
const NONE: usize = usize::MAX;
/// Client threads; each runs whole customer scripts (see [`customer_script`]).
const THREADS: usize = 6;
/// Customers per thread in `three_nodes_one_ledger`.
const PER_THREAD: usize = 3;
const VERIFY: &str = "dpv:IdentityVerification";
const DELIVERY: &str = "dpv:DeliveryOfGoods";
const MARKETING: &str = "dpv:Marketing";

fn skip(test: &str) -> bool {
    if pg::available() {
        return false;
    }
    eprintln!(
        "multinode::{test}: skipped (PostgreSQL suites need ASSENT_TEST_POSTGRES=1 and PGHOST; \
         run `bash scripts/with-postgres.sh cargo test --test it multinode`)"
    );
    true
}

// ---------------------------------------------------------------------------------------------
// Nodes: `assent serve` processes on one database.

struct Node {
    name: &'static str,
    child: Option<Child>,
    /// The node's own address (`http://127.0.0.1:port`), from its log.
    url: String,
    log: PathBuf,
    addr_file: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Node {
    /// Starts `assent serve` on `store`; [`Node::ready`] waits for it.
    fn spawn(dir: &Path, name: &'static str, store: &str) -> Node {
        let lower = name.to_lowercase();
        let log = dir.join(format!("node-{lower}.log"));
        let addr_file = dir.join(format!("node-{lower}.addr"));
        let _ = std::fs::remove_file(&addr_file);
        let sink = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "", "--public-url", PUBLIC_URL])
            .args(["--store", store])
            .arg("--data")
            .arg(dir.join(format!("data-{lower}")))
            .arg("--keys")
            .arg(repo("keys-example"))
            .arg("--web")
            .arg(repo("web"))
            .arg("--addr-file")
            .arg(&addr_file)
            .env("ASSENT_LOG", "info")
            .env("ASSENT_LOG_FORMAT", "json")
            // Every simulated customer and organization works from 127.0.0.1: lift the auth and
            // request rate limits (tested elsewhere).
            .env("ASSENT_LIMITS_AUTH_PER_IP_PER_MINUTE", "1000000")
            .env("ASSENT_LIMITS_AUTH_PER_ACCOUNT_PER_MINUTE", "1000000")
            .env("ASSENT_LIMITS_REQUESTS_PER_ORG_PER_MINUTE", "1000000")
            .env_remove("ASSENT_STORAGE_URL")
            .stdout(Stdio::null())
            .stderr(sink)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
        Node {
            name,
            child: Some(child),
            url: String::new(),
            log,
            addr_file,
        }
    }

    /// Waits until the node listens (its --addr-file appears), then takes its own address from
    /// its log (the address file names the public URL, which is the balancer's).
    fn ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let written = std::fs::read_to_string(&self.addr_file)
                .is_ok_and(|u| u.trim().starts_with("http"));
            if written {
                let url = common::listening_address(&self.log).ok_or_else(|| {
                    format!(
                        "node {} listens but its log names no address:\n{}",
                        self.name,
                        self.tail(20)
                    )
                })?;
                self.url = format!("http://{url}");
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!(
                    "node {} exited ({status}) before listening; its log ends:\n{}",
                    self.name,
                    self.tail(30)
                ));
            }
            if started.elapsed() > Duration::from_secs(90) {
                return Err(format!(
                    "node {} did not listen within 90 s; its log ends:\n{}",
                    self.name,
                    self.tail(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `kill -9`.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL the node");
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(&mut self) -> Result<(), String> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        let sent = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        if !sent.as_ref().is_ok_and(|s| s.success()) {
            let _ = c.kill();
            let _ = c.wait();
            return Err(format!("node {}: kill -TERM failed: {sent:?}", self.name));
        }
        let asked = Instant::now();
        loop {
            match c.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(format!(
                        "node {} exited with {status} after SIGTERM; its log ends:\n{}",
                        self.name,
                        self.tail(20)
                    ));
                }
                Ok(None) if asked.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => {
                    let _ = c.kill();
                    let _ = c.wait();
                    return Err(format!(
                        "node {} did not stop within 30 s of SIGTERM ({other:?})",
                        self.name
                    ));
                }
            }
        }
    }

    fn tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The log's warnings and errors (the last `n`).
    fn complaints(&self, n: usize) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let bad: Vec<String> = log
            .lines()
            .filter(|l| l.contains("\"level\":\"ERROR\"") || l.contains("\"level\":\"WARN\""))
            .map(str::to_owned)
            .collect();
        bad[bad.len().saturating_sub(n)..].to_vec()
    }
}

struct Cluster {
    nodes: Vec<Node>,
    store: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the three nodes at once (they migrate and register the demo organization
    /// concurrently) and waits for each.
    fn start(store: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let nodes = NAMES
            .iter()
            .map(|name| Node::spawn(dir.path(), name, store))
            .collect();
        let mut cluster = Cluster {
            nodes,
            store: store.to_owned(),
            dir,
        };
        let errors: Vec<String> = cluster
            .nodes
            .iter_mut()
            .filter_map(|n| n.ready().err())
            .collect();
        assert!(
            errors.is_empty(),
            "starting three nodes on one database:\n{}",
            errors.join("\n\n")
        );
        cluster
    }

    fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url.clone()).collect()
    }

    /// Node `i` again, on the same database and data directory.
    fn restart(&mut self, i: usize) -> Result<(), String> {
        let mut node = Node::spawn(self.dir.path(), NAMES[i], &self.store);
        node.ready()?;
        self.nodes[i] = node;
        Ok(())
    }

    /// SIGTERM to every running node; each must exit cleanly.
    fn stop(&mut self) -> Vec<String> {
        self.nodes
            .iter_mut()
            .filter_map(|n| n.stop().err())
            .collect()
    }

    /// What each node logged at warning level or above, for a failure message.
    fn logs(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            let c = n.complaints(15);
            out.push_str(&format!(
                "--- node {} ({}): {} warnings/errors (last 15)\n{}\n--- node {} log ends:\n{}\n",
                n.name,
                n.log.display(),
                c.len(),
                c.join("\n"),
                n.name,
                n.tail(8)
            ));
        }
        out
    }
}

/// `assent ledger audit --store URL`: (stdout JSON, stderr) or the failure.
fn audit(store: &str) -> Result<(Value, String), String> {
    let out = Command::new(BIN)
        .args(["ledger", "audit", "--store", store, "--keys"])
        .arg(repo("keys-example"))
        .env("ASSENT_LOG", "warn")
        .env_remove("ASSENT_STORAGE_URL")
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if !out.status.success() {
        return Err(format!(
            "`assent ledger audit --store` exited {}: {err}",
            out.status
        ));
    }
    let json = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "`assent ledger audit` printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    Ok((json, err))
}

/// The vault's verifier key from keys-example: what the checks trust, independent of any node.
fn vault_verifier() -> (Verifier, String) {
    let keys = VaultKeys::load(&repo("keys-example")).unwrap();
    let verifier = keys.verifiers().unwrap().remove(0);
    let key = verifier.to_key_string();
    (verifier, key)
}

// ---------------------------------------------------------------------------------------------
// Clients and what they were told.

/// SplitMix64: small and seedable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn seed() -> u64 {
    std::env::var("MULTINODE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// An organization's key file, kept by the test.
struct OrgSecret {
    id: String,
    name: String,
    demo: bool,
    identity: SigningKey,
    encryption: X25519Secret,
}

impl OrgSecret {
    fn demo() -> Self {
        let k = common::demo_org_keys();
        Self {
            id: k.org_id,
            name: k.name,
            demo: k.demo,
            identity: k.identity,
            encryption: k.encryption,
        }
    }

    fn generate(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: format!("Org {id}"),
            demo: false,
            identity: generate_signing_key(),
            encryption: X25519Secret::generate(),
        }
    }

    fn keys(&self) -> OrgKeys {
        OrgKeys {
            demo: self.demo,
            org_id: self.id.clone(),
            name: self.name.clone(),
            identity: self.identity.clone(),
            encryption: self.encryption.clone(),
        }
    }

    fn public(&self) -> ([u8; 32], [u8; 32]) {
        (
            self.identity.verifying_key().to_bytes(),
            self.encryption.public(),
        )
    }

    /// An access token from node `url` (the client assertion names the balancer's token
    /// endpoint, as every node expects).
    fn token(&self, url: &str) -> Result<String, ClientError> {
        assent::client::org::access_token(
            &Api::new(url)?,
            &self.keys(),
            &format!("{PUBLIC_URL}/v1/oauth/token"),
        )
    }

    /// This organization's client at `url` with `token`, pinned to the vault key.
    fn client(&self, url: &str, token: &str, vault_key: &str) -> OrgClient {
        OrgClient {
            api: Api::new(url).unwrap().with_token(token.to_owned()),
            keys: self.keys(),
            trust: Trust::new(vault_key, Default::default(), None, 0).unwrap(),
        }
    }

    /// Registers the organization through node `url` (the operator's admin API); returns the
    /// answer (with its ledger reference).
    fn register(&self, url: &str) -> Result<Value, ClientError> {
        let x = self.encryption.public();
        Api::new(url)?.with_token(common::admin_token()).post(
            "/v1/admin/orgs",
            &json!({
                "org_id": self.id,
                "name": self.name,
                "ed25519_public": b64::encode(&self.identity.verifying_key().to_bytes()),
                "x25519_public": b64::encode(&x),
                "key_signature": b64::encode(&assent::crypto::sign::sign_org_key(&self.identity, &x)),
                "controller": common::controller_json(),
            }),
        )
    }
}

/// An acknowledged act: the node that answered, where it said the act landed, and what the
/// event must say.
#[derive(Clone, Debug)]
struct Act {
    customer: Option<String>,
    node: usize,
    after_kill: bool,
    index: u64,
    leaf: [u8; 32],
    kind: &'static str,
    fields: Value,
}

impl Act {
    fn check(&self, leaf: &[u8; 32], event: &Value) -> Result<(), String> {
        let wrong = common::act_differences(&self.leaf, self.kind, &self.fields, leaf, event);
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} acknowledged by node {} at ledger index {}: {}",
                self.kind,
                NAMES[self.node],
                self.index,
                wrong.join(", ")
            ))
        }
    }
}

/// A customer the load made: the profile from its acknowledged sign-up and, if the script got
/// that far, the device it used.
struct Cust {
    profile: Profile,
    device: Option<Device>,
}

/// Everything the clients were told, shared by the client threads.
#[derive(Default)]
struct Book {
    acts: Mutex<Vec<Act>>,
    customers: Mutex<Vec<Cust>>,
    /// Checkpoints fetched during the load: (node, note).
    notes: Mutex<Vec<(usize, String)>>,
    problems: Mutex<Vec<String>>,
    /// Requests the kill cut off, by customer id (they may or may not have happened).
    cut_off: Mutex<BTreeMap<String, u64>>,
    /// Sign-ups the kill cut off (the account may or may not exist).
    cut_off_signups: AtomicU64,
    /// Answers with a ledger entry (and sign-ups), by node.
    acked: [AtomicU64; NODES],
    acked_after_kill: [AtomicU64; NODES],
    signups: [AtomicU64; NODES],
    /// Reads refused `403 grant_revoked` right after another node acknowledged the revocation.
    revocations_refused: AtomicU64,
    /// Customer scripts run to the end.
    scripts_done: AtomicU64,
}

impl Book {
    fn problem(&self, p: String) {
        self.problems.lock().unwrap().push(p);
    }

    fn problems(&self) -> usize {
        self.problems.lock().unwrap().len()
    }
}

/// The clients' view of the cluster: each node's address and the organizations' clients there.
struct Ctx<'a> {
    urls: Vec<String>,
    demo: Vec<OrgClient>,
    shop: Vec<OrgClient>,
    book: &'a Book,
    /// The node being killed (from just before the SIGKILL): clients no longer pick it, and
    /// its transport errors are cut-offs, not failures.
    victim: AtomicUsize,
}

impl<'a> Ctx<'a> {
    /// Each organization's token comes from the node given with it and is used at every node.
    fn new(
        urls: Vec<String>,
        demo: (&OrgSecret, usize),
        shop: (&OrgSecret, usize),
        book: &'a Book,
        vault_key: &str,
    ) -> Ctx<'a> {
        let clients = |(org, via): (&OrgSecret, usize)| -> Vec<OrgClient> {
            let token = org
                .token(&urls[via])
                .unwrap_or_else(|e| panic!("{} token from node {}: {e}", org.id, NAMES[via]));
            urls.iter()
                .map(|u| org.client(u, &token, vault_key))
                .collect()
        };
        Ctx {
            demo: clients(demo),
            shop: clients(shop),
            urls,
            book,
            victim: AtomicUsize::new(NONE),
        }
    }

    fn victim(&self) -> usize {
        self.victim.load(Ordering::SeqCst)
    }

    /// A failed request: a cut-off if it went to the node being killed, else a problem.
    fn failed(&self, node: usize, what: &str, who: &str, e: &ClientError) {
        let cut = node == self.victim()
            && matches!(e, ClientError::Transport(_) | ClientError::Protocol(_));
        if cut {
            *self
                .book
                .cut_off
                .lock()
                .unwrap()
                .entry(who.to_owned())
                .or_default() += 1;
        } else {
            self.book.problem(format!(
                "{what} for {who} through node {}: {e}",
                NAMES[node]
            ));
        }
    }

    fn ok<T>(&self, node: usize, what: &str, who: &str, r: Result<T, ClientError>) -> Option<T> {
        r.map_err(|e| self.failed(node, what, who, &e)).ok()
    }

    fn record(
        &self,
        node: usize,
        customer: Option<&str>,
        kind: &'static str,
        at: (u64, [u8; 32]),
        fields: Value,
    ) {
        let after_kill = self.victim() != NONE;
        self.book.acked[node].fetch_add(1, Ordering::Relaxed);
        if after_kill {
            self.book.acked_after_kill[node].fetch_add(1, Ordering::Relaxed);
        }
        self.book.acts.lock().unwrap().push(Act {
            customer: customer.map(str::to_owned),
            node,
            after_kill,
            index: at.0,
            leaf: at.1,
            kind,
            fields,
        });
    }

    /// Records an answer's `ledger: {index, leaf}`; a 2xx answer without one is a problem.
    fn record_answer(
        &self,
        node: usize,
        customer: Option<&str>,
        kind: &'static str,
        answer: &Value,
        fields: Value,
    ) -> Option<()> {
        let l = &answer["ledger"];
        let at = l["index"].as_u64().zip(
            l["leaf"]
                .as_str()
                .and_then(|s| b64::decode_array::<32>(s, "leaf").ok()),
        );
        match at {
            Some(at) => {
                self.record(node, customer, kind, at, fields);
                Some(())
            }
            None => {
                self.book.problem(format!(
                    "{kind} answered by node {} without a ledger reference: {answer}",
                    NAMES[node]
                ));
                None
            }
        }
    }

    /// Fetches the checkpoint from `node` and keeps it for the consistency checks.
    fn note(&self, node: usize) {
        let got = Api::new(&self.urls[node]).and_then(|a| a.get_text("/v1/ledger/checkpoint"));
        if let Some(note) = self.ok(node, "checkpoint", "anyone", got) {
            self.book.notes.lock().unwrap().push((node, note));
        }
    }
}

/// Picks the node for each step: never the same node twice in a row, never the victim.
struct Router {
    k: usize,
    /// Random steps of 1 or 2 nodes; `None`: strict rotation A, B, C, A, …
    rng: Option<Rng>,
}

impl Router {
    fn next(&mut self, cx: &Ctx) -> usize {
        let victim = cx.victim();
        loop {
            self.k += 1 + self.rng.as_mut().map_or(0, |r| (r.next() % 2) as usize);
            let n = self.k % NODES;
            if n != victim {
                return n;
            }
        }
    }
}

/// Points a device at another node, keeping its session (valid at every node).
fn on(dev: &mut Device, url: &str) {
    let token = dev.api.token().map(str::to_owned);
    dev.api = Api::new(url).unwrap();
    if let Some(t) = token {
        dev.api.set_token(t);
    }
}

fn label(s: &str) -> Label {
    Label::parse(s).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// The load: one customer's life, each step through the next node.

/// Sign-up, login, two envelopes, a request from each organization, an approval and a
/// decline, reads, a new version and a read of it, a revocation and a read refused through
/// another node right after, the key rotation the revocation asks for. Stops at the first
/// failure (the rest would depend on it).
fn customer_script(cx: &Ctx, rt: &mut Router, handle: &str) {
    let n = rt.next(cx);
    let profile = match customer::sign_up(&cx.urls[n], handle, PASSPHRASE.as_bytes(), &FAST) {
        Ok(p) => p,
        Err(e) => {
            if n == cx.victim() && matches!(e, ClientError::Transport(_) | ClientError::Protocol(_))
            {
                cx.book.cut_off_signups.fetch_add(1, Ordering::Relaxed);
            } else {
                cx.book.problem(format!(
                    "sign-up of {handle} through node {}: {e}",
                    NAMES[n]
                ));
            }
            return;
        }
    };
    cx.book.signups[n].fetch_add(1, Ordering::Relaxed);
    let mut cust = Cust {
        profile,
        device: None,
    };
    if customer_steps(cx, rt, &mut cust).is_some() {
        cx.book.scripts_done.fetch_add(1, Ordering::Relaxed);
    }
    cx.book.customers.lock().unwrap().push(cust);
}

fn customer_steps(cx: &Ctx, rt: &mut Router, cust: &mut Cust) -> Option<()> {
    let cid = cust.profile.customer_id.clone();
    let c = cid.as_str();
    // Log in on another node than the one that signed the customer up.
    let n = rt.next(cx);
    let mut p = cust.profile.clone();
    p.server = cx.urls[n].clone();
    let dev = cx.ok(n, "login", c, customer::unlock(&p, PASSPHRASE.as_bytes()))?;
    let dev = cust.device.insert(dev);

    let email1 = format!("{c}@first.example");
    let email2 = format!("{c}@second.example");
    let phone = format!("+44 20 7946 {}", &c[c.len().saturating_sub(4)..]);
    put(cx, rt, dev, "email", email1.as_bytes(), false)?;
    put(cx, rt, dev, "phone", phone.as_bytes(), false)?;

    // Both organizations ask, each through its own node.
    let n = rt.next(cx);
    let (labels, purposes) = (strings(&["email", "phone"]), strings(&[VERIFY, DELIVERY]));
    let ask = Ask::new(c, &labels, &purposes, 86_400, "to open your account");
    let demo_req = cx.ok(n, "demo request", c, cx.demo[n].request(&ask))?;
    let demo_rid = demo_req["request_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    cx.record_answer(
        n,
        Some(c),
        "request_created",
        &demo_req,
        json!({ "customer_id": c, "org_id": common::DEMO_ORG, "request_id": demo_rid }),
    )?;
    let n = rt.next(cx);
    let (labels, purposes) = (strings(&["email"]), strings(&[MARKETING]));
    let ask = Ask::new(c, &labels, &purposes, 3_600, "to send you offers");
    let shop_req = cx.ok(n, "shop request", c, cx.shop[n].request(&ask))?;
    let shop_rid = shop_req["request_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let shop_org = cx.shop[n].keys.org_id.clone();
    cx.record_answer(
        n,
        Some(c),
        "request_created",
        &shop_req,
        json!({ "customer_id": c, "org_id": shop_org, "request_id": shop_rid }),
    )?;

    // The customer approves one and declines the other, on two more nodes.
    let n = rt.next(cx);
    on(dev, &cx.urls[n]);
    let rid = RequestId::parse(&demo_rid).ok()?;
    let approved = cx.ok(
        n,
        "approval",
        c,
        dev.approve(&rid, &Choice::default(), &common::demo_org_check()),
    )?;
    let grant = approved["grant"]["grant_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    cx.record_answer(
        n,
        Some(c),
        "grant_created",
        &approved,
        json!({ "customer_id": c, "org_id": common::DEMO_ORG, "grant_id": grant, "request_id": demo_rid }),
    )?;
    let n = rt.next(cx);
    on(dev, &cx.urls[n]);
    let rid = RequestId::parse(&shop_rid).ok()?;
    let declined = cx.ok(n, "decline", c, dev.decline(&rid))?;
    cx.record_answer(
        n,
        Some(c),
        "request_declined",
        &declined,
        json!({ "customer_id": c, "org_id": shop_org, "request_id": shop_rid }),
    )?;
    cx.note(rt.next(cx));

    // The organization reads through other nodes; a new version is read at once elsewhere.
    read(
        cx,
        rt.next(cx),
        c,
        &grant,
        "email",
        VERIFY,
        email1.as_bytes(),
    )?;
    put(cx, rt, dev, "email", email2.as_bytes(), false)?;
    read(
        cx,
        rt.next(cx),
        c,
        &grant,
        "email",
        VERIFY,
        email2.as_bytes(),
    )?;
    read(
        cx,
        rt.next(cx),
        c,
        &grant,
        "phone",
        DELIVERY,
        phone.as_bytes(),
    )?;

    // Revocation through one node; the very next read through each other node is refused.
    let n = rt.next(cx);
    on(dev, &cx.urls[n]);
    let gid = GrantId::parse(&grant).ok()?;
    let revoked = cx.ok(n, "revocation", c, dev.revoke(&gid))?;
    cx.record_answer(
        n,
        Some(c),
        "grant_revoked",
        &revoked,
        json!({ "customer_id": c, "org_id": common::DEMO_ORG, "grant_id": grant }),
    )?;
    for m in (1..NODES).map(|d| (n + d) % NODES) {
        if m == cx.victim() {
            continue;
        }
        match cx.demo[m].read(c, "email", VERIFY) {
            Err(ClientError::Api {
                status: 403, code, ..
            }) if code == "grant_revoked" => {
                cx.book.revocations_refused.fetch_add(1, Ordering::Relaxed);
            }
            Ok((r, _)) => {
                cx.book.problem(format!(
                    "node {} let {} read {c}'s email with grant {} right after node {} \
                     acknowledged its revocation",
                    NAMES[m],
                    common::DEMO_ORG,
                    r.grant_id,
                    NAMES[n]
                ));
                // It is in the ledger all the same.
                cx.record(
                    m,
                    Some(c),
                    "read",
                    (r.ledger.index, r.ledger.leaf),
                    json!({ "customer_id": c, "grant_id": r.grant_id }),
                );
            }
            Err(e) => cx.failed(m, "read after the revocation", c, &e),
        }
    }

    // The device re-encrypts what the revocation marked, through yet another node.
    let n = rt.next(cx);
    on(dev, &cx.urls[n]);
    let pending = cx.ok(n, "envelope list", c, dev.envelopes())?;
    let pending: Vec<Label> = pending
        .into_iter()
        .filter(|e| e.rotation_pending)
        .map(|e| e.label)
        .collect();
    if pending.len() != 2 {
        cx.book.problem(format!(
            "after the revocation node {} shows {c} {} envelopes to rotate, not 2",
            NAMES[n],
            pending.len()
        ));
    }
    for l in pending {
        let n = rt.next(cx);
        on(dev, &cx.urls[n]);
        let (_, plain) = cx.ok(n, "envelope get", c, dev.get(&l))?;
        put(cx, rt, dev, l.as_str(), &plain, true)?;
    }
    cx.note(rt.next(cx));
    Some(())
}

/// Stores (or, with `rotate`, re-encrypts) an envelope through the next node.
fn put(
    cx: &Ctx,
    rt: &mut Router,
    dev: &mut Device,
    l: &str,
    text: &[u8],
    rotate: bool,
) -> Option<()> {
    let n = rt.next(cx);
    on(dev, &cx.urls[n]);
    let c = dev.customer_id.to_string();
    let v = cx.ok(
        n,
        "envelope write",
        &c,
        dev.put(&label(l), "text/plain", text, rotate),
    )?;
    let kind = if rotate {
        "key_rotated"
    } else {
        "envelope_written"
    };
    cx.record_answer(
        n,
        Some(&c),
        kind,
        &v,
        json!({ "customer_id": c, "label": l, "version": v["version"], "envelope_id": v["envelope_id"] }),
    )
}

/// The demo organization reads `l` through node `n` and must get `expect` under `grant`.
fn read(
    cx: &Ctx,
    n: usize,
    c: &str,
    grant: &str,
    l: &str,
    purpose: &str,
    expect: &[u8],
) -> Option<()> {
    let (r, plain) = cx.ok(n, "org read", c, cx.demo[n].read(c, l, purpose))?;
    if plain.as_slice() != expect || r.grant_id.as_str() != grant {
        cx.book.problem(format!(
            "node {} answered {c}'s `{l}` with grant {} and {} bytes; expected grant {grant} and \
             the {} bytes just stored",
            NAMES[n],
            r.grant_id,
            plain.len(),
            expect.len()
        ));
    }
    cx.record(
        n,
        Some(c),
        "read",
        (r.ledger.index, r.ledger.leaf),
        json!({ "customer_id": c, "org_id": common::DEMO_ORG, "grant_id": grant, "label": l, "purpose": purpose, "version": r.version, "envelope_id": r.envelope_id }),
    );
    Some(())
}

// ---------------------------------------------------------------------------------------------
// Checks through the nodes still running.

use crate::common::entries_of;

#[derive(Default)]
struct Checked {
    problems: Vec<String>,
    /// Every ledger index some party's verified listing holds.
    covered: BTreeSet<u64>,
    ledgers: u64,
    proofs: u64,
    acts: u64,
    notes: usize,
    consistency_proofs: u64,
    /// The largest checkpoint seen: (size, root).
    largest: Option<(u64, [u8; 32])>,
    /// Entries not acknowledged to anyone (allowed only for requests the kill cut off).
    unacknowledged: u64,
}

/// The ledger as the clients see it through the `live` nodes (see the module comment).
fn check_ledger(
    cx: &Ctx,
    live: &[usize],
    verifier: &Verifier,
    vault_key: &str,
    orgs: &[&OrgSecret],
) -> Checked {
    let mut ck = Checked::default();
    let book = cx.book;
    let acts = book.acts.lock().unwrap().clone();
    let cut_off = book.cut_off.lock().unwrap().clone();
    let pick = |i: usize| live[i % live.len()];

    // Every node serves the vault key the operator published.
    for &n in live {
        match Api::new(&cx.urls[n]).and_then(|a| a.get_text("/v1/ledger/key")) {
            Ok(k) if k.trim() == vault_key => {}
            Ok(k) => ck.problems.push(format!(
                "node {} serves vault key {k}, not {vault_key}",
                NAMES[n]
            )),
            Err(e) => ck
                .problems
                .push(format!("node {}: vault key: {e}", NAMES[n])),
        }
    }

    // The newest checkpoint seen during the load: every listing must extend it.
    let mut notes = book.notes.lock().unwrap().clone();
    let size_of = |note: &str| {
        note.lines()
            .nth(1)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let newest = notes
        .iter()
        .max_by_key(|(_, note)| size_of(note))
        .map(|(_, note)| note.clone());

    let mut by_customer: BTreeMap<&str, Vec<&Act>> = BTreeMap::new();
    for a in &acts {
        if let Some(c) = &a.customer {
            by_customer.entry(c.as_str()).or_default().push(a);
        }
    }
    let mut customers = book.customers.lock().unwrap();
    for (i, cust) in customers.iter_mut().enumerate() {
        let c = cust.profile.customer_id.clone();
        let n = pick(i);
        if cust.device.is_none() {
            let mut p = cust.profile.clone();
            p.server = cx.urls[n].clone();
            match customer::unlock(&p, PASSPHRASE.as_bytes()) {
                Ok(d) => cust.device = Some(d),
                Err(e) => {
                    ck.problems.push(format!(
                        "acknowledged customer {c} cannot log in through node {}: {e}",
                        NAMES[n]
                    ));
                    continue;
                }
            }
        }
        let dev = cust.device.as_mut().unwrap();
        on(dev, &cx.urls[n]);
        let page = match dev.ledger() {
            Ok(p) => p,
            Err(e) => {
                ck.problems
                    .push(format!("ledger of {c} through node {}: {e}", NAMES[n]));
                continue;
            }
        };
        match verify_page(
            &dev.api,
            verifier,
            &Default::default(),
            &page,
            newest.as_deref(),
        )
        .and_then(|v| check_complete(&v.entries, Party::Customer(&c), 0).map(|_| v))
        {
            Ok(v) => {
                ck.ledgers += 1;
                ck.proofs += v.entries_checked() as u64;
                notes.push((n, v.note));
            }
            Err(e) => ck.problems.push(format!(
                "ledger of {c} through node {} does not verify: {e}",
                NAMES[n]
            )),
        }
        let entries = match entries_of(&page) {
            Ok(e) => e,
            Err(e) => {
                ck.problems.push(format!("ledger of {c}: {e}"));
                continue;
            }
        };
        let mine = by_customer.remove(c.as_str()).unwrap_or_default();
        let mut expected: BTreeSet<u64> = BTreeSet::new();
        for a in &mine {
            ck.acts += 1;
            if !expected.insert(a.index) {
                ck.problems.push(format!(
                    "{c}: two acknowledged acts name ledger index {}",
                    a.index
                ));
            }
            match entries.get(&a.index) {
                Some((leaf, e)) => {
                    if let Err(m) = a.check(leaf, e) {
                        ck.problems.push(format!("{c}: {m}"));
                    }
                }
                None => ck.problems.push(format!(
                    "{c}: {} acknowledged by node {}{} at index {} is not in their ledger",
                    a.kind,
                    NAMES[a.node],
                    if a.after_kill { " after the kill" } else { "" },
                    a.index
                )),
            }
        }
        let registered: Vec<u64> = entries
            .iter()
            .filter(|(_, (_, e))| e["type"] == "customer_registered")
            .map(|(i, _)| *i)
            .collect();
        if registered.len() != 1 {
            ck.problems.push(format!(
                "{c}'s ledger holds {} customer_registered entries",
                registered.len()
            ));
        }
        let extra: Vec<String> = entries
            .iter()
            .filter(|(i, (_, e))| !expected.contains(i) && e["type"] != "customer_registered")
            .map(|(i, (_, e))| format!("{i} ({})", e["type"]))
            .collect();
        let allowed = cut_off.get(c.as_str()).copied().unwrap_or(0);
        ck.unacknowledged += extra.len() as u64;
        if extra.len() as u64 > allowed {
            ck.problems.push(format!(
                "{c}'s ledger holds entries no node acknowledged: {} ({allowed} of their \
                 requests were cut off by the kill)",
                extra.join(", ")
            ));
        }
        for i in entries.keys() {
            if !ck.covered.insert(*i) {
                ck.problems
                    .push(format!("ledger index {i} is listed for two parties"));
            }
        }
    }
    drop(customers);
    for (c, acts) in by_customer {
        ck.problems.push(format!(
            "{} acts acknowledged for {c}, a customer the load does not know",
            acts.len()
        ));
    }

    // Each organization's key log: registered exactly once (three nodes started at once, each
    // registering the demo organization), where the registration answer said.
    for (k, org) in orgs.iter().enumerate() {
        let n = pick(k);
        let api = Api::new(&cx.urls[n]).unwrap();
        let page: Value = match api.get(&format!("/v1/orgs/{}/keys", org.id)) {
            Ok(p) => p,
            Err(e) => {
                ck.problems.push(format!(
                    "{}'s key log through node {}: {e}",
                    org.id, NAMES[n]
                ));
                continue;
            }
        };
        if let Err(e) = verify_page(
            &api,
            verifier,
            &Default::default(),
            &page,
            newest.as_deref(),
        ) {
            ck.problems.push(format!(
                "{}'s key log through node {} does not verify: {e}",
                org.id, NAMES[n]
            ));
        }
        let entries = entries_of(&page).unwrap_or_default();
        let kinds: Vec<&str> = entries
            .values()
            .map(|(_, e)| e["type"].as_str().unwrap_or("?"))
            .collect();
        if kinds != ["org_registered"] {
            ck.problems.push(format!(
                "{}'s key log holds {kinds:?}, not one org_registered",
                org.id
            ));
        }
        for a in acts
            .iter()
            .filter(|a| a.kind == "org_registered" && a.fields["org_id"] == org.id.as_str())
        {
            ck.acts += 1;
            match entries.get(&a.index) {
                Some((leaf, e)) => {
                    if let Err(m) = a.check(leaf, e) {
                        ck.problems.push(format!("{}: {m}", org.id));
                    }
                }
                None => ck.problems.push(format!(
                    "{}'s registration, acknowledged at index {}, is not in its key log",
                    org.id, a.index
                )),
            }
        }
        for i in entries.keys() {
            if !ck.covered.insert(*i) {
                ck.problems
                    .push(format!("ledger index {i} is listed for two parties"));
            }
        }

        // The organization's own ledger: complete (org_seq 1, 2, 3, …) and holding each of
        // its acknowledged acts.
        let n = pick(k + 1);
        let mut client = match org.token(&cx.urls[n]) {
            Ok(t) => org.client(&cx.urls[n], &t, vault_key),
            Err(e) => {
                ck.problems.push(format!(
                    "{} cannot log in through node {}: {e}",
                    org.id, NAMES[n]
                ));
                continue;
            }
        };
        match client.monitor(&[org.public()]) {
            Ok(m) => {
                let want = acts
                    .iter()
                    .filter(|a| a.fields["org_id"] == org.id.as_str())
                    .count()
                    + usize::from(org.demo);
                let cut: u64 = cut_off.values().sum();
                if m.entries < want || m.entries as u64 > want as u64 + cut {
                    ck.problems.push(format!(
                        "{}'s own ledger (through node {}) holds {} entries; {want} were \
                         acknowledged ({cut} requests were cut off)",
                        org.id, NAMES[n], m.entries
                    ));
                }
                if m.key_events != 1 {
                    ck.problems.push(format!(
                        "{}'s own ledger holds {} key events",
                        org.id, m.key_events
                    ));
                }
                if let Some(note) = client.trust.last_checkpoint.clone() {
                    notes.push((n, note));
                }
            }
            Err(e) => ck.problems.push(format!(
                "{}'s monitor through node {} fails: {e}",
                org.id, NAMES[n]
            )),
        }
    }

    // Checkpoints: one more from every node, then each (from any node) is signed by the vault
    // key, one root per size, and consistent with the previous one (proofs from every node).
    for &n in live {
        match Api::new(&cx.urls[n]).and_then(|a| a.get_text("/v1/ledger/checkpoint")) {
            Ok(note) => notes.push((n, note)),
            Err(e) => ck
                .problems
                .push(format!("node {}: checkpoint: {e}", NAMES[n])),
        }
    }
    let mut by_size: BTreeMap<u64, (usize, String, [u8; 32])> = BTreeMap::new();
    for (n, note) in &notes {
        let cp = match Checkpoint::verify(note, &verifier.name, verifier) {
            Ok(cp) => cp,
            Err(e) => {
                ck.problems.push(format!(
                    "a checkpoint from node {} does not verify against the vault key: {e}",
                    NAMES[*n]
                ));
                continue;
            }
        };
        match by_size.get(&cp.size) {
            Some((m, _, root)) if root != &cp.root => ck.problems.push(format!(
                "nodes {} and {} signed different roots for size {}",
                NAMES[*m], NAMES[*n], cp.size
            )),
            Some(_) => {}
            None => {
                by_size.insert(cp.size, (*n, note.clone(), cp.root));
            }
        }
    }
    ck.notes = notes.len();
    let chain: Vec<(u64, String)> = by_size
        .iter()
        .map(|(size, (_, note, _))| (*size, note.clone()))
        .collect();
    for (k, pair) in chain.windows(2).enumerate() {
        let n = pick(k);
        let api = Api::new(&cx.urls[n]).unwrap();
        match check_checkpoint(
            &api,
            verifier,
            &Default::default(),
            &pair[1].1,
            Some(&pair[0].1),
        ) {
            Ok(_) => ck.consistency_proofs += 1,
            Err(e) => ck.problems.push(format!(
                "the checkpoint of size {} is not consistent with the one of size {} (proof \
                 from node {}): {e}",
                pair[1].0, pair[0].0, NAMES[n]
            )),
        }
    }
    ck.largest = by_size
        .iter()
        .next_back()
        .map(|(size, (_, _, root))| (*size, *root));
    ck
}

/// After the nodes stopped: the audit passes and its tree is the one the clients saw.
fn check_audit(store: &str, ck: &Checked, exact: bool, cut_signups: u64) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let (report, said) = match audit(store) {
        Ok(r) => r,
        Err(e) => return (vec![e], String::new()),
    };
    let size = report["size"].as_u64().unwrap_or(u64::MAX);
    if let Some(i) = ck.covered.iter().find(|i| **i >= size) {
        problems.push(format!(
            "the audit counts {size} entries but a verified listing holds index {i}"
        ));
    }
    let uncovered = size.saturating_sub(ck.covered.len() as u64);
    if exact && uncovered != 0 {
        problems.push(format!(
            "the audited ledger holds {size} entries; the parties' listings hold {}: {uncovered} \
             entries nobody was told of",
            ck.covered.len()
        ));
    }
    if !exact && uncovered > cut_signups {
        problems.push(format!(
            "the audited ledger holds {uncovered} entries in no known party's listing; only \
             {cut_signups} sign-ups were cut off by the kill"
        ));
    }
    if let Some((largest, root)) = ck.largest {
        if largest > size {
            problems.push(format!(
                "a node signed a checkpoint of size {largest}; the audited ledger holds {size}"
            ));
        }
        if largest == size && report["root"] != b64::encode(&root) {
            problems.push(format!(
                "the audited root of size {size} is not the one the nodes signed"
            ));
        }
    }
    (problems, format!("{said} {report}"))
}

fn summary(test: &str, book: &Book, ck: &Checked, audit: &str, began: Instant) {
    let acts = book.acts.lock().unwrap();
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for a in acts.iter() {
        *kinds.entry(a.kind).or_default() += 1;
    }
    let per_node = |v: &[AtomicU64; NODES]| {
        NAMES
            .iter()
            .zip(v)
            .map(|(n, c)| format!("{n} {}", c.load(Ordering::Relaxed)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "multinode::{test}: {} acts and {} sign-ups acknowledged (acts by node: {}; sign-ups by \
         node: {}; after the kill: {}); {kinds:?}; {} customer scripts completed; {} requests and \
         {} sign-ups cut off by the kill, {} unacknowledged entries found; {} acts checked in {} \
         verified ledgers ({} inclusion proofs); {} reads refused right after a revocation on \
         another node; {} checkpoints from the nodes, {} consistency proofs; audit: {audit}; \
         {:.1} s",
        acts.len(),
        book.signups
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .sum::<u64>(),
        per_node(&book.acked),
        per_node(&book.signups),
        per_node(&book.acked_after_kill),
        book.scripts_done.load(Ordering::Relaxed),
        book.cut_off.lock().unwrap().values().sum::<u64>(),
        book.cut_off_signups.load(Ordering::Relaxed),
        ck.unacknowledged,
        ck.acts,
        ck.ledgers,
        ck.proofs,
        book.revocations_refused.load(Ordering::Relaxed),
        ck.notes,
        ck.consistency_proofs,
        began.elapsed().as_secs_f64()
    );
}

fn fail_if(problems: &[String], cluster: &Cluster, seed: u64) {
    if problems.is_empty() {
        return;
    }
    let shown: Vec<&str> = problems.iter().take(40).map(String::as_str).collect();
    panic!(
        "{} problems (MULTINODE_SEED={seed}; database {}):\n{}\n{}",
        problems.len(),
        pg::database_name(&cluster.store).unwrap_or("?"),
        shown.join("\n"),
        cluster.logs()
    );
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// What both tests start from: three nodes on a fresh database, the vault's key, the demo
/// organization and a second one registered through node `register_on`.
struct Begun {
    began: Instant,
    seed: u64,
    store: String,
    verifier: Verifier,
    vault_key: String,
    book: Book,
    demo: OrgSecret,
    shop: OrgSecret,
    urls: Vec<String>,
    registered: Value,
    register_on: usize,
}

impl Begun {
    /// The clients' context, with the second organization's registration recorded; the demo
    /// organization's token comes from node `demo_node`, the other's from `shop_node`.
    fn ctx(&self, demo_node: usize, shop_node: usize) -> Ctx<'_> {
        let cx = Ctx::new(
            self.urls.clone(),
            (&self.demo, demo_node),
            (&self.shop, shop_node),
            &self.book,
            &self.vault_key,
        );
        cx.record_answer(
            self.register_on,
            None,
            "org_registered",
            &self.registered,
            json!({ "org_id": self.shop.id }),
        );
        cx
    }
}

fn begin(shop_id: &str, register_on: usize) -> (Begun, Cluster) {
    common::install_crypto();
    let began = Instant::now();
    let seed = seed();
    let store = pg::scratch_database();
    let cluster = Cluster::start(&store);
    let (verifier, vault_key) = vault_verifier();
    let shop = OrgSecret::generate(shop_id);
    let urls = cluster.urls();
    let registered = shop.register(&urls[register_on]).unwrap_or_else(|e| {
        panic!(
            "registering {} through node {}: {e}",
            shop.id, NAMES[register_on]
        )
    });
    let begun = Begun {
        began,
        seed,
        store,
        verifier,
        vault_key,
        book: Book::default(),
        demo: OrgSecret::demo(),
        shop,
        urls,
        registered,
        register_on,
    };
    (begun, cluster)
}

#[test]
fn three_nodes_one_ledger() {
    if skip("three_nodes_one_ledger") {
        return;
    }
    // A second organization, registered through C; the demo org's token comes from A, the
    // shop's from B, and both are used at every node.
    let (b, mut cluster) = begin("org_mn_shop", 2);
    let cx = b.ctx(0, 1);

    // Six client threads, three customers each, every step through the next node in turn.
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let cx = &cx;
            s.spawn(move || {
                let mut rt = Router { k: t, rng: None };
                for i in 0..PER_THREAD {
                    customer_script(cx, &mut rt, &format!("mn-one-{t}-{i}"));
                }
            });
        }
    });
    let mut problems = std::mem::take(&mut *b.book.problems.lock().unwrap());
    let ck = check_ledger(
        &cx,
        &[0, 1, 2],
        &b.verifier,
        &b.vault_key,
        &[&b.demo, &b.shop],
    );
    problems.extend(ck.problems.iter().cloned());
    let expected_scripts = (THREADS * PER_THREAD) as u64;
    if b.book.scripts_done.load(Ordering::Relaxed) != expected_scripts {
        problems.push(format!(
            "{} of {expected_scripts} customer scripts ran to the end",
            b.book.scripts_done.load(Ordering::Relaxed)
        ));
    }
    if b.book.revocations_refused.load(Ordering::Relaxed) != expected_scripts * 2 {
        problems.push(format!(
            "{} reads were refused after revocations; expected {}",
            b.book.revocations_refused.load(Ordering::Relaxed),
            expected_scripts * 2
        ));
    }
    problems.extend(cluster.stop());
    let (audit_problems, audit) = check_audit(&b.store, &ck, true, 0);
    problems.extend(audit_problems);
    summary("three_nodes_one_ledger", &b.book, &ck, &audit, b.began);
    fail_if(&problems, &cluster, b.seed);
    drop(cluster);
    pg::drop_database(&b.store);
}

#[test]
fn kill_9_one_node_under_load() {
    if skip("kill_9_one_node_under_load") {
        return;
    }
    let (b, mut cluster) = begin("org_mn_kill", 0);
    // The demo organization's token comes from C, the node that will be killed: tokens are
    // the vault's, not the node's.
    let cx = b.ctx(2, 1);

    const VICTIM: usize = 2;
    // Every thread runs customers until it has finished two it began after the kill.
    let load = |cx: &Ctx, t: usize, rng: Rng| {
        let mut rt = Router {
            k: t,
            rng: Some(rng),
        };
        let (mut i, mut after_kill) = (0, 0);
        while after_kill < 2 && cx.book.problems() == 0 {
            if cx.victim() != NONE {
                after_kill += 1;
            }
            customer_script(cx, &mut rt, &format!("mn-kill-{t}-{i}"));
            i += 1;
        }
    };
    let mut rng = Rng(b.seed);
    let seeds: Vec<u64> = (0..THREADS).map(|_| rng.next()).collect();
    let mut waited_out = false;
    std::thread::scope(|s| {
        for (t, &thread_seed) in seeds.iter().enumerate() {
            let (cx, load) = (&cx, &load);
            s.spawn(move || load(cx, t, Rng(thread_seed)));
        }
        // Mid-load: once C has acknowledged a fair share and the load is well under way.
        let waiting = Instant::now();
        while b.book.acked[VICTIM].load(Ordering::Relaxed) < 40
            || b.book.acts.lock().unwrap().len() < 150
        {
            if b.book.problems() > 0 || waiting.elapsed() > Duration::from_secs(120) {
                waited_out = b.book.problems() == 0;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        cx.victim.store(VICTIM, Ordering::SeqCst);
        cluster.nodes[VICTIM].kill9();
    });
    let mut problems = std::mem::take(&mut *b.book.problems.lock().unwrap());
    if waited_out {
        problems.push("the load did not get under way within 120 s".into());
    }
    for n in (0..NODES).filter(|n| *n != VICTIM) {
        if b.book.acked_after_kill[n].load(Ordering::Relaxed) == 0 {
            problems.push(format!(
                "node {} acknowledged nothing after node {} was killed",
                NAMES[n], NAMES[VICTIM]
            ));
        }
    }
    fail_if(&problems, &cluster, b.seed);

    // The killed node comes back on the same database and serves its share of one more
    // customer (its steps go to all three nodes in turn).
    if let Err(e) = cluster.restart(VICTIM) {
        problems.push(format!(
            "restarting node {} after kill -9: {e}",
            NAMES[VICTIM]
        ));
        fail_if(&problems, &cluster, b.seed);
    }
    let cx = Ctx::new(
        cluster.urls(),
        (&b.demo, VICTIM),
        (&b.shop, VICTIM),
        &b.book,
        &b.vault_key,
    );
    let before = b.book.acked[VICTIM].load(Ordering::Relaxed);
    customer_script(&cx, &mut Router { k: 0, rng: None }, "mn-kill-restarted");
    problems.extend(std::mem::take(&mut *b.book.problems.lock().unwrap()));
    if b.book.acked[VICTIM].load(Ordering::Relaxed) == before {
        problems.push(format!(
            "node {} acknowledged nothing after its restart",
            NAMES[VICTIM]
        ));
    }

    let ck = check_ledger(
        &cx,
        &[0, 1, 2],
        &b.verifier,
        &b.vault_key,
        &[&b.demo, &b.shop],
    );
    problems.extend(ck.problems.iter().cloned());
    problems.extend(cluster.stop());
    let cut_signups = b.book.cut_off_signups.load(Ordering::Relaxed);
    let (audit_problems, audit) = check_audit(&b.store, &ck, false, cut_signups);
    problems.extend(audit_problems);
    summary("kill_9_one_node_under_load", &b.book, &ck, &audit, b.began);
    fail_if(&problems, &cluster, b.seed);
    drop(cluster);
    pg::drop_database(&b.store);
}
