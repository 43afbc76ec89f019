//! Webhooks in the Standard Webhooks 1.0 format with its asymmetric scheme (`v1a`: Ed25519 by
//! the vault key over `webhook-id.webhook-timestamp.body`): what an organization subscribes
//! to, what a message says (ids and kinds, never data), when a failed delivery is retried and
//! which addresses a delivery may go to. Pure: time is a parameter, nothing here resolves or
//! connects.

use super::DomainError;
use super::catalog::Label;
use super::ids::{CustomerId, DeliveryId, GrantId, OrgId, RequestId, WebhookId};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Endpoints an organization may register.
pub const MAX_ENDPOINTS: usize = 8;
/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Messages waiting for delivery per organization; an act beyond it is recorded as a dead
/// letter (`queue_full`) at once, so the organization sees what it missed.
pub const QUEUE_CAP: u64 = 10_000;
/// Dead letters kept per organization (the oldest go first).
pub const DEAD_CAP: u64 = 1_000;
/// Seconds to wait after failed attempt 1, 2, …: the schedule Standard Webhooks gives as its
/// example (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h; ~3 days in all). After the
/// last, the message is a dead letter.
pub const RETRY_SCHEDULE: [i64; 9] = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];
/// Attempts a message gets before it is a dead letter.
pub const MAX_ATTEMPTS: u32 = RETRY_SCHEDULE.len() as u32 + 1;
/// A receiver checks `webhook-timestamp` within this many seconds of its clock (the Standard
/// Webhooks reference libraries' tolerance).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;
/// The Standard Webhooks scheme id. Its signed content (`msg_…` id, `.`, digits, `.`, a compact
/// JSON message) never holds a newline, while every other statement the vault key signs does
/// (signed notes are lines; receipts and documents start with `assent/…\n`), so one can never
/// pass for another.
pub const SIGNATURE_VERSION: &str = "v1a";

/// What an endpoint can be told. Names follow Standard Webhooks (`full-stop delimited`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum WebhookKind {
    /// The customer approved a request: a grant exists.
    #[serde(rename = "request.approved")]
    RequestApproved,
    #[serde(rename = "request.declined")]
    RequestDeclined,
    #[serde(rename = "grant.revoked")]
    GrantRevoked,
    /// A grant reached its `not_after` without being revoked.
    #[serde(rename = "grant.expired")]
    GrantExpired,
    /// An envelope the organization may read under an active grant has a new version.
    #[serde(rename = "envelope.updated")]
    EnvelopeUpdated,
    /// The customer asks the organization to erase what it read under a grant, by `due`.
    #[serde(rename = "erasure.requested")]
    ErasureRequested,
}

impl WebhookKind {
    pub const ALL: [Self; 6] = [
        Self::RequestApproved,
        Self::RequestDeclined,
        Self::GrantRevoked,
        Self::GrantExpired,
        Self::EnvelopeUpdated,
        Self::ErasureRequested,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestApproved => "request.approved",
            Self::RequestDeclined => "request.declined",
            Self::GrantRevoked => "grant.revoked",
            Self::GrantExpired => "grant.expired",
            Self::EnvelopeUpdated => "envelope.updated",
            Self::ErasureRequested => "erasure.requested",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "bad_kind",
                    format!(
                        "`{}` is not a webhook kind (one of {})",
                        s.chars().take(40).collect::<String>(),
                        Self::ALL.map(Self::as_str).join(", ")
                    ),
                )
            })
    }

    /// Two letters in the message id, so one event's messages of two kinds differ.
    fn code(self) -> &'static str {
        match self {
            Self::RequestApproved => "ra",
            Self::RequestDeclined => "rd",
            Self::GrantRevoked => "gr",
            Self::GrantExpired => "ge",
            Self::EnvelopeUpdated => "eu",
            Self::ErasureRequested => "er",
        }
    }
}

impl std::fmt::Display for WebhookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered endpoint. It hears of acts at ledger index `from_index` and later (the size
/// of the ledger when it was registered): registering never replays history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub webhook_id: WebhookId,
    pub url: String,
    pub kinds: Vec<WebhookKind>,
    pub created_at: Timestamp,
    pub from_index: u64,
}

impl WebhookEndpoint {
    pub fn wants(&self, kind: WebhookKind, index: u64) -> bool {
        index >= self.from_index && self.kinds.contains(&kind)
    }
}

/// Checks a list of kinds: at least one, no repeats; returned sorted.
pub fn check_kinds(mut kinds: Vec<WebhookKind>) -> Result<Vec<WebhookKind>, DomainError> {
    kinds.sort();
    let before = kinds.len();
    kinds.dedup();
    if kinds.is_empty() || kinds.len() != before {
        return Err(DomainError::invalid(
            "bad_kinds",
            "name each webhook kind once, at least one",
        ));
    }
    Ok(kinds)
}

/// What a message says: ids, kinds and the ledger entry to check it against; never data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookData {
    #[schema(value_type = String)]
    pub customer_id: CustomerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub request_id: Option<RequestId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub grant_id: Option<GrantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub label: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// When an answer to an erasure request is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub due: Option<Timestamp>,
    /// The ledger entry of the act (absent for `grant.expired`, which no act makes). For
    /// the organization's own events (approval, decline, revocation) it is in the
    /// organization's verified ledger listing; `envelope.updated` names the customer's
    /// `envelope_written` or `key_rotated` entry, which only the customer can open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
}

impl WebhookData {
    /// About `customer_id`, logged at `ledger_index`; the other ids are added by kind.
    pub fn about(customer_id: CustomerId, ledger_index: Option<u64>) -> Self {
        Self {
            customer_id,
            request_id: None,
            grant_id: None,
            label: None,
            version: None,
            due: None,
            ledger_index,
        }
    }
}

/// The body of a delivery (Standard Webhooks: `type`, `timestamp`, `data`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookMessage {
    #[serde(rename = "type")]
    pub kind: WebhookKind,
    /// When the act happened (for `grant.expired`, the grant's `not_after`).
    #[schema(value_type = String)]
    pub timestamp: Timestamp,
    pub data: WebhookData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (at `next_attempt_at`).
    Pending,
    /// Waiting for its time (a `grant.expired` message until the grant's `not_after`); not
    /// counted in the queue cap, since there is at most one per grant and endpoint.
    Scheduled,
    /// Given up (every attempt failed, or the queue was full): the organization can ask for
    /// it again.
    Dead,
}

/// One message to one endpoint, and how its delivery is going.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub delivery_id: DeliveryId,
    pub org_id: OrgId,
    pub webhook_id: WebhookId,
    pub message: WebhookMessage,
    pub state: DeliveryState,
    /// Attempts made (claimed) so far.
    pub attempts: u32,
    /// When it may be attempted next (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Timestamp>,
    /// Why the last attempt failed (none while an attempt is under way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl WebhookDelivery {
    /// A new message for `endpoint`, first attempted at `due`.
    pub fn new(
        org_id: OrgId,
        endpoint: &WebhookEndpoint,
        index: u64,
        message: WebhookMessage,
        due: Timestamp,
    ) -> Self {
        Self {
            delivery_id: DeliveryId::for_event(index, message.kind.code(), &endpoint.webhook_id),
            org_id,
            webhook_id: endpoint.webhook_id.clone(),
            message,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: Some(due),
            last_attempt_at: None,
            last_error: None,
        }
    }

    /// When a pending message is due (unix seconds); `None` for a dead letter.
    pub fn due(&self) -> Option<i64> {
        match self.state {
            DeliveryState::Pending | DeliveryState::Scheduled => {
                self.next_attempt_at.map(Timestamp::unix)
            }
            DeliveryState::Dead => None,
        }
    }

    /// Records a failed attempt made at `now`: due again after the schedule's delay, or dead.
    pub fn failed(&mut self, now: Timestamp, error: String) {
        self.last_attempt_at = Some(now);
        self.last_error = Some(error);
        match retry_delay(self.attempts) {
            Some(delay) => self.next_attempt_at = Some(now.plus(delay)),
            None => self.kill(),
        }
    }

    pub fn kill(&mut self) {
        self.state = DeliveryState::Dead;
        self.next_attempt_at = None;
    }
}

/// The wait after `attempts` failed attempts, or `None` when the message is a dead letter.
pub fn retry_delay(attempts: u32) -> Option<i64> {
    let i = usize::try_from(attempts.checked_sub(1)?).ok()?;
    RETRY_SCHEDULE.get(i).copied()
}

/// The bytes a `v1a` signature covers: `id.timestamp.body`.
pub fn signed_content(id: &DeliveryId, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(id.as_str().len() + 24 + body.len());
    out.extend_from_slice(id.as_str().as_bytes());
    out.push(b'.');
    out.extend_from_slice(timestamp.to_string().as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

/// Checks an endpoint URL: `https` (plain `http` only where private addresses are allowed, for
/// tests and private networks), a host, no credentials or fragment, at most
/// [`MAX_URL_LEN`] bytes; an IP literal must be public unless `allow_private`. Host names are
/// checked again, as resolved, at every delivery (DNS can change).
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, DomainError> {
    let bad = |m: &str| DomainError::invalid("bad_webhook_url", m.to_owned());
    if raw.len() > MAX_URL_LEN {
        return Err(bad("the URL is longer than 2048 bytes"));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(bad("a webhook URL is https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("a webhook URL carries no user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("a webhook URL has no #fragment"));
    }
    let ip = match url.host() {
        None => return Err(bad("a webhook URL names a host")),
        Some(url::Host::Domain(d)) => {
            if !allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                return Err(bad("the host is this machine"));
            }
            None
        }
        Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
    };
    if let Some(ip) = ip
        && !allow_private
        && !is_public(ip)
    {
        return Err(bad(
            "the address is loopback, private, link-local or reserved",
        ));
    }
    Ok(url)
}

/// Whether a delivery may connect to `ip` when private addresses are not allowed: not
/// loopback, private (RFC 1918, RFC 4193), link-local (incl. cloud metadata 169.254.169.254),
/// shared (RFC 6598), unspecified, multicast, broadcast, documentation, benchmarking or
/// reserved; an IPv4-mapped or NAT64 IPv6 address is judged as its IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(a) => {
            let [b0, b1, b2, _] = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_documentation()
                || b0 == 0
                || b0 >= 240
                || (b0 == 100 && (64..128).contains(&b1))
                || (b0 == 192 && b1 == 0 && b2 == 0)
                || (b0 == 198 && (18..20).contains(&b1)))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
            if nat64 {
                let [x, y] = s[6].to_be_bytes();
                let [z, w] = s[7].to_be_bytes();
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(x, y, z, w)));
            }
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_unique_local()
                || a.is_unicast_link_local()
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || s[0] & 0xffc0 == 0xfec0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_judged_as_an_attacker_would_use_them() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_https_to_a_public_host_unless_private_is_allowed() {
        assert!(check_url("https://hooks.bank.example/assent", false).is_ok());
        for bad in [
            "http://hooks.bank.example/",
            "https://user:pw@hooks.bank.example/",
            "https://hooks.bank.example/#x",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://10.0.0.5/",
            "https://localhost/",
            "ftp://hooks.bank.example/",
            "not a url",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_url(&format!("https://a.example/{}", "x".repeat(2100)), true).is_err());
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(1), Some(5));
        assert_eq!(retry_delay(2), Some(300));
        assert_eq!(retry_delay(9), Some(86_400));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
        let total: i64 = RETRY_SCHEDULE.iter().sum();
        assert!(total > 3 * 86_400 && total < 4 * 86_400);
    }

    #[test]
    fn message_ids_are_stable_per_event_kind_and_endpoint() {
        let w = WebhookId::from_random([7; 16]);
        let a = DeliveryId::for_event(42, WebhookKind::GrantRevoked.code(), &w);
        assert_eq!(a, DeliveryId::for_event(42, "gr", &w));
        assert_ne!(a, DeliveryId::for_event(42, "ge", &w));
        assert_eq!(DeliveryId::parse(a.as_str()), Ok(a.clone()));
        assert!(!a.as_str().contains('.'));
        let content = signed_content(&a, 1_700_000_000, b"{}");
        assert_eq!(
            content,
            format!("{}.1700000000.{{}}", a.as_str()).into_bytes()
        );
    }

    #[test]
    fn kinds_parse_and_check() {
        for k in WebhookKind::ALL {
            assert_eq!(WebhookKind::parse(k.as_str()), Ok(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert!(WebhookKind::parse("grant.created").is_err());
        assert!(check_kinds(vec![]).is_err());
        assert!(check_kinds(vec![WebhookKind::GrantRevoked, WebhookKind::GrantRevoked]).is_err());
        assert_eq!(
            check_kinds(vec![
                WebhookKind::GrantRevoked,
                WebhookKind::RequestApproved
            ])
            .unwrap(),
            vec![WebhookKind::RequestApproved, WebhookKind::GrantRevoked]
        );
    }
}
