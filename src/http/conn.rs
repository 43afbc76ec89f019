//! The accept loop: HTTP/1.1 connections with a header-read timeout, a global connection cap and
//! a per-client cap (IPv4 address, or IPv6 /64), and graceful shutdown.
//!
//! `axum::serve` has neither a header-read timeout nor a connection cap, so a client that opens
//! connections and trickles header bytes (slowloris) could hold them forever. Here every request
//! head must arrive within [`ConnLimits::header_read_timeout`] of the connection (or the previous
//! response) being ready to read it, including the first byte: idle keep-alive connections are
//! closed after the same time. At a cap, the oldest connection of that client (per-client cap)
//! or of anyone (global cap) that is not serving a request — idle keep-alive, or still waiting
//! for a request head — is closed to make room; when all of them are serving requests, the new
//! connection is answered `503` and closed at once. So one address never holds more than its cap,
//! a slow or idle connection never keeps a working client out, and a request in flight is never
//! cut off.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Default time a client has to send a complete request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of open connections, all clients together.
pub const MAX_CONNECTIONS: usize = 1024;
/// Default number of open connections from one IPv4 address or one IPv6 /64.
pub const MAX_CONNECTIONS_PER_IP: usize = 128;

/// Connection limits of the API listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_connections_per_ip: MAX_CONNECTIONS_PER_IP,
        }
    }
}

/// Whom a per-client cap counts: an IPv4 address, or the /64 of an IPv6 address (one
/// subscriber's prefix; an attacker holding a /64 could otherwise use 2^64 addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(u32),
    V6Prefix(u64),
}

impl ClientKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(u32::from(v4)),
                None => Self::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// One open connection as the tracker sees it.
struct Conn {
    id: u64,
    /// Requests being served on it (from the parsed head to the last byte of the answer).
    busy: Arc<AtomicUsize>,
    /// Closes it at once when it is evicted.
    evict: Arc<tokio::sync::Notify>,
}

impl Conn {
    fn idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }
}

#[derive(Default)]
struct Counts {
    next_id: u64,
    total: usize,
    /// Per client, oldest first.
    per_client: HashMap<ClientKey, VecDeque<Conn>>,
}

impl Counts {
    /// Closes the oldest connection of `key` (or of anyone) that is not serving a request: an
    /// idle keep-alive connection, or one still waiting for (part of) a request head.
    fn evict_idle(&mut self, key: Option<ClientKey>) -> bool {
        let found = self
            .per_client
            .iter()
            .filter(|(k, _)| key.is_none_or(|key| **k == key))
            .filter_map(|(k, conns)| {
                let c = conns.iter().find(|c| c.idle())?;
                Some((*k, c.id))
            })
            .min_by_key(|(_, id)| *id);
        match found {
            Some((k, id)) => {
                if let Some(c) = self.remove(k, id) {
                    c.evict.notify_one();
                }
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, key: ClientKey, id: u64) -> Option<Conn> {
        let conns = self.per_client.get_mut(&key)?;
        let at = conns.iter().position(|c| c.id == id)?;
        let c = conns.remove(at);
        if conns.is_empty() {
            self.per_client.remove(&key);
        }
        self.total = self.total.saturating_sub(1);
        c
    }
}

/// Open connections, all together and per client.
#[derive(Clone)]
pub struct ConnTracker {
    limits: ConnLimits,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted connection; dropping it frees its place.
pub struct Admitted {
    key: ClientKey,
    id: u64,
    counts: Arc<Mutex<Counts>>,
    busy: Arc<AtomicUsize>,
    evict: Arc<tokio::sync::Notify>,
}

/// A request in flight on a connection (its connection is not evicted meanwhile).
pub struct Busy(Arc<AtomicUsize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Total,
    PerClient,
}

impl ConnTracker {
    pub fn new(limits: ConnLimits) -> Self {
        Self {
            limits,
            counts: Arc::default(),
        }
    }

    /// Admits a connection from `ip`. At a cap, the oldest connection of that client (per-client
    /// cap) or of anyone (global cap) that is not serving a request is closed to make room;
    /// when every one is serving a request, the new connection is refused.
    pub fn admit(&self, ip: IpAddr) -> Result<Admitted, Refused> {
        let key = ClientKey::of(ip);
        let mut c = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = c.per_client.get(&key).map_or(0, VecDeque::len);
        if mine >= self.limits.max_connections_per_ip && !c.evict_idle(Some(key)) {
            return Err(Refused::PerClient);
        }
        if c.total >= self.limits.max_connections && !c.evict_idle(None) {
            return Err(Refused::Total);
        }
        c.next_id += 1;
        let id = c.next_id;
        let busy = Arc::new(AtomicUsize::new(0));
        let evict = Arc::new(tokio::sync::Notify::new());
        c.per_client.entry(key).or_default().push_back(Conn {
            id,
            busy: busy.clone(),
            evict: evict.clone(),
        });
        c.total += 1;
        Ok(Admitted {
            key,
            id,
            counts: self.counts.clone(),
            busy,
            evict,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut c = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Absent when it was evicted (its place was already given to another).
        let _ = c.remove(self.key, self.id);
    }
}

/// A response body that keeps its connection marked busy until its last byte is sent.
struct Tracked {
    inner: axum::body::Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn refused_response() -> Vec<u8> {
    let body = r#"{"error":"unavailable","message":"too many connections, try again"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Tells the client (best effort, never waiting) and closes.
fn refuse(stream: TcpStream, why: Refused) {
    metrics::counter!("assent_connections_refused_total", "reason" => match why {
        Refused::Total => "total",
        Refused::PerClient => "per_client",
    })
    .increment(1);
    let _ = stream.try_write(&refused_response());
    drop(stream);
}

/// Accept errors that concern one connection only (the listener is fine).
fn per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets each connection finish the
/// request it is serving and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tracker = ConnTracker::new(limits);
    // `stop` tells connections to finish; each holds an `open` receiver until it is closed.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if per_connection(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let admitted = match tracker.admit(remote.ip()) {
            Ok(a) => a,
            Err(why) => {
                refuse(stream, why);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let busy = admitted.busy.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            busy.fetch_add(1, Ordering::AcqRel);
            let guard = Busy(Arc::clone(&busy));
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await;
                res.map(|r| {
                    r.map(|inner| {
                        axum::body::Body::new(Tracked {
                            inner,
                            _busy: guard,
                        })
                    })
                })
            }
        });
        let mut stop = stop_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let admitted = admitted;
            let _open = open;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let evict = admitted.evict.clone();
            let stopping = tokio::select! {
                _ = conn.as_mut() => false,
                _ = stop.wait_for(|s| *s) => true,
                () = evict.notified() => {
                    metrics::counter!("assent_connections_evicted_total").increment(1);
                    false
                }
            };
            // On shutdown a connection serving a request finishes it, then closes; an idle one,
            // or one still waiting for a request head (a slow client), is closed at once rather
            // than holding shutdown up for the grace period.
            if stopping && admitted.busy.load(Ordering::Acquire) > 0 {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving(a: &Admitted) {
        a.busy.fetch_add(1, Ordering::AcqRel);
    }

    fn done(a: &Admitted) {
        a.busy.fetch_sub(1, Ordering::AcqRel);
    }

    fn total(t: &ConnTracker) -> usize {
        t.counts.lock().unwrap().total
    }

    #[test]
    fn caps_count_ipv4_addresses_and_ipv6_prefixes_and_make_room_by_closing_idle_ones() {
        let t = ConnTracker::new(ConnLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: 5,
            max_connections_per_ip: 2,
        });
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a1 = t.admit(ip("2001:db8:1:2::1")).unwrap();
        let a2 = t.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        serving(&a1);
        serving(&a2);
        assert_eq!(
            t.admit(ip("2001:db8:1:2::77")).err(),
            Some(Refused::PerClient),
            "one /64 is one client"
        );
        let b = t.admit(ip("2001:db8:1:3::1")).unwrap();
        let c1 = t.admit(ip("192.0.2.1")).unwrap();
        let c2 = t.admit(ip("::ffff:192.0.2.1")).unwrap();
        for a in [&b, &c1, &c2] {
            serving(a);
        }
        assert_eq!(
            t.admit(ip("192.0.2.1")).err(),
            Some(Refused::PerClient),
            "IPv4-mapped counts as the IPv4 address"
        );
        assert_eq!(t.admit(ip("198.51.100.1")).err(), Some(Refused::Total));
        assert_eq!(total(&t), 5);

        // An idle connection of the same client makes room; its guard then frees nothing twice.
        done(&c2);
        let c3 = t.admit(ip("192.0.2.1")).unwrap();
        serving(&c3);
        assert_eq!(total(&t), 5);
        drop(c2);
        assert_eq!(
            total(&t),
            5,
            "an evicted connection's place was already given"
        );
        // At the global cap, the oldest idle connection of anyone makes room.
        done(&b);
        done(&a1);
        let d = t.admit(ip("198.51.100.1")).unwrap();
        assert_eq!(total(&t), 5);
        let left: Vec<u64> = t.counts.lock().unwrap().per_client
            [&ClientKey::of(ip("2001:db8:1:2::1"))]
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(left, vec![a2.id], "a1 (older than b) was closed");
        drop(d);
        assert_eq!(total(&t), 4, "a closed one frees its place");
    }
}
