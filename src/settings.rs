//! The server's configuration: defaults < `--config` TOML file < `ASSENT_<SECTION>_<KEY>`
//! environment variables < command-line flags. Unknown keys in the file are an error that names
//! the key. No secret lives here: key material stays in the key directory.

use crate::config::ServeConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: {detail}")]
    File { path: String, detail: String },
    #[error("environment variable {var}: {detail}")]
    Env { var: String, detail: String },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: Server,
    pub storage: Storage,
    pub keys: Keys,
    pub limits: Limits,
    pub log: Log,
    pub receipts: Receipts,
    pub witnesses: Witnesses,
    pub webhooks: Webhooks,
    pub erasure: Erasure,
}

/// Customers' erasure requests to organizations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Erasure {
    /// Days an organization has to answer (GDPR Art. 12(3): one month).
    pub deadline_days: u32,
}

impl Default for Erasure {
    fn default() -> Self {
        Self {
            deadline_days: crate::domain::erasure::DEFAULT_DEADLINE_DAYS,
        }
    }
}

/// Deliveries of organizations' webhooks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webhooks {
    /// Allow endpoints on loopback, private, link-local or reserved addresses, and http://
    /// (tests, private networks). Off: refused at registration and at every delivery.
    pub allow_private_addresses: bool,
    /// Seconds a receiver has to answer an attempt.
    pub timeout_secs: u64,
}

impl Default for Webhooks {
    fn default() -> Self {
        let d = crate::vault::webhooks::WebhookSettings::default();
        Self {
            allow_private_addresses: d.allow_private,
            timeout_secs: d.timeout.as_secs(),
        }
    }
}

/// Witnesses asked to cosign each checkpoint (C2SP tlog-witness).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Witnesses {
    /// `URL VERIFIER-KEY` per witness, separated by commas or newlines.
    pub list: String,
    /// How many of them must cosign before a checkpoint is offered (1..=number listed).
    pub quorum: u32,
    /// Also run a demo witness in this process (key `<keys.dir>/witness.key`, state
    /// `<storage.data_dir>/witness.redb`) and count it; with no other witness the quorum is 1.
    pub demo: bool,
}

impl Witnesses {
    /// The listed witnesses as (URL, verifier key text).
    pub fn entries(&self) -> Result<Vec<(String, String)>, SettingsError> {
        self.list
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.split_once(char::is_whitespace)
                    .map(|(u, k)| (u.trim().to_owned(), k.trim().to_owned()))
                    .ok_or_else(|| {
                        SettingsError::Invalid(format!(
                            "witnesses.list: `{e}` must be `URL VERIFIER-KEY`"
                        ))
                    })
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// API and dashboard address.
    pub listen: String,
    /// The URL clients use; empty = `http://<listen address>`.
    pub public_url: String,
    /// Prometheus `/metrics` address, separate from the API; empty = no metrics listener.
    pub metrics_listen: String,
    /// Dashboard static files.
    pub web_dir: PathBuf,
    pub request_timeout_secs: u64,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_secs: u64,
    /// A request head must arrive within this long (slowloris); also the idle keep-alive time.
    pub header_read_timeout_secs: u64,
    /// Open connections, all clients together.
    pub max_connections: u32,
    /// Open connections per client network (an IPv4 address or an IPv6 /64).
    pub max_connections_per_ip: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// The redb file's directory; with `url`, only private staging files.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://user:password@host:port/db` or a libpq
    /// `key=value` string) shared by every node; empty = the embedded redb file. Pass a
    /// password through `ASSENT_STORAGE_URL` rather than a file.
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Keys {
    /// Directory with vault.key and admin.pub.
    pub dir: PathBuf,
    /// Accept keys marked as demo keys and register the demo organization.
    pub demo: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_envelope_bytes: u64,
    /// Sign-ups, logins, KDF lookups and token requests per client IP per minute.
    pub auth_per_ip_per_minute: u32,
    /// Failed logins / refused assertions per (account, client network), and successful
    /// logins / tokens per account, per minute.
    pub auth_per_account_per_minute: u32,
    /// Access requests per organization per minute.
    pub requests_per_org_per_minute: u32,
    /// Requests one organization may have pending with one customer.
    pub pending_requests_per_customer: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `human` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `assent=debug,tower_http=info`.
    pub level: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Receipts {
    pub jurisdiction: String,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            metrics_listen: "127.0.0.1:9464".into(),
            web_dir: "web".into(),
            request_timeout_secs: 30,
            shutdown_grace_secs: 10,
            header_read_timeout_secs: 10,
            max_connections: 1024,
            max_connections_per_ip: 128,
        }
    }
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            data_dir: "data".into(),
            url: String::new(),
        }
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            dir: "keys-example".into(),
            demo: false,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: 1 << 20,
            auth_per_ip_per_minute: 120,
            auth_per_account_per_minute: 30,
            requests_per_org_per_minute: 60,
            pending_requests_per_customer: 20,
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Self {
            format: "human".into(),
            level: "info".into(),
        }
    }
}

impl Default for Receipts {
    fn default() -> Self {
        Self {
            jurisdiction: "EU".into(),
        }
    }
}

/// `ASSENT_<SECTION>_<KEY>`, e.g. `ASSENT_SERVER_LISTEN`.
pub fn env_name(section: &str, key: &str) -> String {
    format!(
        "ASSENT_{}_{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

impl Settings {
    /// Defaults, then the file (if any), then the environment (`lookup` is `std::env::var` in
    /// production; a parameter so tests need not touch the process environment).
    pub fn load(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let base = match file {
            Some(path) => {
                let err = |detail: String| SettingsError::File {
                    path: path.display().to_string(),
                    detail,
                };
                let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
                toml::from_str::<Settings>(&text).map_err(|e| err(e.to_string()))?
            }
            None => Settings::default(),
        };
        let mut table =
            toml::Table::try_from(&base).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        for (section, values) in table.iter_mut() {
            let Some(values) = values.as_table_mut() else {
                continue;
            };
            for (key, value) in values.iter_mut() {
                let var = env_name(section, key);
                if let Some(raw) = lookup(&var) {
                    *value =
                        typed(value, &raw).map_err(|detail| SettingsError::Env { var, detail })?;
                }
            }
        }
        let settings: Settings = table
            .try_into()
            .map_err(|e: toml::de::Error| SettingsError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |m: String| Err(SettingsError::Invalid(m));
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(format!(
                "server.listen: `{}` is not an address like 127.0.0.1:8080",
                self.server.listen
            ));
        }
        if !self.server.metrics_listen.is_empty()
            && self
                .server
                .metrics_listen
                .parse::<std::net::SocketAddr>()
                .is_err()
        {
            return bad(format!(
                "server.metrics_listen: `{}` is not an address",
                self.server.metrics_listen
            ));
        }
        if !matches!(self.log.format.as_str(), "human" | "json") {
            return bad(format!(
                "log.format: `{}` must be `human` or `json`",
                self.log.format
            ));
        }
        if self.server.header_read_timeout_secs == 0
            || self.server.max_connections == 0
            || self.server.max_connections_per_ip == 0
            || self.limits.requests_per_org_per_minute == 0
            || self.limits.pending_requests_per_customer == 0
        {
            return bad("server.header_read_timeout_secs, server.max_connections, \
                 server.max_connections_per_ip, limits.requests_per_org_per_minute and \
                 limits.pending_requests_per_customer must be positive"
                .into());
        }
        if self.server.request_timeout_secs == 0 || self.limits.max_envelope_bytes == 0 {
            return bad(
                "server.request_timeout_secs and limits.max_envelope_bytes must be positive".into(),
            );
        }
        if !(1..=366).contains(&self.erasure.deadline_days) {
            return bad("erasure.deadline_days must be between 1 and 366".into());
        }
        if !(1..=120).contains(&self.webhooks.timeout_secs) {
            return bad("webhooks.timeout_secs must be between 1 and 120".into());
        }
        let witnesses = self.witnesses.entries()?;
        for (url, key) in &witnesses {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(format!("witnesses.list: `{url}` is not an http(s) URL"));
            }
            if let Err(e) = crate::ledger::cosignature::WitnessKey::parse(key) {
                return bad(format!("witnesses.list: `{key}`: {e}"));
            }
        }
        let quorum = self.witnesses.quorum as usize;
        let count = witnesses.len() + usize::from(self.witnesses.demo);
        let demo_alone = self.witnesses.demo && witnesses.is_empty() && quorum == 0;
        if !demo_alone && (count == 0) != (quorum == 0) || quorum > count {
            return bad(format!(
                "witnesses.quorum must be between 1 and the number of witnesses ({count}), \
                 and 0 without witnesses"
            ));
        }
        if !crate::domain::catalog::is_jurisdiction(&self.receipts.jurisdiction) {
            return bad(format!(
                "receipts.jurisdiction `{}` must be an ISO 3166-1 alpha-2 code (e.g. IE) or EU: \
                 where the vault stores data",
                self.receipts.jurisdiction
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML. It holds no secrets (keys live in `keys.dir`; a
    /// database password in `storage.url` is shown as `***`).
    pub fn to_toml(&self) -> Result<String, SettingsError> {
        let mut shown = self.clone();
        shown.storage.url = redact_password(&shown.storage.url);
        toml::to_string_pretty(&shown).map_err(|e| SettingsError::Invalid(e.to_string()))
    }

    fn witness_setup(&self) -> Result<crate::config::WitnessSetup, SettingsError> {
        let mut endpoints = Vec::new();
        for (url, key) in self.witnesses.entries()? {
            let key = crate::ledger::cosignature::WitnessKey::parse(&key)
                .map_err(|e| SettingsError::Invalid(format!("witnesses.list: {e}")))?;
            endpoints.push(crate::vault::witnessing::WitnessEndpoint { url, key });
        }
        Ok(crate::config::WitnessSetup {
            endpoints,
            quorum: (self.witnesses.quorum as usize).max(usize::from(self.witnesses.demo)),
            demo: self.witnesses.demo,
        })
    }

    pub fn serve_config(&self) -> Result<ServeConfig, SettingsError> {
        let addr = |s: &str, what: &str| {
            s.parse()
                .map_err(|_| SettingsError::Invalid(format!("{what}: `{s}` is not an address")))
        };
        Ok(ServeConfig {
            data_dir: self.storage.data_dir.clone(),
            store_url: Some(self.storage.url.clone()).filter(|u| !u.is_empty()),
            keys_dir: self.keys.dir.clone(),
            listen: addr(&self.server.listen, "server.listen")?,
            public_url: Some(self.server.public_url.clone()).filter(|u| !u.is_empty()),
            demo: self.keys.demo,
            max_envelope_bytes: usize::try_from(self.limits.max_envelope_bytes)
                .unwrap_or(usize::MAX),
            web_dir: self.server.web_dir.clone(),
            jurisdiction: self.receipts.jurisdiction.clone(),
            metrics_listen: if self.server.metrics_listen.is_empty() {
                None
            } else {
                Some(addr(&self.server.metrics_listen, "server.metrics_listen")?)
            },
            request_timeout_secs: self.server.request_timeout_secs,
            shutdown_grace_secs: self.server.shutdown_grace_secs,
            auth_per_ip_per_minute: self.limits.auth_per_ip_per_minute,
            auth_per_account_per_minute: self.limits.auth_per_account_per_minute,
            witnesses: self.witness_setup()?,
            erasure_deadline_days: self.erasure.deadline_days,
            webhooks: crate::vault::webhooks::WebhookSettings {
                allow_private: self.webhooks.allow_private_addresses,
                timeout: std::time::Duration::from_secs(self.webhooks.timeout_secs),
            },
        })
    }
}

/// A database URL with its password replaced by `***`: the `user:password@` of a URL, or the
/// `password=` of a libpq `key=value` string.
pub fn redact_password(url: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let scheme = &url[..url.len() - rest.len()];
        if let Some(at) = rest.find('@')
            && let Some(colon) = rest[..at].find(':')
        {
            return format!("{scheme}{}:***{}", &rest[..colon], &rest[at..]);
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses an environment value as the type of the setting it overrides.
fn typed(current: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    match current {
        toml::Value::Integer(_) => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("`{raw}` is not a whole number")),
        toml::Value::Boolean(_) => match raw.trim() {
            "true" | "1" | "yes" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("`{raw}` is not true or false")),
        },
        _ => Ok(toml::Value::String(raw.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn file_then_env_override_defaults() {
        let f = file("[server]\nlisten = \"0.0.0.0:9000\"\n[keys]\ndemo = true\n");
        let env = |k: &str| (k == "ASSENT_LIMITS_MAX_ENVELOPE_BYTES").then(|| "2048".to_owned());
        let s = Settings::load(Some(f.path()), env).unwrap();
        assert_eq!(s.server.listen, "0.0.0.0:9000");
        assert!(s.keys.demo);
        assert_eq!(s.limits.max_envelope_bytes, 2048);
        assert_eq!(s.log.format, "human");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let f = file("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n");
        let e = Settings::load(Some(f.path()), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lisen"), "{e}");
        let f = file("[sever]\n");
        assert!(
            Settings::load(Some(f.path()), |_| None)
                .unwrap_err()
                .to_string()
                .contains("sever")
        );
        let e = Settings::load(None, |k| (k == "ASSENT_KEYS_DEMO").then(|| "maybe".into()))
            .unwrap_err();
        assert!(e.to_string().contains("ASSENT_KEYS_DEMO"), "{e}");
        let e =
            Settings::load(None, |k| (k == "ASSENT_LOG_FORMAT").then(|| "xml".into())).unwrap_err();
        assert!(e.to_string().contains("log.format"), "{e}");
        let e = Settings::load(None, |k| {
            (k == "ASSENT_RECEIPTS_JURISDICTION").then(|| "Atlantis".into())
        })
        .unwrap_err();
        assert!(e.to_string().contains("receipts.jurisdiction"), "{e}");
    }

    #[test]
    fn the_example_file_is_valid_and_complete() {
        let example =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assent.example.toml");
        let s = Settings::load(Some(&example), |_| None).unwrap();
        let text = std::fs::read_to_string(&example).unwrap();
        for (section, values) in toml::Table::try_from(&s).unwrap() {
            for key in values.as_table().unwrap().keys() {
                assert!(
                    text.contains(&format!("{key} =")),
                    "the example lacks {section}.{key}"
                );
            }
        }
    }

    #[test]
    fn a_database_password_is_never_printed() {
        assert_eq!(
            redact_password("postgres://assent:s3cret@db:5432/assent"),
            "postgres://assent:***@db:5432/assent"
        );
        assert_eq!(
            redact_password("host=db user=assent password=s3cret dbname=assent"),
            "host=db user=assent password=*** dbname=assent"
        );
        assert_eq!(
            redact_password("postgres://db/assent"),
            "postgres://db/assent"
        );
        let s = Settings::load(None, |k| {
            (k == "ASSENT_STORAGE_URL").then(|| "postgres://u:pw@h/d".into())
        })
        .unwrap();
        assert_eq!(
            s.serve_config().unwrap().store_url.as_deref(),
            Some("postgres://u:pw@h/d")
        );
        assert!(!s.to_toml().unwrap().contains("pw@"));
    }
}
