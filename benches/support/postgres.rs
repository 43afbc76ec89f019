//! The PostgreSQL server of the load benchmark's PostgreSQL rows, and `psql` for what the bench
//! asks of it directly (creating and dropping databases, showing settings).
//!
//! Where the server comes from, in order:
//! - `BENCH_POSTGRES=0`: nowhere, the rows are skipped;
//! - `PGHOST` or `PGPORT` set (e.g. the bench already runs inside `pg_virtualenv`): that server,
//!   reached with the usual libpq variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`);
//! - otherwise a throw-away cluster from `pg_virtualenv -t` (Debian's `postgresql-common`), kept
//!   alive by a holder process for as long as the returned [`Postgres`] lives. It is created with
//!   `fsync=on` (pg_virtualenv turns fsync off by default; the redb rows are durable commits, so
//!   the PostgreSQL rows must be too); `BENCH_PG_FSYNC=off` measures without.
//!
//! Every database the bench creates is named `assent_bench_*` and dropped when done.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Postgres {
    host: String,
    port: String,
    user: String,
    password: String,
    /// The `pg_virtualenv` holder, when this bench started the cluster.
    holder: Option<(Child, PathBuf)>,
    /// What the rows ran against, for the report.
    pub origin: String,
}

/// Finds or starts a server; `Err` says why the PostgreSQL rows are skipped.
pub fn acquire(scratch: &Path) -> Result<Postgres, String> {
    if std::env::var("BENCH_POSTGRES").is_ok_and(|v| v == "0") {
        return Err("skipped: BENCH_POSTGRES=0".into());
    }
    if std::env::var_os("PGHOST").is_some() || std::env::var_os("PGPORT").is_some() {
        let pg = Postgres {
            host: env_or("PGHOST", "localhost"),
            port: env_or("PGPORT", "5432"),
            user: env_or("PGUSER", "postgres"),
            password: env_or("PGPASSWORD", ""),
            holder: None,
            origin: "the server named by PGHOST/PGPORT".into(),
        };
        pg.psql("postgres", "SELECT 1")
            .map_err(|e| format!("skipped: PGHOST/PGPORT are set but psql fails: {e}"))?;
        return Ok(pg);
    }
    if !on_path("pg_virtualenv") || !on_path("psql") {
        return Err(
            "skipped: no PostgreSQL (pg_virtualenv and psql not found; Debian: \
                    apt-get install -y postgresql), and no PGHOST/PGPORT set"
                .into(),
        );
    }
    start_virtualenv(scratch)
}

fn start_virtualenv(scratch: &Path) -> Result<Postgres, String> {
    let env_file = scratch.join("pg.env");
    let keep = scratch.join("pg.keep");
    std::fs::write(&keep, b"").unwrap();
    let fsync = std::env::var("BENCH_PG_FSYNC").unwrap_or_else(|_| "on".into());
    // The holder writes the cluster's connection variables, then waits until the bench removes
    // `keep` (or is gone); pg_virtualenv drops the cluster when it returns.
    let script = format!(
        "printf '%s\\n' \"$PGHOST\" \"$PGPORT\" \"$PGUSER\" \"$PGPASSWORD\" > '{env}.tmp' && \
         mv '{env}.tmp' '{env}' && \
         while [ -e '{keep}' ] && kill -0 {pid} 2>/dev/null; do sleep 0.2; done",
        env = env_file.display(),
        keep = keep.display(),
        pid = std::process::id(),
    );
    let mut cmd = Command::new("pg_virtualenv");
    cmd.args(["-t", "-o"])
        .arg(format!("fsync={fsync}"))
        .args(["-o", "max_connections=400"]);
    if diagnostics() {
        cmd.args(["-o", "shared_preload_libraries=pg_stat_statements"]);
    }
    let mut child = cmd
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("skipped: could not run pg_virtualenv: {e}"))?;
    let start = Instant::now();
    while !env_file.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "skipped: pg_virtualenv exited ({status}) before its cluster was up"
            ));
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("skipped: pg_virtualenv did not start a cluster within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&env_file).unwrap();
    let mut v = text.lines().map(str::to_owned);
    let mut next = |default: &str| {
        v.next()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let pg = Postgres {
        host: next("localhost"),
        port: next("5432"),
        user: next("postgres"),
        password: next(""),
        holder: Some((child, keep)),
        origin: "a throw-away pg_virtualenv cluster".into(),
    };
    pg.psql("postgres", "SELECT 1")
        .map_err(|e| format!("skipped: the pg_virtualenv cluster does not answer: {e}"))?;
    Ok(pg)
}

/// `BENCH_PG_WAITS=1`: the bench reports what the PostgreSQL backends waited on and (in a
/// cluster it started) which statements took the time.
pub fn diagnostics() -> bool {
    std::env::var_os("BENCH_PG_WAITS").is_some_and(|v| v != "0")
}

fn env_or(k: &str, default: &str) -> String {
    std::env::var(k)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

impl Postgres {
    /// The same server for another thread (the copy never stops the cluster).
    pub fn clone_conn(&self) -> Self {
        Self {
            host: self.host.clone(),
            port: self.port.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            holder: None,
            origin: self.origin.clone(),
        }
    }

    /// The `--store` value for database `db`: a URL, or libpq key=value conninfo when the host
    /// is a Unix socket directory.
    pub fn url(&self, db: &str) -> String {
        if self.host.starts_with('/') {
            let mut s = format!(
                "host={} port={} user={} dbname={db}",
                self.host, self.port, self.user
            );
            if !self.password.is_empty() {
                s.push_str(&format!(" password={}", self.password));
            }
            return s;
        }
        let auth = if self.password.is_empty() {
            pct(&self.user)
        } else {
            format!("{}:{}", pct(&self.user), pct(&self.password))
        };
        format!("postgres://{auth}@{}:{}/{db}", self.host, self.port)
    }

    /// Runs `sql` with psql on database `db`; returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ])
            .env("PGHOST", &self.host)
            .env("PGPORT", &self.port)
            .env("PGUSER", &self.user)
            .env("PGPASSWORD", &self.password)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// A new empty database (dropped first if a previous run left it).
    pub fn create(&self, db: &str, template: Option<&str>) {
        self.drop_db(db);
        let sql = match template {
            Some(t) => {
                // A template must have no other connections.
                self.disconnect(t);
                format!("CREATE DATABASE {db} TEMPLATE {t} STRATEGY FILE_COPY")
            }
            None => format!("CREATE DATABASE {db}"),
        };
        self.psql("postgres", &sql).unwrap();
    }

    pub fn drop_db(&self, db: &str) {
        self.disconnect(db);
        self.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        )
        .unwrap();
    }

    fn disconnect(&self, db: &str) {
        let _ = self.psql(
            "postgres",
            &format!(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                 WHERE datname = '{db}' AND pid <> pg_backend_pid()"
            ),
        );
    }

    /// The postmaster's process id, when the server runs on this machine (its data directory's
    /// `postmaster.pid` is readable): its children are the server's processes.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let dir = self.psql("postgres", "SHOW data_directory").ok()?;
        let text = std::fs::read_to_string(Path::new(&dir).join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The settings that decide what a commit costs, for the report.
    pub fn settings(&self) -> String {
        self.psql(
            "postgres",
            "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name) \
             FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', \
             'wal_sync_method', 'max_connections', 'server_version')",
        )
        .unwrap_or_else(|e| e)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some((mut child, keep)) = self.holder.take() {
            let _ = std::fs::remove_file(keep);
            // pg_virtualenv stops and drops its cluster once the holder returns.
            let _ = child.wait();
        }
    }
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
