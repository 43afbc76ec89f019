//! The accept loop: HTTP/1.1 connections with a header-read timeout, a global connection cap and
//! a per-client cap (IPv4 address, or IPv6 /64), and graceful shutdown.
//!
//! `axum::serve` has neither a header-read timeout nor a connection cap, so a client that opens
//! connections and trickles header bytes (slowloris) could hold them forever. Here every request
//! head must arrive within [`ConnLimits::header_read_timeout`] of the connection (or the previous
//! response) being ready to read it, including the first byte: idle keep-alive connections are
//! closed after the same time. Connections beyond a cap are answered `503` and closed at once.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Default time a client has to send a complete request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of open connections, all clients together.
pub const MAX_CONNECTIONS: usize = 1024;
/// Default number of open connections from one IPv4 address or one IPv6 /64.
pub const MAX_CONNECTIONS_PER_IP: usize = 64;

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

#[derive(Default)]
struct Counts {
    total: usize,
    per_client: HashMap<ClientKey, usize>,
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
    counts: Arc<Mutex<Counts>>,
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

    pub fn admit(&self, ip: IpAddr) -> Result<Admitted, Refused> {
        let key = ClientKey::of(ip);
        let mut c = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.total >= self.limits.max_connections {
            return Err(Refused::Total);
        }
        let mine = c.per_client.entry(key).or_insert(0);
        if *mine >= self.limits.max_connections_per_ip {
            return Err(Refused::PerClient);
        }
        *mine += 1;
        c.total += 1;
        Ok(Admitted {
            key,
            counts: self.counts.clone(),
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut c = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_client.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_client.remove(&self.key);
            }
        }
    }
}

const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 66\r\n\r\n\
{\"error\":\"unavailable\",\"message\":\"too many connections, try again\"}";

/// Tells the client (best effort, never waiting) and closes.
fn refuse(stream: TcpStream, why: Refused) {
    metrics::counter!("assent_connections_refused_total", "reason" => match why {
        Refused::Total => "total",
        Refused::PerClient => "per_client",
    })
    .increment(1);
    let _ = stream.try_write(REFUSED);
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
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(req)
        });
        let mut stop = stop_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let _admitted = admitted;
            let _open = open;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let stopping = tokio::select! {
                _ = conn.as_mut() => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            if stopping {
                // Finish the request in flight (if any), then close.
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

    #[test]
    fn caps_count_ipv4_addresses_and_ipv6_prefixes() {
        let t = ConnTracker::new(ConnLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: 5,
            max_connections_per_ip: 2,
        });
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a1 = t.admit(ip("2001:db8:1:2::1")).unwrap();
        let _a2 = t.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        assert_eq!(
            t.admit(ip("2001:db8:1:2::77")).err(),
            Some(Refused::PerClient),
            "one /64 is one client"
        );
        let _b = t.admit(ip("2001:db8:1:3::1")).unwrap();
        let _c1 = t.admit(ip("192.0.2.1")).unwrap();
        let c2 = t.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(t.admit(ip("192.0.2.1")).err(), Some(Refused::Total));
        drop(c2);
        assert_eq!(
            t.admit(ip("::ffff:192.0.2.1")).err(),
            None,
            "IPv4-mapped counts as the IPv4 address"
        );
        drop(a1);
        assert!(
            t.admit(ip("2001:db8:1:2::77")).is_ok(),
            "a closed one frees its place"
        );
    }
}
