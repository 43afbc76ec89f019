//! The consent cycle: an organization asks, the customer approves (a signed grant plus wraps)
//! or declines, and the customer can revoke at any moment.

use super::envelopes::check_wrap;
use super::{Vault, VaultError, random_id_bytes, random_nonce};
use crate::crypto::sign;
use crate::crypto::wrap::Wrap;
use crate::domain::grant::{Grant, GrantTerms};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, Handle, OrgId, RequestId};
use crate::domain::request::{AccessRequest, RequestStatus, RequestTerms};
use crate::domain::time::Timestamp;
use crate::ledger::Event;
use crate::store::ledger_tx::Appended;
use crate::store::prelude::*;
use crate::store::records::{CustomerRecord, GrantWrap, OrgRecord};

/// The approval a customer's device sends: signed terms and the data keys wrapped to the org.
pub struct Approval {
    pub terms: GrantTerms,
    pub signature: Vec<u8>,
    pub wraps: Vec<ApprovalWrap>,
}

pub struct ApprovalWrap {
    pub label: crate::domain::catalog::Label,
    pub envelope_id: EnvelopeId,
    pub version: u64,
    pub wrap: Wrap,
}

/// The error code of a request refused because too many are pending with the customer.
pub const TOO_MANY_PENDING: &str = "too_many_pending_requests";

/// How an organization names the customer it asks: an id or a handle the customer gave it.
pub enum CustomerRef {
    Id(CustomerId),
    Handle(Handle),
}

impl Vault {
    pub async fn create_request(
        &self,
        org: OrgId,
        customer: CustomerRef,
        terms: RequestTerms,
    ) -> Result<(AccessRequest, Appended), VaultError> {
        self.create_request_capped(org, customer, terms, None).await
    }

    /// [`Self::create_request`], refused with `too_many_pending_requests` when the organization
    /// already has `max_pending` requests pending with this customer (counted in the writing
    /// transaction, so concurrent requests cannot slip past the cap).
    pub async fn create_request_capped(
        &self,
        org: OrgId,
        customer: CustomerRef,
        terms: RequestTerms,
        max_pending: Option<u32>,
    ) -> Result<(AccessRequest, Appended), VaultError> {
        let now = self.now();
        let request_id = RequestId::from_random(random_id_bytes());
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let customer_id = match customer {
                    CustomerRef::Id(id) => tx.customer(&id)?.map(|c| c.customer_id),
                    CustomerRef::Handle(h) => tx.customer_id_by_handle(&h)?,
                }
                .ok_or_else(|| VaultError::not_found("customer_not_found", "no such customer"))?;
                let request = AccessRequest::new(request_id, org, customer_id, terms, now)?;
                if let Some(max) = max_pending {
                    let pending = tx.pending_requests(&request.customer_id, &request.org_id)?;
                    if pending >= max {
                        return Err(VaultError::conflict(
                            TOO_MANY_PENDING,
                            format!(
                                "this organization already has {pending} requests pending with \
                                 this customer (at most {max}); ask again once the customer has \
                                 answered some"
                            ),
                        ));
                    }
                }
                tx.insert_request(&request)?;
                let appended = tx.append(
                    &Event::RequestCreated {
                        customer_id: request.customer_id.clone(),
                        org_id: request.org_id.clone(),
                        request_id: request.request_id.clone(),
                        labels: request.labels.clone(),
                        purposes: request.purposes.clone(),
                        required_purposes: request.required_purposes.clone(),
                        at: now,
                    },
                    nonce,
                )?;
                Ok((request, appended))
            })
            .await
    }

    /// The customer's requests (newest first), each with the asking organization.
    pub fn customer_requests(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<(AccessRequest, OrgRecord)>, VaultError> {
        let view = self.store().read()?;
        let mut out = Vec::new();
        for r in view.requests_of_customer(customer)? {
            if let Some(o) = view.org(&r.org_id)? {
                out.push((r, o));
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.0.created_at));
        Ok(out)
    }

    /// The organization's requests (newest first), each with the grant that answered it.
    pub fn org_requests(
        &self,
        org: &OrgId,
    ) -> Result<Vec<(AccessRequest, Option<Grant>)>, VaultError> {
        let view = self.store().read()?;
        let mut out = Vec::new();
        for r in view.requests_of_org(org)? {
            let grant = answering_grant(&*view, &r)?;
            out.push((r, grant));
        }
        out.sort_by_key(|(r, _)| std::cmp::Reverse(r.created_at));
        Ok(out)
    }

    /// One of the organization's requests with the grant that answered it (what the customer
    /// chose may be narrower than what was asked).
    pub fn org_request(
        &self,
        id: &RequestId,
        org: &OrgId,
    ) -> Result<(AccessRequest, Option<Grant>), VaultError> {
        let r = self.request_for(id, Party::Org(org))?;
        let grant = answering_grant(&*self.store().read()?, &r)?;
        Ok((r, grant))
    }

    /// A request as seen by one party; anyone else gets "not found".
    pub fn request_for(
        &self,
        id: &RequestId,
        party: Party<'_>,
    ) -> Result<AccessRequest, VaultError> {
        let r = self.store().read()?.request(id)?;
        r.filter(|r| party.owns(&r.customer_id, &r.org_id))
            .ok_or_else(|| VaultError::not_found("request_not_found", format!("no request {id}")))
    }

    pub async fn decline(
        &self,
        customer: CustomerId,
        id: RequestId,
    ) -> Result<Appended, VaultError> {
        let now = self.now();
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut r = load_request(tx, &id, &customer)?;
                r.ensure_pending()?;
                r.status = RequestStatus::Declined;
                r.decided_at = Some(now);
                tx.put_request(&r)?;
                Ok(tx.append(
                    &Event::RequestDeclined {
                        customer_id: customer,
                        org_id: r.org_id,
                        request_id: id,
                        at: now,
                    },
                    nonce,
                )?)
            })
            .await
    }

    /// Turns a pending request into a grant. The signature must verify under the customer's
    /// Ed25519 key (the vault cannot forge consent), and every granted label that has an
    /// envelope must come with its current data key wrapped to the organization.
    pub async fn approve(
        &self,
        customer: CustomerId,
        id: RequestId,
        a: Approval,
    ) -> Result<(Grant, Appended), VaultError> {
        for w in &a.wraps {
            check_wrap(&w.wrap)?;
        }
        let now = self.now();
        let nonce = random_nonce();
        // Decided first on a read snapshot, where the signature is checked off the single
        // writer; a refusal there is final (everything acknowledged before this request began
        // is visible in it). The batch decides again on the state as it stands, checking the
        // signature again only if the customer's key is not the one it was checked under.
        let (_, checked_under) =
            decide_approval(&*self.store().read()?, &customer, &id, &a, now, None)?;
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let (mut request, _) =
                    decide_approval(tx, &customer, &id, &a, now, Some(&checked_under))?;
                let gid = a.terms.grant_id.clone();
                let appended = tx.append(
                    &Event::GrantCreated {
                        customer_id: customer.clone(),
                        org_id: a.terms.org_id.clone(),
                        grant_id: gid.clone(),
                        request_id: id.clone(),
                        labels: a.terms.labels.clone(),
                        purposes: a.terms.purposes.clone(),
                        not_after: a.terms.not_after,
                        max_reads: a.terms.max_reads,
                        org_identity_key: a.terms.org_identity_key,
                        org_encryption_key: a.terms.org_encryption_key,
                        signature: crate::crypto::b64::encode(&a.signature),
                        at: now,
                    },
                    nonce,
                )?;
                let grant = Grant {
                    terms: a.terms,
                    signature: a.signature,
                    request_id: id.clone(),
                    created_at: now,
                    revoked_at: None,
                    reads: 0,
                    ledger_index: appended.index,
                };
                tx.insert_grant(&grant)?;
                for w in a.wraps {
                    let gw = GrantWrap {
                        label: w.label,
                        envelope_id: w.envelope_id,
                        version: w.version,
                        wrap: w.wrap,
                    };
                    tx.put_wrap(&gid, &gw)?;
                }
                request.status = RequestStatus::Approved;
                request.decided_at = Some(now);
                request.grant_id = Some(gid);
                tx.put_request(&request)?;
                Ok((grant, appended))
            })
            .await
    }

    /// Revokes a grant: in one transaction it is marked revoked, the org's wraps are destroyed,
    /// the covered envelopes are marked for rotation, and the ledger records it.
    pub async fn revoke(
        &self,
        customer: CustomerId,
        gid: GrantId,
    ) -> Result<(Grant, Appended), VaultError> {
        let now = self.now();
        let nonce = random_nonce();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut grant: Grant = tx
                    .grant(&gid)?
                    .filter(|g| g.terms.customer_id == customer)
                    .ok_or_else(|| {
                        VaultError::not_found("grant_not_found", format!("no grant {gid}"))
                    })?;
                if grant.revoked_at.is_some() {
                    return Err(VaultError::conflict(
                        "already_revoked",
                        "this grant is already revoked",
                    ));
                }
                grant.revoked_at = Some(now);
                tx.put_grant(&grant)?;
                tx.remove_wraps(&gid)?;
                for label in &grant.terms.labels {
                    if let Some(mut e) = tx.envelope(&customer, label)? {
                        e.rotation_pending = true;
                        tx.put_envelope(&e)?;
                    }
                }
                let appended = tx.append(
                    &Event::GrantRevoked {
                        customer_id: customer.clone(),
                        org_id: grant.terms.org_id.clone(),
                        grant_id: gid.clone(),
                        at: now,
                    },
                    nonce,
                )?;
                Ok((grant, appended))
            })
            .await
    }

    /// Grants of a customer (newest first).
    pub fn customer_grants(&self, customer: &CustomerId) -> Result<Vec<Grant>, VaultError> {
        let mut out = self.store().read()?.grants_of(customer)?;
        out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(out)
    }

    pub fn grant_for(&self, gid: &GrantId, party: Party<'_>) -> Result<Grant, VaultError> {
        let g = self.store().read()?.grant(gid)?;
        g.filter(|g| party.owns(&g.terms.customer_id, &g.terms.org_id))
            .ok_or_else(|| VaultError::not_found("grant_not_found", format!("no grant {gid}")))
    }

    /// The wraps still held for a grant (empty once revoked): for the customer to inspect.
    pub fn grant_wraps(&self, gid: &GrantId) -> Result<Vec<GrantWrap>, VaultError> {
        Ok(self.store().read()?.wraps_of(gid)?)
    }
}

/// Who is asking: a customer or an organization.
#[derive(Clone, Copy)]
pub enum Party<'a> {
    Customer(&'a CustomerId),
    Org(&'a OrgId),
}

impl Party<'_> {
    fn owns(&self, customer: &CustomerId, org: &OrgId) -> bool {
        match self {
            Party::Customer(c) => *c == customer,
            Party::Org(o) => *o == org,
        }
    }
}

fn load_request(
    tx: &(impl Reads + ?Sized),
    id: &RequestId,
    customer: &CustomerId,
) -> Result<AccessRequest, VaultError> {
    tx.request(id)?
        .filter(|r| &r.customer_id == customer)
        .ok_or_else(|| VaultError::not_found("request_not_found", format!("no request {id}")))
}

/// Every check of an approval on `r`'s state: the request pending and matched by the terms, the
/// customer's signature (skipped when the customer's key is `checked_under`: a signature already
/// verified under that very key), the organization's keys, a new grant id, the wraps. Returns
/// the request and the key the signature verifies under.
fn decide_approval(
    r: &(impl Reads + ?Sized),
    customer: &CustomerId,
    id: &RequestId,
    a: &Approval,
    now: Timestamp,
    checked_under: Option<&[u8; 32]>,
) -> Result<(AccessRequest, [u8; 32]), VaultError> {
    let request = load_request(r, id, customer)?;
    request.ensure_pending()?;
    a.terms.check_against(&request, now)?;
    let c: CustomerRecord = r.customer(customer)?.ok_or_else(|| {
        VaultError::unauthorized("unknown_customer", "this account no longer exists")
    })?;
    if checked_under != Some(&c.ed25519_public) {
        sign::verify_grant(&c.ed25519_public, &a.terms, &a.signature)?;
    }
    let org: OrgRecord = r
        .org(&a.terms.org_id)?
        .ok_or_else(|| VaultError::not_found("org_not_found", "no such organization"))?;
    if org.ed25519_public != a.terms.org_identity_key
        || org.x25519_public != a.terms.org_encryption_key
    {
        return Err(VaultError::conflict(
            "org_keys_mismatch",
            format!(
                "the grant names keys that are not {}'s registered keys; fetch its \
                 key log again and re-check",
                org.org_id
            ),
        ));
    }
    let gid = &a.terms.grant_id;
    if r.grant(gid)?.is_some() {
        return Err(VaultError::conflict(
            "grant_exists",
            format!("grant {gid} already exists"),
        ));
    }
    check_approval_wraps(r, customer, a)?;
    Ok((request, c.ed25519_public))
}

/// Exactly one wrap per granted label that has an envelope, naming its current version.
fn check_approval_wraps(
    tx: &(impl Reads + ?Sized),
    customer: &CustomerId,
    a: &Approval,
) -> Result<(), VaultError> {
    for w in &a.wraps {
        if !a.terms.labels.contains(&w.label) {
            return Err(VaultError::bad(
                "unexpected_wrap",
                format!("`{}` is not granted", w.label),
            ));
        }
        if a.wraps.iter().filter(|x| x.label == w.label).count() > 1 {
            return Err(VaultError::bad(
                "duplicate_wrap",
                format!("two wraps for `{}`", w.label),
            ));
        }
    }
    for label in &a.terms.labels {
        let env = tx.envelope_head(customer, label)?;
        let wrap = a.wraps.iter().find(|w| &w.label == label);
        match (env, wrap) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(VaultError::bad(
                    "unexpected_wrap",
                    format!("there is no `{label}` envelope to wrap"),
                ));
            }
            (Some(_), None) => {
                return Err(VaultError::bad(
                    "wrap_missing",
                    format!("wrap the `{label}` data key for the organization"),
                ));
            }
            (Some(e), Some(w)) => {
                if e.envelope_id != w.envelope_id || e.version != w.version {
                    return Err(VaultError::conflict(
                        "version_conflict",
                        format!(
                            "`{label}` is now {} version {}; reload and approve again",
                            e.envelope_id, e.version
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The grant an approved request produced, if any.
fn answering_grant(view: &dyn Reads, r: &AccessRequest) -> Result<Option<Grant>, VaultError> {
    match &r.grant_id {
        Some(gid) => Ok(view.grant(gid)?),
        None => Ok(None),
    }
}
