//! `GET /v1/me/events`: a live stream (Server-Sent Events, WHATWG HTML §9.2) announcing the
//! signed-in customer's new ledger entries: requests, decisions, grants, revocations, reads and
//! envelope versions.
//!
//! Invariants:
//! - An event is announced only once its ledger entry is durable (the writer publishes the
//!   ledger size after each commit).
//! - The stream carries ids and kinds only, never data or terms: a client fetches
//!   `/v1/me/ledger` (or the resource named) and verifies it as always. The stream is a hint to
//!   look, never a fact to believe: a hostile vault can withhold or invent announcements, and a
//!   client that believes nothing it has not verified loses nothing by either.
//! - `id` is the entry's `customer_seq`, so `Last-Event-ID` resumes exactly after the last
//!   announcement seen (entries are numbered 1, 2, 3, … per customer).
//! - At most [`STREAMS_PER_CUSTOMER`] streams per customer; each ends when its token expires
//!   (the client renews the token and reconnects with `Last-Event-ID`).

use super::AppState;
use super::auth::CustomerSession;
use super::error::ApiError;
use crate::domain::ids::CustomerId;
use crate::ledger::Event as LedgerEvent;
use crate::vault::Vault;
use crate::vault::history::OpenedEntry;
use crate::wire::schema::ErrorBody;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use utoipa::ToSchema;

/// Open streams one customer may hold (a few devices and tabs).
pub const STREAMS_PER_CUSTOMER: usize = 4;
/// A comment line this often keeps proxies and the connection's idle timer from closing it.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Announcements replayed after `Last-Event-ID` at most (older ones: reload the ledger).
const MAX_REPLAY: usize = 1000;

/// Open streams per customer, and the signal that ends them all at shutdown.
pub struct Streams {
    open: Mutex<HashMap<CustomerId, usize>>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl Default for Streams {
    fn default() -> Self {
        Self {
            open: Mutex::default(),
            closing: tokio::sync::watch::channel(false).0,
        }
    }
}

/// One open stream's place; gives it back when the stream ends.
struct Slot {
    streams: Arc<Streams>,
    customer: CustomerId,
}

impl Streams {
    /// Ends every open stream (shutdown): a stream never finishes on its own, and would hold
    /// the graceful shutdown for its whole grace period. Clients reconnect with `Last-Event-ID`.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    fn take(self: &Arc<Self>, customer: &CustomerId) -> Option<Slot> {
        let mut open = self.open.lock().ok()?;
        let n = open.entry(customer.clone()).or_insert(0);
        if *n >= STREAMS_PER_CUSTOMER {
            return None;
        }
        *n += 1;
        Some(Slot {
            streams: self.clone(),
            customer: customer.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.streams.open.lock()
            && let Some(n) = open.get_mut(&self.customer)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.customer);
            }
        }
    }
}

/// The `data` of an announcement: which entry, of what kind, about which resources.
#[derive(Serialize, ToSchema)]
pub struct Announcement {
    /// The entry's `customer_seq` (also the SSE `id`).
    pub seq: u64,
    /// Its ledger index.
    pub index: u64,
    /// The event type (also the SSE `event`): `customer_registered`, `envelope_written`,
    /// `envelope_erased`, `key_rotated`, `request_created`, `request_declined`,
    /// `grant_created`, `grant_revoked`, `read`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
}

impl Announcement {
    fn of(e: &OpenedEntry) -> Option<Self> {
        let seq = e.event.customer_seq?;
        let mut a = Self {
            seq,
            index: e.index,
            kind: e.event.event.kind(),
            org_id: e.event.event.org().map(|o| o.to_string()),
            request_id: None,
            grant_id: None,
            envelope_id: None,
        };
        match &e.event.event {
            LedgerEvent::RequestCreated { request_id, .. }
            | LedgerEvent::RequestDeclined { request_id, .. } => {
                a.request_id = Some(request_id.to_string());
            }
            LedgerEvent::GrantCreated {
                grant_id,
                request_id,
                ..
            } => {
                a.grant_id = Some(grant_id.to_string());
                a.request_id = Some(request_id.to_string());
            }
            LedgerEvent::GrantRevoked { grant_id, .. }
            | LedgerEvent::ErasureRequested { grant_id, .. }
            | LedgerEvent::ErasureAnswered { grant_id, .. } => {
                a.grant_id = Some(grant_id.to_string());
            }
            LedgerEvent::Read {
                grant_id,
                envelope_id,
                ..
            } => {
                a.grant_id = Some(grant_id.to_string());
                a.envelope_id = Some(envelope_id.to_string());
            }
            LedgerEvent::EnvelopeWritten { envelope_id, .. }
            | LedgerEvent::EnvelopeErased { envelope_id, .. }
            | LedgerEvent::KeyRotated { envelope_id, .. } => {
                a.envelope_id = Some(envelope_id.to_string());
            }
            LedgerEvent::CustomerRegistered { .. }
            | LedgerEvent::OrgRegistered { .. }
            | LedgerEvent::OrgKeysChanged { .. } => {}
        }
        Some(a)
    }

    fn sse(&self) -> Event {
        let data = serde_json::to_string(self).unwrap_or_default();
        Event::default()
            .id(self.seq.to_string())
            .event(self.kind)
            .data(data)
    }
}

/// `Last-Event-ID`: the last `customer_seq` the client saw.
fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(v) = headers.get("last-event-id") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(str::trim)
        .and_then(|s| s.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad(
                "bad_last_event_id",
                "Last-Event-ID must be the number of the last event received",
            )
        })
}

/// Live announcements of the customer's new ledger entries (Server-Sent Events). Each event's
/// `id` is the entry's `customer_seq`, its `event` the entry type, its `data` an
/// [`Announcement`] (ids and kinds only). Send `Last-Event-ID` to resume; without it the
/// stream starts with a `ready` event whose `id` is the newest `customer_seq`. The stream ends
/// when the token expires.
#[utoipa::path(
    get,
    path = "/v1/me/events",
    operation_id = "my_events",
    tag = "customer",
    security(("customer_token" = [])),
    params(("last-event-id" = Option<u64>, Header, description = "Resume after this customer_seq")),
    responses(
        (status = 200, description = "An event stream (`text/event-stream`)", content_type = "text/event-stream", body = String),
        (status = 400, description = "`bad_last_event_id`", body = ErrorBody),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired`", body = ErrorBody),
        (status = 429, description = "`too_many_streams`: this customer has as many streams open as allowed", body = ErrorBody),
    ),
)]
pub async fn stream(
    axum::extract::State(s): axum::extract::State<AppState>,
    session: CustomerSession,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let after = last_event_id(&headers)?;
    let Some(slot) = s.streams.take(&session.id) else {
        return Ok(too_many_streams());
    };
    // Follow the size before reading, so nothing committed in between is missed (a commit in
    // between is read twice at most, and announced once: entries are announced by sequence).
    let mut sizes = s.vault.ledger_size_watch();
    sizes.borrow_and_update();
    let (entries, size) = s.vault.customer_ledger(&session.id)?;
    let newest = entries
        .iter()
        .filter_map(|e| e.event.customer_seq)
        .max()
        .unwrap_or(0);
    let mut queue: VecDeque<Event> = VecDeque::new();
    match after {
        Some(seen) => {
            let missed: Vec<_> = entries
                .iter()
                .filter(|e| e.event.customer_seq.is_some_and(|q| q > seen))
                .filter_map(Announcement::of)
                .collect();
            if missed.len() > MAX_REPLAY {
                queue.push_back(reload_event(newest));
            } else {
                queue.extend(missed.iter().map(Announcement::sse));
            }
        }
        None => queue.push_back(
            Event::default()
                .id(newest.to_string())
                .event("ready")
                .data(format!("{{\"seq\":{newest}}}")),
        ),
    }
    let now = crate::clock::now().unix();
    let left = u64::try_from(session.claims.exp.saturating_sub(now)).unwrap_or(0);
    let state = Follow {
        closing: s.streams.closing.subscribe(),
        vault: s.vault.clone(),
        customer: session.id,
        sizes,
        read_upto: size,
        last_seq: newest.max(after.unwrap_or(0)),
        queue,
        ends: tokio::time::Instant::now() + Duration::from_secs(left),
        done: false,
        _slot: slot,
    };
    let events = futures_util::stream::unfold(state, next);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// 429 `too_many_streams`, with `Retry-After`.
fn too_many_streams() -> Response {
    let mut res = (
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({
            "error": "too_many_streams",
            "message": format!(
                "at most {STREAMS_PER_CUSTOMER} live streams per customer; close one (another \
                 tab or device) and retry"
            ),
        })),
    )
        .into_response();
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("30"),
    );
    res
}

/// "Reload everything": sent when more happened than a stream replays.
fn reload_event(newest: u64) -> Event {
    Event::default()
        .id(newest.to_string())
        .event("reload")
        .data(format!("{{\"seq\":{newest}}}"))
}

struct Follow {
    /// Becomes true at shutdown.
    closing: tokio::sync::watch::Receiver<bool>,
    vault: Vault,
    customer: CustomerId,
    sizes: tokio::sync::watch::Receiver<u64>,
    /// Ledger entries below this were looked at.
    read_upto: u64,
    /// The newest `customer_seq` announced (never announced twice).
    last_seq: u64,
    queue: VecDeque<Event>,
    ends: tokio::time::Instant,
    /// Nothing follows what is queued.
    done: bool,
    _slot: Slot,
}

async fn next(mut f: Follow) -> Option<(Result<Event, Infallible>, Follow)> {
    loop {
        if let Some(e) = f.queue.pop_front() {
            return Some((Ok(e), f));
        }
        if f.done {
            return None;
        }
        tokio::select! {
            changed = f.sizes.changed() => {
                // The writer stopped (shutdown): end the stream; the client reconnects.
                changed.ok()?;
                let size = *f.sizes.borrow_and_update();
                if size <= f.read_upto {
                    continue;
                }
                let fresh = match f.vault.customer_events_between(&f.customer, f.read_upto, size) {
                    Ok(fresh) => fresh,
                    Err(e) => {
                        tracing::warn!(error = %e, "live stream: reading new entries failed");
                        return None;
                    }
                };
                f.read_upto = size;
                for a in fresh.iter().filter_map(Announcement::of) {
                    if a.seq > f.last_seq {
                        f.last_seq = a.seq;
                        f.queue.push_back(a.sse());
                    }
                }
            }
            _ = f.closing.wait_for(|closing| *closing) => {
                // Shutdown: end cleanly so the connection closes now, not at the grace deadline.
                f.done = true;
            }
            () = tokio::time::sleep_until(f.ends) => {
                // The token expired: say so, then end (renew and reconnect with Last-Event-ID).
                f.queue.push_back(Event::default().event("session_expired").data("{}"));
                f.done = true;
            }
        }
    }
}
