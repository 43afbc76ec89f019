//! Organizations' webhooks end to end: a real HTTP receiver on 127.0.0.1 that checks every
//! delivery's Standard Webhooks signature against the vault key (`client::webhook::verify`,
//! with its clock), real vaults (in process, and the `assent` binary killed with SIGKILL), and
//! the real org and customer clients.

use crate::common::*;
use assent::client::customer::Choice;
use assent::client::org::{Ask, OrgClient};
use assent::client::webhook::{Delivery, verify};
use assent::domain::ids::{GrantId, RequestId};
use assent::domain::webhook::{DeliveryState, RETRY_SCHEDULE, WebhookKind, WebhookMessage};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A delivery as received: (webhook-id, webhook-timestamp, webhook-signature, body).
type RawDelivery = (String, String, String, Vec<u8>);

/// What the receiver saw.
#[derive(Default)]
pub struct Seen {
    /// Verified deliveries: (webhook-id, message), in arrival order.
    verified: Mutex<Vec<(String, WebhookMessage)>>,
    /// Deliveries that failed verification, and why.
    refused: Mutex<Vec<String>>,
    /// Every request, verified or not.
    hits: AtomicU32,
    /// Answer 500 to everything.
    failing: AtomicBool,
    /// Every verified delivery as received.
    raw: Mutex<Vec<RawDelivery>>,
}

pub struct Receiver {
    pub url: String,
    pub seen: Arc<Seen>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Receiver {
    /// An axum server on 127.0.0.1:`port` (0: any) that verifies against `vault_key`.
    pub fn start(vault_key: [u8; 32], port: u16) -> Self {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, StatusCode};
        let seen = Arc::new(Seen::default());
        let state = seen.clone();
        let handler = move |headers: HeaderMap, body: Bytes| {
            let seen = state.clone();
            async move {
                seen.hits.fetch_add(1, Ordering::SeqCst);
                if seen.failing.load(Ordering::SeqCst) {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let (id, ts, sig) = (
                    h("webhook-id"),
                    h("webhook-timestamp"),
                    h("webhook-signature"),
                );
                let d = Delivery {
                    id: &id,
                    timestamp: &ts,
                    signature: &sig,
                    body: &body,
                };
                match verify(&vault_key, &d, Some(assent::clock::now().unix())) {
                    Ok(m) => {
                        let raw = (id.clone(), ts.clone(), sig.clone(), body.to_vec());
                        seen.raw.lock().unwrap().push(raw);
                        seen.verified.lock().unwrap().push((id, m));
                        StatusCode::NO_CONTENT
                    }
                    Err(e) => {
                        seen.refused.lock().unwrap().push(e.to_string());
                        StatusCode::BAD_REQUEST
                    }
                }
            }
        };
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().route("/hook", axum::routing::post(handler));
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            url,
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn verified(&self) -> Vec<(String, WebhookMessage)> {
        self.seen.verified.lock().unwrap().clone()
    }

    /// Waits (up to `secs`) for a verified message matching `want`.
    pub fn wait_for(
        &self,
        secs: u64,
        what: &str,
        want: impl Fn(&WebhookMessage) -> bool,
    ) -> WebhookMessage {
        let t0 = Instant::now();
        loop {
            if let Some((_, m)) = self.verified().into_iter().find(|(_, m)| want(m)) {
                return m;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "no {what} within {secs} s; verified: {:?}; refused: {:?}",
                self.verified(),
                self.seen.refused.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what} within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ask(org: &OrgClient, handle: &str) -> RequestId {
    let r = org
        .request(&Ask::new(
            handle,
            &["email".into()],
            &[PURPOSE.into()],
            86_400,
            "to verify you",
        ))
        .unwrap();
    RequestId::parse(r["request_id"].as_str().unwrap()).unwrap()
}

fn grant_of(m: &WebhookMessage) -> Option<&str> {
    m.data.grant_id.as_ref().map(GrantId::as_str)
}

#[test]
fn an_endpoint_hears_of_every_answer_revocation_new_version_and_expiry_signed_and_logged() {
    let tv = start();
    let rx = Receiver::start(tv.vault.signer().public(), 0);
    let org = demo_org(&tv);
    let endpoint = org.add_webhook(&rx.url, &[]).unwrap();
    assert_eq!(endpoint.kinds.len(), WebhookKind::ALL.len());
    assert_eq!(org.webhooks().unwrap(), vec![endpoint.clone()]);

    // Approval.
    let h = handle("whk");
    let (mut device, _, gid) = granted(&tv, &h, None);
    let approved = rx.wait_for(10, "request.approved", |m| {
        m.kind == WebhookKind::RequestApproved && grant_of(m) == Some(gid.as_str())
    });
    assert!(approved.data.request_id.is_some() && approved.data.ledger_index.is_some());
    assert_eq!(
        approved.data.customer_id.as_str(),
        device.customer_id.as_str()
    );

    // A new version of an envelope the grant covers; a label it does not cover says nothing.
    device
        .put(
            &"email".parse_label(),
            "text/plain",
            b"new@example.com",
            false,
        )
        .unwrap();
    device
        .put(&"phone".parse_label(), "text/plain", b"+3531234567", false)
        .unwrap();
    let updated = rx.wait_for(10, "envelope.updated", |m| {
        m.kind == WebhookKind::EnvelopeUpdated
    });
    assert_eq!(
        updated.data.label.as_ref().map(|l| l.as_str()),
        Some("email")
    );
    assert_eq!(updated.data.version, Some(2));

    // A decline.
    let declined_id = ask(&org, &h);
    device.decline(&declined_id).unwrap();
    let declined = rx.wait_for(10, "request.declined", |m| {
        m.kind == WebhookKind::RequestDeclined
    });
    assert_eq!(declined.data.request_id.as_ref(), Some(&declined_id));

    // A revocation.
    device.revoke(&GrantId::parse(&gid).unwrap()).unwrap();
    rx.wait_for(10, "grant.revoked", |m| {
        m.kind == WebhookKind::GrantRevoked && grant_of(m) == Some(gid.as_str())
    });

    // Expiry: another grant runs out; the revoked one never "expires".
    let (_, _, gid2) = granted(&tv, &handle("whk"), None);
    rx.wait_for(10, "the second approval", |m| {
        grant_of(m) == Some(gid2.as_str())
    });
    // Waiting for the grant's end (the revoked grant's message is dropped when it falls due).
    let scheduled = org.webhook_deliveries(DeliveryState::Scheduled).unwrap();
    assert!(
        scheduled
            .iter()
            .any(|d| grant_of(&d.message) == Some(gid2.as_str())),
        "{scheduled:?}"
    );
    tv.clock.advance(86_400 + 600);
    let expired = rx.wait_for(10, "grant.expired", |m| m.kind == WebhookKind::GrantExpired);
    assert_eq!(grant_of(&expired), Some(gid2.as_str()));
    assert_eq!(expired.data.ledger_index, None);
    std::thread::sleep(Duration::from_secs(2));
    let all = rx.verified();
    assert!(
        !all.iter()
            .any(|(_, m)| m.kind == WebhookKind::GrantExpired && grant_of(m) == Some(gid.as_str())),
        "a revoked grant was announced as expired: {all:?}"
    );

    // Every message was signed by the vault key, came once, and names an entry of the
    // organization's own ledger of the same kind.
    assert!(rx.seen.refused.lock().unwrap().is_empty());
    let mut ids: Vec<&String> = all.iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "a message came twice: {all:?}");
    // (Listed once a checkpoint covers them: the vault signs one at least every second.)
    let highest = all
        .iter()
        .filter_map(|(_, m)| m.data.ledger_index)
        .max()
        .unwrap();
    let mut ledger = serde_json::Value::Null;
    wait_until(10, "the org's ledger lists the entries", || {
        ledger = org.ledger().unwrap();
        ledger["size"].as_u64().is_some_and(|s| s > highest)
    });
    let entries = ledger["entries"].as_array().expect("ledger entries");
    for (_, m) in &all {
        let Some(index) = m.data.ledger_index else {
            continue;
        };
        let expected = match m.kind {
            WebhookKind::RequestApproved => "grant_created",
            WebhookKind::RequestDeclined => "request_declined",
            WebhookKind::GrantRevoked => "grant_revoked",
            WebhookKind::ErasureRequested => "erasure_requested",
            // The write is the customer's event, not the organization's.
            WebhookKind::EnvelopeUpdated | WebhookKind::GrantExpired => continue,
        };
        let entry = entries
            .iter()
            .find(|e| e["index"].as_u64() == Some(index))
            .unwrap_or_else(|| panic!("{m:?}: no entry {index} in the org's ledger"));
        let logged = entry["event"]["type"].as_str().unwrap_or_default();
        assert_eq!(logged, expected, "{m:?}");
    }
    // Nothing is left queued.
    wait_until(10, "the queue empties", || {
        org.webhook_deliveries(DeliveryState::Pending)
            .unwrap()
            .is_empty()
    });

    // An integrator checks a captured delivery offline with the CLI; a changed byte fails.
    let (id, ts, sig, body) = rx.seen.raw.lock().unwrap()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    let whpk = assent::client::webhook::public_key_text(&tv.vault.signer().public());
    let verify = |body: &[u8]| {
        std::fs::write(&file, body).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_assent"))
            .args(["org", "webhook", "verify", "--id", &id, "--timestamp", &ts])
            .args(["--signature", &sig, "--vault-key", &whpk, "--body"])
            .arg(&file)
            .env("ASSENT_ORG_STATE", dir.path().join("state.json"))
            .output()
            .unwrap()
    };
    let ok = verify(&body);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let printed: WebhookMessage = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(printed, all[0].1);
    let mut changed = body.clone();
    changed[2] ^= 0x20;
    let refused = verify(&changed);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("REFUSED"));

    // The offline audit checks the outbox and the subscriber list against the org records;
    // an organization dropped from `webhook_orgs` behind its record's back fails it.
    let staging = dir.path().join("staging");
    let file = dir.path().join("backup.redb");
    tv.vault.store().backup_to(&file).unwrap();
    let keys = assent::config::VaultKeys::load(&repo("keys-example")).unwrap();
    let public = keys.signing.verifying_key().to_bytes();
    let v = assent::ledger::note::Verifier::new(&keys.name, &public).unwrap();
    let audit = |f: &std::path::Path| {
        assent::store::audit::audit_file(f, &staging, "assent.demo", std::slice::from_ref(&v))
    };
    audit(&file).unwrap();
    {
        let db = redb::Database::open(&file).unwrap();
        let w = db.begin_write().unwrap();
        w.open_table(assent::store::tables::WEBHOOK_ORGS)
            .unwrap()
            .remove(DEMO_ORG)
            .unwrap();
        w.commit().unwrap();
    }
    let e = audit(&file).unwrap_err();
    assert!(e.to_string().contains("webhook_orgs"), "{e}");
}

#[test]
fn a_receiver_that_fails_gets_retries_on_the_schedule_then_a_dead_letter_it_can_requeue() {
    let tv = start();
    let rx = Receiver::start(tv.vault.signer().public(), 0);
    rx.seen.failing.store(true, Ordering::SeqCst);
    let org = demo_org(&tv);
    org.add_webhook(&rx.url, &["request.declined".into()])
        .unwrap();
    let h = handle("whr");
    let (_, device) = customer(&tv, &h);
    let rid = ask(&org, &h);
    device.decline(&rid).unwrap();
    let attempts = RETRY_SCHEDULE.len() as u32 + 1;
    for n in 1..attempts {
        wait_until(10, &format!("attempt {n}"), || {
            rx.seen.hits.load(Ordering::SeqCst) == n
        });
        // Settled as failed: due again after the schedule's n-th delay.
        let mut pending = Vec::new();
        wait_until(10, "the failure is recorded", || {
            pending = org.webhook_deliveries(DeliveryState::Pending).unwrap();
            pending.len() == 1 && pending[0].attempts == n && pending[0].last_error.is_some()
        });
        let d = &pending[0];
        assert!(d.last_error.as_deref().unwrap().contains("500"), "{d:?}");
        let wait = d.next_attempt_at.unwrap().unix() - d.last_attempt_at.unwrap().unix();
        assert_eq!(wait, RETRY_SCHEDULE[n as usize - 1], "after attempt {n}");
        // Not attempted again before it is due.
        std::thread::sleep(Duration::from_millis(1_200));
        assert_eq!(
            rx.seen.hits.load(Ordering::SeqCst),
            n,
            "attempt {n} was retried early"
        );
        tv.clock.advance(u32::try_from(wait).unwrap());
    }
    wait_until(10, "the last attempt", || {
        rx.seen.hits.load(Ordering::SeqCst) == attempts
    });
    let mut dead = Vec::new();
    wait_until(10, "a dead letter", || {
        dead = org.webhook_deliveries(DeliveryState::Dead).unwrap();
        dead.len() == 1
    });
    assert_eq!(dead[0].attempts, attempts);
    assert!(
        org.webhook_deliveries(DeliveryState::Pending)
            .unwrap()
            .is_empty()
    );
    // Dead means no more attempts, whatever the time.
    tv.clock.advance(7 * 86_400);
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(rx.seen.hits.load(Ordering::SeqCst), attempts);

    // The receiver is back; the organization asks for the message again.
    rx.seen.failing.store(false, Ordering::SeqCst);
    let again = org.retry_webhook(dead[0].delivery_id.as_str()).unwrap();
    assert_eq!(again.attempts, 0);
    let m = rx.wait_for(10, "the requeued message", |m| {
        m.kind == WebhookKind::RequestDeclined
    });
    assert_eq!(m.data.request_id.as_ref(), Some(&rid));
    assert_eq!(
        rx.verified()[0].0,
        dead[0].delivery_id.as_str(),
        "the same webhook-id"
    );
    wait_until(10, "the dead letter is gone", || {
        org.webhook_deliveries(DeliveryState::Dead)
            .unwrap()
            .is_empty()
    });
    let e = org.retry_webhook(dead[0].delivery_id.as_str()).unwrap_err();
    assert_eq!(e.code(), Some("no_delivery"));
}

/// A name in /etc/hosts, other than `localhost`, that resolves only to non-public addresses
/// (Debian maps the machine's own host name to 127.0.1.1 or its private address).
fn private_host_name() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts");
    hosts
        .lines()
        .filter_map(|l| l.split('#').next())
        .flat_map(|l| {
            let mut words = l.split_whitespace();
            let ip = words
                .next()
                .and_then(|w| w.parse::<std::net::IpAddr>().ok());
            words.map(move |w| (ip, w.to_owned()))
        })
        .find(|(ip, name)| {
            ip.is_some_and(|ip| !assent::domain::webhook::is_public(ip))
                && !name.contains("localhost")
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .map(|(_, name)| name)
        .expect("a host name mapped to a private or loopback address in /etc/hosts")
}

#[test]
fn endpoints_on_private_addresses_are_refused_as_written_and_as_resolved() {
    let tv = start_with(|c| c.webhooks.allow_private = false);
    let org = demo_org(&tv);
    for bad in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://10.0.0.7/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:192.168.0.1]/x",
        "https://localhost/x",
        "https://user:secret@hooks.example.com/x",
    ] {
        let e = org.add_webhook(bad, &[]).unwrap_err();
        assert_eq!(e.code(), Some("bad_webhook_url"), "{bad}: {e}");
    }
    assert!(org.webhooks().unwrap().is_empty());

    // A public-looking name that resolves to this machine: accepted as written, refused at
    // delivery by the resolver, and nothing connects.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let port = trap.local_addr().unwrap().port();
    let url = format!("https://{}:{port}/hook", private_host_name());
    org.add_webhook(&url, &["request.declined".into()]).unwrap();
    let h = handle("whs");
    let (_, device) = customer(&tv, &h);
    device.decline(&ask(&org, &h)).unwrap();
    let mut pending = Vec::new();
    wait_until(10, "a refused attempt", || {
        pending = org.webhook_deliveries(DeliveryState::Pending).unwrap();
        pending.first().is_some_and(|d| d.last_error.is_some())
    });
    let error = pending[0].last_error.clone().unwrap();
    assert!(error.contains("private"), "{error}");
    assert!(
        matches!(trap.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the vault connected to a private address"
    );
}

#[test]
fn bad_registrations_are_refused_and_change_nothing() {
    let tv = start();
    let org = demo_org(&tv);
    let token = org.api.token().unwrap().to_owned();
    for (body, code) in [
        (
            serde_json::json!({"url": "http://127.0.0.1:9/x", "kinds": []}),
            "bad_kinds",
        ),
        (
            serde_json::json!({"url": "http://127.0.0.1:9/x", "kinds": ["grant.revoked", "grant.revoked"]}),
            "bad_kinds",
        ),
        (
            serde_json::json!({"url": "http://127.0.0.1:9/x", "kinds": ["grant.created"]}),
            "bad_json",
        ),
        (
            serde_json::json!({"url": "ftp://127.0.0.1/x", "kinds": ["grant.revoked"]}),
            "bad_webhook_url",
        ),
        (
            serde_json::json!({"url": "http://127.0.0.1:9/x", "kinds": ["grant.revoked"], "secret": "x"}),
            "bad_json",
        ),
    ] {
        let got = call(&tv, "POST", "/v1/org/webhooks", Some(&token), Some(&body));
        assert_error(&got, 400, code);
    }
    for i in 0..assent::domain::webhook::MAX_ENDPOINTS {
        org.add_webhook(&format!("http://127.0.0.1:9/{i}"), &[])
            .unwrap();
    }
    let e = org
        .add_webhook("http://127.0.0.1:9/one-more", &[])
        .unwrap_err();
    assert_eq!(e.code(), Some("too_many_webhooks"));
    let e = org.add_webhook("http://127.0.0.1:9/0", &[]).unwrap_err();
    assert_eq!(e.code(), Some("webhook_exists"));
    let first = org.webhooks().unwrap()[0].webhook_id.clone();
    org.remove_webhook(first.as_str()).unwrap();
    let e = org.remove_webhook(first.as_str()).unwrap_err();
    assert_eq!(e.code(), Some("no_webhook"));
    assert_eq!(
        org.webhooks().unwrap().len(),
        assent::domain::webhook::MAX_ENDPOINTS - 1
    );
    // Another organization sees none of them, and cannot remove them.
    let other = new_org(&tv, "org_whk_other");
    assert!(other.webhooks().unwrap().is_empty());
    let e = other
        .remove_webhook(org.webhooks().unwrap()[0].webhook_id.as_str())
        .unwrap_err();
    assert_eq!(e.code(), Some("no_webhook"));
    let got = call(
        &tv,
        "GET",
        "/v1/org/webhooks/deliveries?state=gone",
        Some(&token),
        None,
    );
    assert_eq!(got.0, 400, "{}", got.1);
}

#[test]
fn a_message_survives_kill_9_between_the_act_and_its_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("ASSENT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("ASSENT_WEBHOOKS_TIMEOUT_SECS", "2"),
    ];
    let (child, url) = serve_binary(dir.path(), &[], &env).expect("starts");
    let mut vault = KillOnDrop(child);
    // The receiver's port, closed for now: every attempt before the crash is refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let org = OrgClient::connect(&url, demo_org_keys()).unwrap();
    org.add_webhook(&format!("http://127.0.0.1:{port}/hook"), &[])
        .unwrap();
    let h = handle("whk9");
    let profile =
        assent::client::customer::sign_up(&url, &h, PASSPHRASE.as_bytes(), &FAST).unwrap();
    let mut device = assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
    device
        .put(
            &"email".parse_label(),
            "text/plain",
            b"k@example.com",
            false,
        )
        .unwrap();
    let rid = ask(&org, &h);
    let approved = device
        .approve(&rid, &Choice::default(), &demo_org_check())
        .unwrap();
    let gid = approved["grant"]["grant_id"].as_str().unwrap().to_owned();
    // Acknowledged; killed at once, before or after scheduling or a refused attempt.
    let _ = vault.0.kill();
    let _ = vault.0.wait();

    let vault_key =
        assent::client::webhook::parse_public_key(&org.trust.verifier.to_key_string()).unwrap();
    let rx = Receiver::start(vault_key, port);
    let (child, _) = serve_binary(dir.path(), &[], &env).expect("restarts");
    let _vault = KillOnDrop(child);
    // At most the lease (timeout + 30 s) if the crash came between a claim and its outcome.
    let m = rx.wait_for(60, "the approval after the restart", |m| {
        m.kind == WebhookKind::RequestApproved
    });
    assert_eq!(grant_of(&m), Some(gid.as_str()));
    assert!(rx.seen.refused.lock().unwrap().is_empty());
}
