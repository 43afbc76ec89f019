//! Sending webhook messages: Standard Webhooks 1.0 headers, signed with the vault key
//! (`v1a`, Ed25519), over an HTTP client that refuses non-public addresses as resolved (not
//! only as written: a host name can resolve to 127.0.0.1), follows no redirect, uses no proxy
//! and gives each receiver `timeout` to answer. Only a 2xx answer counts as delivered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures_util::future::join_all;

use super::webhooks::{Claimed, WebhookSettings};
use super::{Vault, VaultError};
use crate::domain::webhook::{self as wh, WebhookDelivery};

/// Resolves with the system resolver, then keeps only public addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| wh::is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private, link-local or reserved addresses"
                )
                .into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client every delivery uses.
pub fn http_client(settings: &WebhookSettings) -> Result<reqwest::Client, VaultError> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("Assent-Webhooks/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    b.build()
        .map_err(|e| VaultError::Internal(format!("webhook client: {e}")))
}

/// The three Standard Webhooks headers for `body`, sent at `timestamp` (unix seconds).
pub fn headers(
    vault: &Vault,
    d: &WebhookDelivery,
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    use ed25519_dalek::Signer;
    let content = wh::signed_content(&d.delivery_id, timestamp, body);
    let signature = vault.signer().key.sign(&content).to_bytes();
    [
        ("webhook-id", d.delivery_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            format!(
                "{},{}",
                wh::SIGNATURE_VERSION,
                base64::engine::general_purpose::STANDARD.encode(signature)
            ),
        ),
    ]
}

/// One attempt: Ok on a 2xx answer, else why not.
async fn attempt(vault: &Vault, http: &reqwest::Client, c: &Claimed) -> Result<(), String> {
    // IP literals never reach the resolver: check the URL as written at every attempt too.
    let url =
        wh::check_url(&c.url, vault.webhook_settings().allow_private).map_err(|e| e.to_string())?;
    let body = serde_json::to_vec(&c.delivery.message).map_err(|e| e.to_string())?;
    // The receiver checks the timestamp against its own clock: the system clock, as tokens.
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone());
    for (name, value) in headers(vault, &c.delivery, timestamp, &body) {
        req = req.header(name, value);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!(
            "the receiver answered HTTP {}",
            r.status().as_u16()
        )),
        Err(e) if e.is_timeout() => Err("the receiver did not answer in time".into()),
        Err(e) => Err(format!("cannot reach the receiver: {}", error_chain(&e))),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s.chars().take(300).collect()
}

impl Vault {
    /// One round: schedule what the ledger holds, claim what is due, send it all at once,
    /// settle. Returns how many messages were attempted.
    pub async fn deliver_webhooks(&self, http: &reqwest::Client) -> Result<usize, VaultError> {
        if self.webhooks_idle()? {
            return Ok(0);
        }
        while self.schedule_webhooks().await? > 0 {}
        let claimed = self.claim_webhooks().await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let outcomes = join_all(claimed.iter().map(|c| async move {
            let outcome = attempt(self, http, c).await;
            if let Err(e) = &outcome {
                tracing::info!(id = %c.delivery.delivery_id, attempt = c.delivery.attempts, error = %e, "webhook attempt failed");
            }
            (c.delivery.delivery_id.clone(), c.delivery.attempts, outcome)
        }))
        .await;
        let n = outcomes.len();
        self.settle_webhooks(outcomes).await?;
        Ok(n)
    }
}

/// Rounds start at most this often while the ledger grows (under load the ledger grows with
/// every commit; messages need seconds, not milliseconds).
const MIN_ROUND_GAP: Duration = Duration::from_millis(200);

/// Delivers webhooks until aborted: a round whenever the ledger grows (at most every
/// [`MIN_ROUND_GAP`]), and at least once a second (retries fall due with time).
pub async fn run(vault: Vault) {
    let http = match http_client(vault.webhook_settings()) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "webhooks are not delivered");
            return;
        }
    };
    let mut size = vault.store().writer().ledger_size();
    loop {
        let full = match vault.deliver_webhooks(&http).await {
            Ok(n) => n >= super::webhooks::CLAIM_BATCH,
            Err(e) => {
                tracing::warn!(error = %e, "webhook round failed; retrying");
                false
            }
        };
        if !full {
            tokio::time::sleep(MIN_ROUND_GAP).await;
            let waited = tokio::time::timeout(Duration::from_secs(1), size.changed()).await;
            if matches!(waited, Ok(Err(_))) {
                // The writer is gone (shutting down): no more announcements to wait for.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
