//! The verifiable ledger: signed checkpoints, RFC 9162 proofs served over HTTP, customers'
//! own-event verification, detection of rewritten or truncated history, the offline audit,
//! access receipts and consent receipts.

use crate::common::*;
use assent::client::Api;
use assent::client::verify::{
    Party, Verified, VerifyFailure, check_checkpoint, check_complete, pinned, verify_page,
};
use assent::crypto::b64;
use assent::ledger::checkpoint::Checkpoint;
use assent::ledger::merkle;
use assent::ledger::note::Verifier;
use assent::store::audit::{AuditFailure, audit};
use serde_json::Value;
use std::time::{Duration, Instant};

const IDV: &str = "dpv:IdentityVerification";

fn verifier(tv: &TestVault) -> Verifier {
    pinned(
        &Api::new(&tv.url)
            .unwrap()
            .get_text("/v1/ledger/key")
            .unwrap(),
    )
    .unwrap()
}

fn checkpoint(tv: &TestVault) -> (String, Checkpoint) {
    let note = Api::new(&tv.url)
        .unwrap()
        .get_text("/v1/ledger/checkpoint")
        .unwrap();
    let cp = Checkpoint::verify(&note, "assent.demo", &verifier(tv)).unwrap();
    (note, cp)
}

/// Waits for the once-a-second checkpointer to cover the whole tree.
fn fresh_checkpoint(tv: &TestVault) -> (String, Checkpoint) {
    let start = Instant::now();
    loop {
        let (note, cp) = checkpoint(tv);
        if cp.size == tv.vault.ledger_size().unwrap() {
            return (note, cp);
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no checkpoint within 5 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn proof(v: &Value) -> Vec<merkle::Hash> {
    v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| merkle::parse_hash(&b64::decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

#[test]
fn checkpoints_are_signed_every_second_and_match_the_tree() {
    let tv = start();
    let (_, mut d) = customer(&tv, &handle("cp"));
    d.put(
        &"email".parse_label(),
        "text/plain",
        b"x@example.com",
        false,
    )
    .unwrap();
    let (note, cp) = fresh_checkpoint(&tv);
    assert!(note.contains("\n\n\u{2014} assent.demo "), "{note}");
    let view = tv.vault.store().read().unwrap();
    assert_eq!(
        cp.root,
        merkle::root(&view.nodes().unwrap(), cp.size).unwrap()
    );
    // The key is served in C2SP verifier form and matches the vault key file.
    let keys = assent::config::VaultKeys::load(&repo("keys-example")).unwrap();
    assert_eq!(
        verifier(&tv).public,
        keys.signing.verifying_key().to_bytes()
    );
    // A later write leads to a newer checkpoint without anyone asking.
    d.put(&"phone".parse_label(), "text/plain", b"+1 555", false)
        .unwrap();
    let (_, newer) = fresh_checkpoint(&tv);
    assert!(newer.size > cp.size);
}

#[test]
fn proofs_over_http_verify_and_bad_ranges_are_refused() {
    let tv = start();
    for i in 0..7 {
        customer(&tv, &handle(&format!("p{i}_")));
    }
    let (old_note, old) = fresh_checkpoint(&tv);
    customer(&tv, &handle("later"));
    let (_, new) = fresh_checkpoint(&tv);
    let api = Api::new(&tv.url).unwrap();
    let view = tv.vault.store().read().unwrap();
    for index in 0..new.size {
        let p: Value = api
            .get(&format!(
                "/v1/ledger/proof/inclusion?index={index}&size={}",
                new.size
            ))
            .unwrap();
        let leaf = view.node(0, index).unwrap().unwrap();
        merkle::verify_inclusion(index, new.size, &leaf, &proof(&p), &new.root).unwrap();
    }
    let c: Value = api
        .get(&format!(
            "/v1/ledger/proof/consistency?from={}&to={}",
            old.size, new.size
        ))
        .unwrap();
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof(&c)).unwrap();
    let (cp, with) = check_checkpoint(
        &api,
        &verifier(&tv),
        &Default::default(),
        &checkpoint(&tv).0,
        Some(&old_note),
    )
    .unwrap();
    assert_eq!((cp.size, with), (new.size, Some(old.size)));
    for (path, code) in [
        (
            format!("/v1/ledger/proof/inclusion?index={0}&size={0}", new.size),
            "bad_index",
        ),
        (
            format!("/v1/ledger/proof/inclusion?index=0&size={}", new.size + 1),
            "bad_size",
        ),
        (
            "/v1/ledger/proof/inclusion?index=0&size=0".into(),
            "bad_size",
        ),
        (
            "/v1/ledger/proof/inclusion?index=x&size=1".into(),
            "bad_query",
        ),
        (
            "/v1/ledger/proof/consistency?from=0&to=2".into(),
            "bad_sizes",
        ),
        (
            "/v1/ledger/proof/consistency?from=3&to=2".into(),
            "bad_sizes",
        ),
    ] {
        assert_error(&call(&tv, "GET", &path, None, None), 400, code);
    }
}

#[test]
fn the_public_tree_reveals_no_customer_and_no_content() {
    let tv = start();
    let (d, org, _) = granted(&tv, &handle("public"), None);
    org.read(d.customer_id.as_str(), "email", IDV).unwrap();
    let (note, cp) = fresh_checkpoint(&tv);
    let mut public = note;
    for i in 0..cp.size {
        public += &call(
            &tv,
            "GET",
            &format!("/v1/ledger/proof/inclusion?index={i}&size={}", cp.size),
            None,
            None,
        )
        .1
        .to_string();
    }
    public += &call(
        &tv,
        "GET",
        &format!("/v1/ledger/proof/consistency?from=1&to={}", cp.size),
        None,
        None,
    )
    .1
    .to_string();
    for secret in [
        d.customer_id.as_str(),
        "email",
        "org_demo_acme",
        "read",
        "grant",
    ] {
        assert!(
            !public.contains(secret),
            "`{secret}` is visible in the public tree"
        );
    }
    // Without a token, no one lists events.
    assert_error(
        &call(&tv, "GET", "/v1/me/ledger", None, None),
        401,
        "missing_token",
    );
}

/// A customer's own ledger page, verified and checked complete (nothing pinned before).
fn verify_own_ledger(
    api: &assent::client::Api,
    v: &assent::ledger::note::Verifier,
    ledger: &Value,
    customer: &str,
    pinned_seq: u64,
) -> Result<Verified, VerifyFailure> {
    let page = verify_page(api, v, &Default::default(), ledger, None)?;
    check_complete(&page.entries, Party::Customer(customer), pinned_seq)?;
    Ok(page)
}

#[test]
fn customers_verify_their_own_events_and_tampering_is_named() {
    let tv = start();
    let (d, org, _) = granted(&tv, &handle("own"), None);
    org.read(d.customer_id.as_str(), "email", IDV).unwrap();
    let v = verifier(&tv);
    let cid = d.customer_id.to_string();
    let ledger = d.ledger().unwrap();
    let n = ledger["entries"].as_array().unwrap().len();
    let ok = verify_own_ledger(&d.api, &v, &ledger, &cid, 0).unwrap();
    assert_eq!(ok.entries_checked(), n);
    // Sequence numbers run 1..=n: the same listing against a device that saw more fails.
    let e = verify_own_ledger(&d.api, &v, &ledger, &cid, n as u64 + 1).unwrap_err();
    assert!(matches!(e, VerifyFailure::WentBack { .. }), "{e}");

    let tamper = |f: &dyn Fn(&mut Value)| {
        let mut l = ledger.clone();
        f(&mut l);
        verify_own_ledger(&d.api, &v, &l, &cid, 0).unwrap_err()
    };
    // An entry left out leaves a gap in the customer's sequence numbers.
    let e = tamper(&|l| {
        l["entries"].as_array_mut().unwrap().remove(2);
    });
    assert!(
        matches!(
            e,
            VerifyFailure::Gap {
                after: 2,
                got: 4,
                ..
            }
        ),
        "{e}"
    );
    // The newest entry left out: the listing ends below what the device pinned.
    let e = {
        let mut l = ledger.clone();
        l["entries"].as_array_mut().unwrap().pop();
        verify_own_ledger(&d.api, &v, &l, &cid, n as u64).unwrap_err()
    };
    assert!(matches!(e, VerifyFailure::WentBack { .. }), "{e}");
    // An index at or beyond the checkpoint's size is a failure, not "checked later".
    let e = tamper(&|l| {
        let size = l["size"].as_u64().unwrap();
        l["entries"][1]["index"] = (size + 3).into();
    });
    assert!(matches!(e, VerifyFailure::BeyondCheckpoint { .. }), "{e}");
    // An event changed after the fact no longer matches its leaf.
    let e = tamper(&|l| l["entries"][4]["event"]["purpose"] = "dpv:Marketing".into());
    assert!(
        matches!(e, VerifyFailure::Leaf { index } if index == ledger["entries"][4]["index"].as_u64().unwrap()),
        "{e}"
    );
    // A consistent-looking entry moved to another index fails inclusion.
    let e = tamper(&|l| {
        let i = l["entries"][1]["index"].as_u64().unwrap();
        l["entries"][1]["index"] = (i + 1).into();
    });
    assert!(matches!(e, VerifyFailure::Inclusion { .. }), "{e}");
    // A forged checkpoint (root changed, signature kept) fails the signature check.
    let e = tamper(&|l| {
        let note = l["checkpoint"].as_str().unwrap().to_owned();
        let mut lines: Vec<String> = note.split('\n').map(str::to_owned).collect();
        lines[2] = base64_std_flip(&lines[2]);
        l["checkpoint"] = lines.join("\n").into();
    });
    assert!(matches!(e, VerifyFailure::Signature(_)), "{e}");
}

fn base64_std_flip(root: &str) -> String {
    use base64::Engine;
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(root)
        .unwrap();
    bytes[0] ^= 1;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_rewritten_or_truncated_history_is_detected() {
    // Two vaults with the same (demo) key: B is what a dishonest operator would show instead of A.
    let a = start();
    let b = start();
    for i in 0..3 {
        customer(&a, &handle(&format!("a{i}_")));
    }
    for i in 0..6 {
        customer(&b, &handle(&format!("b{i}_")));
    }
    let (a_note, _) = fresh_checkpoint(&a);
    let (b_note, _) = fresh_checkpoint(&b);
    let v = verifier(&a);
    let api_b = Api::new(&b.url).unwrap();
    let e = check_checkpoint(&api_b, &v, &Default::default(), &b_note, Some(&a_note)).unwrap_err();
    assert!(matches!(e, VerifyFailure::Inconsistent { .. }), "{e}");
    let api_a = Api::new(&a.url).unwrap();
    let e = check_checkpoint(&api_a, &v, &Default::default(), &a_note, Some(&b_note)).unwrap_err();
    assert!(matches!(e, VerifyFailure::Truncated { .. }), "{e}");

    // The CLI says which check failed and exits non-zero.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let key = Api::new(&a.url)
        .unwrap()
        .get_text("/v1/ledger/key")
        .unwrap();
    let run = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_assent"))
            .args([
                "ledger",
                "verify",
                "--server",
                url,
                "--vault-key",
                key.trim(),
                "--state",
            ])
            .arg(&state)
            .output()
            .unwrap()
    };
    assert!(run(&a.url).status.success());
    let out = run(&b.url);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("VERIFICATION FAILED") && err.contains("history was rewritten"),
        "{err}"
    );
}

#[test]
fn organizations_get_a_signed_receipt_for_each_read() {
    use assent::ledger::receipt::verify_access_receipt;
    let tv = start();
    let (d, org, _) = granted(&tv, &handle("rcpt"), None);
    let raw: Value = org
        .api
        .get_query(
            &format!("/v1/org/customers/{}/envelopes/email", d.customer_id),
            &[("purpose", IDV)],
        )
        .unwrap();
    let r: assent::wire::org::ReadReceipt = serde_json::from_value(raw["receipt"].clone()).unwrap();
    let key = pinned(&r.vault_key).unwrap();
    assert_eq!(key, verifier(&tv));
    let head = r.batch.head();
    verify_access_receipt(
        &key.public,
        r.index,
        &r.leaf,
        &head,
        &r.path,
        &r.batch.signature,
    )
    .unwrap();
    assert_eq!(r.index, raw["ledger"]["index"].as_u64().unwrap());
    assert!(
        verify_access_receipt(
            &key.public,
            r.index + 1,
            &r.leaf,
            &head,
            &r.path,
            &r.batch.signature
        )
        .is_err()
    );
    // The customer's own ledger has the same leaf at that index.
    let entries = d.ledger().unwrap()["entries"].as_array().unwrap().clone();
    let mine = entries.iter().find(|e| e["index"] == r.index).unwrap();
    assert_eq!(mine["leaf"], raw["receipt"]["leaf"]);
}

/// Reads committed in one batch share one signature (the vault signs per batch, not per read),
/// and each read's path proves its own leaf under that batch's root.
#[test]
fn reads_in_one_batch_share_one_signature_and_each_proves_its_own_leaf() {
    use assent::ledger::receipt::verify_access_receipt;
    let tv = start();
    let (d, _, _) = granted(&tv, &handle("batchrcpt"), None);
    let cid = d.customer_id.to_string();
    // Organization clients sign in first (a token request is itself an act of the writer).
    let orgs: Vec<_> = (0..6).map(|_| crate::common::demo_org(&tv)).collect();
    // Hold the writer so that the reads below queue into one batch.
    let held = {
        let vault = tv.vault.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(
                vault
                    .store()
                    .writer()
                    .act(|_tx: &mut dyn assent::store::Batch| {
                        std::thread::sleep(std::time::Duration::from_millis(600));
                        Ok::<_, assent::store::StoreError>(())
                    }),
            )
            .unwrap();
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let readers: Vec<_> = orgs
        .into_iter()
        .map(|org| {
            let cid = cid.clone();
            std::thread::spawn(move || {
                let raw: Value = org
                    .api
                    .get_query(
                        &format!("/v1/org/customers/{cid}/envelopes/email"),
                        &[("purpose", IDV)],
                    )
                    .unwrap();
                serde_json::from_value::<assent::wire::org::ReadReceipt>(raw["receipt"].clone())
                    .unwrap()
            })
        })
        .collect();
    held.join().unwrap();
    let receipts: Vec<_> = readers.into_iter().map(|t| t.join().unwrap()).collect();
    let key = verifier(&tv);
    for r in &receipts {
        verify_access_receipt(
            &key.public,
            r.index,
            &r.leaf,
            &r.batch.head(),
            &r.path,
            &r.batch.signature,
        )
        .unwrap();
    }
    let first = &receipts[0].batch;
    let shared = receipts
        .iter()
        .filter(|r| r.batch.first == first.first && r.batch.signature == first.signature)
        .count();
    assert!(
        shared >= 2,
        "reads queued together were signed together: {shared} of 6"
    );
    let mut indexes: Vec<_> = receipts.iter().map(|r| r.index).collect();
    indexes.sort();
    indexes.dedup();
    assert_eq!(indexes.len(), 6, "each read its own entry");
}

/// The DPV 2.3 term list (tests/receipts/README.md): `prefix:term` of every current term.
fn dpv_23_terms() -> std::collections::HashSet<String> {
    std::fs::read_to_string(repo("tests/receipts/dpv-2.3-terms.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let (prefix, term) = (cols.next()?, cols.next()?);
            // Terms only in DPV 2.0 are not DPV 2.x terms any more.
            (!prefix.contains('@')).then(|| format!("{prefix}:{term}"))
        })
        .collect()
}

#[test]
fn every_catalog_term_is_a_dpv_2_3_term() {
    use assent::domain::catalog::*;
    let terms = dpv_23_terms();
    assert!(terms.len() > 5000, "{}", terms.len());
    let mut ours: Vec<String> = PURPOSES.iter().map(|(p, _)| p.to_string()).collect();
    ours.extend(LABEL_TERMS.iter().map(|(_, t)| t.to_string()));
    ours.extend(DEPRECATED_PURPOSES.iter().map(|(_, new)| new.to_string()));
    ours.extend(JURISDICTIONS.iter().map(|j| format!("loc:{j}")));
    ours.push(CUSTOM_LABEL_TERM.into());
    let missing: Vec<_> = ours.iter().filter(|t| !terms.contains(*t)).collect();
    assert!(missing.is_empty(), "not DPV 2.3 terms: {missing:?}");
    // Every catalog label has its category, and the deprecated CURIE is not a current term.
    for (label, _) in LABELS {
        assert!(LABEL_TERMS.iter().any(|(l, _)| l == label), "{label}");
    }
    assert!(!terms.contains("dpv:CreditChecking"));
    for (prefix, ns) in DPV_PREFIXES {
        assert!(ns.starts_with("https://w3id.org/dpv"), "{prefix}");
    }
}

/// Fetches a grant's receipts and checks what Rust can: both signatures verify with the vault
/// key, both documents name the grant's `grant_created` entry, whose proof verifies against
/// the checkpoint the receipt carries, and every DPV term is a DPV 2.3 term.
fn checked_receipts(
    tv: &TestVault,
    d: &assent::client::customer::Device,
    gid: &str,
    terms: &std::collections::HashSet<String>,
) -> Value {
    let r: Value = d.api.get(&format!("/v1/me/grants/{gid}/receipt")).unwrap();
    let v = verifier(tv);
    for doc in ["kantara", "iso27560"] {
        let mut msg = b"assent/v1/consent-receipt\n".to_vec();
        msg.extend(assent::crypto::sign::jcs(&r[doc]["receipt"]).unwrap());
        let sig = b64::decode(r[doc]["signature"].as_str().unwrap()).unwrap();
        assent::crypto::sign::verify_signature(&v.public, &msg, &sig).unwrap();
    }
    let k = &r["kantara"]["receipt"];
    let iso = &r["iso27560"]["receipt"];
    let note = k["assentGrant"]["checkpoint"].as_str().unwrap();
    assert_eq!(iso["assent:checkpoint"], note);
    let cp = Checkpoint::verify(note, "assent.demo", &v).unwrap();
    let entries = d.ledger().unwrap()["entries"].as_array().unwrap().clone();
    let created = entries
        .iter()
        .find(|e| e["event"]["type"] == "grant_created" && e["event"]["grant_id"] == gid)
        .unwrap();
    let link = &k["assentGrant"]["ledger_entry"];
    assert_eq!(link["index"], created["index"]);
    assert_eq!(link["leaf"], created["leaf"]);
    assert_eq!(link["tree_size"], cp.size);
    let given = &iso["dpv:hasConsentStatus"][0];
    assert_eq!(
        given["@type"],
        serde_json::json!(["dpv:ConsentGiven", "dpv:ExpressedConsent"])
    );
    assert_eq!(
        given["assent:ledgerEntry"]["assent:index"],
        created["index"]
    );
    verify_link(&given["assent:ledgerEntry"], &cp);
    let mut used = assent::domain::receipts::dpv_terms_used(iso);
    for p in k["services"][0]["purposes"].as_array().unwrap() {
        used.extend(
            p["purposeCategory"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned()),
        );
        used.extend(
            p["piiCategory"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned()),
        );
    }
    let missing: Vec<_> = used.iter().filter(|t| !terms.contains(*t)).collect();
    assert!(missing.is_empty(), "not DPV 2.3 terms: {missing:?}");
    r
}

/// An `assent:ledgerEntry`'s leaf is at its index in the checkpoint's tree.
fn verify_link(link: &Value, cp: &Checkpoint) {
    let leaf: merkle::Hash = b64::decode(link["assent:leaf"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let proof: Vec<merkle::Hash> = link["assent:inclusionProof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| merkle::parse_hash(&b64::decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    assert_eq!(link["assent:treeSize"], cp.size);
    merkle::verify_inclusion(
        link["assent:index"].as_u64().unwrap(),
        cp.size,
        &merkle::leaf_hash(&leaf),
        &proof,
        &cp.root,
    )
    .unwrap();
}

/// Every receipt the vault can sign — active, narrowed, expired, revoked — validates against
/// the Kantara schema and expands as JSON-LD without losing a field (Node, with ajv-draft-04
/// and jsonld.js, the context loaded from the file the vault serves); the withdrawal names the
/// `grant_revoked` entry and its proof verifies; the history keeps the consent given.
#[test]
fn receipts_of_every_grant_state_validate_and_name_their_ledger_entries() {
    use assent::client::customer::Choice;
    use assent::client::org::Ask;
    use assent::domain::catalog::{Label, Purpose};
    let tv = start();
    let terms = dpv_23_terms();
    let h = handle("receipts");
    let (_, mut d) = customer(&tv, &h);
    for (label, text) in [
        ("email", "alice@example.com"),
        ("postal_address", "1 Main St"),
        ("phone", "+15550100"),
    ] {
        d.put(&label.parse_label(), "text/plain", text.as_bytes(), false)
            .unwrap();
    }
    let org = demo_org(&tv);
    let labels: Vec<String> = vec!["email".into(), "phone".into(), "postal_address".into()];
    let purposes: Vec<String> = vec![
        IDV.into(),
        "dpv:Marketing".into(),
        "finance:CreditChecking".into(),
    ];
    let required: Vec<String> = vec![IDV.into(), "finance:CreditChecking".into()];
    let mut grant = |choice: Choice| {
        let req = org
            .request(&Ask {
                required_purposes: &required,
                ..Ask::new(&h, &labels, &purposes, 3600, "to open your account")
            })
            .unwrap();
        let rid =
            assent::domain::ids::RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
        let approved = d.approve(&rid, &choice, &demo_org_check()).unwrap();
        approved["grant"]["grant_id"].as_str().unwrap().to_owned()
    };
    let active = grant(Choice::default());
    let narrowed = grant(Choice {
        labels: Some(vec![Label::parse("email").unwrap()]),
        purposes: Some(vec![
            Purpose::parse(IDV).unwrap(),
            Purpose::parse("finance:CreditChecking").unwrap(),
        ]),
        duration_secs: Some(600),
        max_reads: Some(3),
    });
    let expiring = grant(Choice {
        duration_secs: Some(60),
        ..Default::default()
    });
    let revoked = grant(Choice::default());
    let revocation = d
        .revoke(&assent::domain::ids::GrantId::parse(&revoked).unwrap())
        .unwrap();
    // A minute later on the vault's clock (moved, not waited for).
    tv.clock.advance(61);

    let mut all = Vec::new();
    for (name, gid, state) in [
        ("active", &active, "active"),
        ("narrowed", &narrowed, "active"),
        ("expired", &expiring, "expired"),
        ("revoked", &revoked, "revoked"),
    ] {
        let r = checked_receipts(&tv, &d, gid, &terms);
        let k = &r["kantara"]["receipt"];
        let iso = &r["iso27560"]["receipt"];
        assert_eq!(k["version"], "KI-CR-v1.1.0");
        assert_eq!(k["consentReceiptID"], gid.as_str());
        assert_eq!(k["piiPrincipalId"], d.customer_id.as_str());
        assert_eq!(k["jurisdiction"], "IE");
        assert_eq!(k["policyUrl"], "https://acme-bank.example/privacy");
        let controller = &k["piiControllers"][0];
        assert_eq!(controller["piiController"], "Acme Bank (demo) plc");
        assert_eq!(controller["email"], "privacy@acme-bank.example");
        assert_eq!(controller["phone"], "+35315550100");
        assert_eq!(controller["address"]["addressCountry"], "IE");
        assert_eq!(k["assentGrant"]["state"], state);
        // Primary purposes: exactly the request's required ones that the grant holds.
        for p in k["services"][0]["purposes"].as_array().unwrap() {
            let category = p["purposeCategory"][0].as_str().unwrap();
            assert_eq!(
                p["primaryPurpose"],
                required.iter().any(|r| r == category),
                "{name} {category}"
            );
            assert_eq!(p["consentType"], "EXPLICIT");
        }
        assert_eq!(iso["@type"], "dpv:ConsentRecord");
        assert_eq!(
            iso["dct:conformsTo"],
            "https://w3id.org/dpv/schema/dpv-27560#record"
        );
        assert_eq!(iso["dct:identifier"], gid.as_str());
        assert_eq!(iso["dpv:hasJurisdiction"], "loc:IE");
        assert_eq!(iso["assent:state"], state);
        let history: Vec<&Value> = iso["dpv:hasConsentStatus"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        match state {
            "active" => assert_eq!(history.len(), 1, "{name}"),
            "expired" => {
                assert_eq!(history.len(), 2);
                assert_eq!(history[1]["@type"], "dpv:ConsentExpired");
            }
            _ => {
                assert_eq!(history.len(), 2);
                assert_eq!(history[1]["@type"], "dpv:ConsentWithdrawn");
            }
        }
        all.push(serde_json::json!({ "name": name, "kantara": k, "iso27560": iso }));
    }
    let narrow = &all[1]["kantara"];
    assert_eq!(
        narrow["services"][0]["purposes"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        narrow["services"][0]["purposes"][0]["piiCategory"],
        serde_json::json!(["pd:EmailAddress"])
    );
    assert_eq!(narrow["assentGrant"]["max_reads"], 3);
    let full = &all[0]["iso27560"]["dpv:hasProcess"][0]["dpv:hasPersonalData"];
    assert_eq!(
        *full,
        serde_json::json!([
            "pd:EmailAddress",
            "pd:TelephoneNumber",
            "pd:PhysicalAddress"
        ])
    );

    // The withdrawal names the customer's own grant_revoked entry, and its proof verifies.
    let entries = d.ledger().unwrap()["entries"].as_array().unwrap().clone();
    let revoked_entry = entries
        .iter()
        .find(|e| {
            e["event"]["type"] == "grant_revoked" && e["event"]["grant_id"] == revoked.as_str()
        })
        .unwrap();
    assert_eq!(revoked_entry["index"], revocation["ledger"]["index"]);
    let withdrawal = &all[3]["iso27560"]["dpv:hasConsentStatus"][1]["assent:ledgerEntry"];
    assert_eq!(withdrawal["assent:index"], revoked_entry["index"]);
    assert_eq!(withdrawal["assent:leaf"], revoked_entry["leaf"]);
    let k = &all[3]["kantara"]["assentGrant"];
    assert_eq!(
        k["withdrawal_ledger_entry"]["index"],
        revoked_entry["index"]
    );
    let cp = Checkpoint::verify(
        k["checkpoint"].as_str().unwrap(),
        "assent.demo",
        &verifier(&tv),
    )
    .unwrap();
    verify_link(withdrawal, &cp);

    // The context the records name is served by the vault, byte for byte the shipped file.
    let context_url = format!("{}{}", tv.url, assent::domain::receipts::CONTEXT_PATH);
    let res = reqwest::blocking::get(&context_url).unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/ld+json");
    assert_eq!(
        res.text().unwrap(),
        std::fs::read_to_string(repo("web/ld/consent-v1.jsonld")).unwrap()
    );

    // Kantara schema and JSON-LD expansion, by libraries nobody on the project wrote.
    assert!(
        repo("web/node_modules/jsonld").is_dir() && repo("web/node_modules/ajv-draft-04").is_dir(),
        "web/node_modules is missing jsonld or ajv-draft-04: run `npm ci --prefix web`"
    );
    let file = tv.dir.path().join("receipts.json");
    std::fs::write(&file, serde_json::to_vec(&all).unwrap()).unwrap();
    let out = std::process::Command::new("node")
        .arg(repo("tests/browser/receipts-check.mjs"))
        .arg(&file)
        .arg(&context_url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js ≥ 20"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "receipts-check.mjs failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["kantaraValid"], 4, "{summary}");
    assert_eq!(summary["expanded"], 4, "{summary}");
    assert_eq!(summary["exampleValid"], true, "{summary}");
    assert_eq!(summary["controlsRefused"], 2, "{summary}");
}

/// An organization registered before controller details existed gets no receipt (409, with
/// the reason), and registration refuses malformed details with a clear 400.
#[test]
fn controller_details_are_checked_at_registration_and_required_for_receipts() {
    let tv = start();
    let base = |id: &str, controller: Value| {
        let identity = assent::crypto::keys::generate_signing_key();
        let x = assent::crypto::keys::X25519Secret::generate().public();
        serde_json::json!({
            "org_id": id,
            "name": "Shop",
            "ed25519_public": b64::encode(&identity.verifying_key().to_bytes()),
            "x25519_public": b64::encode(&x),
            "key_signature": b64::encode(&assent::crypto::sign::sign_org_key(&identity, &x)),
            "controller": controller,
        })
    };
    let post = |body: &Value| {
        call(
            &tv,
            "POST",
            "/v1/admin/orgs",
            Some(&admin_token()),
            Some(body),
        )
    };
    for (field, value, code) in [
        ("email", "nobody", "bad_email"),
        ("phone", "555 0100", "bad_phone"),
        (
            "privacy_policy_url",
            "http://shop.example/privacy",
            "bad_privacy_policy_url",
        ),
        ("jurisdiction", "Ireland", "bad_jurisdiction"),
        ("legal_name", "", "bad_legal_name"),
    ] {
        let mut c = controller_json();
        c[field] = value.into();
        assert_error(&post(&base("org_badctl", c)), 400, code);
    }
    let mut c = controller_json();
    c["address"]["country"] = "XX".into();
    assert_error(&post(&base("org_badctl", c)), 400, "bad_address");
    let mut missing = base("org_badctl", Value::Null);
    missing.as_object_mut().unwrap().remove("controller");
    assert_error(&post(&missing), 400, "bad_json");
    let ok = post(&base("org_goodctl", controller_json()));
    assert_eq!(ok.0, 201, "{}", ok.1);
    assert_eq!(ok.1["controller"]["jurisdiction"], "IE");
    // The customer's view of the organization carries the details.
    let (status, info) = call(&tv, "GET", "/v1/orgs/org_goodctl", None, None);
    assert_eq!(status, 200);
    assert_eq!(
        info["controller"]["privacy_policy_url"],
        "https://acme-bank.example/privacy"
    );

    // An organization registered before controller details existed (no details in its record):
    // its grants get no receipt until the operator adds them.
    let keys = assent::config::OrgKeys {
        demo: false,
        org_id: "org_old".into(),
        name: "Old Org".into(),
        identity: assent::crypto::keys::generate_signing_key(),
        encryption: assent::crypto::keys::X25519Secret::generate(),
    };
    let x = keys.encryption.public();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(tv.vault.register_org(assent::vault::orgs::NewOrg {
            org_id: assent::domain::ids::OrgId::parse("org_old").unwrap(),
            name: keys.name.clone(),
            ed25519_public: keys.identity.verifying_key().to_bytes(),
            x25519_public: x,
            key_signature: assent::crypto::sign::sign_org_key(&keys.identity, &x).to_vec(),
        }))
        .unwrap();
    let check = org_check(&keys);
    let old = assent::client::org::OrgClient::connect(&tv.url, keys).unwrap();
    let h = handle("oldorg");
    let (_, mut d) = customer(&tv, &h);
    let labels: Vec<String> = vec!["email".into()];
    let purposes: Vec<String> = vec![IDV.into()];
    let req = old
        .request(&assent::client::org::Ask::new(
            &h,
            &labels,
            &purposes,
            3600,
            "to verify you",
        ))
        .unwrap();
    let rid = assent::domain::ids::RequestId::parse(req["request_id"].as_str().unwrap()).unwrap();
    let approved = d.approve(&rid, &Default::default(), &check).unwrap();
    let gid = approved["grant"]["grant_id"].as_str().unwrap().to_owned();
    let token = d.api.token().unwrap().to_owned();
    let path = format!("/v1/me/grants/{gid}/receipt");
    assert_error(
        &call(&tv, "GET", &path, Some(&token), None),
        409,
        "controller_details_missing",
    );
    let set = "/v1/admin/orgs/org_old/controller";
    let mut bad = controller_json();
    bad["phone"] = "call us".into();
    assert_error(
        &call(&tv, "PUT", set, Some(&admin_token()), Some(&bad)),
        400,
        "bad_phone",
    );
    assert_error(
        &call(&tv, "PUT", set, Some(&token), Some(&controller_json())),
        401,
        "invalid_token",
    );
    assert_error(
        &call(
            &tv,
            "PUT",
            "/v1/admin/orgs/org_nobody/controller",
            Some(&admin_token()),
            Some(&controller_json()),
        ),
        404,
        "org_not_found",
    );
    let (status, info) = call(
        &tv,
        "PUT",
        set,
        Some(&admin_token()),
        Some(&controller_json()),
    );
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["controller"]["legal_name"], "Acme Bank (demo) plc");
    let (status, r) = call(&tv, "GET", &path, Some(&token), None);
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["kantara"]["receipt"]["policyUrl"],
        "https://acme-bank.example/privacy"
    );
}

/// Runs a vault, stops it, and returns its data directory (kept alive by the TempDir).
fn stopped_vault() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().to_owned();
    {
        let tv = start_with(|c| c.data_dir = path.clone());
        let (d, org, _) = granted(&tv, &handle("audit"), Some(5));
        org.read(d.customer_id.as_str(), "email", IDV).unwrap();
        fresh_checkpoint(&tv);
        customer(&tv, &handle("audit_more"));
    }
    crate::common::redb_file_of(data.path());
    data
}

fn vault_verifier() -> Verifier {
    let keys = assent::config::VaultKeys::load(&repo("keys-example")).unwrap();
    Verifier::new(&keys.name, &keys.signing.verifying_key().to_bytes()).unwrap()
}

/// Copies the database and applies `f` to the copy through redb.
fn tampered(src: &std::path::Path, f: impl FnOnce(&redb::WriteTransaction)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("assent.redb"), dir.path().join("assent.redb")).unwrap();
    let db = redb::Database::open(dir.path().join("assent.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    f(&txn);
    txn.commit().unwrap();
    dir
}

#[test]
fn the_offline_audit_passes_and_any_flipped_byte_fails_it() {
    use assent::store::tables::{CHECKPOINTS, LEDGER_EVENTS, LEDGER_NODES};
    use redb::ReadableTable;
    let data = stopped_vault();
    let v = vault_verifier();
    let report = audit(data.path(), "assent.demo", &v).unwrap();
    // A file written before the erasure and webhook tables existed still audits; a file missing
    // any other table does not.
    let older = tampered(data.path(), |txn| {
        use assent::store::tables::*;
        txn.delete_table(ERASURE_REQUESTS).unwrap();
        txn.delete_table(ORG_ERASURE_REQUESTS).unwrap();
        txn.delete_table(WEBHOOK_DELIVERIES).unwrap();
        txn.delete_table(WEBHOOK_DUE).unwrap();
        txn.delete_table(ORG_WEBHOOK_DELIVERIES).unwrap();
        txn.delete_table(WEBHOOK_ORGS).unwrap();
        txn.delete_table(WEBHOOK_STATE).unwrap();
    });
    assert!(audit(older.path(), "assent.demo", &v).is_ok());
    let damaged = tampered(data.path(), |txn| {
        txn.delete_table(assent::store::tables::HANDLES).unwrap();
    });
    assert!(audit(damaged.path(), "assent.demo", &v).is_err());
    assert!(
        report.size == 7 && report.checkpoints_checked >= 1,
        "{report:?}"
    );

    let flip_node = |level: u8, index: u64| {
        tampered(data.path(), |t| {
            let mut nodes = t.open_table(LEDGER_NODES).unwrap();
            let mut h = nodes.get((level, index)).unwrap().unwrap().value();
            h[7] ^= 0x40;
            nodes.insert((level, index), h).unwrap();
        })
    };
    let d = flip_node(0, 3);
    assert!(matches!(
        audit(d.path(), "assent.demo", &v),
        Err(AuditFailure::Node { level: 0, index: 3 })
    ));
    let d = flip_node(2, 0);
    assert!(matches!(
        audit(d.path(), "assent.demo", &v),
        Err(AuditFailure::Node { level: 2, index: 0 })
    ));

    let d = tampered(data.path(), |t| {
        let mut events = t.open_table(LEDGER_EVENTS).unwrap();
        let mut e = events.get(5).unwrap().unwrap().value().to_vec();
        e[0] ^= 1; // a byte of the nonce
        events.insert(5, e.as_slice()).unwrap();
    });
    assert!(matches!(
        audit(d.path(), "assent.demo", &v),
        Err(AuditFailure::Node { level: 0, index: 5 })
    ));

    let d = tampered(data.path(), |t| {
        let mut events = t.open_table(LEDGER_EVENTS).unwrap();
        let e = events.get(4).unwrap().unwrap().value().to_vec();
        let text = String::from_utf8_lossy(&e[32..])
            .replace("2026", "2025")
            .replace("2027", "2026");
        let mut forged = e[..32].to_vec();
        forged.extend(text.as_bytes());
        events.insert(4, forged.as_slice()).unwrap();
    });
    assert!(audit(d.path(), "assent.demo", &v).is_err());

    let d = tampered(data.path(), |t| {
        let mut cps = t.open_table(CHECKPOINTS).unwrap();
        let (size, note) = {
            let (k, v) = cps.last().unwrap().unwrap();
            (k.value(), v.value().to_owned())
        };
        let forged = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
        cps.insert(size, forged.as_str()).unwrap();
    });
    assert!(matches!(
        audit(d.path(), "assent.demo", &v),
        Err(AuditFailure::Checkpoint { .. })
    ));

    // A truncated history: the newest event is gone but its checkpoint remains.
    let d = tampered(data.path(), |t| {
        let mut events = t.open_table(LEDGER_EVENTS).unwrap();
        let last = events.last().unwrap().unwrap().0.value();
        events.remove(last).unwrap();
        let mut meta = t.open_table(assent::store::tables::META).unwrap();
        meta.insert("ledger_size", last).unwrap();
    });
    assert!(audit(d.path(), "assent.demo", &v).is_err());

    // The CLI reports the failure and exits non-zero.
    let d = flip_node(0, 1);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_assent"))
        .args(["ledger", "audit", "--keys"])
        .arg(repo("keys-example"))
        .arg("--data")
        .arg(d.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AUDIT FAILED: tree node (level 0, index 1)")
    );
}

#[test]
fn the_audit_sees_damaged_data_and_records_changed_behind_the_ledger() {
    use assent::store::tables::{ENVELOPES, GRANTS, ORGS};
    use redb::{ReadableDatabase, ReadableTable};
    let data = stopped_vault();
    let v = vault_verifier();
    audit(data.path(), "assent.demo", &v).unwrap();

    // A byte flipped inside a live envelope's stored ciphertext, outside redb: the pages'
    // checksums catch it (the ledger holds no ciphertext, so only the integrity check can).
    let file = data.path().join("assent.redb");
    let (ciphertext, key) = {
        let db = redb::Database::open(&file).unwrap();
        let rtx = db.begin_read().unwrap();
        let t = rtx.open_table(ENVELOPES).unwrap();
        let (k, val) = t.iter().unwrap().next().unwrap().unwrap();
        let rec: Value = serde_json::from_slice(val.value()).unwrap();
        let (c, l) = k.value();
        (
            rec["ciphertext"].as_str().unwrap().to_owned(),
            format!("{c}/{l}"),
        )
    };
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes
        .windows(ciphertext.len())
        .position(|w| w == ciphertext.as_bytes())
        .unwrap_or_else(|| panic!("ciphertext of {key} not found in the file"));
    bytes[at + 5] ^= 0x01;
    let damaged = tempfile::tempdir().unwrap();
    std::fs::write(damaged.path().join("assent.redb"), &bytes).unwrap();
    let e = audit(damaged.path(), "assent.demo", &v).unwrap_err();
    assert!(matches!(e, AuditFailure::Damaged(_)), "{e}");

    // Records rewritten through redb (checksums valid) but not through the ledger.
    let grant_changed = |f: &dyn Fn(&mut Value)| {
        tampered(data.path(), |t| {
            let mut grants = t.open_table(GRANTS).unwrap();
            let (k, mut g) = {
                let (k, val) = grants.iter().unwrap().next().unwrap().unwrap();
                let g: Value = serde_json::from_slice(val.value()).unwrap();
                (k.value().to_owned(), g)
            };
            f(&mut g);
            grants
                .insert(k.as_str(), serde_json::to_vec(&g).unwrap().as_slice())
                .unwrap();
        })
    };
    // The read it served, hidden from the quota: the folded count (read_counts.rs) dropped,
    // or, where the whole count is in the record (a PostgreSQL export), the record's.
    let mut folded = false;
    let d = tampered(data.path(), |t| {
        let mut counts = t.open_table(assent::store::tables::GRANT_READS).unwrap();
        let first = counts
            .iter()
            .unwrap()
            .next()
            .map(|r| r.unwrap().0.value().to_owned());
        if let Some(id) = first {
            counts.insert(id.as_str(), 0).unwrap();
            folded = true;
        }
    });
    let (d, table) = if folded {
        (d, "grant_reads")
    } else {
        (grant_changed(&|g| g["reads"] = 0.into()), "grants")
    };
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(
        matches!(&e, AuditFailure::Record { table: t, .. } if *t == table)
            && e.to_string().contains("reads"),
        "{e}"
    );
    // Reads the ledger never logged, added to a record.
    let d = grant_changed(&|g| g["reads"] = 7.into());
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(
        matches!(
            &e,
            AuditFailure::Record {
                table: "grants",
                ..
            }
        ) && e.to_string().contains("reads"),
        "{e}"
    );
    let d = grant_changed(&|g| {
        g["terms"]["purposes"] = serde_json::json!(["dpv:IdentityVerification", "dpv:Marketing"])
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(
        matches!(
            &e,
            AuditFailure::Record {
                table: "grants",
                ..
            }
        ),
        "{e}"
    );
    let d = tampered(data.path(), |t| {
        let mut orgs = t.open_table(ORGS).unwrap();
        let mut o: Value =
            serde_json::from_slice(orgs.get("org_demo_acme").unwrap().unwrap().value()).unwrap();
        o["x25519_public"] = assent::crypto::b64::encode(&[9u8; 32]).into();
        orgs.insert("org_demo_acme", serde_json::to_vec(&o).unwrap().as_slice())
            .unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(
        matches!(&e, AuditFailure::Record { table: "orgs", .. }),
        "{e}"
    );
    let d = tampered(data.path(), |t| {
        let mut envs = t.open_table(ENVELOPES).unwrap();
        let (k, mut e) = {
            let (k, val) = envs.iter().unwrap().next().unwrap().unwrap();
            let e: Value = serde_json::from_slice(val.value()).unwrap();
            let (c, l) = k.value();
            ((c.to_owned(), l.to_owned()), e)
        };
        e["version"] = 7.into();
        envs.insert(
            (k.0.as_str(), k.1.as_str()),
            serde_json::to_vec(&e).unwrap().as_slice(),
        )
        .unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(
        matches!(
            &e,
            AuditFailure::Record {
                table: "envelopes",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn the_audit_checks_indexes_wraps_handles_and_accepts_a_closed_account() {
    use assent::store::tables::{CUSTOMER_EVENTS, CUSTOMER_GRANTS, ENVELOPES, HANDLES, WRAPS};
    use redb::ReadableTable;
    let data = tempfile::tempdir().unwrap();
    let path = data.path().to_owned();
    {
        let tv = start_with(|c| c.data_dir = path.clone());
        let (d, org, _) = granted(&tv, &handle("links"), None);
        org.read(d.customer_id.as_str(), "email", IDV).unwrap();
        // A closed account: its record goes, its handle stays reserved.
        let (profile, mut gone) = customer(&tv, &handle("closing"));
        gone.put(&"email".parse_label(), "text/plain", b"x", false)
            .unwrap();
        gone.close_account(&profile, PASSPHRASE.as_bytes()).unwrap();
    }
    crate::common::redb_file_of(data.path());
    let v = vault_verifier();
    audit(data.path(), "assent.demo", &v).unwrap();
    let record_of = |e: AuditFailure| match e {
        AuditFailure::Record { table, .. } => table,
        other => panic!("{other}"),
    };

    let d = tampered(data.path(), |t| {
        let mut idx = t.open_table(CUSTOMER_GRANTS).unwrap();
        let k = {
            let (k, _) = idx.iter().unwrap().next().unwrap().unwrap();
            let (a, b) = k.value();
            (a.to_owned(), b.to_owned())
        };
        idx.remove((k.0.as_str(), k.1.as_str())).unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert_eq!(record_of(e), "customer_grants");

    let d = tampered(data.path(), |t| {
        let mut idx = t.open_table(CUSTOMER_EVENTS).unwrap();
        let k = {
            let (k, _) = idx.iter().unwrap().next().unwrap().unwrap();
            let (a, b) = k.value();
            (a.to_owned(), b)
        };
        idx.remove((k.0.as_str(), k.1)).unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert_eq!(record_of(e), "customer_events");

    let d = tampered(data.path(), |t| {
        let mut handles = t.open_table(HANDLES).unwrap();
        handles.insert("ghost", "cus_ghost").unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert_eq!(record_of(e), "handles");

    let d = tampered(data.path(), |t| {
        let mut wraps = t.open_table(WRAPS).unwrap();
        let (k, mut w) = {
            let (k, val) = wraps.iter().unwrap().next().unwrap().unwrap();
            let w: Value = serde_json::from_slice(val.value()).unwrap();
            let (g, l) = k.value();
            ((g.to_owned(), l.to_owned()), w)
        };
        w["version"] = 9.into();
        wraps
            .insert(
                (k.0.as_str(), k.1.as_str()),
                serde_json::to_vec(&w).unwrap().as_slice(),
            )
            .unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert_eq!(record_of(e), "wraps");

    let d = tampered(data.path(), |t| {
        let mut envs = t.open_table(ENVELOPES).unwrap();
        let (k, mut e) = {
            let (k, val) = envs.iter().unwrap().next().unwrap().unwrap();
            let e: Value = serde_json::from_slice(val.value()).unwrap();
            let (c, l) = k.value();
            ((c.to_owned(), l.to_owned()), e)
        };
        e["rotation_pending"] = true.into();
        envs.insert(
            (k.0.as_str(), k.1.as_str()),
            serde_json::to_vec(&e).unwrap().as_slice(),
        )
        .unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(e.to_string().contains("rotation_pending"), "{e}");

    // The file holds exactly the declared tables.
    let d = tampered(data.path(), |t| {
        t.open_table(redb::TableDefinition::<&str, u64>::new("stray"))
            .unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(matches!(e, AuditFailure::Tables(_)), "{e}");
    let d = tampered(data.path(), |t| {
        t.delete_table(HANDLES).unwrap();
    });
    let e = audit(d.path(), "assent.demo", &v).unwrap_err();
    assert!(matches!(e, AuditFailure::Tables(_)), "{e}");
}

/// On the backend under test, a restarted store fills its node cache (levels 8 and up) from
/// the stored tree, and proofs and roots read through it equal those read from stored nodes.
#[test]
fn proofs_through_the_node_cache_after_a_restart_equal_the_stored_nodes() {
    use assent::domain::ids::CustomerId;
    use assent::ledger::Event;
    use assent::store::{Batch, Store, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let url = store_env(dir.path()).into_iter().next().map(|(_, url)| url);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let open = || {
        rt.block_on(Store::open_configured(dir.path(), url.as_deref()))
            .unwrap()
    };
    let size = 600u64;
    let store = open();
    rt.block_on(store.writer().act(move |tx: &mut dyn Batch| {
        for i in 0..size {
            let mut nonce = [0u8; 32];
            nonce[..8].copy_from_slice(&i.to_le_bytes());
            let event = Event::CustomerRegistered {
                customer_id: CustomerId::parse("cus_nodecache").unwrap(),
                at: assent::clock::now(),
            };
            tx.append(&event, nonce)?;
        }
        Ok::<_, StoreError>(())
    }))
    .unwrap();
    rt.block_on(store.writer().shutdown());
    drop(store);
    let store = open();
    // 600 leaves: nodes (8, 0), (8, 1) and (9, 0), loaded at open.
    assert_eq!(store.cached_nodes(), 3);
    {
        let view = store.read().unwrap();
        let stored = view.nodes().unwrap();
        let cached = store.proof_nodes(&view).unwrap();
        for index in [0, 255, 256, 511, 512, 599] {
            assert_eq!(
                merkle::inclusion_proof(&cached, index, size).unwrap(),
                merkle::inclusion_proof(&stored, index, size).unwrap()
            );
        }
        assert_eq!(
            merkle::consistency_proof(&cached, 300, size).unwrap(),
            merkle::consistency_proof(&stored, 300, size).unwrap()
        );
        assert_eq!(
            merkle::root(&cached, size).unwrap(),
            merkle::root(&stored, size).unwrap()
        );
    }
    rt.block_on(store.writer().shutdown());
}
