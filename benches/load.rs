//! Load benchmark (`make bench`): the vault against a bare axum server answering a fixed 200-byte
//! JSON body (the HTTP ceiling), both driven by the same load generator (Debian's `wrk`) at 64
//! connections on 127.0.0.1. The vault holds 1,000 customers, 100 organizations and 10,000
//! active grants, seeded through the vault's own use cases. Prints requests/s, p50 and p99 per
//! scenario and as a ratio of the ceiling, where the CPU went during each run, in-process
//! group-commit appends/s, and the server's peak RSS. Nothing here is a test: no figure is
//! asserted.
//!
//! Rows: the ceiling; the ceiling through the round-robin TCP proxy (support/proxy.rs, its own
//! process) to show what the proxy costs; org reads, customer writes and grant + revoke on redb;
//! then org reads and customer writes on PostgreSQL through 1 node and through 3 nodes behind
//! the proxy (every node's public URL is the proxy's). The PostgreSQL rows seed one database
//! the same way as redb and give each scenario a fresh copy of it (`CREATE DATABASE … TEMPLATE`);
//! the server is the one in PGHOST/PGPORT, or a throw-away `pg_virtualenv` cluster
//! (support/postgres.rs); without either the rows are skipped with a note.
//!
//! Environment: `BENCH_SECONDS` (wrk duration, default 10), `BENCH_VAULT_BIN`, `BENCH_PERF=<file>`
//! (perf profile of the redb vault during one scenario; `BENCH_PERF_CALLGRAPH=dwarf` for Rust
//! stacks), `BENCH_STRACE=1` (the writer's pwrite64/fdatasync counts), `BENCH_PROFILE=read|write|grant`
//! (the scenario those two observe; default read),
//! `BENCH_POSTGRES=0` (skip PostgreSQL), `BENCH_PG_FSYNC=off` (the throw-away cluster without fsync), `BENCH_PG_WAITS=1` (per
//! PostgreSQL scenario: pg_stat_activity samples and, in a throw-away cluster, the top
//! statements from pg_stat_statements).

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/proxy.rs"]
mod proxy;
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
use assent::store::Batch;
use assent::vault::consent::{Approval, ApprovalWrap, CustomerRef};
use assent::vault::customers::Signup;
use assent::vault::envelopes::EnvelopeWrite;
use assent::vault::orgs::NewOrg;
use serde_json::json;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const CUSTOMERS: usize = 1_000;
const ORGS: usize = 100;
const GRANTS_PER_CUSTOMER: usize = 10; // 10,000 active grants
/// Requests kept for the grant + revoke scenario (redb only). Each of wrk's two threads works
/// through its own half, and approving one a second time is refused: at ~1,700 approvals/s per
/// thread, 20,000 ran out within a 10 s run (the rest of the run counted refusals as requests).
const PENDING: usize = 60_000;
const WRITERS: usize = 64; // customers whose tokens drive the write scenario
const IDV: &str = "dpv:IdentityVerification";

fn main() {
    if std::env::var_os("BENCH_BARE").is_some() {
        return bare_server();
    }
    if let Ok(spec) = std::env::var("BENCH_PROXY") {
        return proxy::main(&spec);
    }
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vault_bin = std::env::var("BENCH_VAULT_BIN")
        .map_or_else(|_| root.join("target/release/assent"), PathBuf::from);
    let secs = std::env::var("BENCH_SECONDS").unwrap_or_else(|_| "10".into());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let exe = std::env::current_exe().unwrap();

    let t = Instant::now();
    let seed = rt.block_on(seed(&root, &data, None, PENDING));
    println!(
        "redb: seeded {CUSTOMERS} customers, {ORGS} orgs, {} active grants, {PENDING} pending requests in {:.1} s",
        seed.grants.len(),
        t.elapsed().as_secs_f64()
    );
    let appends = rt.block_on(group_commit_appends(&dir.path().join("appends")));

    let (mut vault, url, _) = support::spawn_vault(&vault_bin, &data, &root, VAULT_ENV);
    std::thread::sleep(Duration::from_millis(50));
    let org_tokens = org_tokens(&url, &seed);
    let customer_tokens = customer_tokens(&url, &seed);
    let lua = dir.path();
    write_read_lua(lua, &seed, &org_tokens);
    write_write_lua(lua, &seed, &customer_tokens);
    write_grant_lua(lua, &seed, &customer_tokens);

    let mut rows: Vec<Row> = Vec::new();
    let bare = Server::new(
        Command::new(&exe)
            .env("BENCH_BARE", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    rows.push(run(
        "ceiling: bare axum, 200-byte JSON",
        &format!("{}/", bare.url),
        None,
        &secs,
        &[bare.child.id()],
        None,
        None,
    ));
    // The same bare server three times behind the proxy: what the proxy itself costs.
    let bare_addr = bare.url.trim_start_matches("http://").to_owned();
    let proxied = spawn_proxy(&exe, &[bare_addr.as_str(); 3]);
    rows.push(run(
        "ceiling via proxy (3 × the same bare axum)",
        &format!("{}/", proxied.url),
        None,
        &secs,
        &[bare.child.id()],
        Some(proxied.child.id()),
        None,
    ));
    drop(proxied);
    // The redb scenarios. BENCH_PROFILE=read|write|grant (default read) picks the one that
    // BENCH_PERF and BENCH_STRACE observe.
    let profiled = std::env::var("BENCH_PROFILE").unwrap_or_else(|_| "read".into());
    for (key, name, script) in [
        (
            "read",
            "redb: org envelope read (authorized + logged)",
            "read.lua",
        ),
        (
            "write",
            "redb: customer envelope write (1 KiB)",
            "write.lua",
        ),
        ("grant", "redb: grant + revoke (each request)", "grant.lua"),
    ] {
        let observe = key == profiled;
        let perf = observe.then(|| perf_record(vault.id())).flatten();
        let strace = observe.then(|| strace_writer(vault.id())).flatten();
        rows.push(run(
            name,
            &url,
            Some(&lua.join(script)),
            &secs,
            &[vault.id()],
            None,
            None,
        ));
        if let Some(mut p) = perf {
            let _ = p.wait();
        }
        if let Some(p) = strace {
            // SIGINT ends the trace and prints its summary.
            let _ = Command::new("kill")
                .args(["-INT", &p.id().to_string()])
                .status();
            let out = p.wait_with_output().unwrap();
            println!(
                "writer thread during `{name}` (strace -c -w):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let rss = peak_rss_kib(vault.id());
    let _ = vault.kill();
    let _ = vault.wait();

    // PostgreSQL: one seeded template database, a fresh copy of it for each scenario.
    let pg_note = match postgres::acquire(dir.path()) {
        Ok(pg) => {
            let settings = pg.settings();
            rows.extend(postgres_rows(
                &rt,
                &root,
                &vault_bin,
                &exe,
                &secs,
                dir.path(),
                &pg,
            ));
            format!("PostgreSQL rows: {} ({settings})", pg.origin)
        }
        Err(why) => format!("PostgreSQL rows {why}"),
    };
    drop(bare);

    let ceiling = rows[0].r.rps;
    println!(
        "\n{:<50} {:>8} {:>9} {:>9} {:>7} {:>8}",
        "scenario (wrk -t2 -c64)", "req/s", "p50", "p99", "× ceil", "non-2xx"
    );
    for row in &rows {
        let r = &row.r;
        println!(
            "{:<50} {:>8.0} {:>9} {:>9} {:>7.2} {:>8}",
            row.name,
            r.rps,
            r.p50,
            r.p99,
            r.rps / ceiling,
            r.non2xx
        );
    }
    println!("{pg_note}");
    println!(
        "\nCPU during each run, core-seconds (the machine has {} cores × {secs} s):",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<50} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "", "servers", "postgres", "proxy", "other", "idle", "µs/req", "writer"
    );
    for row in &rows {
        let c = &row.cpu;
        // CPU per request: steadier between runs than req/s on a machine shared with wrk.
        let per_req = |s: f64| s * 1e6 / row.r.requests.max(1) as f64;
        println!(
            "{:<50} {:>8.1} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>9}",
            row.name,
            c.servers,
            c.postgres.map_or("–".into(), |p| format!("{p:.1}")),
            c.proxy,
            c.other,
            c.idle,
            per_req(c.servers),
            c.writer
                .map_or("–".into(), |w| format!("{:.1}", per_req(w)))
        );
    }
    println!(
        "(servers: the vault node(s) or the bare server; other: wrk and everything else; \
         µs/req: the servers' CPU per request; writer: the group-commit thread's CPU per request)"
    );
    println!("\nin-process ledger appends with group commit: {appends:.0} durable appends/s");
    println!(
        "redb vault peak RSS under the load above: {:.1} MiB",
        rss as f64 / 1024.0
    );
    // A refused request is a failure of the run, not a figure: the scenario measured
    // something other than what it names.
    let failed: Vec<_> = rows.iter().filter(|r| r.r.non2xx > 0).collect();
    if !failed.is_empty() {
        for r in failed {
            eprintln!("FAILED: {} answered {} non-2xx", r.name, r.r.non2xx);
        }
        std::process::exit(1);
    }
}

/// BENCH_PERF=<file>: a CPU profile of the vault during the profiled scenario
/// (BENCH_PERF_CALLGRAPH=dwarf for call stacks through Rust frames; default fp).
fn perf_record(pid: u32) -> Option<Child> {
    let out = std::env::var("BENCH_PERF").ok()?;
    let callgraph = std::env::var("BENCH_PERF_CALLGRAPH").unwrap_or_else(|_| "fp".into());
    let pid = pid.to_string();
    let args = [
        "record",
        "-F",
        "499",
        "--call-graph",
        &callgraph,
        "-o",
        &out,
        "-p",
        &pid,
    ];
    Some(
        Command::new("perf")
            .args(args)
            .args(["--", "sleep", "8"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// BENCH_STRACE=1: counts the writer thread's page writes and fdatasyncs during the profiled
/// scenario (strace -c on the `assent-writer` thread).
fn strace_writer(pid: u32) -> Option<Child> {
    if !std::env::var("BENCH_STRACE").is_ok_and(|v| v == "1") {
        return None;
    }
    let tid = writer_tid(pid)?.to_string();
    Some(
        Command::new("strace")
            .args(["-c", "-w", "-e", "trace=pwrite64,fdatasync", "-p", &tid])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// The thread id of the vault's group-commit writer (`assent-writer`).
fn writer_tid(pid: u32) -> Option<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim() == "assent-writer")
        })
        .and_then(|t| t.file_name().to_str()?.parse().ok())
}

/// User + system ticks (USER_HZ = 100 per second) of one thread.
fn thread_ticks(pid: u32, tid: u32) -> u64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else {
        return 0;
    };
    let Some(close) = s.rfind(')') else { return 0 };
    let f: Vec<&str> = s[close + 1..].split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// Environment of every vault process the bench starts.
const VAULT_ENV: &[(&str, &str)] = &[
    ("ASSENT_LOG", "warn"),
    ("ASSENT_LIMITS_AUTH_PER_IP_PER_MINUTE", "1000000"),
    ("ASSENT_LIMITS_AUTH_PER_ACCOUNT_PER_MINUTE", "1000000"),
];

struct Row {
    name: String,
    r: WrkResult,
    cpu: CpuSplit,
}

/// One wrk run, with where the machine's CPU went meanwhile.
fn run(
    name: &str,
    url: &str,
    script: Option<&Path>,
    secs: &str,
    servers: &[u32],
    proxy: Option<u32>,
    postgres: Option<u32>,
) -> Row {
    let writers: Vec<(u32, u32)> = servers
        .iter()
        .filter_map(|&pid| Some((pid, writer_tid(pid)?)))
        .collect();
    let writer_ticks = || -> u64 { writers.iter().map(|&(p, t)| thread_ticks(p, t)).sum() };
    let (before, writer_before) = (CpuSnapshot::now(), writer_ticks());
    let r = wrk(url, script, secs);
    let mut cpu = before.split(&CpuSnapshot::now(), servers, proxy, postgres);
    if !writers.is_empty() {
        cpu.writer = Some(writer_ticks().saturating_sub(writer_before) as f64 / 100.0);
    }
    Row {
        name: name.to_owned(),
        r,
        cpu,
    }
}

fn spawn_proxy(exe: &Path, backends: &[&str]) -> Server {
    Server::new(
        Command::new(exe)
            .env("BENCH_PROXY", backends.join(","))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn org_tokens(url: &str, seed: &Seeded) -> Vec<String> {
    seed.orgs
        .iter()
        .map(|(id, key)| org_token(url, id, key))
        .collect()
}

fn customer_tokens(url: &str, seed: &Seeded) -> Vec<String> {
    seed.customers
        .iter()
        .take(WRITERS)
        .map(|c| customer_token(url, c))
        .collect()
}

/// The PostgreSQL rows: org reads and customer writes through 1 node and through 3 nodes behind
/// the round-robin proxy, each on a fresh copy of one seeded database.
fn postgres_rows(
    rt: &tokio::runtime::Runtime,
    root: &Path,
    vault_bin: &Path,
    exe: &Path,
    secs: &str,
    scratch: &Path,
    pg: &postgres::Postgres,
) -> Vec<Row> {
    // Named after this process, so two benches on one server never share a database.
    let template = format!("assent_bench_{}_seed", std::process::id());
    let postmaster = pg.postmaster_pid();
    pg.create(&template, None);
    let t = Instant::now();
    // No grant + revoke scenario here, so no pending requests for it.
    let seed = rt.block_on(seed(
        root,
        &scratch.join("pg_seed"),
        Some(pg.url(&template)),
        0,
    ));
    println!(
        "postgres: seeded the same customers, orgs and grants (no pending requests) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut rows = Vec::new();
    for (nodes, write) in [(1, false), (1, true), (3, false), (3, true)] {
        let db = format!(
            "assent_bench_{}_{nodes}_{}",
            std::process::id(),
            if write { "write" } else { "read" }
        );
        pg.create(&db, Some(&template));
        let dir = scratch.join(&db);
        std::fs::create_dir_all(&dir).unwrap();
        let cluster = Nodes::start(vault_bin, root, exe, &dir, &pg.url(&db), nodes);
        let (name, script) = if write {
            write_write_lua(&dir, &seed, &customer_tokens(&cluster.url, &seed));
            ("customer envelope write (1 KiB)", dir.join("write.lua"))
        } else {
            write_read_lua(&dir, &seed, &org_tokens(&cluster.url, &seed));
            (
                "org envelope read (authorized + logged)",
                dir.join("read.lua"),
            )
        };
        let waits = postgres::diagnostics().then(|| WaitSampler::start(pg, &db));
        let row = run(
            &format!("pg×{nodes}: {name}"),
            &cluster.url,
            Some(&script),
            secs,
            &cluster.pids(),
            cluster.proxy.as_ref().map(|p| p.child.id()),
            postmaster,
        );
        if let Some(w) = waits {
            let secs: f64 = secs.parse().unwrap_or(10.0);
            w.report(&row.name, pg, &db, row.r.rps * secs);
        }
        rows.push(row);
        drop(cluster);
        pg.drop_db(&db);
    }
    pg.drop_db(&template);
    rows
}

/// `n` `assent serve` processes on one PostgreSQL database; with more than one, the round-robin
/// proxy in front, and every node's public URL (the tokens' issuer) is the proxy's.
struct Nodes {
    children: Vec<Child>,
    proxy: Option<Server>,
    url: String,
}

impl Nodes {
    fn start(bin: &Path, root: &Path, exe: &Path, dir: &Path, store: &str, n: usize) -> Self {
        // Ports picked up front so the proxy (and the public URL) can name them.
        let holds: Vec<_> = (0..n)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let addrs: Vec<String> = holds
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect();
        drop(holds);
        let proxy = (n > 1).then(|| {
            let a: Vec<&str> = addrs.iter().map(String::as_str).collect();
            spawn_proxy(exe, &a)
        });
        // Filled as the nodes come up, so a start-up failure still stops the ones already running.
        let mut nodes = Self {
            children: Vec::new(),
            proxy,
            url: String::new(),
        };
        // One after another: each has finished its start-up work on the database before the next.
        for (i, addr) in addrs.iter().enumerate() {
            let data = dir.join(format!("node{i}"));
            std::fs::create_dir_all(&data).unwrap();
            let mut args: Vec<&OsStr> = ["--store", store, "--listen", addr, "--data"]
                .into_iter()
                .map(OsStr::new)
                .collect();
            args.push(data.as_os_str());
            if let Some(p) = &nodes.proxy {
                args.extend([OsStr::new("--public-url"), OsStr::new(&p.url)]);
            }
            let (child, u, _) = support::spawn_vault_with(
                bin,
                root,
                &dir.join(format!("node{i}.addr")),
                &args,
                VAULT_ENV,
            );
            nodes.children.push(child);
            nodes.url = u;
        }
        std::thread::sleep(Duration::from_millis(50));
        nodes
    }

    fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Cumulative CPU ticks (USER_HZ = 100 per second) of the machine and of every process.
struct CpuSnapshot {
    busy: u64,
    idle: u64,
    /// pid → (parent pid, user + system ticks)
    procs: std::collections::HashMap<u32, (u32, u64)>,
}

#[derive(Default)]
struct CpuSplit {
    servers: f64,
    /// `None`: no PostgreSQL server in this run (or not one on this machine).
    postgres: Option<f64>,
    proxy: f64,
    other: f64,
    idle: f64,
    /// The group-commit writer thread(s) of the servers (`None` for the bare server).
    writer: Option<f64>,
}

impl CpuSnapshot {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …
        let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
        let busy = ticks.iter().take(8).sum::<u64>() - idle;
        let mut procs = std::collections::HashMap::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(s) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid … utime(14) stime(15): fields counted after the ")".
            let Some(close) = s.rfind(')') else {
                continue;
            };
            let f: Vec<&str> = s[close + 1..].split_whitespace().collect();
            let ppid = f.get(1).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
            let t = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            procs.insert(pid, (ppid, t));
        }
        Self { busy, idle, procs }
    }

    /// Core-seconds from `self` to `after`: the given servers and proxy, the PostgreSQL server
    /// (the postmaster `postgres` and its children), the rest of the busy time, idle time.
    fn split(
        &self,
        after: &Self,
        servers: &[u32],
        proxy: Option<u32>,
        postgres: Option<u32>,
    ) -> CpuSplit {
        let hz = 100.0;
        let delta = |pid: &u32, t: u64| {
            t.saturating_sub(self.procs.get(pid).map_or(0, |(_, b)| *b)) as f64 / hz
        };
        let mut c = CpuSplit::default();
        let mut pg = 0.0;
        for (pid, (ppid, t)) in &after.procs {
            if servers.contains(pid) {
                c.servers += delta(pid, *t);
            } else if Some(*pid) == proxy {
                c.proxy += delta(pid, *t);
            } else if postgres.is_some_and(|p| p == *pid || p == *ppid) {
                pg += delta(pid, *t);
            }
        }
        c.postgres = postgres.map(|_| pg);
        let busy = after.busy.saturating_sub(self.busy) as f64 / hz;
        c.other = (busy - c.servers - c.proxy - pg).max(0.0);
        c.idle = after.idle.saturating_sub(self.idle) as f64 / hz;
        c
    }
}

/// `BENCH_PG_WAITS=1`: samples `pg_stat_activity` of the scenario's database five times a
/// second during the run and prints what its backends were doing (state and wait event).
struct WaitSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(usize, std::collections::BTreeMap<String, usize>)>,
}

impl WaitSampler {
    fn start(pg: &postgres::Postgres, db: &str) -> Self {
        // Statement statistics, when the cluster loads pg_stat_statements (one the bench started).
        let _ = pg.psql(
            "postgres",
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()",
        );
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, query) = (
            stop.clone(),
            format!(
                "SELECT state || ' ' || coalesce(wait_event_type || ':' || wait_event, 'on CPU') \
                 FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
            ),
        );
        let pg = pg.clone_conn();
        let thread = std::thread::spawn(move || {
            let mut counts = std::collections::BTreeMap::new();
            let mut samples = 0;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(out) = pg.psql("postgres", &query) {
                    samples += 1;
                    for l in out.lines().filter(|l| !l.is_empty()) {
                        *counts.entry(l.to_owned()).or_insert(0) += 1;
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            (samples, counts)
        });
        Self { stop, thread }
    }

    fn report(self, name: &str, pg: &postgres::Postgres, db: &str, requests: f64) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (samples, counts) = self.thread.join().unwrap();
        let top = pg.psql(
            "postgres",
            &format!(
                "SELECT calls || '|' || round(total_exec_time::numeric, 0) || '|' || \
                 round(mean_exec_time::numeric, 3) || '|' || rows || '|' || \
                 regexp_replace(left(query, 90), '\\s+', ' ', 'g') \
                 FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
                 WHERE d.datname = '{db}' ORDER BY total_exec_time DESC LIMIT 15"
            ),
        );
        if let Ok(top) = top.as_deref()
            && !top.is_empty()
        {
            println!(
                "{name}: statements by server time ({requests:.0} requests answered):\n  \
                 {:>8} {:>7} {:>8} {:>8}  statement",
                "calls/req", "ms", "mean ms", "rows"
            );
            for l in top.lines() {
                let f: Vec<&str> = l.splitn(5, '|').collect();
                if let [calls, total, mean, rows, q] = f[..] {
                    let per = calls.parse::<f64>().unwrap_or(0.0) / requests.max(1.0);
                    println!("  {per:>9.2} {total:>7} {mean:>8} {rows:>8}  {q}");
                }
            }
        }
        let mut v: Vec<_> = counts.into_iter().collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.1));
        println!("{name}: pg_stat_activity over {samples} samples, backends per sample:");
        for (what, n) in v.iter().take(12) {
            println!("  {:>6.1}  {what}", *n as f64 / samples.max(1) as f64);
        }
    }
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
/// `pending`: requests left unanswered for the grant + revoke scenario.
async fn seed(root: &Path, data: &Path, store: Option<String>, pending: usize) -> Seeded {
    let config = ServeConfig {
        data_dir: data.to_owned(),
        store_url: store,
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
        witnesses: Default::default(),
        erasure_deadline_days: 30,
        webhooks: Default::default(),
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

    // Requests: 10 granted per customer, plus `pending` left for the grant + revoke scenario.
    let purpose = Purpose::parse(IDV).unwrap();
    let mut tasks = Vec::new();
    let mut wanted = Vec::new();
    for ci in 0..CUSTOMERS {
        for k in 0..GRANTS_PER_CUSTOMER {
            wanted.push(((ci * 7 + k) % ORGS, ci));
        }
    }
    for p in 0..pending {
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
                    .act(move |tx: &mut dyn Batch| {
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
    /// Requests completed in the run (wrk's "N requests in …").
    requests: u64,
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
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    WrkResult {
        rps,
        requests,
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
