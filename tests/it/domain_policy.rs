//! The read policy and grant checks are pure: time is a parameter, so expiry, quotas and the
//! choice among several grants are tested exactly, without waiting.

use assent::domain::catalog::{Label, Purpose};
use assent::domain::grant::{Grant, GrantTerms, choose_grant};
use assent::domain::ids::{CustomerId, GrantId, OrgId, RequestId};
use assent::domain::request::{AccessRequest, RequestTerms};
use assent::domain::time::Timestamp;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
fn label(s: &str) -> Label {
    Label::parse(s).unwrap()
}
fn purpose(s: &str) -> Purpose {
    Purpose::parse(s).unwrap()
}

fn grant(
    id: &str,
    labels: &[&str],
    purposes: &[&str],
    not_after: &str,
    max_reads: Option<u32>,
) -> Grant {
    Grant {
        terms: GrantTerms {
            org_identity_key: [7; 32],
            org_encryption_key: [9; 32],
            grant_id: GrantId::parse(id).unwrap(),
            customer_id: CustomerId::parse("cus_a").unwrap(),
            org_id: OrgId::parse("org_b").unwrap(),
            labels: labels.iter().map(|l| label(l)).collect(),
            purposes: purposes.iter().map(|p| purpose(p)).collect(),
            not_after: t(not_after),
            max_reads,
        },
        signature: vec![0; 64],
        request_id: RequestId::parse("req_x").unwrap(),
        created_at: t("2026-01-01T00:00:00Z"),
        revoked_at: None,
        reads: 0,
        ledger_index: 0,
    }
}

const NOW: &str = "2026-06-01T00:00:00Z";
const IDV: &str = "dpv:IdentityVerification";

fn code(r: Result<&Grant, assent::domain::DomainError>) -> &'static str {
    r.err().map_or("ok", |e| e.code())
}

#[test]
fn an_active_grant_allows_its_labels_and_purposes() {
    let g = [grant(
        "grt_1",
        &["email"],
        &[IDV],
        "2026-07-01T00:00:00Z",
        None,
    )];
    assert_eq!(
        code(choose_grant(&g, &label("email"), &purpose(IDV), t(NOW))),
        "ok"
    );
    assert_eq!(
        code(choose_grant(&g, &label("phone"), &purpose(IDV), t(NOW))),
        "label_not_granted"
    );
    assert_eq!(
        code(choose_grant(
            &g,
            &label("email"),
            &purpose("dpv:Marketing"),
            t(NOW)
        )),
        "purpose_not_granted"
    );
    assert_eq!(
        code(choose_grant(&[], &label("email"), &purpose(IDV), t(NOW))),
        "no_grant"
    );
}

#[test]
fn expiry_is_checked_on_every_read_to_the_second() {
    let g = [grant(
        "grt_1",
        &["email"],
        &[IDV],
        "2026-07-01T00:00:00Z",
        None,
    )];
    let l = label("email");
    let p = purpose(IDV);
    assert_eq!(
        code(choose_grant(&g, &l, &p, t("2026-06-30T23:59:59Z"))),
        "ok"
    );
    assert_eq!(
        code(choose_grant(&g, &l, &p, t("2026-07-01T00:00:00Z"))),
        "grant_expired"
    );
}

#[test]
fn quota_and_revocation() {
    let mut g = grant("grt_1", &["email"], &[IDV], "2026-07-01T00:00:00Z", Some(2));
    g.reads = 2;
    assert_eq!(
        code(choose_grant(
            std::slice::from_ref(&g),
            &label("email"),
            &purpose(IDV),
            t(NOW)
        )),
        "quota_exhausted"
    );
    g.reads = 1;
    g.revoked_at = Some(t(NOW));
    assert_eq!(
        code(choose_grant(&[g], &label("email"), &purpose(IDV), t(NOW))),
        "grant_revoked"
    );
}

#[test]
fn among_several_grants_any_allowing_one_wins_else_the_clearest_refusal() {
    let mut revoked = grant("grt_1", &["email"], &[IDV], "2026-07-01T00:00:00Z", None);
    revoked.revoked_at = Some(t(NOW));
    let other = grant("grt_2", &["phone"], &[IDV], "2026-07-01T00:00:00Z", None);
    let fresh = grant("grt_3", &["email"], &[IDV], "2026-08-01T00:00:00Z", None);
    let l = label("email");
    let p = purpose(IDV);
    let both = [revoked.clone(), other.clone(), fresh];
    assert_eq!(
        choose_grant(&both, &l, &p, t(NOW))
            .unwrap()
            .terms
            .grant_id
            .as_str(),
        "grt_3"
    );
    assert_eq!(
        code(choose_grant(&[other.clone(), revoked], &l, &p, t(NOW))),
        "grant_revoked"
    );
    assert_eq!(
        code(choose_grant(&[other], &l, &p, t(NOW))),
        "label_not_granted"
    );
}

fn request(labels: &[&str], duration: u64) -> AccessRequest {
    AccessRequest::new(
        RequestId::parse("req_x").unwrap(),
        OrgId::parse("org_b").unwrap(),
        CustomerId::parse("cus_a").unwrap(),
        RequestTerms {
            labels: labels.iter().map(|l| label(l)).collect(),
            purposes: vec![purpose(IDV)],
            required_purposes: vec![],
            duration_secs: duration,
            justification: "to verify you".into(),
        },
        t(NOW),
    )
    .unwrap()
}

#[test]
fn a_grant_may_narrow_but_never_widen_its_request() {
    let r = request(&["email", "phone"], 86_400);
    let mut g = grant("grt_1", &["email"], &[IDV], "2026-06-01T12:00:00Z", None).terms;
    assert!(g.check_against(&r, t(NOW)).is_ok());
    g.labels = vec![label("email"), label("passport")];
    assert_eq!(
        g.check_against(&r, t(NOW)).unwrap_err().code(),
        "grant_exceeds_request"
    );
    g.labels = vec![label("email")];
    g.purposes = vec![purpose("dpv:Marketing")];
    assert_eq!(
        g.check_against(&r, t(NOW)).unwrap_err().code(),
        "grant_exceeds_request"
    );
    g.purposes = vec![purpose(IDV)];
    g.not_after = t("2026-06-03T00:00:00Z");
    assert_eq!(
        g.check_against(&r, t(NOW)).unwrap_err().code(),
        "bad_not_after"
    );
    g.not_after = t(NOW);
    assert_eq!(
        g.check_against(&r, t(NOW)).unwrap_err().code(),
        "bad_not_after"
    );
    g.not_after = t("2026-06-01T12:00:00Z");
    g.max_reads = Some(0);
    assert_eq!(
        g.check_against(&r, t(NOW)).unwrap_err().code(),
        "bad_max_reads"
    );
    g.max_reads = None;
    g.customer_id = CustomerId::parse("cus_other").unwrap();
    assert_eq!(
        g.check_against(&r, t(NOW)).unwrap_err().code(),
        "grant_mismatch"
    );
}

#[test]
fn a_grant_keeps_any_subset_of_purposes_that_holds_the_required_ones() {
    const FRAUD: &str = "dpv:FraudPreventionAndDetection";
    const MARKETING: &str = "dpv:Marketing";
    let ask = |required: &[&str]| {
        AccessRequest::new(
            RequestId::parse("req_x").unwrap(),
            OrgId::parse("org_b").unwrap(),
            CustomerId::parse("cus_a").unwrap(),
            RequestTerms {
                labels: vec![label("email")],
                purposes: [IDV, FRAUD, MARKETING].iter().map(|p| purpose(p)).collect(),
                required_purposes: required.iter().map(|p| purpose(p)).collect(),
                duration_secs: 86_400,
                justification: "to open your account".into(),
            },
            t(NOW),
        )
    };
    let r = ask(&[IDV]).unwrap();
    assert_eq!(r.required_purposes, vec![purpose(IDV)]);
    let terms = |purposes: &[&str]| {
        grant("grt_1", &["email"], purposes, "2026-06-01T12:00:00Z", None).terms
    };
    // Marketing left out: fine. Identity verification left out: refused, saying why.
    assert!(terms(&[IDV]).check_against(&r, t(NOW)).is_ok());
    assert!(terms(&[FRAUD, IDV]).check_against(&r, t(NOW)).is_ok());
    assert_eq!(
        terms(&[FRAUD, MARKETING])
            .check_against(&r, t(NOW))
            .unwrap_err()
            .code(),
        "required_purpose_missing"
    );
    // A required purpose must be one the request asks for.
    assert_eq!(
        ask(&["dpv:Personalisation"]).unwrap_err().code(),
        "bad_required_purposes"
    );
    assert_eq!(ask(&[IDV, IDV]).unwrap_err().code(), "bad_list");
}

#[test]
fn requests_are_validated() {
    let bad = |labels: Vec<Label>, duration: u64, why: &str| {
        AccessRequest::new(
            RequestId::parse("req_x").unwrap(),
            OrgId::parse("org_b").unwrap(),
            CustomerId::parse("cus_a").unwrap(),
            RequestTerms {
                labels,
                purposes: vec![purpose(IDV)],
                required_purposes: vec![],
                duration_secs: duration,
                justification: why.into(),
            },
            t(NOW),
        )
        .unwrap_err()
        .code()
    };
    assert_eq!(bad(vec![], 3600, "x"), "bad_list");
    assert_eq!(
        bad(vec![label("email"), label("email")], 3600, "x"),
        "bad_list"
    );
    assert_eq!(bad(vec![label("email")], 1, "x"), "bad_duration");
    assert_eq!(bad(vec![label("email")], 3600, "   "), "bad_justification");
    assert_eq!(
        request(&["phone", "email"], 3600).labels,
        vec![label("email"), label("phone")]
    );
}

#[test]
fn a_purpose_renamed_by_dpv_keeps_its_grants_and_new_requests_use_the_new_name() {
    const OLD: &str = "dpv:CreditChecking";
    const NEW: &str = "finance:CreditChecking";
    let r = AccessRequest::new(
        RequestId::parse("req_x").unwrap(),
        OrgId::parse("org_b").unwrap(),
        CustomerId::parse("cus_a").unwrap(),
        RequestTerms {
            labels: vec![label("email")],
            purposes: vec![purpose(OLD)],
            required_purposes: vec![purpose(OLD)],
            duration_secs: 86_400,
            justification: "to check your credit".into(),
        },
        t(NOW),
    )
    .unwrap();
    assert_eq!(r.purposes, vec![purpose(NEW)]);
    assert_eq!(r.required_purposes, vec![purpose(NEW)]);
    // A grant signed under the old name still answers the request and allows reads under
    // either name.
    let old = grant("grt_1", &["email"], &[OLD], "2026-06-01T12:00:00Z", None);
    assert!(old.terms.check_against(&r, t(NOW)).is_ok());
    for p in [OLD, NEW] {
        assert!(
            choose_grant(
                std::slice::from_ref(&old),
                &label("email"),
                &purpose(p),
                t(NOW)
            )
            .is_ok(),
            "{p}"
        );
    }
}
