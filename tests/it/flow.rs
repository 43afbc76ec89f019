//! The vault core end to end, through the same client code the CLI uses, against a real server
//! on 127.0.0.1:0 with a real redb file.

use crate::common::*;
use assent::client::customer::Choice;
use assent::client::org::Ask;
use assent::domain::catalog::Label;
use assent::domain::ids::{GrantId, RequestId};
use serde_json::Value;

const IDV: &str = "dpv:IdentityVerification";

fn l(s: &str) -> Label {
    Label::parse(s).unwrap()
}

fn rid(v: &Value) -> RequestId {
    RequestId::parse(v["request_id"].as_str().unwrap()).unwrap()
}

#[test]
fn customer_stores_lists_and_reads_back_envelopes() {
    let tv = start();
    let (profile, mut d) = customer(&tv, &handle("store"));
    d.put(&l("email"), "text/plain", b"alice@example.com", false)
        .unwrap();
    d.put(
        &l("postal_address"),
        "text/plain",
        b"1 Main St\nSpringfield",
        false,
    )
    .unwrap();
    let file: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    d.put(&l("document"), "application/pdf", &file, false)
        .unwrap();

    let list = d.envelopes().unwrap();
    let labels: Vec<&str> = list.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["document", "email", "postal_address"]);
    assert!(list.iter().all(|e| e.version == 1 && !e.rotation_pending));
    assert_eq!(&d.get(&l("document")).unwrap().1[..], &file[..]);
    assert_eq!(&d.get(&l("email")).unwrap().1[..], b"alice@example.com");

    // A second device unlocks with the same passphrase and reads the same data.
    let mut other = assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
    assert_eq!(
        &other.get(&l("postal_address")).unwrap().1[..],
        b"1 Main St\nSpringfield"
    );
    // A new version replaces the old one.
    other
        .put(&l("email"), "text/plain", b"alice@new.example", false)
        .unwrap();
    let (e, plain) = d.get(&l("email")).unwrap();
    assert_eq!(
        (e.summary.version, &plain[..]),
        (2, &b"alice@new.example"[..])
    );
    // The wrong passphrase opens nothing.
    let err = assent::client::customer::unlock(&profile, b"wrong passphrase")
        .err()
        .unwrap();
    assert_eq!(err.code(), Some("bad_credentials"));
}

#[test]
fn org_requests_customer_approves_org_reads_within_the_grant_only() {
    let tv = start();
    let h = handle("flow");
    let (_, mut d) = customer(&tv, &h);
    d.put(&l("email"), "text/plain", b"alice@example.com", false)
        .unwrap();
    d.put(&l("postal_address"), "text/plain", b"1 Main St", false)
        .unwrap();
    let org = demo_org(&tv);
    let req = org
        .request(&Ask::new(
            &h,
            &["email".into(), "postal_address".into()],
            &[IDV.into()],
            30 * 86_400,
            "to open your account",
        ))
        .unwrap();
    assert_eq!(req["status"], "pending");
    let pending = d.requests().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].org.name, "Acme Bank (demo)");

    // Approve narrower than asked: email only, two reads.
    let approved = d
        .approve(
            &rid(&req),
            &Choice {
                labels: Some(vec![l("email")]),
                max_reads: Some(2),
                ..Choice::default()
            },
            &crate::common::demo_org_check(),
        )
        .unwrap();
    let gid = approved["grant"]["grant_id"].as_str().unwrap().to_owned();
    assert_eq!(approved["grant"]["labels"], serde_json::json!(["email"]));

    let cid = d.customer_id.as_str().to_owned();
    let (r, plain) = org.read(&cid, "email", IDV).unwrap();
    assert_eq!(&plain[..], b"alice@example.com");
    assert_eq!(r.grant_id.as_str(), gid);

    let refused = |label: &str, purpose: &str| {
        org.read(&cid, label, purpose)
            .err()
            .unwrap()
            .code()
            .map(str::to_owned)
    };
    assert_eq!(
        refused("postal_address", IDV).as_deref(),
        Some("label_not_granted")
    );
    assert_eq!(
        refused("email", "dpv:Marketing").as_deref(),
        Some("purpose_not_granted")
    );
    org.read(&cid, "email", IDV).unwrap();
    assert_eq!(refused("email", IDV).as_deref(), Some("quota_exhausted"));

    // The read is on the customer's ledger at the index the org was given.
    let ledger = d.ledger().unwrap();
    let entry = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["index"] == r.ledger.index)
        .unwrap();
    assert_eq!(entry["event"]["type"], "read");
    assert_eq!(entry["event"]["purpose"], IDV);
    assert_eq!(entry["leaf"], assent::crypto::b64::encode(&r.ledger.leaf));
    // The org sees its request approved.
    let mine = org.requests().unwrap();
    assert_eq!(mine[0]["status"], "approved");
    assert_eq!(mine[0]["grant_id"], gid);
}

#[test]
fn revoke_stops_the_next_read_destroys_wraps_and_rotation_locks_old_keys_out() {
    let tv = start();
    let h = handle("revoke");
    let (mut d, org, gid) = granted(&tv, &h, None);
    // A second org keeps its grant through the rotation.
    let other = new_org(&tv, "org_keeper");
    let req = other
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            86_400,
            "keep going",
        ))
        .unwrap();
    d.approve(
        &rid(&req),
        &Choice::default(),
        &crate::common::org_check(&other.keys),
    )
    .unwrap();

    let cid = d.customer_id.as_str().to_owned();
    let (before, _) = org.read(&cid, "email", IDV).unwrap();

    let revoked = d.revoke(&GrantId::parse(&gid).unwrap()).unwrap();
    assert_eq!(revoked["grant"]["state"], "revoked");
    assert!(
        revoked["note"]
            .as_str()
            .unwrap()
            .contains("cannot be recalled")
    );
    assert_eq!(
        org.read(&cid, "email", IDV).err().unwrap().code(),
        Some("grant_revoked")
    );
    let detail: Value = d.api.get(&format!("/v1/me/grants/{gid}")).unwrap();
    assert_eq!(detail["wrapped_labels"], serde_json::json!([]));
    assert!(
        tv.vault
            .grant_wraps(&GrantId::parse(&gid).unwrap())
            .unwrap()
            .is_empty()
    );
    assert!(d.envelopes().unwrap()[0].rotation_pending);

    // The device rotates: new data key, version 2, re-wrapped for the remaining grant only.
    assert_eq!(d.rotate_pending().unwrap(), vec![l("email")]);
    let e = &d.envelopes().unwrap()[0];
    assert_eq!((e.version, e.rotation_pending), (2, false));
    let (after, plain) = other.read(&cid, "email", IDV).unwrap();
    assert_eq!((after.version, &plain[..]), (2, &b"alice@example.com"[..]));
    // The revoked org's old wrapped key does not open the new version.
    let mut stale = before;
    stale.version = after.version;
    stale.nonce = after.nonce;
    stale.ciphertext = after.ciphertext.clone();
    assert!(stale.open(&demo_org_keys()).is_err());
    // Revoking twice is a clear conflict.
    let again = d.revoke(&GrantId::parse(&gid).unwrap()).err().unwrap();
    assert_eq!(again.code(), Some("already_revoked"));
    let types: Vec<String> = d.ledger().unwrap()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        types
            .windows(2)
            .any(|w| w == ["grant_revoked", "key_rotated"]),
        "{types:?}"
    );
}

#[test]
fn a_grant_expires_without_any_action() {
    let tv = start();
    let h = handle("expiry");
    let (_, mut d) = customer(&tv, &h);
    d.put(&l("email"), "text/plain", b"alice@example.com", false)
        .unwrap();
    let org = demo_org(&tv);
    let req = org
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            3600,
            "briefly",
        ))
        .unwrap();
    d.approve(
        &rid(&req),
        &Choice {
            duration_secs: Some(60),
            ..Choice::default()
        },
        &crate::common::demo_org_check(),
    )
    .unwrap();
    let cid = d.customer_id.as_str().to_owned();
    org.read(&cid, "email", IDV).unwrap();
    // A minute later on the vault's clock (moved, not waited for).
    tv.clock.advance(61);
    assert_eq!(
        org.read(&cid, "email", IDV).err().unwrap().code(),
        Some("grant_expired")
    );
}

#[test]
fn decline_is_final_and_recorded() {
    let tv = start();
    let h = handle("decline");
    let (_, mut d) = customer(&tv, &h);
    let org = demo_org(&tv);
    let req = org
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            3600,
            "please",
        ))
        .unwrap();
    d.decline(&rid(&req)).unwrap();
    // The device refuses; the server would too, before even checking a signature.
    assert!(
        d.approve(
            &rid(&req),
            &Choice::default(),
            &crate::common::demo_org_check()
        )
        .is_err()
    );
    let body = serde_json::json!({
        "grant": {
            "grant_id": "grt_late", "customer_id": d.customer_id, "org_id": "org_demo_acme",
            "org_identity_key": assent::crypto::b64::encode(&demo_org_public().0),
            "org_encryption_key": assent::crypto::b64::encode(&demo_org_public().1),
            "labels": ["email"], "purposes": [IDV], "not_after": "2099-01-01T00:00:00Z",
        },
        "signature": assent::crypto::b64::encode(&[0u8; 64]),
    });
    let path = format!("/v1/me/requests/{}/approve", rid(&req));
    assert_error(
        &call(&tv, "POST", &path, d.api.token(), Some(&body)),
        409,
        "request_decided",
    );
    assert_eq!(org.requests().unwrap()[0]["status"], "declined");
    let last = d.ledger().unwrap()["entries"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["event"]["type"], "request_declined");
    // An org with no grant reads nothing.
    let cid = d.customer_id.as_str().to_owned();
    assert_eq!(
        org.read(&cid, "email", IDV).err().unwrap().code(),
        Some("no_grant")
    );
}

#[test]
fn updates_are_rewrapped_for_active_grants_and_erase_destroys_everything() {
    let tv = start();
    let (mut d, org, gid) = granted(&tv, &handle("erase"), None);
    let cid = d.customer_id.as_str().to_owned();
    d.put(&l("email"), "text/plain", b"alice@moved.example", false)
        .unwrap();
    let (r, plain) = org.read(&cid, "email", IDV).unwrap();
    assert_eq!((r.version, &plain[..]), (2, &b"alice@moved.example"[..]));

    d.erase(&l("email")).unwrap();
    assert_eq!(
        org.read(&cid, "email", IDV).err().unwrap().code(),
        Some("envelope_not_found")
    );
    assert!(d.envelopes().unwrap().is_empty());
    assert!(
        tv.vault
            .grant_wraps(&GrantId::parse(&gid).unwrap())
            .unwrap()
            .is_empty()
    );
    assert!(tv.vault.envelope(&d.customer_id, &l("email")).is_err());
    let last = d.ledger().unwrap()["entries"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["event"]["type"], "envelope_erased");
}

#[test]
fn every_act_is_on_the_ledger_and_each_party_sees_only_its_own() {
    let tv = start();
    let size0 = tv.vault.ledger_size().unwrap(); // the demo org's registration
    let (d, org, _) = granted(&tv, &handle("ledger"), None);
    let (_, stranger) = customer(&tv, &handle("stranger"));
    org.read(d.customer_id.as_str(), "email", IDV).unwrap();

    let mine = d.ledger().unwrap();
    let entries = mine["entries"].as_array().unwrap();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "customer_registered",
            "envelope_written",
            "request_created",
            "grant_created",
            "read"
        ]
    );
    // Each leaf is recomputed from its nonce and the JCS of its event.
    for e in entries {
        let event: assent::ledger::Sequenced = serde_json::from_value(e["event"].clone()).unwrap();
        let nonce: [u8; 32] =
            assent::crypto::b64::decode_array(e["nonce"].as_str().unwrap(), "nonce").unwrap();
        let leaf = assent::ledger::leaf_commitment(&nonce, &event.canonical().unwrap());
        assert_eq!(e["leaf"], assent::crypto::b64::encode(&leaf));
        assert_eq!(e["event"]["customer_id"], d.customer_id.as_str());
    }
    let theirs = stranger.ledger().unwrap();
    assert_eq!(theirs["entries"].as_array().unwrap().len(), 1);
    assert_eq!(tv.vault.ledger_size().unwrap(), size0 + 6);
    let org_view = org.ledger().unwrap();
    assert!(
        org_view["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"]["org_id"] == "org_demo_acme")
    );
}

#[test]
fn acknowledged_acts_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().to_owned();
    let (profile, gid, size) = {
        let tv = start_with(|c| c.data_dir = path.clone());
        let h = handle("restart");
        let (d, org, gid) = granted(&tv, &h, None);
        org.read(d.customer_id.as_str(), "email", IDV).unwrap();
        let profile = assent::client::profile::Profile {
            kind: "assent/customer-profile".into(),
            server: String::new(),
            handle: h,
            customer_id: d.customer_id.to_string(),
            bundle: tv.vault.customer(&d.customer_id).unwrap().bundle,
            x25519_public: tv.vault.customer(&d.customer_id).unwrap().x25519_public,
            ed25519_public: tv.vault.customer(&d.customer_id).unwrap().ed25519_public,
            vault_key: None,
            witness_policy: None,
            last_checkpoint: None,
            last_seq: 0,
            org_anchors: Default::default(),
        };
        (profile, gid, tv.vault.ledger_size().unwrap())
    };
    let tv = start_with(|c| c.data_dir = path.clone());
    assert_eq!(tv.vault.ledger_size().unwrap(), size);
    let mut profile = profile;
    profile.server = tv.url.clone();
    let d = assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
    assert_eq!(&d.get(&l("email")).unwrap().1[..], b"alice@example.com");
    let org = demo_org(&tv);
    let (r, _) = org.read(d.customer_id.as_str(), "email", IDV).unwrap();
    assert_eq!(
        r.ledger.index, size,
        "appends continue where the tree ended"
    );
    assert_eq!(r.grant_id.as_str(), gid);
}

#[test]
fn a_grant_whose_quota_is_used_up_needs_no_new_wraps() {
    let tv = start();
    let (mut d, org, gid) = granted(&tv, &handle("quota"), Some(1));
    let cid = d.customer_id.as_str().to_owned();
    org.read(&cid, "email", IDV).unwrap();
    // The grant can never read again: a new version is written without a wrap for it ...
    let written = d
        .put(&l("email"), "text/plain", b"alice@later.example", false)
        .unwrap();
    assert_eq!(written["version"], 2);
    let (status, grant) = call(
        &tv,
        "GET",
        &format!("/v1/me/grants/{gid}"),
        d.api.token(),
        None,
    );
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["wrapped_labels"], serde_json::json!([]), "{grant}");
    // ... and the organization is still refused for its quota.
    let err = org.read(&cid, "email", IDV).unwrap_err();
    assert_eq!(err.code(), Some("quota_exhausted"), "{err}");
}

/// Reads SSE events from a live stream until `want` events (comments skipped) or the timeout.
fn read_events(res: &mut reqwest::blocking::Response, want: usize) -> Vec<(String, String, Value)> {
    use std::io::BufRead as _;
    let mut out = Vec::new();
    let mut reader = std::io::BufReader::new(res);
    let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
    let mut line = String::new();
    while out.len() < want {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if !event.is_empty() {
                out.push((
                    std::mem::take(&mut id),
                    std::mem::take(&mut event),
                    serde_json::from_str(&std::mem::take(&mut data)).unwrap(),
                ));
            }
            continue;
        }
        if let Some(v) = l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")) {
            id = v.to_owned();
        } else if let Some(v) = l
            .strip_prefix("event: ")
            .or_else(|| l.strip_prefix("event:"))
        {
            event = v.to_owned();
        } else if let Some(v) = l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")) {
            data.push_str(v);
        }
    }
    out
}

fn open_stream(tv: &TestVault, token: &str, last: Option<&str>) -> reqwest::blocking::Response {
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let mut req = client
        .get(format!("{}/v1/me/events", tv.url))
        .bearer_auth(token);
    if let Some(l) = last {
        req = req.header("last-event-id", l);
    }
    req.send().unwrap()
}

#[test]
fn the_live_stream_announces_new_entries_by_id_and_kind_only_and_resumes() {
    let tv = start();
    let h = handle("live");
    let (_, mut d) = customer(&tv, &h);
    let token = d.api.token().unwrap().to_owned();
    let mut res = open_stream(&tv, &token, None);
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let ready = read_events(&mut res, 1);
    assert_eq!(ready[0].1, "ready");
    // Sign-up is the customer's entry 1.
    assert_eq!(ready[0].0, "1");

    d.put(&l("email"), "text/plain", b"alice@example.com", false)
        .unwrap();
    let org = demo_org(&tv);
    let req = org
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            3600,
            "to verify you",
        ))
        .unwrap();
    let got = read_events(&mut res, 2);
    assert_eq!(got[0].1, "envelope_written");
    assert_eq!(got[0].0, "2");
    assert_eq!(got[1].1, "request_created");
    assert_eq!(got[1].2["request_id"], req["request_id"]);
    assert_eq!(got[1].2["org_id"], "org_demo_acme");
    // Ids and kinds only: no labels, purposes or terms.
    let keys: Vec<&str> = got[1]
        .2
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["index", "org_id", "request_id", "seq", "type"]);
    drop(res);

    // Resume after entry 2: entry 3 (the request) is replayed, then the approval follows live.
    let mut res = open_stream(&tv, &token, Some("2"));
    let replay = read_events(&mut res, 1);
    assert_eq!(
        (replay[0].0.as_str(), replay[0].1.as_str()),
        ("3", "request_created")
    );
    d.approve(
        &rid(&req),
        &Choice::default(),
        &crate::common::demo_org_check(),
    )
    .unwrap();
    let live = read_events(&mut res, 1);
    assert_eq!(
        (live[0].0.as_str(), live[0].1.as_str()),
        ("4", "grant_created")
    );

    // Bad input and limits.
    assert_error(
        &{
            let r = open_stream(&tv, &token, Some("x"));
            (r.status().as_u16(), r.json().unwrap())
        },
        400,
        "bad_last_event_id",
    );
    let mut open: Vec<_> = (0..3).map(|_| open_stream(&tv, &token, None)).collect();
    assert!(open.iter().all(|r| r.status() == 200));
    let over = open_stream(&tv, &token, None);
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["retry-after"], "30");
    assert_error(&(429, over.json().unwrap()), 429, "too_many_streams");
    // Closing one frees its place.
    drop(res);
    open.pop();
    let mut again = None;
    for _ in 0..50 {
        let r = open_stream(&tv, &token, None);
        if r.status() == 200 {
            again = Some(r);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        again.is_some(),
        "a closed stream's place was not given back"
    );
    assert_eq!(open_stream(&tv, "junk", None).status(), 401);
}

#[test]
fn a_session_renews_with_its_token_and_keeps_its_start() {
    let tv = start();
    let (_, d) = customer(&tv, &handle("renew"));
    let token = d.api.token().unwrap().to_owned();
    let (status, renewed) = call(&tv, "POST", "/v1/me/session", Some(&token), None);
    assert_eq!(status, 200, "{renewed}");
    let fresh = renewed["token"].as_str().unwrap();
    assert_ne!(fresh, token);
    assert!(renewed["expires_in"].as_i64().unwrap() > 800);
    // The new token works, and renews again with the same end of session.
    let (status, again) = call(&tv, "POST", "/v1/me/session", Some(fresh), None);
    assert_eq!(status, 200);
    assert_eq!(again["renewable_until"], renewed["renewable_until"]);
    assert_eq!(call(&tv, "GET", "/v1/me", Some(fresh), None).0, 200);
    assert_error(
        &call(&tv, "POST", "/v1/me/session", None, None),
        401,
        "missing_token",
    );
}

#[test]
fn required_purposes_stay_and_the_rest_is_the_customers_choice() {
    const FRAUD: &str = "dpv:FraudPreventionAndDetection";
    const MARKETING: &str = "dpv:Marketing";
    let tv = start();
    let h = handle("purp");
    let (_, mut d) = customer(&tv, &h);
    d.put(&l("email"), "text/plain", b"alice@example.com", false)
        .unwrap();
    let org = demo_org(&tv);
    let purposes = [IDV.to_owned(), FRAUD.to_owned(), MARKETING.to_owned()];
    let ask = |required: &[String]| {
        org.request(&Ask {
            required_purposes: required,
            ..Ask::new(
                &h,
                &["email".into()],
                &purposes,
                3600,
                "to open your account",
            )
        })
    };
    // A required purpose must be among those asked for.
    assert_eq!(
        ask(&["dpv:Personalisation".into()]).unwrap_err().code(),
        Some("bad_required_purposes")
    );
    let req = ask(&[IDV.into()]).unwrap();
    assert_eq!(req["required_purposes"], serde_json::json!([IDV]));
    let p = |s: &str| assent::domain::catalog::Purpose::parse(s).unwrap();
    // The device refuses to leave out a required purpose before signing anything.
    let without = Choice {
        purposes: Some(vec![p(FRAUD)]),
        ..Choice::default()
    };
    let err = d
        .approve(&rid(&req), &without, &crate::common::demo_org_check())
        .unwrap_err();
    assert!(err.to_string().contains("needs"), "{err}");
    // Identity verification and fraud prevention kept, marketing left out.
    let kept = Choice {
        purposes: Some(vec![p(FRAUD), p(IDV)]),
        ..Choice::default()
    };
    let approved = d
        .approve(&rid(&req), &kept, &crate::common::demo_org_check())
        .unwrap();
    assert_eq!(
        approved["grant"]["purposes"],
        serde_json::json!([FRAUD, IDV])
    );
    let cid = d.customer_id.to_string();
    assert!(org.read(&cid, "email", IDV).is_ok());
    assert!(org.read(&cid, "email", FRAUD).is_ok());
    assert_eq!(
        org.read(&cid, "email", MARKETING).unwrap_err().code(),
        Some("purpose_not_granted")
    );
    // The organization sees what was granted.
    let seen = org
        .request_status(req["request_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(seen["status"], "approved");
    assert_eq!(seen["granted"]["purposes"], serde_json::json!([FRAUD, IDV]));
    assert_eq!(seen["granted"]["labels"], serde_json::json!(["email"]));
    assert_eq!(seen["granted"]["state"], "active");
}

/// Copies keys-example/ into a fresh directory (a key rotation must not touch the repo's).
fn keys_copy() -> tempfile::TempDir {
    let keys = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(repo("keys-example")).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() {
            std::fs::copy(f.path(), keys.path().join(f.file_name())).unwrap();
        }
    }
    keys
}

fn keygen(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_assent"))
        .arg("keygen")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_rotated_vault_key_is_accepted_only_when_the_pinned_key_vouched_for_it() {
    use assent::client::verify::KeyChange;
    let data = tempfile::tempdir().unwrap();
    let keys = keys_copy();
    let (dd, kd) = (data.path().to_owned(), keys.path().to_owned());
    let h = handle("rot");
    let profile = {
        let tv = start_with(|c| {
            c.data_dir = dd.clone();
            c.keys_dir = kd.clone();
        });
        let (mut profile, mut d) = customer(&tv, &h);
        d.put(&l("email"), "text/plain", b"alice@example.com", false)
            .unwrap();
        assert_eq!(d.own_ledger().unwrap().verified.entries.len(), 2);
        assert!(matches!(d.vault_key_change().unwrap(), KeyChange::None));
        d.save_into(&mut profile);
        profile
    };
    keygen(&["--rotate", "--out", kd.to_str().unwrap()]);
    let tv = start_with(|c| {
        c.data_dir = dd.clone();
        c.keys_dir = kd.clone();
    });
    let mut profile = profile;
    profile.server = tv.url.clone();
    let mut d = assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
    // Right after the restart the new key signs the current tree: the change is offered at once.
    assert!(matches!(
        d.vault_key_change().unwrap(),
        KeyChange::Vouched { .. }
    ));
    // Something happens after the rotation: the new key signs the next checkpoint.
    demo_org(&tv)
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            3600,
            "to verify you",
        ))
        .unwrap();
    // The old pin refuses the new checkpoints until the customer accepts the change.
    assert!(d.own_ledger().is_err());
    let change = d.vault_key_change().unwrap();
    let KeyChange::Vouched { chain, .. } = &change else {
        panic!("expected a vouched change, got {change:?}");
    };
    assert_eq!(chain.len(), 1);
    assert_eq!(
        chain[0].next.to_key_string(),
        tv.vault.signer().verifier_key()
    );
    d.accept_vault_key(&change).unwrap();
    // The history verified under the old key continues under the new one.
    assert_eq!(d.own_ledger().unwrap().verified.entries.len(), 3);
    assert!(matches!(d.vault_key_change().unwrap(), KeyChange::None));
    drop(tv);

    // A key the pinned key never vouched for (replaced outright) cannot be accepted.
    keygen(&["--force", "--demo", "--out", kd.to_str().unwrap()]);
    std::fs::remove_file(kd.join("vault-rotations.json")).unwrap();
    let tv = start_with(|c| {
        c.data_dir = dd.clone();
        c.keys_dir = kd.clone();
    });
    d.save_into(&mut profile);
    profile.server = tv.url.clone();
    let mut d = assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).unwrap();
    demo_org(&tv)
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            3600,
            "to verify you",
        ))
        .unwrap();
    // The ledger page has the new key sign a fresh checkpoint, which the old pin refuses.
    assert!(d.own_ledger().is_err());
    let change = d.vault_key_change().unwrap();
    assert!(matches!(change, KeyChange::Unvouched { .. }), "{change:?}");
    assert!(d.accept_vault_key(&change).is_err());
    assert!(d.own_ledger().is_err());
}

#[test]
fn a_passphrase_changes_with_the_old_one_and_a_closed_account_leaves_nothing_readable() {
    let tv = start();
    let h = handle("close");
    let (mut profile, mut d) = customer(&tv, &h);
    d.put(&l("email"), "text/plain", b"alice@example.com", false)
        .unwrap();
    let org = demo_org(&tv);
    let req = org
        .request(&Ask::new(
            &h,
            &["email".into()],
            &[IDV.into()],
            3600,
            "to verify you",
        ))
        .unwrap();
    d.approve(
        &rid(&req),
        &Choice::default(),
        &crate::common::demo_org_check(),
    )
    .unwrap();
    let cid = d.customer_id.to_string();
    // Wrong current passphrase: refused, nothing changed.
    let e = d
        .change_passphrase(
            &mut profile,
            b"not the passphrase",
            b"a new long passphrase",
            &FAST,
        )
        .unwrap_err();
    assert_eq!(e.code(), Some("bad_credentials"));
    let new = "a brand new and long passphrase";
    d.change_passphrase(&mut profile, PASSPHRASE.as_bytes(), new.as_bytes(), &FAST)
        .unwrap();
    assert!(assent::client::customer::unlock(&profile, PASSPHRASE.as_bytes()).is_err());
    let d = assent::client::customer::unlock(&profile, new.as_bytes()).unwrap();
    assert!(org.read(&cid, "email", IDV).is_ok());

    assert_eq!(
        d.close_account(&profile, PASSPHRASE.as_bytes())
            .unwrap_err()
            .code(),
        Some("bad_credentials")
    );
    let closed = d.close_account(&profile, new.as_bytes()).unwrap();
    assert_eq!(closed["grants_revoked"], 1);
    assert_eq!(closed["envelopes_erased"], 1);
    // The organization reads nothing; the session opens nothing; the handle is not free.
    assert!(org.read(&cid, "email", IDV).is_err());
    let token = d.api.token().unwrap();
    assert_error(
        &call(&tv, "GET", "/v1/me", Some(token), None),
        401,
        "unknown_customer",
    );
    assert!(assent::client::customer::unlock(&profile, new.as_bytes()).is_err());
    let again = assent::client::customer::sign_up(&tv.url, &h, PASSPHRASE.as_bytes(), &FAST);
    assert_eq!(again.unwrap_err().code(), Some("handle_taken"));
    // The closing acts are in the ledger, and the store still audits clean.
    let (entries, _) = tv.vault.customer_ledger(&d.customer_id).unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.event.event.kind()).collect();
    assert!(
        kinds.ends_with(&["grant_revoked", "envelope_erased"]),
        "{kinds:?}"
    );
}

#[test]
fn live_streams_end_at_shutdown_instead_of_holding_it() {
    // A grace period far longer than the test may take: a stream that held the shutdown would
    // hold it that long.
    let tv = start_with(|c| c.shutdown_grace_secs = 600);
    let (_, d) = customer(&tv, &handle("shut"));
    let mut res = open_stream(&tv, d.api.token().unwrap(), None);
    assert_eq!(read_events(&mut res, 1)[0].1, "ready");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(tv);
        let _ = done_tx.send(());
    });
    assert!(
        done_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_ok(),
        "an open live stream held the vault's shutdown"
    );
    // The client sees the stream end, and would reconnect with Last-Event-ID.
    use std::io::Read as _;
    let mut rest = Vec::new();
    assert!(res.read_to_end(&mut rest).is_ok());
}
