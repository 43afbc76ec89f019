//! `assent witness serve` as a real process on 127.0.0.1: it keeps its word across `kill -9`
//! (never two roots for one size), refuses bad input without changing anything, refuses to
//! start from a state file copied back from an older version, and a vault whose witness is down
//! keeps committing while it offers the last cosigned checkpoint.

use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::cosignature::WitnessPolicy;
use assent::ledger::merkle::{self, Hash, NodeReader};
use assent::ledger::note;
use assent::witness::protocol::AddCheckpoint;
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_assent");
const ORIGIN: &str = "witness-test.example/log";

/// A witness process; killed with SIGKILL when dropped.
pub struct WitnessProcess {
    child: crate::common::KillOnDrop,
    pub url: String,
}

/// `assent witness keygen` into `dir`; returns the witness's verifier key.
pub fn witness_keygen(dir: &Path, name: &str) -> String {
    let out = Command::new(BIN)
        .args(["witness", "keygen", "--out"])
        .arg(dir)
        .args(["--name", name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("witness.pub"))
        .unwrap()
        .trim()
        .to_owned()
}

/// Starts `assent witness serve` for the logs `logs` (verifier keys) with state in `dir`.
pub fn witness_serve(dir: &Path, logs: &[&str]) -> Result<WitnessProcess, String> {
    witness_serve_on(dir, logs, "127.0.0.1:0")
}

/// [`witness_serve`] on a given address.
pub fn witness_serve_on(dir: &Path, logs: &[&str], listen: &str) -> Result<WitnessProcess, String> {
    let addr = dir.join("witness.addr");
    let _ = std::fs::remove_file(&addr);
    let mut cmd = Command::new(BIN);
    cmd.args(["witness", "serve", "--key"])
        .arg(dir.join("witness.key"))
        .arg("--state")
        .arg(dir.join("witness.redb"))
        .args(["--listen", listen, "--addr-file"])
        .arg(&addr)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for l in logs {
        cmd.args(["--log", l]);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(url) = std::fs::read_to_string(&addr)
            && !url.is_empty()
        {
            return Ok(WitnessProcess {
                child: crate::common::KillOnDrop(child),
                url,
            });
        }
        if let Some(_status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read as _;
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            return Err(err);
        }
        assert!(Instant::now() < deadline, "the witness did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A tree held in memory: every level of node hashes.
#[derive(Default)]
struct Tree(Vec<Vec<Hash>>);

impl NodeReader for Tree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, assent::ledger::LedgerError> {
        self.0
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or_else(|| assent::ledger::LedgerError::Store("no node".into()))
    }
}

impl Tree {
    fn of(leaves: &[&[u8]]) -> Self {
        let mut f = merkle::Frontier::default();
        let mut t = Tree::default();
        for l in leaves {
            for (level, index, hash) in f.push(merkle::leaf_hash(l)) {
                let lv = level as usize;
                if t.0.len() <= lv {
                    t.0.push(Vec::new());
                }
                assert_eq!(t.0[lv].len() as u64, index);
                t.0[lv].push(hash);
            }
        }
        t
    }

    fn size(&self) -> u64 {
        self.0.first().map_or(0, |l| l.len() as u64)
    }

    fn note(&self, key: &SigningKey) -> String {
        Checkpoint {
            origin: ORIGIN.into(),
            size: self.size(),
            root: merkle::root(self, self.size()).unwrap(),
        }
        .sign(ORIGIN, key)
        .unwrap()
    }

    fn proof(&self, old: u64) -> Vec<Hash> {
        if old == 0 || old >= self.size() {
            return Vec::new();
        }
        merkle::consistency_proof(self, old, self.size()).unwrap()
    }
}

fn post(url: &str, body: &str) -> (u16, String, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/add-checkpoint"))
        .body(body.to_owned())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.text().unwrap())
}

fn add(w: &WitnessProcess, tree: &Tree, old: u64, key: &SigningKey) -> (u16, String, String) {
    let body = AddCheckpoint {
        old,
        proof: tree.proof(old),
        note: tree.note(key),
    }
    .to_body();
    post(&w.url, &body)
}

struct Setup {
    dir: tempfile::TempDir,
    log_key: SigningKey,
    log_vkey: String,
    policy: WitnessPolicy,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let wkey = witness_keygen(dir.path(), "witness-a.test");
    let log_key = SigningKey::from_bytes(&[7; 32]);
    let log_vkey = note::verifier_key(ORIGIN, &log_key.verifying_key().to_bytes());
    let policy = WitnessPolicy::parse(&format!("witness {wkey}\nquorum 1\n")).unwrap();
    Setup {
        dir,
        log_key,
        log_vkey,
        policy,
    }
}

fn leaves(n: usize, tag: &str) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{tag}-{i}").into_bytes()).collect()
}

fn tree(l: &[Vec<u8>]) -> Tree {
    Tree::of(&l.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

#[test]
fn a_witness_keeps_its_word_across_kill_9() {
    let s = setup();
    let honest = leaves(8, "honest");
    let mut fork = honest[..5].to_vec();
    fork.extend(leaves(3, "fork"));
    let w = witness_serve(s.dir.path(), &[&s.log_vkey]).unwrap();
    let t5 = tree(&honest[..5]);
    let (status, _, line) = add(&w, &t5, 0, &s.log_key);
    assert_eq!(status, 200, "{line}");
    let cosigned =
        assent::ledger::cosignature::with_lines(&t5.note(&s.log_key), &[line.trim().to_owned()]);
    assert_eq!(s.policy.check(&cosigned).unwrap().len(), 1);
    let t8 = tree(&honest);
    assert_eq!(add(&w, &t8, 5, &s.log_key).0, 200);
    // SIGKILL right after the answer: the state was durable before it.
    drop(w);
    let w = witness_serve(s.dir.path(), &[&s.log_vkey]).unwrap();
    let f8 = tree(&fork);
    // The fork at the cosigned size: refused whatever `old` it claims.
    let (status, ct, body) = add(&w, &f8, 0, &s.log_key);
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "8\n")
    );
    assert_eq!(add(&w, &f8, 8, &s.log_key).0, 422);
    assert_eq!(add(&w, &f8, 5, &s.log_key).0, 409);
    // The fork grown past the honest head: no proof from 8 can hold.
    let mut longer = fork.clone();
    longer.extend(leaves(4, "more"));
    let f12 = tree(&longer);
    let forged_proof = AddCheckpoint {
        old: 8,
        proof: f12.proof(8),
        note: f12.note(&s.log_key),
    };
    assert_eq!(post(&w.url, &forged_proof.to_body()).0, 422);
    // The honest history still extends, and the same head is cosigned again.
    let mut more = honest.clone();
    more.extend(leaves(4, "next"));
    assert_eq!(add(&w, &tree(&more), 8, &s.log_key).0, 200);
    assert_eq!(add(&w, &tree(&more), 12, &s.log_key).0, 200);
}

#[test]
fn a_witness_killed_at_random_moments_never_cosigns_two_roots_for_one_size() {
    let s = setup();
    let honest = leaves(300, "h");
    let fork = leaves(300, "f");
    // Every cosignature the witness gave, by size: one root per size, whatever crashes.
    let mut cosigned: std::collections::BTreeMap<u64, Hash> = Default::default();
    let mut record = |size: u64, root: Hash| {
        let prev = cosigned.insert(size, root);
        assert!(
            prev.is_none_or(|p| p == root),
            "two roots cosigned for size {size}"
        );
    };
    let send = |url: &str, body: String| {
        reqwest::blocking::Client::new()
            .post(format!("{url}/add-checkpoint"))
            .body(body)
            .send()
            .ok()
            .map(|r| (r.status().as_u16(), r.text().unwrap_or_default()))
    };
    let (mut old, mut size) = (0u64, 1usize);
    let mut interrupted = 0;
    for round in 0..8u64 {
        let w = witness_serve(s.dir.path(), &[&s.log_vkey]).unwrap();
        // A killer fires at a varying moment while requests stream in.
        let pid = w.child.0.id();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20 + 29 * round));
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        });
        while size <= honest.len() {
            let t = tree(&honest[..size]);
            let body = AddCheckpoint {
                old,
                proof: t.proof(old),
                note: t.note(&s.log_key),
            }
            .to_body();
            match send(&w.url, body) {
                Some((200, _)) => {
                    record(size as u64, merkle::root(&t, size as u64).unwrap());
                    old = size as u64;
                    size += 1;
                }
                Some((409, latest)) => old = latest.trim().parse().unwrap(),
                Some((status, body)) => panic!("{status}: {body}"),
                None => {
                    interrupted += 1;
                    break;
                }
            }
            // A fork at the size just cosigned, claiming to extend it: never cosigned.
            let f = tree(&fork[..old as usize]);
            let fork_body = AddCheckpoint {
                old,
                proof: Vec::new(),
                note: f.note(&s.log_key),
            }
            .to_body();
            if let Some((200, _)) = send(&w.url, fork_body) {
                record(old, merkle::root(&f, old).unwrap());
            }
        }
        killer.join().unwrap();
        drop(w);
        if size > honest.len() {
            break;
        }
    }
    assert!(
        interrupted >= 3,
        "only {interrupted} kills landed mid-stream"
    );
    // The witness restarts at a head it cosigned, and still refuses the fork there.
    let w = witness_serve(s.dir.path(), &[&s.log_vkey]).unwrap();
    let (status, _, body) = add(&w, &tree(&honest[..1]), 0, &s.log_key);
    assert_eq!(status, 409);
    let latest: u64 = body.trim().parse().unwrap();
    // Either a head it answered, or the one whose answer the kill cut off (durable first).
    assert!(
        cosigned.contains_key(&latest) || latest == size as u64,
        "latest {latest} was never asked for"
    );
    // It is the honest root: the same head is cosigned again, the fork there is refused.
    let at = |t: &[Vec<u8>]| tree(&t[..latest as usize]);
    assert_eq!(add(&w, &at(&honest), latest, &s.log_key).0, 200);
    assert_eq!(add(&w, &at(&fork), latest, &s.log_key).0, 422);
}

#[test]
fn bad_requests_get_clear_errors_and_change_nothing() {
    let s = setup();
    let w = witness_serve(s.dir.path(), &[&s.log_vkey]).unwrap();
    let t3 = tree(&leaves(3, "x"));
    assert_eq!(add(&w, &t3, 0, &s.log_key).0, 200);
    let json = |(status, ct, body): (u16, String, String)| {
        assert!(ct.starts_with("application/json"), "{status} {ct} {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        (status, v["error"].as_str().unwrap().to_owned())
    };
    assert_eq!(json(post(&w.url, "")).0, 400);
    assert_eq!(json(post(&w.url, "old 01\n\nx")).0, 400);
    assert_eq!(json(post(&w.url, "old 3\n!!!\n\nx")).0, 400);
    let t5 = tree(&leaves(5, "x"));
    // Signed by another key: 403. Another origin: 404.
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let forged = AddCheckpoint {
        old: 3,
        proof: t5.proof(3),
        note: t5.note(&stranger),
    };
    assert_eq!(
        json(post(&w.url, &forged.to_body())),
        (403, "not_signed".into())
    );
    let elsewhere = Checkpoint {
        origin: "elsewhere.example/log".into(),
        size: 5,
        root: merkle::root(&t5, 5).unwrap(),
    }
    .sign("elsewhere.example/log", &s.log_key)
    .unwrap();
    let other = AddCheckpoint {
        old: 3,
        proof: t5.proof(3),
        note: elsewhere,
    };
    assert_eq!(
        json(post(&w.url, &other.to_body())),
        (404, "unknown_log".into())
    );
    // old beyond the checkpoint: 400; a bent proof: 422.
    assert_eq!(json(add(&w, &t3, 5, &s.log_key)).0, 400);
    let mut bent = t5.proof(3);
    bent[0][0] ^= 1;
    let bent = AddCheckpoint {
        old: 3,
        proof: bent,
        note: t5.note(&s.log_key),
    };
    assert_eq!(
        json(post(&w.url, &bent.to_body())),
        (422, "bad_proof".into())
    );
    // A body over the limit.
    let huge = "x".repeat(200 * 1024);
    assert_eq!(post(&w.url, &huge).0, 413);
    // Nothing moved: the witness is still at 3.
    assert_eq!(add(&w, &t5, 0, &s.log_key).2, "3\n");
    assert_eq!(add(&w, &t5, 3, &s.log_key).0, 200);
}

#[test]
fn a_state_file_copied_back_from_an_older_version_is_refused_at_start() {
    let s = setup();
    let state = s.dir.path().join("witness.redb");
    let saved: PathBuf = s.dir.path().join("witness.redb.old");
    {
        let w = witness_serve(s.dir.path(), &[&s.log_vkey]).unwrap();
        assert_eq!(add(&w, &tree(&leaves(3, "y")), 0, &s.log_key).0, 200);
        drop(w);
        std::fs::copy(&state, &saved).unwrap();
        let w = witness_serve(s.dir.path(), &[&s.log_vkey]).unwrap();
        assert_eq!(add(&w, &tree(&leaves(6, "y")), 3, &s.log_key).0, 200);
    }
    std::fs::copy(&saved, &state).unwrap();
    let err = match witness_serve(s.dir.path(), &[&s.log_vkey]) {
        Ok(_) => panic!("a rolled-back state was accepted"),
        Err(e) => e,
    };
    assert!(err.contains("copied back"), "{err}");
    // Removing the seal to hide the rollback is refused too.
    std::fs::remove_file(s.dir.path().join("witness.seal")).unwrap();
    let err = match witness_serve(s.dir.path(), &[&s.log_vkey]) {
        Ok(_) => panic!("a state without its seal was accepted"),
        Err(e) => e,
    };
    assert!(err.contains("missing"), "{err}");
}

fn served_checkpoint(url: &str) -> (u16, String) {
    let r = reqwest::blocking::get(format!("{url}/v1/ledger/checkpoint")).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn size_of(note_text: &str) -> u64 {
    note_text.lines().nth(1).unwrap().parse().unwrap()
}

/// A vault whose only witness is down keeps committing; it offers the last checkpoint the
/// witness cosigned, and cosigning resumes when the witness is back.
#[test]
fn a_witness_that_is_down_delays_cosigning_never_writes() {
    use crate::common;
    let wdir = tempfile::tempdir().unwrap();
    let wkey = witness_keygen(wdir.path(), "witness-down.test");
    let vault_key = note::verifier_key(
        "assent.demo",
        &assent::config::VaultKeys::load(&common::repo("keys-example"))
            .unwrap()
            .signing
            .verifying_key()
            .to_bytes(),
    );
    let w = witness_serve(wdir.path(), &[&vault_key]).unwrap();
    let key = assent::ledger::cosignature::WitnessKey::parse(&wkey).unwrap();
    let url = w.url.clone();
    let tv = common::start_with(|c| {
        c.witnesses = assent::config::WitnessSetup {
            endpoints: vec![assent::vault::witnessing::WitnessEndpoint {
                url: url.clone(),
                key: key.clone(),
            }],
            quorum: 1,
            demo: false,
        };
    });
    let policy = WitnessPolicy::parse(&format!("witness {wkey}\nquorum 1\n")).unwrap();
    let (status, cosigned) = served_checkpoint(&tv.url);
    assert_eq!(status, 200, "{cosigned}");
    assert_eq!(policy.check(&cosigned).unwrap().len(), 1);
    let before = size_of(&cosigned);
    drop(w);
    // Writes go on: sign-ups commit while the witness is down.
    for i in 0..3 {
        let (body, _, _) = common::signup_body(&common::handle(&format!("down{i}")));
        common::sign_up_ok(&tv, &body);
    }
    assert!(common::ledger_size(&tv) >= before + 3);
    let (status, offered) = served_checkpoint(&tv.url);
    assert_eq!(status, 200, "{offered}");
    assert!(
        policy.check(&offered).is_ok(),
        "only a cosigned checkpoint is offered"
    );
    assert!(size_of(&offered) < common::ledger_size(&tv));
    // The witness is back (same state): the next checkpoint is cosigned.
    let listen = url.trim_start_matches("http://").to_owned();
    let _w = witness_serve_on(wdir.path(), &[&vault_key], &listen).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, latest) = served_checkpoint(&tv.url);
        if size_of(&latest) >= common::ledger_size(&tv) && policy.check(&latest).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "cosigning did not resume");
        std::thread::sleep(Duration::from_millis(100));
    }
}
