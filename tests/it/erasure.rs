//! Erasure requests end to end: the customer asks after revoking; the organization hears of it
//! (webhook and listing) and answers with a statement signed by its identity key; the
//! customer's device believes the answer from its verified ledger and the organization's key
//! log; forged answers are refused; an unanswered request turns overdue in the grant view and
//! the receipts; the offline audit checks the records against the events.

use crate::common::*;
use crate::webhooks::Receiver;
use assent::domain::erasure::{AnswerStatement, ErasureOutcome, ErasureState};
use assent::domain::ids::{CustomerId, GrantId, OrgId};
use assent::domain::webhook::WebhookKind;
use serde_json::json;

const REASON: &str = "We must keep identity records for 5 years (AML Directive, Art. 40).";

#[test]
fn a_customer_asks_after_revoking_and_verifies_the_organizations_signed_answer() {
    let tv = start();
    let rx = Receiver::start(tv.vault.signer().public(), 0);
    let org = demo_org(&tv);
    org.add_webhook(&rx.url, &["erasure.requested".into()])
        .unwrap();
    let h = handle("era");
    let (mut device, _, gid) = granted(&tv, &h, None);
    let grant = GrantId::parse(&gid).unwrap();
    org.read(&h, "email", PURPOSE).ok();
    device.revoke(&grant).unwrap();
    let asked = device.ask_erasure(&grant).unwrap();
    let days = asked.erasure.due.unix() - asked.erasure.requested_at.unix();
    assert_eq!(days, 30 * 86_400);
    assert_eq!(asked.erasure.state, ErasureState::Pending);
    let again = device.ask_erasure(&grant).unwrap_err();
    assert_eq!(again.code(), Some("erasure_already_requested"));

    // The organization is told, and lists it.
    let m = rx.wait_for(10, "erasure.requested", |m| {
        m.kind == WebhookKind::ErasureRequested
    });
    assert_eq!(m.data.grant_id.as_ref(), Some(&grant));
    assert_eq!(m.data.due, Some(asked.erasure.due));
    let listed = org.erasure_requests().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request_index, asked.ledger.index);

    // Before the answer, the device sees it pending from its own ledger.
    let mine = device.erasures().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, ErasureState::Pending);
    assert_eq!(mine[0].request_index, asked.ledger.index);

    // The signed refusal.
    let answered = org
        .answer_erasure(&gid, ErasureOutcome::Refused, Some(REASON))
        .unwrap();
    assert_eq!(answered.erasure.state, ErasureState::Refused);
    let twice = org
        .answer_erasure(&gid, ErasureOutcome::Erased, None)
        .unwrap_err();
    assert_eq!(twice.code(), Some("erasure_already_answered"));
    let mine = device.erasures().unwrap();
    assert_eq!(mine[0].state, ErasureState::Refused);
    let answer = mine[0].answer.as_ref().unwrap();
    assert_eq!(answer.reason.as_deref(), Some(REASON));
    assert_eq!(answer.answer_index, answered.ledger.index);

    // The grant view and both receipts state it.
    let view = device
        .grants()
        .unwrap()
        .into_iter()
        .find(|g| g.terms.grant_id == grant)
        .unwrap();
    assert_eq!(view.erasure.unwrap().state, ErasureState::Refused);
    let receipts: serde_json::Value = device
        .api
        .get(&format!("/v1/me/grants/{gid}/receipt"))
        .unwrap();
    let k = &receipts["kantara"]["receipt"]["assentGrant"]["erasure"];
    assert_eq!(k["state"], "refused", "{k}");
    assert_eq!(k["reason"], REASON);
    assert_eq!(k["answer_ledger_entry"]["index"], answered.ledger.index);
    let iso = &receipts["iso27560"]["receipt"]["assent:erasureRequest"];
    assert_eq!(iso["assent:erasureState"], "refused", "{iso}");

    // The offline audit agrees with the records; a record changed behind the ledger fails it.
    let staging = tv.dir.path().join("staging-audit");
    std::fs::create_dir_all(&staging).unwrap();
    let file = staging.join("backup.redb");
    tv.vault.store().backup_to(&file).unwrap();
    let keys = assent::config::VaultKeys::load(&repo("keys-example")).unwrap();
    let v =
        assent::ledger::note::Verifier::new(&keys.name, &keys.signing.verifying_key().to_bytes())
            .unwrap();
    assent::store::audit::audit_file(&file, &staging, "assent.demo", std::slice::from_ref(&v))
        .unwrap();
    {
        let db = redb::Database::open(&file).unwrap();
        use redb::ReadableTable;
        let w = db.begin_write().unwrap();
        {
            let mut t = w
                .open_table(assent::store::tables::ERASURE_REQUESTS)
                .unwrap();
            let mut record: serde_json::Value = {
                let got = t.get(gid.as_str()).unwrap().unwrap();
                serde_json::from_slice(got.value()).unwrap()
            };
            record["answer"]["outcome"] = json!("erased");
            record["answer"].as_object_mut().unwrap().remove("reason");
            t.insert(
                gid.as_str(),
                serde_json::to_vec(&record).unwrap().as_slice(),
            )
            .unwrap();
        }
        w.commit().unwrap();
    }
    let e = assent::store::audit::audit_file(&file, &staging, "assent.demo", &[v]).unwrap_err();
    assert!(e.to_string().contains("erasure_requests"), "{e}");
}

#[test]
fn a_forged_or_misaddressed_answer_is_refused_and_changes_nothing() {
    let tv = start();
    let h = handle("erf");
    let (device, org, gid) = granted(&tv, &h, None);
    let grant = GrantId::parse(&gid).unwrap();
    let asked = device.ask_erasure(&grant).unwrap();
    let token = org.api.token().unwrap().to_owned();
    let demo = demo_org_keys();
    let org_id = OrgId::parse(DEMO_ORG).unwrap();
    let customer = CustomerId::parse(device.customer_id.as_str()).unwrap();
    let sign = |key: &assent::crypto::keys::SigningKey, index: u64, reason: Option<&str>| {
        let statement = AnswerStatement {
            customer_id: &customer,
            org_id: &org_id,
            grant_id: &grant,
            request_index: index,
            outcome: if reason.is_some() {
                ErasureOutcome::Refused
            } else {
                ErasureOutcome::Erased
            },
            reason,
        };
        assent::crypto::b64::encode(
            &assent::crypto::sign::sign_erasure_answer(key, &statement).unwrap(),
        )
    };
    let path = format!("/v1/org/erasure-requests/{gid}/answer");
    let other = new_org(&tv, "org_era_other");
    let before = ledger_size(&tv);
    let stranger = assent::crypto::keys::generate_signing_key();
    let index = asked.ledger.index;
    for (body, status, code) in [
        // Signed by a key that is not the organization's.
        (
            json!({"outcome": "erased", "signature": sign(&stranger, index, None)}),
            400,
            "bad_signature",
        ),
        // The organization's key, over another request.
        (
            json!({"outcome": "erased", "signature": sign(&demo.identity, index + 1, None)}),
            400,
            "bad_signature",
        ),
        // Signed as an erasure, sent as a refusal.
        (
            json!({"outcome": "refused", "reason": REASON, "signature": sign(&demo.identity, index, None)}),
            400,
            "bad_signature",
        ),
        (
            json!({"outcome": "refused", "signature": sign(&demo.identity, index, None)}),
            400,
            "reason_required",
        ),
        (
            json!({"outcome": "erased", "reason": "x", "signature": sign(&demo.identity, index, None)}),
            400,
            "bad_reason",
        ),
        (
            json!({"outcome": "forgotten", "signature": sign(&demo.identity, index, None)}),
            400,
            "bad_json",
        ),
    ] {
        let got = call(&tv, "POST", &path, Some(&token), Some(&body));
        assert_error(&got, status, code);
    }
    // Another organization cannot answer (or see) it.
    let e = other
        .answer_erasure(&gid, ErasureOutcome::Erased, None)
        .unwrap_err();
    assert!(e.to_string().contains("no erasure request"), "{e}");
    assert!(other.erasure_requests().unwrap().is_empty());
    let body = json!({"outcome": "erased", "signature": sign(&demo.identity, index, None)});
    let got = call(
        &tv,
        "POST",
        &path,
        Some(other.api.token().unwrap()),
        Some(&body),
    );
    assert_error(&got, 404, "erasure_not_found");
    // Nothing was logged, and the genuine answer still goes through.
    assert_eq!(ledger_size(&tv), before);
    let got = call(&tv, "POST", &path, Some(&token), Some(&body));
    assert_eq!(got.0, 201, "{}", got.1);
}

#[test]
fn an_unanswered_request_is_overdue_in_the_grant_view_the_listing_and_the_receipts() {
    let tv = start();
    let h = handle("ero");
    let (device, org, gid) = granted(&tv, &h, None);
    let grant = GrantId::parse(&gid).unwrap();
    device.revoke(&grant).unwrap();
    device.ask_erasure(&grant).unwrap();
    let state = |device: &assent::client::customer::Device| {
        device
            .grants()
            .unwrap()
            .into_iter()
            .find(|g| g.terms.grant_id == grant)
            .and_then(|g| g.erasure)
            .map(|e| e.state)
    };
    assert_eq!(state(&device), Some(ErasureState::Pending));
    tv.clock.advance(31 * 86_400);
    assert_eq!(state(&device), Some(ErasureState::Overdue));
    assert_eq!(
        org.erasure_requests().unwrap()[0].state,
        ErasureState::Overdue
    );
    let receipts: serde_json::Value = device
        .api
        .get(&format!("/v1/me/grants/{gid}/receipt"))
        .unwrap();
    assert_eq!(
        receipts["kantara"]["receipt"]["assentGrant"]["erasure"]["state"],
        "overdue"
    );
    assert_eq!(
        receipts["iso27560"]["receipt"]["assent:erasureRequest"]["assent:erasureState"],
        "overdue"
    );
    // A late answer is still an answer.
    org.answer_erasure(&gid, ErasureOutcome::Erased, None)
        .unwrap();
    assert_eq!(state(&device), Some(ErasureState::Erased));
}
