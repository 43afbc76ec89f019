//! Test-side PostgreSQL helpers. The PostgreSQL suites run only when `ASSENT_TEST_POSTGRES=1`
//! and `PGHOST` name a cluster the tests may create databases on (`scripts/with-postgres.sh`
//! starts a throw-away one with `pg_virtualenv` and sets both); otherwise they skip. Databases are
//! made with the `psql` client the cluster comes with, authenticated by the `PG*` variables
//! (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`), and handed to the vault as URLs
//! (`postgres://user:pass@host:port/dbname`) with those credentials in them.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether the PostgreSQL suites should run: `ASSENT_TEST_POSTGRES=1` and `PGHOST` set.
pub fn available() -> bool {
    std::env::var("ASSENT_TEST_POSTGRES").is_ok_and(|v| v.trim() == "1")
        && std::env::var("PGHOST").is_ok_and(|h| !h.trim().is_empty())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The database `psql` connects to for administration (`PGDATABASE`, else `postgres`).
fn maintenance_database() -> String {
    var("PGDATABASE").unwrap_or_else(|| "postgres".into())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for user, password, host
/// and query values).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URL of database `db` on the cluster the `PG*` variables name. A Unix socket directory
/// (`PGHOST=/run/postgresql`) gives a libpq `key=value` string instead, which names it plainly.
pub fn url_for(db: &str) -> String {
    let host = var("PGHOST").unwrap_or_else(|| "localhost".into());
    let port = var("PGPORT").unwrap_or_else(|| "5432".into());
    let user = var("PGUSER").unwrap_or_else(|| "postgres".into());
    let password = var("PGPASSWORD");
    if host.starts_with('/') {
        let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut s = format!(
            "host={} port={} user={} dbname={}",
            quote(&host),
            quote(&port),
            quote(&user),
            quote(db)
        );
        if let Some(p) = password {
            s.push_str(&format!(" password={}", quote(&p)));
        }
        return s;
    }
    let userinfo = match password {
        Some(p) => format!("{}:{}", encode(&user), encode(&p)),
        None => encode(&user),
    };
    format!("postgres://{userinfo}@{host}:{port}/{}", encode(db))
}

/// The cluster's URL, naming its maintenance database (`PGDATABASE`, else `postgres`).
pub fn base_url() -> String {
    url_for(&maintenance_database())
}

/// Runs one SQL statement with `psql` on the maintenance database.
fn psql(sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(maintenance_database())
        .args(["-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

/// Creates a fresh, empty database (`assent_t<pid>_<n>`) on the cluster and returns its URL.
/// Panics (naming `psql`'s error) if it cannot.
pub fn scratch_database() -> String {
    let pid = std::process::id();
    loop {
        let name = format!(
            "assent_t{pid}_{}",
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        match psql(&format!("CREATE DATABASE {name}")) {
            Ok(()) => return url_for(&name),
            // Left over by an earlier run with the same process id on a cluster that outlived
            // it: take the next name.
            Err(e) if e.contains("already exists") => continue,
            Err(e) => panic!("cannot create the scratch database {name}: {e}"),
        }
    }
}

/// The database a URL (or `key=value` string) from [`url_for`] names.
pub fn database_name(url: &str) -> Option<&str> {
    if url.starts_with("postgres") {
        url.rsplit('/').next()?.split('?').next()
    } else {
        url.split_whitespace()
            .find_map(|kv| kv.strip_prefix("dbname="))
            .map(|v| v.trim_matches('\''))
    }
}

/// Drops a database [`scratch_database`] made (best effort: connections still open to it are
/// ended). For tests that leave a long-lived cluster tidy when they pass.
pub fn drop_database(url: &str) {
    let Some(name) = database_name(url).filter(|n| {
        n.starts_with("assent_t") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }) else {
        return;
    };
    if let Err(e) = psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
        eprintln!("could not drop the scratch database {name}: {e}");
    }
}
