//! Crash safety: the real `assent serve` binary, a temp data directory, a mixed load from several
//! client threads (sign-ups, envelope writes and key rotations, org requests, approvals and
//! declines, org reads, revocations, org registrations), and `kill -9` (SIGKILL) at a random
//! moment 50–400 ms into the load. The server is restarted on the same data directory, then:
//!
//! - every request that was answered 2xx is there: each acknowledged sign-up still unlocks with
//!   its passphrase, and each acknowledged act (`ledger: {index, leaf}` in the answer) is in the
//!   ledger at that index with that leaf and the event it stands for, as the customer (or the
//!   organization) sees it through the API and as the stopped database holds it;
//! - an acknowledged revocation holds: the grant is `revoked`, its wraps are gone, and the
//!   organization's read is refused `403 grant_revoked`; no read that started after a revocation
//!   was acknowledged succeeded with that grant;
//! - nothing half-done is visible (exact checks, through the API and offline on the database):
//!   the ledger is exactly partitioned among the customers' ledgers and the org registrations;
//!   `assent ledger audit` finds every customer, org, request, grant, wrap and envelope in
//!   agreement with its ledger events and every index exact (an approved request has its grant,
//!   a grant its `grant_created` entry, a revoked grant its `grant_revoked` entry and no wraps, a
//!   grant's read count its `read` entries, an envelope's version its write entries), and the
//!   offline check adds what the auditor cannot know (every acknowledged act is there, every
//!   active grant holds its wraps); sign-ups and org registrations that were never answered are
//!   either wholly there (and then work) or wholly absent;
//! - each customer's ledger verifies as a device verifies it (leaf commitments, inclusion
//!   proofs, a signed checkpoint consistent with the newest one seen before the kill);
//! - after a graceful stop (SIGTERM), `assent ledger audit` passes.
//!
//! The data directory is kept across kill points so state accumulates. `CRASH_ITERATIONS`
//! (default 20) sets the number of kill points, `CRASH_SEED` repeats a run's random choices
//! (kill moments and operations; thread interleaving is the machine's). `scripts/crash-test.sh`
//! runs a longer local session.
//!
//! Restarts reuse the first server's port (the vault keeps its URL, as a real one does, so
//! customer sessions survive a restart); if that port is taken meanwhile, the server moves to a
//! new one and every client logs in again. The database checks and `ledger audit` cover the whole
//! state after every kill; through the API, every customer's and organization's ledger is swept
//! after every kill while the ledger is small (all of a CI run) and every tenth kill beyond, the
//! customers touched since the last kill after each. All customers sign up from 127.0.0.1, so the
//! server runs with the auth rate limits lifted (they are tested elsewhere).

use assent::client::customer::{self, Choice, Device};
use assent::client::org::{Ask, OrgClient, ReadResponse};
use assent::client::profile::{PROFILE_KIND, Profile};
use assent::client::verify::{Party, check_complete, pinned, verify_page};
use assent::client::{Api, ClientError};
use assent::config::OrgKeys;
use assent::crypto::b64;
use assent::crypto::bundle::{CustomerSecrets, KdfParams, derive_keys, seal_bundle};
use assent::crypto::keys::{SigningKey, X25519Secret, generate_signing_key};
use assent::crypto::sign::sign_org_key;
use assent::domain::catalog::Label;
use assent::domain::grant::Grant;
use assent::ledger::leaf_commitment;
use assent::ledger::note::Verifier;
use assent::store::records::{CustomerRecord, EnvelopeRecord, GrantWrap};
use assent::store::tables;
use redb::{ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_assent");
const LABELS: [&str; 3] = ["email", "phone", "postal_address"];
const PURPOSES: [&str; 3] = [
    "dpv:IdentityVerification",
    "dpv:DeliveryOfGoods",
    "dpv:Marketing",
];
/// Client threads driving the load.
const THREADS: usize = 4;
const GRANT_SECS: u64 = 30 * 86_400;
/// Customer tokens live 15 minutes, org tokens 10: renew well before.
const SESSION_MAX_AGE: Duration = Duration::from_secs(10 * 60);
const ORG_TOKEN_MAX_AGE: Duration = Duration::from_secs(5 * 60);
/// Older acknowledged revocations re-checked through the API per kill point (all of them are
/// re-checked offline every time, and all through the API after the last kill).
const OLD_REVOKES_PER_ROUND: usize = 12;
/// Through the API, every customer's and organization's ledger is verified after every kill
/// while the ledger is smaller than this, and after every SWEEP_EVERY-th kill beyond.
const SWEEP_ALWAYS_BELOW: u64 = 1500;
const SWEEP_EVERY: usize = 10;

// ---------------------------------------------------------------------------------------------
// Small helpers: a seeded RNG, the server process.

/// SplitMix64: small, seedable, good enough to choose operations and kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A non-empty random subset, in catalog order.
    fn subset(&mut self, items: &[&str]) -> Vec<String> {
        loop {
            let picked: Vec<String> = items
                .iter()
                .filter(|_| self.chance(50))
                .map(|s| (*s).to_owned())
                .collect();
            if !picked.is_empty() {
                return picked;
            }
        }
    }
}

struct Server {
    child: Option<Child>,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl Server {
    /// Starts `assent serve` on `port` (0: any free port), stderr appended to `server.log`, and
    /// waits for its --addr-file.
    fn start(dir: &Path, port: u16) -> Result<Self, String> {
        let addr = dir.join("addr");
        let _ = std::fs::remove_file(&addr);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new(BIN)
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data")
            .arg(dir.join("data"))
            .arg("--keys")
            .arg(crate::common::repo("keys-example"))
            .arg("--web")
            .arg(crate::common::repo("web"))
            .arg("--addr-file")
            .arg(&addr)
            .env("ASSENT_LOG", "info")
            // Metrics on a free port, not the fixed default (another vault may be running).
            .env("ASSENT_SERVER_METRICS_LISTEN", "127.0.0.1:0")
            // Every simulated customer signs up and logs in from 127.0.0.1: lift the per-IP and
            // per-account auth rate limits (tested elsewhere), or the checks' logins get 429.
            .env("ASSENT_LIMITS_AUTH_PER_IP_PER_MINUTE", "1000000")
            .env("ASSENT_LIMITS_AUTH_PER_ACCOUNT_PER_MINUTE", "1000000")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {BIN}: {e}"))?;
        let mut server = Self {
            child: Some(child),
            url: String::new(),
        };
        let started = Instant::now();
        loop {
            if let Ok(url) = std::fs::read_to_string(&addr)
                && url.trim().starts_with("http://")
            {
                server.url = url.trim().to_owned();
                return Ok(server);
            }
            let exited = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok())
                .flatten();
            if let Some(status) = exited {
                server.child = None;
                return Err(format!(
                    "the server exited ({status}) before listening; its log ends:\n{}",
                    log_tail(dir)
                ));
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "the server did not listen within 30 s; its log ends:\n{}",
                    log_tail(dir)
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the address file names a port")
    }

    /// `kill -9`.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL the server");
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(&mut self) -> Result<(), String> {
        let Some(mut c) = self.child.take() else {
            return Err("the server is not running".into());
        };
        let sent = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        if !sent.as_ref().is_ok_and(|s| s.success()) {
            let _ = c.kill();
            let _ = c.wait();
            return Err(format!("kill -TERM failed: {sent:?}"));
        }
        let asked = Instant::now();
        loop {
            let waited = c.try_wait();
            if let Ok(Some(status)) = waited {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("after SIGTERM the server exited with {status}"))
                };
            }
            if waited.is_err() || asked.elapsed() > Duration::from_secs(30) {
                let _ = c.kill();
                let _ = c.wait();
                return Err(format!(
                    "the server did not stop within 30 s of SIGTERM ({waited:?})"
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// `assent ledger audit` on the stopped vault's data directory.
fn audit(dir: &Path) -> Result<String, String> {
    let out = Command::new(BIN)
        .args(["ledger", "audit", "--data"])
        .arg(dir.join("data"))
        .arg("--keys")
        .arg(crate::common::repo("keys-example"))
        .env("ASSENT_LOG", "warn")
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if out.status.success() {
        Ok(err)
    } else {
        Err(format!(
            "`assent ledger audit` exited {}: {err}",
            out.status
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// What the clients know: customers, organizations, and every acknowledged act.

struct Cust {
    id: String,
    profile: Profile,
    /// The unlocked device and when it logged in; `None` until it (re)logs in.
    session: Mutex<Option<(Device, Instant)>>,
}

struct Org {
    id: String,
    name: String,
    demo: bool,
    identity: SigningKey,
    encryption: X25519Secret,
    client: RwLock<Option<(OrgClient, Instant)>>,
}

impl Org {
    fn keys(&self) -> OrgKeys {
        OrgKeys {
            demo: self.demo,
            org_id: self.id.clone(),
            name: self.name.clone(),
            identity: self.identity.clone(),
            encryption: self.encryption.clone(),
        }
    }

    fn connect(&self, url: &str) -> Result<(), ClientError> {
        let client = OrgClient::connect(url, self.keys())?;
        *self.client.write().unwrap() = Some((client, Instant::now()));
        Ok(())
    }
}

#[derive(Clone)]
struct GrantInfo {
    grant_id: String,
    customer: String,
    org: String,
    labels: Vec<String>,
    purposes: Vec<String>,
}

/// An acknowledged act: where the answer said it landed, and what its event must say.
#[derive(Clone)]
struct Act {
    iteration: usize,
    customer: Option<String>,
    index: u64,
    leaf: [u8; 32],
    kind: &'static str,
    fields: Value,
}

impl Act {
    /// Checks the stored leaf and event against what was acknowledged.
    fn check(&self, leaf: &[u8; 32], event: &Value) -> Result<(), String> {
        let wrong =
            crate::common::act_differences(&self.leaf, self.kind, &self.fields, leaf, event);
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "acknowledged {} (iteration {}) at ledger index {}: {}",
                self.kind,
                self.iteration,
                self.index,
                wrong.join(", ")
            ))
        }
    }
}

struct SignupAck {
    iteration: usize,
    handle: String,
    customer_id: String,
}

struct OrgAttempt {
    id: String,
    identity: SigningKey,
    encryption: X25519Secret,
}

#[derive(Default)]
struct World {
    url: RwLock<String>,
    customers: RwLock<Vec<Arc<Cust>>>,
    orgs: RwLock<Vec<Arc<Org>>>,
    /// Acknowledged grants, for the organizations' reads.
    grants: Mutex<Vec<GrantInfo>>,
    acts: Mutex<Vec<Act>>,
    signups: Mutex<Vec<SignupAck>>,
    /// Sign-ups sent but not acknowledged: present or absent, they must be all or nothing.
    attempts: Mutex<Vec<Profile>>,
    org_attempts: Mutex<Vec<OrgAttempt>>,
    /// grant id → when its revocation was acknowledged.
    revoked: Mutex<HashMap<String, Instant>>,
    /// Customers an operation touched since the last kill.
    touched: Mutex<BTreeSet<String>>,
    /// Broken promises seen by the clients during the load.
    violations: Mutex<Vec<String>>,
    /// "op: outcome" → count, for the summary.
    outcomes: Mutex<BTreeMap<String, u64>>,
    /// The newest signed checkpoint seen (size, note): later trees must be consistent with it.
    best_note: Mutex<Option<(u64, String)>>,
    seq: AtomicU64,
    /// Requests the kill left without an answer.
    cut_off: AtomicU64,
    stop: AtomicBool,
}

impl World {
    fn url(&self) -> String {
        self.url.read().unwrap().clone()
    }

    fn customers(&self) -> Vec<Arc<Cust>> {
        self.customers.read().unwrap().clone()
    }

    fn orgs(&self) -> Vec<Arc<Org>> {
        self.orgs.read().unwrap().clone()
    }

    fn org(&self, id: &str) -> Option<Arc<Org>> {
        self.orgs().into_iter().find(|o| o.id == id)
    }

    fn touch(&self, customer: &str) {
        self.touched.lock().unwrap().insert(customer.to_owned());
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    fn saw_note(&self, note: &str) {
        let Some(size) = note.lines().nth(1).and_then(|s| s.parse::<u64>().ok()) else {
            return;
        };
        let mut best = self.best_note.lock().unwrap();
        if best.as_ref().is_none_or(|(s, _)| *s < size) {
            *best = Some((size, note.to_owned()));
        }
    }

    fn record(
        &self,
        iteration: usize,
        customer: Option<&str>,
        ledger: (u64, [u8; 32]),
        kind: &'static str,
        fields: Value,
    ) {
        self.acts.lock().unwrap().push(Act {
            iteration,
            customer: customer.map(str::to_owned),
            index: ledger.0,
            leaf: ledger.1,
            kind,
            fields,
        });
    }
}

/// `ledger: {index, leaf}` of a 2xx answer.
fn ledger_ref(w: &World, op: &str, answer: &Value) -> Result<(u64, [u8; 32]), ClientError> {
    let l = &answer["ledger"];
    let parsed = l["index"].as_u64().zip(
        l["leaf"]
            .as_str()
            .and_then(|s| b64::decode_array::<32>(s, "leaf").ok()),
    );
    parsed.ok_or_else(|| {
        w.violation(format!(
            "{op} answered 2xx without a ledger reference: {answer}"
        ));
        ClientError::Protocol("no ledger reference".into())
    })
}

fn passphrase() -> &'static [u8] {
    crate::common::PASSPHRASE.as_bytes()
}

/// Logs a customer in on the vault at `url` and opens their key bundle.
fn unlock(profile: &Profile, url: &str) -> Result<Device, ClientError> {
    let mut p = profile.clone();
    p.server = url.to_owned();
    customer::unlock(&p, passphrase())
}

/// Retries a check's request when a pooled connection to the killed server was still used.
fn retry<T>(f: impl Fn() -> Result<T, ClientError>) -> Result<T, ClientError> {
    let mut tries = 0;
    loop {
        match f() {
            Err(ClientError::Transport(_)) if tries < 3 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The load.

type Outcome = Result<&'static str, ClientError>;

/// Runs `f` with one customer's unlocked device, held exclusively (one device per customer at a
/// time, as a person uses one phone); `None` if no customer is free.
fn with_device(
    w: &World,
    rng: &mut Rng,
    f: impl FnOnce(&Cust, &mut Device) -> Outcome,
) -> Option<Outcome> {
    let list = w.customers();
    if list.is_empty() {
        return None;
    }
    for _ in 0..6 {
        let c = &list[rng.below(list.len())];
        let Ok(mut guard) = c.session.try_lock() else {
            continue;
        };
        let result = match guard.as_mut() {
            Some((device, _)) => {
                w.touch(&c.id);
                f(c, device)
            }
            None => continue,
        };
        if let Err(ClientError::Api { status: 401, .. }) = &result {
            *guard = None;
        }
        return Some(result);
    }
    None
}

fn op_signup(w: &World, it: usize) -> Outcome {
    let n = w.seq.fetch_add(1, Ordering::Relaxed);
    let handle = format!("crash-{n}");
    let url = w.url();
    let kdf = KdfParams::with_cost(
        crate::common::FAST.m_kib,
        crate::common::FAST.t,
        crate::common::FAST.p,
    )?;
    let keys = derive_keys(passphrase(), &kdf)?;
    let secrets = CustomerSecrets::generate();
    let bundle = seal_bundle(&keys.kek, kdf, &secrets)?;
    let mut profile = Profile {
        kind: PROFILE_KIND.into(),
        server: url.clone(),
        handle: handle.clone(),
        customer_id: String::new(),
        bundle,
        x25519_public: secrets.x25519_public(),
        ed25519_public: secrets.ed25519_public(),
        vault_key: None,
        witness_policy: None,
        last_checkpoint: None,
        last_seq: 0,
        org_anchors: Default::default(),
    };
    w.attempts.lock().unwrap().push(profile.clone());
    let answer: Value = Api::new(&url)?.post(
        "/v1/customers",
        &json!({
            "handle": handle,
            "auth": b64::encode(&keys.auth[..]),
            "bundle": profile.bundle,
            "x25519_public": b64::encode(&profile.x25519_public),
            "ed25519_public": b64::encode(&profile.ed25519_public),
        }),
    )?;
    let Some(id) = answer["customer_id"].as_str().map(str::to_owned) else {
        w.violation(format!(
            "sign-up answered 2xx without a customer id: {answer}"
        ));
        return Err(ClientError::Protocol("no customer_id".into()));
    };
    w.attempts.lock().unwrap().retain(|p| p.handle != handle);
    w.signups.lock().unwrap().push(SignupAck {
        iteration: it,
        handle,
        customer_id: id.clone(),
    });
    w.touch(&id);
    profile.customer_id = id.clone();
    // Logging in may fail if the kill comes now; the check phase logs in then.
    let session = unlock(&profile, &url).ok().map(|d| (d, Instant::now()));
    w.customers.write().unwrap().push(Arc::new(Cust {
        id,
        profile,
        session: Mutex::new(session),
    }));
    Ok("ok")
}

fn op_put(w: &World, rng: &mut Rng, it: usize) -> Option<Outcome> {
    let label = LABELS[rng.below(LABELS.len())];
    let data = format!("{label} #{}", rng.next());
    with_device(w, rng, |c, dev| {
        let v = dev.put(
            &Label::parse(label).unwrap(),
            "text/plain",
            data.as_bytes(),
            false,
        )?;
        let at = ledger_ref(w, "envelope write", &v)?;
        w.record(
            it,
            Some(&c.id),
            at,
            "envelope_written",
            json!({ "customer_id": c.id, "label": label, "version": v["version"], "envelope_id": v["envelope_id"] }),
        );
        Ok("ok")
    })
}

fn op_rotate(w: &World, rng: &mut Rng, it: usize) -> Option<Outcome> {
    with_device(w, rng, |c, dev| {
        let Some(e) = dev.envelopes()?.into_iter().find(|e| e.rotation_pending) else {
            return Ok("nothing to rotate");
        };
        let (full, plain) = dev.get(&e.label)?;
        let v = dev.put(&e.label, &full.summary.content_type, &plain, true)?;
        let at = ledger_ref(w, "key rotation", &v)?;
        w.record(
            it,
            Some(&c.id),
            at,
            "key_rotated",
            json!({ "customer_id": c.id, "label": e.label, "version": v["version"], "envelope_id": v["envelope_id"] }),
        );
        Ok("ok")
    })
}

fn op_request(w: &World, rng: &mut Rng, it: usize) -> Option<Outcome> {
    let customers = w.customers();
    let orgs = w.orgs();
    if customers.is_empty() || orgs.is_empty() {
        return None;
    }
    let c = &customers[rng.below(customers.len())];
    let o = &orgs[rng.below(orgs.len())];
    let labels = rng.subset(&LABELS);
    let purposes = rng.subset(&PURPOSES);
    let guard = o.client.read().unwrap();
    let (client, _) = guard.as_ref()?;
    w.touch(&c.id);
    let result = (|| -> Outcome {
        let v = client.request(&Ask::new(
            &c.id,
            &labels,
            &purposes,
            GRANT_SECS,
            "crash test: to keep your account",
        ))?;
        let at = ledger_ref(w, "org request", &v)?;
        w.record(
            it,
            Some(&c.id),
            at,
            "request_created",
            json!({ "customer_id": c.id, "org_id": o.id, "request_id": v["request_id"], "labels": v["labels"], "purposes": v["purposes"] }),
        );
        Ok("ok")
    })();
    Some(result)
}

fn op_approve(w: &World, rng: &mut Rng, it: usize) -> Option<Outcome> {
    let pick = rng.next();
    let narrow = rng.chance(30);
    let quota = rng.chance(20);
    with_device(w, rng, |c, dev| {
        let pending: Vec<_> = dev
            .requests()?
            .into_iter()
            .filter(|r| r.request.status == assent::domain::request::RequestStatus::Pending)
            .collect();
        if pending.is_empty() {
            return Ok("nothing pending");
        }
        let r = &pending[(pick % pending.len() as u64) as usize];
        let labels =
            (narrow && r.request.labels.len() > 1).then(|| vec![r.request.labels[0].clone()]);
        // The crash test's organizations hand out no fingerprints: approved unverified.
        let unverified = customer::OrgCheck {
            accept_unverified: true,
            ..Default::default()
        };
        let choice = Choice {
            labels,
            max_reads: quota.then_some(3),
            ..Choice::default()
        };
        let v = dev.approve(&r.request.request_id, &choice, &unverified)?;
        let at = ledger_ref(w, "approval", &v)?;
        let g = &v["grant"];
        w.record(
            it,
            Some(&c.id),
            at,
            "grant_created",
            json!({ "customer_id": c.id, "org_id": r.request.org_id, "grant_id": g["grant_id"], "request_id": r.request.request_id, "labels": g["labels"], "purposes": g["purposes"], "not_after": g["not_after"] }),
        );
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        w.grants.lock().unwrap().push(GrantInfo {
            grant_id: g["grant_id"].as_str().unwrap_or_default().to_owned(),
            customer: c.id.clone(),
            org: r.org.org_id.to_string(),
            labels: strings(&g["labels"]),
            purposes: strings(&g["purposes"]),
        });
        Ok("ok")
    })
}

fn op_decline(w: &World, rng: &mut Rng, it: usize) -> Option<Outcome> {
    let pick = rng.next();
    with_device(w, rng, |c, dev| {
        let pending: Vec<_> = dev
            .requests()?
            .into_iter()
            .filter(|r| r.request.status == assent::domain::request::RequestStatus::Pending)
            .collect();
        if pending.is_empty() {
            return Ok("nothing pending");
        }
        let r = &pending[(pick % pending.len() as u64) as usize];
        let v = dev.decline(&r.request.request_id)?;
        let at = ledger_ref(w, "decline", &v)?;
        w.record(
            it,
            Some(&c.id),
            at,
            "request_declined",
            json!({ "customer_id": c.id, "org_id": r.org.org_id, "request_id": r.request.request_id }),
        );
        Ok("ok")
    })
}

fn op_read(w: &World, rng: &mut Rng, it: usize) -> Option<Outcome> {
    let grants = w.grants.lock().unwrap().clone();
    if grants.is_empty() {
        return None;
    }
    // Mostly grants still active; sometimes revoked ones (they must be refused).
    let revoked = w.revoked.lock().unwrap().clone();
    let want_active = rng.chance(85);
    let mut g = &grants[rng.below(grants.len())];
    for _ in 0..8 {
        if revoked.contains_key(&g.grant_id) != want_active {
            break;
        }
        g = &grants[rng.below(grants.len())];
    }
    let label = g.labels[rng.below(g.labels.len())].clone();
    let purpose = g.purposes[rng.below(g.purposes.len())].clone();
    let org = w.org(&g.org)?;
    let guard = org.client.read().unwrap();
    let (client, _) = guard.as_ref()?;
    w.touch(&g.customer);
    let started = Instant::now();
    let result = (|| -> Outcome {
        let r: ReadResponse = client.api.get_query(
            &format!("/v1/org/customers/{}/envelopes/{label}", g.customer),
            &[("purpose", purpose.as_str())],
        )?;
        if let Err(e) = r.open(&client.keys) {
            w.violation(format!(
                "{} read `{label}` of {} (grant {}, version {}) but cannot open it: {e}",
                g.org, g.customer, r.grant_id, r.version
            ));
        }
        if let Some(t) = w.revoked.lock().unwrap().get(r.grant_id.as_str())
            && *t < started
        {
            w.violation(format!(
                "{} read `{label}` of {} with grant {}, whose revocation was acknowledged before the read began",
                g.org, g.customer, r.grant_id
            ));
        }
        w.record(
            it,
            Some(&g.customer),
            (r.ledger.index, r.ledger.leaf),
            "read",
            json!({ "customer_id": g.customer, "org_id": g.org, "grant_id": r.grant_id, "label": label, "purpose": purpose, "version": r.version, "envelope_id": r.envelope_id }),
        );
        Ok("ok")
    })();
    Some(result)
}

fn op_revoke(w: &World, rng: &mut Rng, it: usize) -> Option<Outcome> {
    let pick = rng.next();
    with_device(w, rng, |c, dev| {
        let active: Vec<_> = dev
            .grants()?
            .into_iter()
            .filter(|g| g.state == assent::domain::grant::GrantState::Active)
            .collect();
        if active.is_empty() {
            return Ok("nothing to revoke");
        }
        let g = &active[(pick % active.len() as u64) as usize];
        let v = dev.revoke(&g.terms.grant_id)?;
        let at = ledger_ref(w, "revocation", &v)?;
        w.revoked
            .lock()
            .unwrap()
            .insert(g.terms.grant_id.to_string(), Instant::now());
        w.record(
            it,
            Some(&c.id),
            at,
            "grant_revoked",
            json!({ "customer_id": c.id, "org_id": g.terms.org_id, "grant_id": g.terms.grant_id }),
        );
        Ok("ok")
    })
}

fn op_register_org(w: &World, it: usize) -> Outcome {
    let n = w.seq.fetch_add(1, Ordering::Relaxed);
    let id = format!("org_crash{n}");
    let name = format!("Crash Org {n}");
    let identity = generate_signing_key();
    let encryption = X25519Secret::generate();
    let x = encryption.public();
    w.org_attempts.lock().unwrap().push(OrgAttempt {
        id: id.clone(),
        identity: identity.clone(),
        encryption: encryption.clone(),
    });
    let url = w.url();
    let v: Value = Api::new(&url)?
        .with_token(crate::common::admin_token())
        .post(
            "/v1/admin/orgs",
            &json!({
                "org_id": id,
                "name": name,
                "ed25519_public": b64::encode(&identity.verifying_key().to_bytes()),
                "x25519_public": b64::encode(&x),
                "key_signature": b64::encode(&sign_org_key(&identity, &x)),
                "controller": crate::common::controller_json(),
            }),
        )?;
    w.org_attempts.lock().unwrap().retain(|a| a.id != id);
    let at = ledger_ref(w, "org registration", &v)?;
    w.record(it, None, at, "org_registered", json!({ "org_id": id }));
    let org = Arc::new(Org {
        id,
        name,
        demo: false,
        identity,
        encryption,
        client: RwLock::new(None),
    });
    let _ = org.connect(&url);
    w.orgs.write().unwrap().push(org);
    Ok("ok")
}

fn op_checkpoint(w: &World) -> Outcome {
    let note = Api::new(&w.url())?.get_text("/v1/ledger/checkpoint")?;
    w.saw_note(&note);
    Ok("ok")
}

/// One client thread: random operations until the server is gone and `stop` is set.
fn load(w: &World, it: usize, mut rng: Rng) {
    while !w.stop.load(Ordering::SeqCst) {
        // Weights in thousandths. Sign-ups and org registrations taper off as customers and
        // organizations accumulate (each holds a client, and the checks visit every one).
        let signup = match w.customers.read().unwrap().len() {
            0..6 => 400,
            6..48 => 70,
            48..96 => 20,
            _ => 10,
        };
        let registration = if w.orgs.read().unwrap().len() < 24 {
            10
        } else {
            2
        };
        let table: [(&str, u64); 10] = [
            ("sign-up", signup),
            ("envelope write", 220),
            ("key rotation", 50),
            ("org request", 140),
            ("approval", 140),
            ("decline", 20),
            ("org read", 200),
            ("revocation", 90),
            ("org registration", registration),
            ("checkpoint", 30),
        ];
        let total: u64 = table.iter().map(|(_, n)| n).sum();
        let mut roll = rng.next() % total;
        let mut op = table[0].0;
        for (name, weight) in table {
            if roll < weight {
                op = name;
                break;
            }
            roll -= weight;
        }
        let outcome = match op {
            "sign-up" => Some(op_signup(w, it)),
            "envelope write" => op_put(w, &mut rng, it),
            "key rotation" => op_rotate(w, &mut rng, it),
            "org request" => op_request(w, &mut rng, it),
            "approval" => op_approve(w, &mut rng, it),
            "decline" => op_decline(w, &mut rng, it),
            "org read" => op_read(w, &mut rng, it),
            "revocation" => op_revoke(w, &mut rng, it),
            "org registration" => Some(op_register_org(w, it)),
            _ => Some(op_checkpoint(w)),
        };
        let Some(outcome) = outcome else {
            continue;
        };
        if matches!(
            outcome,
            Err(ClientError::Transport(_) | ClientError::Protocol(_))
        ) {
            w.cut_off.fetch_add(1, Ordering::Relaxed);
        }
        let what = match &outcome {
            Ok(s) => (*s).to_owned(),
            Err(ClientError::Transport(_)) => "no answer (server killed)".to_owned(),
            Err(ClientError::Protocol(_)) => "cut-off answer (server killed)".to_owned(),
            Err(ClientError::Api { status, code, .. }) => format!("{status} {code}"),
            Err(e) => format!("client error: {e}"),
        };
        if let Err(ClientError::Api {
            status, message, ..
        }) = &outcome
            && *status >= 500
        {
            w.violation(format!("{op} answered {status}: {message}"));
        }
        *w.outcomes
            .lock()
            .unwrap()
            .entry(format!("{op}: {what}"))
            .or_default() += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions between kill points.

/// Logs in every customer without a fresh session (in two threads: each login is Argon2id).
fn ensure_sessions(w: &World, bad: &mut Vec<String>) {
    let url = w.url();
    let stale: Vec<Arc<Cust>> = w
        .customers()
        .into_iter()
        .filter(|c| {
            c.session
                .lock()
                .unwrap()
                .as_ref()
                .is_none_or(|(_, at)| at.elapsed() > SESSION_MAX_AGE)
        })
        .collect();
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for chunk in stale.chunks(stale.len().div_ceil(2).max(1)) {
            let (url, failures) = (&url, &failures);
            s.spawn(move || {
                for c in chunk {
                    match retry(|| unlock(&c.profile, url)) {
                        Ok(d) => *c.session.lock().unwrap() = Some((d, Instant::now())),
                        Err(e) => failures.lock().unwrap().push(format!(
                            "customer {} ({}) cannot log in: {e}",
                            c.profile.handle, c.id
                        )),
                    }
                }
            });
        }
    });
    bad.extend(failures.into_inner().unwrap());
}

fn ensure_org_tokens(w: &World, bad: &mut Vec<String>) {
    let url = w.url();
    for o in w.orgs() {
        let fresh = o
            .client
            .read()
            .unwrap()
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < ORG_TOKEN_MAX_AGE);
        if !fresh && let Err(e) = retry(|| o.connect(&url)) {
            bad.push(format!("organization {} cannot get a token: {e}", o.id));
        }
    }
}

/// Restarts on the same port; if it was taken meanwhile, on a new one (everyone logs in again).
fn restart(dir: &Path, port: &mut u16, w: &World) -> Server {
    match Server::start(dir, *port) {
        Ok(s) => s,
        Err(e) if e.contains("cannot listen") => {
            eprintln!("port {port} was taken meanwhile; restarting on a new port");
            let s = Server::start(dir, 0).unwrap_or_else(|e| panic!("restart failed: {e}"));
            *port = s.port();
            *w.url.write().unwrap() = s.url.clone();
            for c in w.customers() {
                *c.session.lock().unwrap() = None;
            }
            for o in w.orgs() {
                *o.client.write().unwrap() = None;
            }
            s
        }
        Err(e) => panic!("restart after the kill failed: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks through the API, on the restarted server.

#[derive(Default)]
struct Stats {
    acts_checked_api: u64,
    acts_checked_db: u64,
    signup_logins: u64,
    unanswered_signups_present: u64,
    unanswered_signups_absent: u64,
    unanswered_orgs_present: u64,
    unanswered_orgs_absent: u64,
    ledgers_verified: u64,
    proofs_verified: u64,
    revokes_refused: u64,
    revokes_covered_by_other_grant: u64,
    ledger_size: u64,
    committed_unanswered: u64,
    kill_ms: Vec<u64>,
    audit: String,
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

use crate::common::{Entries, entries_of};

fn count(entries: &Entries, kind: &str, key: &str, value: &Value) -> usize {
    entries
        .values()
        .filter(|(_, e)| e["type"] == kind && &e[key] == value)
        .count()
}

/// Grants, requests and envelopes of one customer against their own ledger.
fn customer_consistency(dev: &Device, entries: &Entries, bad: &mut Vec<String>) {
    let who = dev.customer_id.as_str();
    let grants: Vec<Value> = match retry(|| dev.api.get("/v1/me/grants")) {
        Ok(g) => g,
        Err(e) => return bad.push(format!("{who}: grants: {e}")),
    };
    let requests: Vec<Value> = match retry(|| dev.api.get("/v1/me/requests")) {
        Ok(r) => r,
        Err(e) => return bad.push(format!("{who}: requests: {e}")),
    };
    let envelopes = match retry(|| dev.envelopes()) {
        Ok(e) => e,
        Err(e) => return bad.push(format!("{who}: envelopes: {e}")),
    };
    let now = assent::clock::now();
    for g in &grants {
        let gid = &g["grant_id"];
        let at = g["ledger_index"].as_u64().unwrap_or(u64::MAX);
        match entries.get(&at) {
            Some((_, e)) if e["type"] == "grant_created" && &e["grant_id"] == gid => {}
            _ => bad.push(format!(
                "{who}: grant {gid} names ledger entry {at}, which is not its grant_created"
            )),
        }
        if count(entries, "grant_created", "grant_id", gid) != 1 {
            bad.push(format!(
                "{who}: grant {gid} has not exactly one grant_created entry"
            ));
        }
        let revokes = count(entries, "grant_revoked", "grant_id", gid);
        let revoked = g["state"] == "revoked";
        if revokes > 1 || revoked != (revokes == 1) {
            bad.push(format!(
                "{who}: grant {gid} is {} with {revokes} grant_revoked entries",
                g["state"]
            ));
        }
        let reads = count(entries, "read", "grant_id", gid) as u64;
        if g["reads"].as_u64() != Some(reads) {
            bad.push(format!(
                "{who}: grant {gid} counts {} reads, the ledger {reads}",
                g["reads"]
            ));
        }
        let approved = requests.iter().any(|r| {
            r["request_id"] == g["request_id"] && r["status"] == "approved" && &r["grant_id"] == gid
        });
        if !approved {
            bad.push(format!(
                "{who}: grant {gid}'s request {} is not approved with it",
                g["request_id"]
            ));
        }
        // The org holds a wrap for exactly the granted labels that have an envelope while the
        // grant is active, and none once it is revoked.
        let detail: Value = match retry(|| {
            dev.api.get(&format!(
                "/v1/me/grants/{}",
                gid.as_str().unwrap_or_default()
            ))
        }) {
            Ok(d) => d,
            Err(e) => {
                bad.push(format!("{who}: grant {gid}: {e}"));
                continue;
            }
        };
        let mut wrapped = strs(&detail["wrapped_labels"]);
        wrapped.sort_unstable();
        let expired = g["not_after"]
            .as_str()
            .and_then(|t| assent::domain::time::Timestamp::parse(t).ok())
            .is_none_or(|t| t <= now);
        if revoked && !wrapped.is_empty() {
            bad.push(format!(
                "{who}: revoked grant {gid} still has wraps for {wrapped:?}"
            ));
        } else if !revoked && !expired {
            let mut want: Vec<&str> = strs(&g["labels"])
                .into_iter()
                .filter(|l| envelopes.iter().any(|e| e.label.as_str() == *l))
                .collect();
            want.sort_unstable();
            // A grant whose read quota is used up gets no wraps of new versions (its old ones
            // go when a label is rewritten): what it keeps is a subset.
            let exhausted = g["max_reads"]
                .as_u64()
                .is_some_and(|max| g["reads"].as_u64().unwrap_or(0) >= max);
            let ok = if exhausted {
                wrapped.iter().all(|l| want.contains(l))
            } else {
                wrapped == want
            };
            if !ok {
                bad.push(format!(
                    "{who}: active grant {gid} has wraps for {wrapped:?}, expected {want:?}"
                ));
            }
        }
    }
    for (i, (_, e)) in entries {
        if e["type"] == "grant_created" && !grants.iter().any(|g| g["grant_id"] == e["grant_id"]) {
            bad.push(format!(
                "{who}: ledger entry {i} created grant {}, which does not exist",
                e["grant_id"]
            ));
        }
        if e["type"] == "request_created"
            && !requests.iter().any(|r| r["request_id"] == e["request_id"])
        {
            bad.push(format!(
                "{who}: ledger entry {i} created request {}, which does not exist",
                e["request_id"]
            ));
        }
    }
    for r in &requests {
        let rid = &r["request_id"];
        if count(entries, "request_created", "request_id", rid) != 1 {
            bad.push(format!(
                "{who}: request {rid} has not exactly one request_created entry"
            ));
        }
        let declines = count(entries, "request_declined", "request_id", rid);
        let has_grant = grants.iter().any(|g| &g["request_id"] == rid);
        let ok = match r["status"].as_str() {
            Some("pending") => declines == 0 && !has_grant && r["grant_id"].is_null(),
            Some("approved") => declines == 0 && has_grant,
            Some("declined") => declines == 1 && !has_grant && r["grant_id"].is_null(),
            _ => false,
        };
        if !ok {
            bad.push(format!(
                "{who}: request {rid} is {} with {declines} decline entries and {} grant",
                r["status"],
                if has_grant { "a" } else { "no" }
            ));
        }
    }
    for e in &envelopes {
        let label = e.label.as_str();
        let writes: Vec<(u64, &Value)> = entries
            .iter()
            .filter(|(_, (_, ev))| {
                (ev["type"] == "envelope_written" || ev["type"] == "key_rotated")
                    && ev["label"] == label
            })
            .map(|(i, (_, ev))| (*i, ev))
            .collect();
        let versions: Vec<u64> = writes
            .iter()
            .filter_map(|(_, ev)| ev["version"].as_u64())
            .collect();
        let expected: Vec<u64> = (1..=e.version).collect();
        if versions != expected {
            bad.push(format!(
                "{who}: `{label}` is at version {} but its write entries have versions {versions:?}",
                e.version
            ));
        }
        if writes
            .last()
            .is_some_and(|(_, ev)| ev["envelope_id"] != e.envelope_id.as_str())
        {
            bad.push(format!(
                "{who}: `{label}`'s last write entry names another envelope"
            ));
        }
        let last_write = writes.last().map_or(0, |(i, _)| *i);
        let pending = entries.range(last_write..).any(|(_, (_, ev))| {
            ev["type"] == "grant_revoked"
                && grants
                    .iter()
                    .any(|g| g["grant_id"] == ev["grant_id"] && strs(&g["labels"]).contains(&label))
        });
        if pending != e.rotation_pending {
            bad.push(format!(
                "{who}: `{label}` rotation_pending is {}, the ledger says {pending}",
                e.rotation_pending
            ));
        }
        if let Err(err) = retry(|| dev.get(&e.label)) {
            bad.push(format!(
                "{who}: `{label}` version {} does not open: {err}",
                e.version
            ));
        }
    }
}

fn check_online(
    w: &World,
    verifier: &Verifier,
    it: usize,
    last: bool,
    rng: &mut Rng,
    st: &mut Stats,
) -> Vec<String> {
    let mut bad = Vec::new();
    let url = w.url();
    let api = Api::new(&url).unwrap();

    // Sign-ups and org registrations that were sent but never answered: all or nothing.
    let attempts = std::mem::take(&mut *w.attempts.lock().unwrap());
    for mut p in attempts {
        let kdf: Value =
            match retry(|| api.get_query("/v1/customers/kdf", &[("handle", p.handle.as_str())])) {
                Ok(v) => v,
                Err(e) => {
                    bad.push(format!("kdf parameters of {}: {e}", p.handle));
                    continue;
                }
            };
        if kdf["kdf"]["salt"] != b64::encode(&p.bundle.kdf.salt) {
            st.unanswered_signups_absent += 1;
            continue;
        }
        // Stored: the whole account must work. The session answer names the customer.
        let adopted = (|| -> Result<Device, ClientError> {
            let keys = derive_keys(passphrase(), &p.bundle.kdf)?;
            let session: Value = api.post(
                "/v1/sessions",
                &json!({ "handle": p.handle, "auth": b64::encode(&keys.auth[..]) }),
            )?;
            p.customer_id = session["customer_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            unlock(&p, &url)
        })();
        match adopted {
            Ok(dev) => {
                st.unanswered_signups_present += 1;
                let id = p.customer_id.clone();
                w.touch(&id);
                w.customers.write().unwrap().push(Arc::new(Cust {
                    id,
                    profile: p,
                    session: Mutex::new(Some((dev, Instant::now()))),
                }));
            }
            Err(e) => bad.push(format!(
                "the unanswered sign-up of {} was stored but the account does not work: {e}",
                p.handle
            )),
        }
    }
    let org_attempts = std::mem::take(&mut *w.org_attempts.lock().unwrap());
    for a in org_attempts {
        match retry(|| api.get::<Value>(&format!("/v1/orgs/{}", a.id))) {
            Ok(v) => {
                if v["x25519_public"] != b64::encode(&a.encryption.public()) {
                    bad.push(format!("organization {} was stored with other keys", a.id));
                    continue;
                }
                st.unanswered_orgs_present += 1;
                let org = Arc::new(Org {
                    name: v["name"].as_str().unwrap_or_default().to_owned(),
                    id: a.id,
                    demo: false,
                    identity: a.identity,
                    encryption: a.encryption,
                    client: RwLock::new(None),
                });
                w.orgs.write().unwrap().push(org);
            }
            Err(ClientError::Api { status: 404, .. }) => st.unanswered_orgs_absent += 1,
            Err(e) => bad.push(format!("organization {}: {e}", a.id)),
        }
    }

    // Every sign-up acknowledged since the last kill (all of them after the last kill) still
    // unlocks with its passphrase, as that customer.
    let signups: Vec<(String, String)> = w
        .signups
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.iteration == it || last)
        .map(|s| (s.handle.clone(), s.customer_id.clone()))
        .collect();
    let customers = w.customers();
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for chunk in signups.chunks(signups.len().div_ceil(2).max(1)) {
            let (customers, url, results) = (&customers, &url, &results);
            s.spawn(move || {
                for (handle, id) in chunk {
                    let r = match customers.iter().find(|c| &c.id == id) {
                        None => Err(format!("acknowledged customer {handle} ({id}) is unknown")),
                        Some(c) => match retry(|| unlock(&c.profile, url)) {
                            Ok(d) if d.customer_id.as_str() == id => {
                                *c.session.lock().unwrap() = Some((d, Instant::now()));
                                Ok(())
                            }
                            Ok(d) => Err(format!(
                                "acknowledged customer {handle} ({id}) logs in as {}",
                                d.customer_id
                            )),
                            Err(e) => Err(format!(
                                "acknowledged customer {handle} ({id}) cannot log in: {e}"
                            )),
                        },
                    };
                    results.lock().unwrap().push(r);
                }
            });
        }
    });
    for r in results.into_inner().unwrap() {
        match r {
            Ok(()) => st.signup_logins += 1,
            Err(e) => bad.push(e),
        }
    }
    ensure_sessions(w, &mut bad);
    ensure_org_tokens(w, &mut bad);

    // Every customer's ledger, verified as their device verifies it, holds each of their
    // acknowledged acts; together with the org registrations the ledgers partition the tree.
    let best = w.best_note.lock().unwrap().clone();
    let acts = w.acts.lock().unwrap().clone();
    let mut acts_of: HashMap<&str, Vec<&Act>> = HashMap::new();
    for a in &acts {
        acts_of
            .entry(a.customer.as_deref().unwrap_or(""))
            .or_default()
            .push(a);
    }
    let touched = std::mem::take(&mut *w.touched.lock().unwrap());
    // A full sweep (every customer's and organization's ledger, the exact partition) while the
    // ledger is small, every SWEEP_EVERY kill points and after the last; in between, the
    // customers touched since the last kill. The database checks are always complete.
    let sweep = last || it.is_multiple_of(SWEEP_EVERY) || st.ledger_size < SWEEP_ALWAYS_BELOW;
    let mut owner: BTreeMap<u64, String> = BTreeMap::new();
    let mut all: Entries = BTreeMap::new();
    let mut sizes = BTreeSet::new();
    for c in w.customers() {
        if !sweep && !touched.contains(&c.id) {
            continue;
        }
        let guard = c.session.lock().unwrap();
        let Some((dev, _)) = guard.as_ref() else {
            bad.push(format!("customer {} has no session", c.id));
            continue;
        };
        let page = match retry(|| dev.ledger()) {
            Ok(p) => p,
            Err(e) => {
                bad.push(format!("ledger of {}: {e}", c.id));
                continue;
            }
        };
        let checked = verify_page(
            &dev.api,
            verifier,
            &Default::default(),
            &page,
            best.as_ref().map(|b| b.1.as_str()),
        )
        .and_then(|v| check_complete(&v.entries, Party::Customer(&c.id), 0).map(|_| v));
        match checked {
            Ok(v) => {
                st.ledgers_verified += 1;
                st.proofs_verified += v.entries_checked() as u64;
                w.saw_note(&v.note);
            }
            Err(e) => bad.push(format!(
                "ledger of {} does not verify (checked against the checkpoint of size {:?} seen before the kill): {e}",
                c.id,
                best.as_ref().map(|b| b.0)
            )),
        }
        sizes.insert(page["size"].as_u64().unwrap_or(u64::MAX));
        let entries = match entries_of(&page) {
            Ok(e) => e,
            Err(e) => {
                bad.push(format!("ledger of {}: {e}", c.id));
                continue;
            }
        };
        for (i, (_, e)) in &entries {
            if e["customer_id"] != c.id.as_str() {
                bad.push(format!(
                    "ledger of {} lists entry {i} of {}",
                    c.id, e["customer_id"]
                ));
            }
            if let Some(other) = owner.insert(*i, c.id.clone()) {
                bad.push(format!("entry {i} is listed for {other} and {}", c.id));
            }
        }
        for a in acts_of.get(c.id.as_str()).into_iter().flatten() {
            st.acts_checked_api += 1;
            match entries.get(&a.index) {
                Some((leaf, e)) => {
                    if let Err(m) = a.check(leaf, e) {
                        bad.push(format!("{}: {m}", c.id));
                    }
                }
                None => bad.push(format!(
                    "{}: acknowledged {} (iteration {}) at index {} is not in their ledger",
                    c.id, a.kind, a.iteration, a.index
                )),
            }
        }
        if touched.contains(&c.id) || last {
            customer_consistency(dev, &entries, &mut bad);
        }
        all.extend(entries);
    }
    let mut registrations = BTreeSet::new();
    if sweep {
        for o in w.orgs() {
            let guard = o.client.read().unwrap();
            let Some((client, _)) = guard.as_ref() else {
                bad.push(format!("organization {} has no token", o.id));
                continue;
            };
            let raw = match retry(|| client.ledger()) {
                Ok(p) => p,
                Err(e) => {
                    bad.push(format!("ledger of {}: {e}", o.id));
                    continue;
                }
            };
            sizes.insert(raw["size"].as_u64().unwrap_or(u64::MAX));
            let page = match entries_of(&raw) {
                Ok(e) => e,
                Err(e) => {
                    bad.push(format!("ledger of {}: {e}", o.id));
                    continue;
                }
            };
            // The org sees exactly its registration and the customers' events that name it, with
            // the same leaves.
            let regs: Vec<u64> = page
                .iter()
                .filter(|(_, (_, e))| e["type"] == "org_registered")
                .map(|(i, _)| *i)
                .collect();
            if regs.len() != 1 || page[&regs[0]].1["org_id"] != o.id.as_str() {
                bad.push(format!("{} has registrations {regs:?} in its ledger", o.id));
            }
            registrations.extend(regs.iter().copied());
            let expected: BTreeSet<u64> = all
                .iter()
                .filter(|(_, (_, e))| e["org_id"] == o.id.as_str())
                .map(|(i, _)| *i)
                .chain(regs.iter().copied())
                .collect();
            let listed: BTreeSet<u64> = page.keys().copied().collect();
            if listed != expected {
                bad.push(format!(
                    "{}'s ledger lists {:?} beyond and misses {:?} of the entries naming it",
                    o.id,
                    listed.difference(&expected).collect::<Vec<_>>(),
                    expected.difference(&listed).collect::<Vec<_>>()
                ));
            }
            for (i, (leaf, e)) in &page {
                if let Some((l, ev)) = all.get(i)
                    && (l != leaf || ev != e)
                {
                    bad.push(format!(
                        "entry {i} differs between {}'s and the customer's ledger",
                        o.id
                    ));
                }
            }
            for a in acts_of.get("").into_iter().flatten() {
                if a.fields["org_id"] == o.id.as_str() {
                    st.acts_checked_api += 1;
                    match page.get(&a.index) {
                        Some((leaf, e)) => {
                            if let Err(m) = a.check(leaf, e) {
                                bad.push(format!("{}: {m}", o.id));
                            }
                        }
                        None => bad.push(format!(
                            "{}: acknowledged registration at {} is missing",
                            o.id, a.index
                        )),
                    }
                }
            }
        }
    }
    if sizes.is_empty() {
        return revocations_hold(w, it, last, rng, st, &acts, bad);
    }
    let size = match sizes.iter().collect::<Vec<_>>().as_slice() {
        [s] => **s,
        other => {
            bad.push(format!(
                "the ledger pages disagree on the tree size: {other:?}"
            ));
            return bad;
        }
    };
    st.ledger_size = size;
    if sweep {
        if let Some(i) = registrations.iter().find(|i| owner.contains_key(i)) {
            bad.push(format!("entry {i} is both a registration and a customer's"));
        }
        let listed: BTreeSet<u64> = owner.keys().copied().chain(registrations).collect();
        let whole: BTreeSet<u64> = (0..size).collect();
        if listed != whole {
            bad.push(format!(
                "the customers' ledgers and the org registrations list {} entries of a tree of {size}: unlisted {:?}, beyond the tree {:?}",
                listed.len(),
                whole.difference(&listed).take(10).collect::<Vec<_>>(),
                listed.difference(&whole).take(10).collect::<Vec<_>>()
            ));
        }
    }
    revocations_hold(w, it, last, rng, st, &acts, bad)
}

/// Revocations hold: the grant is revoked without wraps, and the org's read is refused
/// `grant_revoked` (where no other active grant of that org covers the label and purpose).
fn revocations_hold(
    w: &World,
    it: usize,
    last: bool,
    rng: &mut Rng,
    st: &mut Stats,
    acts: &[Act],
    mut bad: Vec<String>,
) -> Vec<String> {
    let mut revokes: Vec<&Act> = acts.iter().filter(|a| a.kind == "grant_revoked").collect();
    if !last {
        let (new, old): (Vec<&Act>, Vec<&Act>) =
            revokes.into_iter().partition(|a| a.iteration == it);
        revokes = new;
        for _ in 0..OLD_REVOKES_PER_ROUND.min(old.len()) {
            revokes.push(old[rng.below(old.len())]);
        }
    }
    for a in revokes {
        let cid = a.customer.as_deref().unwrap_or_default();
        let gid = a.fields["grant_id"].as_str().unwrap_or_default();
        let Some(c) = w.customers().into_iter().find(|c| c.id == cid) else {
            bad.push(format!("revoked grant {gid}: customer {cid} unknown"));
            continue;
        };
        let guard = c.session.lock().unwrap();
        let Some((dev, _)) = guard.as_ref() else {
            continue;
        };
        let grants: Vec<Value> = match retry(|| dev.api.get("/v1/me/grants")) {
            Ok(g) => g,
            Err(e) => {
                bad.push(format!("{cid}: grants: {e}"));
                continue;
            }
        };
        let Some(g) = grants.iter().find(|g| g["grant_id"] == gid) else {
            bad.push(format!("acknowledged revoked grant {gid} of {cid} is gone"));
            continue;
        };
        if g["state"] != "revoked" {
            bad.push(format!(
                "acknowledged revoked grant {gid} of {cid} is {}",
                g["state"]
            ));
        }
        let org_id = g["org_id"].as_str().unwrap_or_default();
        let covered = |l: &str, p: &str| {
            grants.iter().any(|o| {
                o["org_id"] == org_id
                    && o["state"] == "active"
                    && strs(&o["labels"]).contains(&l)
                    && strs(&o["purposes"]).contains(&p)
            })
        };
        let pair = strs(&g["labels"]).into_iter().find_map(|l| {
            strs(&g["purposes"])
                .into_iter()
                .find(|p| !covered(l, p))
                .map(|p| (l, p))
        });
        let Some((label, purpose)) = pair else {
            st.revokes_covered_by_other_grant += 1;
            continue;
        };
        let Some(org) = w.org(org_id) else {
            bad.push(format!(
                "revoked grant {gid}: organization {org_id} unknown"
            ));
            continue;
        };
        let oguard = org.client.read().unwrap();
        let Some((client, _)) = oguard.as_ref() else {
            continue;
        };
        let read = retry(|| {
            client.api.get_query::<Value, _>(
                &format!("/v1/org/customers/{cid}/envelopes/{label}"),
                &[("purpose", purpose)],
            )
        });
        match read {
            Err(ClientError::Api { status: 403, code, .. }) if code == "grant_revoked" => {
                st.revokes_refused += 1;
            }
            Ok(v) => bad.push(format!(
                "REVOKED GRANT WORKS AGAIN: {org_id} read `{label}` of {cid} for {purpose} with grant {} after grant {gid}'s revocation was acknowledged (iteration {})",
                v["grant_id"], a.iteration
            )),
            Err(e) => bad.push(format!(
                "{org_id} reading `{label}` of {cid} after revoking {gid}: expected 403 grant_revoked, got {e}"
            )),
        }
    }
    bad
}

// ---------------------------------------------------------------------------------------------
// Offline checks on the stopped vault's database: the same promises, on every record.

fn rows<K, V, T>(
    rtx: &redb::ReadTransaction,
    def: TableDefinition<K, V>,
    f: impl for<'a> Fn(K::SelfType<'a>, V::SelfType<'a>) -> T,
) -> Vec<T>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
{
    let table = rtx.open_table(def).expect("open a table");
    table
        .iter()
        .expect("iterate a table")
        .map(|r| {
            let (k, v) = r.expect("read a row");
            f(k.value(), v.value())
        })
        .collect()
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    serde_json::from_slice(bytes).expect("a stored record parses")
}

fn check_offline(w: &World, dir: &Path, st: &mut Stats) -> Vec<String> {
    let mut bad = Vec::new();
    let db = match ReadOnlyDatabase::open(dir.join("data").join("assent.redb")) {
        Ok(db) => db,
        Err(e) => return vec![format!("cannot open the stopped vault's database: {e}")],
    };
    let rtx = db.begin_read().expect("read transaction");
    let size = rows(&rtx, tables::META, |k, v| (k.to_owned(), v))
        .into_iter()
        .find(|(k, _)| k == "ledger_size")
        .map_or(0, |(_, v)| v);
    let stored = rows(&rtx, tables::LEDGER_EVENTS, |k, v| (k, v.to_vec()));
    if stored.len() as u64 != size || stored.iter().enumerate().any(|(i, (k, _))| *k != i as u64) {
        return vec![format!(
            "ledger_size is {size} but {} events are stored",
            stored.len()
        )];
    }
    let mut ev: Vec<Value> = Vec::with_capacity(stored.len());
    let mut leaves = Vec::with_capacity(stored.len());
    for (i, bytes) in &stored {
        let Some((nonce, canonical)) = bytes.split_first_chunk::<32>() else {
            return vec![format!("event {i} is truncated")];
        };
        let event = match assent::ledger::event::parse_canonical(canonical) {
            Ok(e) => e,
            Err(e) => return vec![format!("event {i} does not parse: {e}")],
        };
        if event.canonical().ok().as_deref() != Some(canonical) {
            bad.push(format!("event {i} is not stored in canonical form"));
        }
        leaves.push(leaf_commitment(nonce, canonical));
        ev.push(serde_json::to_value(&event).unwrap());
    }
    // `assent ledger audit` (run just before) checks the database against its ledger and
    // itself: indexes, requests, grants, handles, wraps, envelopes. What it cannot know is
    // checked below: every acknowledged act is there, and (this test never moves the clock)
    // every active grant holds a wrap of each granted envelope's current version.
    let customers: BTreeMap<String, CustomerRecord> =
        rows(&rtx, tables::CUSTOMERS, |k, v| (k.to_owned(), decode(v)))
            .into_iter()
            .collect();
    let grants: BTreeMap<String, Grant> =
        rows(&rtx, tables::GRANTS, |k, v| (k.to_owned(), decode(v)))
            .into_iter()
            .collect();
    let envelopes: BTreeMap<(String, String), EnvelopeRecord> =
        rows(&rtx, tables::ENVELOPES, |k, v| {
            ((k.0.to_owned(), k.1.to_owned()), decode(v))
        })
        .into_iter()
        .collect();
    let wraps: BTreeMap<(String, String), GrantWrap> = rows(&rtx, tables::WRAPS, |k, v| {
        ((k.0.to_owned(), k.1.to_owned()), decode(v))
    })
    .into_iter()
    .collect();
    // Each grant's reads as the ledger logged them (the stored counts are the audit's concern;
    // part of them lives outside the record: read_counts.rs).
    let mut logged_reads: BTreeMap<String, u32> = BTreeMap::new();
    for e in ev.iter().filter(|e| e["type"] == "read") {
        *logged_reads
            .entry(e["grant_id"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    let now = assent::clock::now();
    for (id, g) in &grants {
        let t = &g.terms;
        // A grant whose quota is used up gets no wrap of a new version.
        let reads = logged_reads.get(id).copied().unwrap_or(0);
        let exhausted = t.max_reads.is_some_and(|max| reads >= max);
        if g.revoked_at.is_some() || t.not_after <= now || exhausted {
            continue;
        }
        for l in &t.labels {
            let env = envelopes.get(&(t.customer_id.to_string(), l.to_string()));
            let wrap = wraps.get(&(id.clone(), l.to_string()));
            if env.is_some() && wrap.is_none() {
                bad.push(format!("active grant {id} has no wrap of `{l}`"));
            }
        }
    }

    st.ledger_size = size;
    // Events whose answer the kill cut off (the demo org's registration is the one other).
    let acked = (w.acts.lock().unwrap().len() + w.signups.lock().unwrap().len()) as u64;
    st.committed_unanswered = size.saturating_sub(acked + 1);
    // Every acknowledged act and sign-up, ever.
    for a in w.acts.lock().unwrap().iter() {
        st.acts_checked_db += 1;
        match (leaves.get(a.index as usize), ev.get(a.index as usize)) {
            (Some(leaf), Some(e)) => {
                if let Err(m) = a.check(leaf, e) {
                    bad.push(m);
                }
                if a.customer.as_deref().is_some_and(|c| e["customer_id"] != c) {
                    bad.push(format!("entry {} belongs to another customer", a.index));
                }
            }
            _ => bad.push(format!(
                "acknowledged {} (iteration {}) at index {} is beyond the ledger ({size})",
                a.kind, a.iteration, a.index
            )),
        }
    }
    for su in w.signups.lock().unwrap().iter() {
        st.acts_checked_db += 1;
        if customers
            .get(&su.customer_id)
            .is_none_or(|c| c.handle.as_str() != su.handle)
        {
            bad.push(format!(
                "acknowledged sign-up of {} ({}, iteration {}) is not in the database",
                su.handle, su.customer_id, su.iteration
            ));
        }
    }
    bad
}

// ---------------------------------------------------------------------------------------------

fn fail(dir: &Path, seed: u64, it: usize, what: &str, problems: &[String]) -> ! {
    let shown: Vec<&String> = problems.iter().take(25).collect();
    panic!(
        "crash test FAILED at kill point {it} ({what}), seed {seed} (CRASH_SEED={seed} to repeat):\n  {}\n{}server log ends:\n{}",
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        if problems.len() > shown.len() {
            format!("  … and {} more\n", problems.len() - shown.len())
        } else {
            String::new()
        },
        log_tail(dir)
    );
}

#[test]
fn kill_9_under_load_loses_nothing_acknowledged() {
    crate::common::install_crypto();
    let iterations: usize = std::env::var("CRASH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("crash test: seed {seed} (CRASH_SEED={seed} repeats it), {iterations} kill points");
    let began = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut rng = Rng(seed);
    let mut st = Stats::default();

    let mut server = Server::start(dir, 0).unwrap_or_else(|e| panic!("{e}"));
    let mut port = server.port();
    let w = World::default();
    *w.url.write().unwrap() = server.url.clone();
    let key = Api::new(&server.url)
        .unwrap()
        .get_text("/v1/ledger/key")
        .unwrap();
    let verifier = pinned(&key).unwrap();
    let demo = crate::common::demo_org_keys();
    let demo = Arc::new(Org {
        id: demo.org_id,
        name: demo.name,
        demo: true,
        identity: demo.identity,
        encryption: demo.encryption,
        client: RwLock::new(None),
    });
    demo.connect(&server.url).unwrap();
    w.orgs.write().unwrap().push(demo);

    for it in 1..=iterations {
        let round = Instant::now();
        let mut prep = Vec::new();
        ensure_sessions(&w, &mut prep);
        ensure_org_tokens(&w, &mut prep);
        if !prep.is_empty() {
            fail(dir, seed, it, "logging in before the load", &prep);
        }
        if it == 1 {
            // Warm-up, not killed: a few customers, envelopes and grants to work on.
            w.stop.store(false, Ordering::SeqCst);
            let seeds: Vec<u64> = (0..THREADS).map(|_| rng.next()).collect();
            std::thread::scope(|s| {
                for &thread_seed in &seeds {
                    let w = &w;
                    s.spawn(move || load(w, it, Rng(thread_seed)));
                }
                std::thread::sleep(Duration::from_millis(1500));
                w.stop.store(true, Ordering::SeqCst);
            });
        }
        w.stop.store(false, Ordering::SeqCst);
        let kill_ms = 50 + rng.below(351) as u64;
        st.kill_ms.push(kill_ms);
        let seeds: Vec<u64> = (0..THREADS).map(|_| rng.next()).collect();
        std::thread::scope(|s| {
            for &thread_seed in &seeds {
                let w = &w;
                s.spawn(move || load(w, it, Rng(thread_seed)));
            }
            std::thread::sleep(Duration::from_millis(kill_ms));
            server.kill9();
            w.stop.store(true, Ordering::SeqCst);
        });
        let violations = std::mem::take(&mut *w.violations.lock().unwrap());
        if !violations.is_empty() {
            fail(dir, seed, it, "answers during the load", &violations);
        }

        let t_load = round.elapsed();
        server = restart(dir, &mut port, &w);
        let t_restart = round.elapsed();
        let last = it == iterations;
        let problems = check_online(&w, &verifier, it, last, &mut rng, &mut st);
        if !problems.is_empty() {
            fail(
                dir,
                seed,
                it,
                "checks through the API after the restart",
                &problems,
            );
        }
        let t_api = round.elapsed();
        if let Err(e) = server.stop() {
            fail(dir, seed, it, "graceful stop", &[e]);
        }
        match audit(dir) {
            Ok(out) => st.audit = out,
            Err(e) => fail(dir, seed, it, "ledger audit", &[e]),
        }
        let t_audit = round.elapsed();
        let problems = check_offline(&w, dir, &mut st);
        if !problems.is_empty() {
            fail(dir, seed, it, "checks on the stopped database", &problems);
        }
        let answered = w
            .acts
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.iteration == it)
            .count();
        let signed_up = w
            .signups
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.iteration == it)
            .count();
        println!(
            "kill point {it}/{iterations}: kill -9 at {kill_ms} ms; {answered} acts and {signed_up} sign-ups answered, {} requests cut off; after restart all checks pass, audit ok; ledger {} entries, {} customers ({:.1} s: load {:.1}, restart {:.1}, API checks {:.1}, stop+audit {:.1}, database checks {:.1})",
            w.cut_off.swap(0, Ordering::Relaxed),
            st.ledger_size,
            w.customers.read().unwrap().len(),
            round.elapsed().as_secs_f64(),
            t_load.as_secs_f64(),
            (t_restart - t_load).as_secs_f64(),
            (t_api - t_restart).as_secs_f64(),
            (t_audit - t_api).as_secs_f64(),
            (round.elapsed() - t_audit).as_secs_f64(),
        );
        if !last {
            server = restart(dir, &mut port, &w);
        }
    }

    let acts = w.acts.lock().unwrap();
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    for a in acts.iter() {
        *by_kind.entry(a.kind).or_default() += 1;
    }
    let signups = w.signups.lock().unwrap().len();
    let mut kills = st.kill_ms.clone();
    kills.sort_unstable();
    println!("crash test summary (seed {seed}):");
    println!(
        "  kill points survived: {iterations}/{iterations} (kill -9 at {}–{} ms into the load, median {} ms)",
        kills[0],
        kills[kills.len() - 1],
        kills[kills.len() / 2]
    );
    println!(
        "  acknowledged: {} acts + {signups} sign-ups; {by_kind:?}",
        acts.len()
    );
    println!(
        "  checks: {} act checks through the API, {} on the stopped database; {} acknowledged sign-up logins; {} customer ledgers verified ({} inclusion proofs); {} revocations refused 403 grant_revoked ({} shadowed by another active grant)",
        st.acts_checked_api,
        st.acts_checked_db,
        st.signup_logins,
        st.ledgers_verified,
        st.proofs_verified,
        st.revokes_refused,
        st.revokes_covered_by_other_grant
    );
    println!(
        "  unanswered at the kill, found all-or-nothing: sign-ups {} present / {} absent, org registrations {} present / {} absent",
        st.unanswered_signups_present,
        st.unanswered_signups_absent,
        st.unanswered_orgs_present,
        st.unanswered_orgs_absent
    );
    println!(
        "  acts committed whose answer the kill cut off: {} (all-or-nothing, checked like the rest)",
        st.committed_unanswered
    );
    println!(
        "  final state: {} customers, {} organizations, ledger of {} entries; last audit: {}",
        w.customers.read().unwrap().len(),
        w.orgs.read().unwrap().len(),
        st.ledger_size,
        st.audit
    );
    println!("  client outcomes:");
    for (k, n) in w.outcomes.lock().unwrap().iter() {
        println!("    {n:>6}  {k}");
    }
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    println!(
        "  runtime: {:.1} s (test process peak memory {peak})",
        began.elapsed().as_secs_f64()
    );
}
