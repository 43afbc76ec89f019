//! The write path under concurrency: reads planned on a snapshot and decided in the writer, and
//! the per-party ledger indexes that the writer keeps behind the ledger under load.

use crate::common::*;
use assent::domain::ids::{CustomerId, GrantId};
use assent::domain::time::Timestamp;
use assent::ledger::Event;
use assent::store::prelude::*;
use assent::store::tables::INDEXED_UPTO;
use assent::store::{Store, StoreError};
use std::time::Duration;

const PURPOSE: &str = "dpv:IdentityVerification";

/// Holds the vault's single writer busy for `ms` (a use case that sleeps), from another thread.
fn hold_writer(tv: &TestVault, ms: u64) -> std::thread::JoinHandle<()> {
    let vault = tv.vault.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(vault.store().writer().act(move |_tx: &mut dyn Batch| {
            std::thread::sleep(Duration::from_millis(ms));
            Ok::<_, StoreError>(())
        }))
        .unwrap();
    })
}

/// `first` queues behind a busy writer; `then` runs while it is still queued, so `then` is
/// planned on a snapshot without `first` and decided in the writer after it. Returns what
/// `then` answered, once `first` is done (it asserts its own success).
fn queued_behind<T>(
    tv: &TestVault,
    first: impl FnOnce() + Send + 'static,
    then: impl FnOnce() -> T,
) -> T {
    let busy = hold_writer(tv, 800);
    std::thread::sleep(Duration::from_millis(100));
    let first = std::thread::spawn(first);
    std::thread::sleep(Duration::from_millis(300));
    let out = then();
    busy.join().unwrap();
    first.join().unwrap();
    out
}

#[test]
fn a_revocation_committed_after_a_read_was_planned_still_refuses_it() {
    let tv = start();
    let (device, org, gid) = granted(&tv, &handle("race"), None);
    let customer = device.customer_id.to_string();
    let gid = GrantId::parse(&gid).unwrap();

    // The revocation queues behind the busy writer, and this read is planned on a snapshot
    // where the grant is still active, then queues behind the revocation.
    let revoke = move || {
        device.revoke(&gid).unwrap();
    };
    let read = queued_behind(&tv, revoke, || org.read(&customer, "email", PURPOSE));
    let Err(err) = read else {
        panic!("a read after an acknowledged revocation must fail");
    };
    assert_eq!(err.code(), Some("grant_revoked"), "{err}");
    // No read was logged.
    let ledger = org.ledger().unwrap();
    let reads = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "read")
        .count();
    assert_eq!(reads, 0, "{ledger}");
}

#[test]
fn a_read_planned_before_a_new_version_returns_the_new_version() {
    let tv = start();
    let (mut device, org, _) = granted(&tv, &handle("newver"), None);
    let customer = device.customer_id.to_string();
    // The device verifies its ledger before wrapping; with a checkpoint already covering the
    // ledger, that check needs no write and the put reaches the writer first.
    device.own_ledger().unwrap();

    let put = move || {
        let label = "email".parse_label();
        device
            .put(&label, "text/plain", b"bob@example.com", false)
            .unwrap();
    };
    // Planned on version 1; by the time its batch runs, version 2 (with this org's wrap) is
    // committed ahead of it, so the plan no longer holds and the read is decided again.
    let (r, plain) = queued_behind(&tv, put, || org.read(&customer, "email", PURPOSE)).unwrap();
    assert_eq!(r.version, 2);
    assert_eq!(plain.as_slice(), b"bob@example.com");
}

/// The covering grants of a customer write are planned on a snapshot too: a revocation
/// committed between the plan and the write's batch must not leave the revoked grant holding a
/// wrap of the new data key.
#[test]
fn a_write_planned_before_a_revocation_gives_the_revoked_grant_no_wrap() {
    let tv = start();
    let (mut device, _org, gid) = granted(&tv, &handle("wrrevoke"), None);
    let customer = device.customer_id.clone();
    let gid = GrantId::parse(&gid).unwrap();
    device.own_ledger().unwrap();

    // The revocation queues behind the busy writer, while the device, which still sees the
    // grant active, wraps the new version for it.
    let (vault, c, g) = (tv.vault.clone(), customer.clone(), gid.clone());
    let revoke = move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(vault.revoke(c, g)).unwrap();
    };
    let put = queued_behind(&tv, revoke, || {
        device.put(&"email".parse_label(), "text/plain", b"new", false)
    });
    let Err(err) = put else {
        panic!("a wrap for a grant revoked before the write was stored");
    };
    assert_eq!(err.code(), Some("unexpected_grant_wrap"), "{err}");
    let view = tv.vault.store().read().unwrap();
    assert!(view.wraps_of(&gid).unwrap().is_empty());
    let label = "email".parse_label();
    assert_eq!(
        view.envelope(&customer, &label).unwrap().unwrap().version,
        1
    );
}

/// A read quota used up between the plan and the batch counts too: reads move the count without
/// changing the grant's record, so a grant with a quota is read again in the batch.
#[test]
fn a_write_planned_before_the_last_allowed_read_gives_that_grant_no_wrap() {
    let tv = start();
    let (mut device, org, gid) = granted(&tv, &handle("wrquota"), Some(1));
    let customer = device.customer_id.clone();
    let gid = GrantId::parse(&gid).unwrap();
    device.own_ledger().unwrap();

    // The grant's one read queues behind the busy writer, while the device, which sees a read
    // left, wraps the new version for the grant.
    let c = customer.to_string();
    let read = move || {
        org.read(&c, "email", PURPOSE).unwrap();
    };
    let put = queued_behind(&tv, read, || {
        device.put(&"email".parse_label(), "text/plain", b"new", false)
    });
    let Err(err) = put else {
        panic!("a wrap for a grant whose quota was used up before the write was stored");
    };
    assert_eq!(err.code(), Some("unexpected_grant_wrap"), "{err}");
    let view = tv.vault.store().read().unwrap();
    let wraps = view.wraps_of(&gid).unwrap();
    assert!(wraps.iter().all(|w| w.version == 1), "{wraps:?}");
}

/// ...and a grant approved between the plan and the batch must get its wrap: the write that
/// did not wrap for it is refused, not stored with the grant's wrap left on the old version.
#[test]
fn a_write_planned_before_an_approval_is_refused_without_the_new_grants_wrap() {
    let tv = start();
    let handle = handle("wrapprove");
    let (profile, mut device) = customer(&tv, &handle);
    let label = "email".parse_label();
    device.put(&label, "text/plain", b"v1", false).unwrap();
    let mut approver = assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
    let org = demo_org(&tv);
    let req = org
        .request(&assent::client::org::Ask::new(
            &handle,
            &["email".into()],
            &[PURPOSE.into()],
            86_400,
            "to verify you",
        ))
        .unwrap();
    let rid = assent::domain::ids::RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
    device.own_ledger().unwrap();
    approver.own_ledger().unwrap();

    // The approval (with its wrap of version 1) queues behind the busy writer, while the other
    // device, seeing no grant yet, writes version 2 with no grant wrap.
    let approve = move || {
        approver
            .approve(&rid, &Default::default(), &demo_org_check())
            .unwrap();
    };
    let put = queued_behind(&tv, approve, || {
        device.put(&label, "text/plain", b"v2", false)
    });
    let Err(err) = put else {
        panic!("a write without the wrap of a grant approved before it was stored");
    };
    assert_eq!(err.code(), Some("grant_wraps_missing"), "{err}");
    let view = tv.vault.store().read().unwrap();
    let customer = device.customer_id.clone();
    assert_eq!(
        view.envelope(&customer, &label).unwrap().unwrap().version,
        1
    );
    drop(view);
    // Reloaded, the device wraps for the new grant and the organization reads version 2.
    device.put(&label, "text/plain", b"v2", false).unwrap();
    let (r, plain) = org.read(customer.as_str(), "email", PURPOSE).unwrap();
    assert_eq!((r.version, plain.as_slice()), (2, b"v2".as_slice()));
}

fn registered(customer: &CustomerId) -> Event {
    Event::CustomerRegistered {
        customer_id: customer.clone(),
        at: Timestamp::parse("2026-11-25T10:00:00Z").unwrap(),
    }
}

/// (customer, index) rows of `customer_events`.
fn indexed(store: &Store) -> Vec<(String, u64)> {
    let view = store.read().unwrap();
    let mut out = Vec::new();
    for c in ["cus_idxa", "cus_idxb", "cus_idxc"] {
        for i in view
            .customer_event_indexes(&CustomerId::parse(c).unwrap())
            .unwrap()
        {
            out.push((c.to_owned(), i));
        }
    }
    out.sort();
    out
}

#[test]
fn party_indexes_lag_under_load_and_catch_up_on_open_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let customers: Vec<CustomerId> = ["cus_idxa", "cus_idxb", "cus_idxc"]
        .iter()
        .map(|c| CustomerId::parse(c).unwrap())
        .collect();

    // One batch of many use cases (queued behind a busy writer): a loaded writer leaves their
    // events out of the party indexes for now.
    rt.block_on(async {
        let w = store.writer().clone();
        let busy = tokio::spawn(async move {
            w.act(|_tx: &mut dyn Batch| {
                std::thread::sleep(Duration::from_millis(300));
                Ok::<_, StoreError>(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut tasks = Vec::new();
        for n in 0..60usize {
            let (w, c) = (store.writer().clone(), customers[n % 3].clone());
            tasks.push(tokio::spawn(async move {
                w.act(move |tx: &mut dyn Batch| {
                    let mut nonce = [0u8; 32];
                    nonce[0] = n as u8;
                    tx.append(&registered(&c), nonce).map(|_| ())
                })
                .await
            }));
        }
        busy.await.unwrap().unwrap();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    let view = store.read().unwrap();
    let (size, upto) = (view.ledger_size().unwrap(), view.indexed_upto().unwrap());
    drop(view);
    assert_eq!(size, 60);
    assert!(
        upto < size,
        "the batch of 60 should have deferred its indexing ({upto})"
    );
    assert_eq!(indexed(&store).len() as u64, upto);

    // A crash now: copy the file as it is on disk (every batch above is committed).
    std::fs::copy(
        dir.path().join(assent::store::DB_FILE),
        crashed.path().join(assent::store::DB_FILE),
    )
    .unwrap();

    // Opening the crashed copy indexes the tail: exactly every event under its customer.
    let reopened = Store::open(crashed.path()).unwrap();
    let view = reopened.read().unwrap();
    assert_eq!(view.indexed_upto().unwrap(), 60);
    drop(view);
    let got = indexed(&reopened);
    assert_eq!(got.len(), 60);
    let mut idx: Vec<u64> = got.iter().map(|(_, i)| *i).collect();
    idx.sort();
    assert_eq!(idx, (0..60).collect::<Vec<_>>());
    let view = reopened.read().unwrap();
    for (c, i) in &got {
        let stored = view.event(*i).unwrap().unwrap();
        let event = assent::ledger::event::parse_stored(&stored).unwrap();
        assert_eq!(
            event.event.customer().map(|c| c.as_str()),
            Some(c.as_str()),
            "event {i}"
        );
    }
    drop(view);
    rt.block_on(reopened.writer().shutdown());

    // A clean shutdown of the original indexes everything before it lets go (read with redb
    // directly: `Store::open` would index the tail itself).
    rt.block_on(store.writer().shutdown());
    drop(store);
    {
        let db = redb::Database::open(dir.path().join(assent::store::DB_FILE)).unwrap();
        let rtx = redb::ReadableDatabase::begin_read(&db).unwrap();
        let meta = rtx.open_table(assent::store::tables::META).unwrap();
        let upto = redb::ReadableTable::get(&meta, INDEXED_UPTO)
            .unwrap()
            .unwrap()
            .value();
        assert_eq!(upto, 60);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(indexed(&store).len(), 60);
    rt.block_on(store.writer().shutdown());
}

#[test]
fn a_wire_v1_database_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join("assent.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(assent::store::tables::META)
            .unwrap()
            .insert("schema_version", 1u64)
            .unwrap();
        txn.commit().unwrap();
    }
    let Err(e) = Store::open(dir.path()) else {
        panic!("a schema version 1 database was opened");
    };
    let msg = e.to_string();
    assert!(
        msg.contains("schema version 1")
            && msg.contains("wire v1")
            && msg.contains("move the data directory aside"),
        "{msg}"
    );
}

#[test]
fn the_data_directory_database_and_backups_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let store = Store::open(&dir).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data directory");
    assert_eq!(mode(&dir.join("assent.redb")), 0o600, "database file");
    let staging = store.staging_dir().unwrap();
    assert!(staging.starts_with(&dir));
    assert_eq!(mode(&staging), 0o700, "staging directory");
    let copy = staging.join("copy.redb");
    store.backup_to(&copy).unwrap();
    assert_eq!(mode(&copy), 0o600, "backup copy");
}
