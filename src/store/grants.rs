//! Grants (`grants`), their indexes by customer (`customer_grants`) and by organization and
//! customer (`org_customer_grants`, the read path's lookup), and the data keys wrapped to the
//! organization for each grant and label (`wraps`).

use super::access::{Open, all_json, get_json, get_raw, index2, list_json2, stored_id};
use super::pinned::Pinned;
use super::read_counts::add_derived;
use super::records::GrantWrap;
use super::tables::{CUSTOMER_GRANTS, GRANTS, ORG_CUSTOMER_GRANTS, WRAPS};
use super::{StoreError, Tx};
use crate::domain::catalog::Label;
use crate::domain::grant::Grant;
use crate::domain::ids::{CustomerId, GrantId, OrgId};

/// Key of the read path's index: grants of one org for one customer.
pub(super) fn pair_key(org: &OrgId, customer: &CustomerId) -> String {
    format!("{org}/{customer}")
}

pub trait GrantReads {
    fn grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError>;
    /// Ids of every grant the customer made, in id order.
    fn grant_ids_of(&self, customer: &CustomerId) -> Result<Vec<GrantId>, StoreError>;
    /// Every grant the customer made, in id order.
    fn grants_of(&self, customer: &CustomerId) -> Result<Vec<Grant>, StoreError>;
    /// Every grant of `customer` to `org`, whatever its state, in id order, each with its
    /// stored form (the read path re-checks it in the batch: invariant 12). On redb, `reads`
    /// is whole only for grants with a `max_reads` quota (the only ones whose decision
    /// depends on it); the others lack their unfolded reads (read_counts.rs).
    fn grants_for(
        &self,
        org: &OrgId,
        customer: &CustomerId,
    ) -> Result<Vec<Pinned<Grant>>, StoreError>;
    /// The ids of every grant the customer made, and those of its grants whose terms name
    /// `label`, whatever their state, each with its stored form (a customer write plans on
    /// them and re-checks them in the batch), all in id order. Only the covering grants are
    /// decoded; `reads` is whole only for those with a `max_reads` quota, as in `grants_for`.
    fn grants_covering(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<(Vec<GrantId>, Vec<Pinned<Grant>>), StoreError>;
    /// True when the grant is still stored exactly as `pinned` read it.
    fn grant_unchanged(&self, pinned: &Pinned<Grant>) -> Result<bool, StoreError>;
    /// Every grant (a full scan; for metrics and audits, not request paths).
    fn all_grants(&self) -> Result<Vec<Grant>, StoreError>;
    /// The wraps held for a grant, in label order (none once revoked).
    fn wraps_of(&self, grant: &GrantId) -> Result<Vec<GrantWrap>, StoreError>;
    fn wrap_pinned(
        &self,
        grant: &GrantId,
        label: &Label,
    ) -> Result<Option<Pinned<GrantWrap>>, StoreError>;
    /// True when the wrap is still exactly what `pinned` read.
    fn wrap_unchanged(
        &self,
        grant: &GrantId,
        label: &Label,
        pinned: &Pinned<GrantWrap>,
    ) -> Result<bool, StoreError>;
}

/// A read's re-check in the batch (invariant 12), one lookup where the backend can: the grant as
/// it stands, if the envelope and the grant's wrap of `label` are still exactly what the read
/// planned on; `None` if the grant is gone or either changed. A grant still stored exactly as
/// planned is the planned value, not decoded again.
pub trait ReadRecheck {
    fn grant_if_unchanged(
        &self,
        grant: &Pinned<Grant>,
        customer: &CustomerId,
        label: &Label,
        envelope: &Pinned<super::records::EnvelopeRecord>,
        wrap: &Pinned<GrantWrap>,
    ) -> Result<Option<Grant>, StoreError>;
}

impl<R: Open> ReadRecheck for R {
    fn grant_if_unchanged(
        &self,
        grant: &Pinned<Grant>,
        customer: &CustomerId,
        label: &Label,
        envelope: &Pinned<super::records::EnvelopeRecord>,
        wrap: &Pinned<GrantWrap>,
    ) -> Result<Option<Grant>, StoreError> {
        use super::envelopes::EnvelopeReads as _;
        let id = &grant.value.terms.grant_id;
        if !self.envelope_unchanged(customer, label, envelope)?
            || !self.wrap_unchanged(id, label, wrap)?
        {
            return Ok(None);
        }
        // A grant with a quota is counted again as it stands now.
        if grant.value.terms.max_reads.is_none()
            && self.holds_record(super::access::Rechecked::Grant(id.as_str()), &grant.stored)?
        {
            return Ok(Some(grant.value.clone()));
        }
        self.grant(id)
    }
}

pub trait GrantWrites {
    /// Stores a new grant and lists it under its customer and its (org, customer) pair.
    fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError>;
    /// Stores a changed grant (revocation); its `reads` is the whole count, as read.
    fn put_grant(&mut self, grant: &Grant) -> Result<(), StoreError>;
    /// Counts one read under `grant` (as read in this batch), logged in the same batch.
    fn count_read(&mut self, grant: &Grant) -> Result<(), StoreError>;
    /// Stores the wrap of `grant` for `wrap.label`, replacing any earlier one.
    fn put_wrap(&mut self, grant: &GrantId, wrap: &GrantWrap) -> Result<(), StoreError>;
    fn remove_wrap(&mut self, grant: &GrantId, label: &Label) -> Result<bool, StoreError>;
    /// Destroys every wrap of the grant; returns how many went.
    fn remove_wraps(&mut self, grant: &GrantId) -> Result<u64, StoreError>;
}

fn grants_listed<R: Open>(r: &R, ids: Vec<String>) -> Result<Vec<Grant>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(g) = get_json(r, GRANTS, id.as_str())? {
            out.push(g);
        }
    }
    with_reads(r, out)
}

/// True when the stored grant's terms name `label`. Reads only the labels: the rest of the
/// record is skipped, not decoded (a customer write looks at every grant of the customer).
pub(super) fn names_label(stored: &[u8], label: &Label) -> Result<bool, StoreError> {
    use std::borrow::Cow;
    #[derive(serde::Deserialize)]
    struct Labels<'a> {
        #[serde(borrow)]
        labels: Vec<Cow<'a, str>>,
    }
    #[derive(serde::Deserialize)]
    struct Terms<'a> {
        #[serde(borrow)]
        terms: Labels<'a>,
    }
    let t: Terms<'_> = super::access::decode("grants", stored)?;
    Ok(t.terms.labels.iter().any(|l| l == label.as_str()))
}

/// The grants stored under `ids` (those naming `label`, if given), each with its stored form;
/// the read counts of those with a quota are made whole (read_counts.rs), the others keep only
/// their stored part.
fn pinned_listed<R: Open>(
    r: &R,
    ids: &[String],
    label: Option<&Label>,
) -> Result<Vec<Pinned<Grant>>, StoreError> {
    let mut out: Vec<Pinned<Grant>> = Vec::new();
    {
        use redb::ReadableTable as _;
        let grants = r.table(GRANTS)?;
        for id in ids {
            let Some(stored) = grants.get(id.as_str())? else {
                continue;
            };
            if let Some(label) = label
                && !names_label(stored.value(), label)?
            {
                continue;
            }
            out.extend(Pinned::of("grants", Some(stored.value().to_vec()))?);
        }
    }
    let mut quota: Vec<&mut Grant> = out
        .iter_mut()
        .map(|p| &mut p.value)
        .filter(|g| g.terms.max_reads.is_some())
        .collect();
    if !quota.is_empty() {
        let ids: Vec<String> = quota.iter().map(|g| g.terms.grant_id.to_string()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        add_derived(&mut quota, &r.derived_reads(&ids)?);
    }
    Ok(out)
}

/// `grants` with their whole read counts (read_counts.rs).
fn with_reads<R: Open>(r: &R, mut grants: Vec<Grant>) -> Result<Vec<Grant>, StoreError> {
    let derived = {
        let ids: Vec<&str> = grants.iter().map(|g| g.terms.grant_id.as_str()).collect();
        r.derived_reads(&ids)?
    };
    add_derived(&mut grants.iter_mut().collect::<Vec<_>>(), &derived);
    Ok(grants)
}

impl<R: Open> GrantReads for R {
    fn grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        let grant: Option<Grant> = get_json(self, GRANTS, id.as_str())?;
        Ok(with_reads(self, grant.into_iter().collect())?.pop())
    }

    fn grant_ids_of(&self, customer: &CustomerId) -> Result<Vec<GrantId>, StoreError> {
        index2(self, CUSTOMER_GRANTS, customer.as_str())?
            .iter()
            .map(|id| stored_id("customer_grants", id, GrantId::parse))
            .collect()
    }

    fn grants_of(&self, customer: &CustomerId) -> Result<Vec<Grant>, StoreError> {
        grants_listed(self, index2(self, CUSTOMER_GRANTS, customer.as_str())?)
    }

    fn grants_for(
        &self,
        org: &OrgId,
        customer: &CustomerId,
    ) -> Result<Vec<Pinned<Grant>>, StoreError> {
        let ids = index2(self, ORG_CUSTOMER_GRANTS, &pair_key(org, customer))?;
        pinned_listed(self, &ids, None)
    }

    fn grants_covering(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<(Vec<GrantId>, Vec<Pinned<Grant>>), StoreError> {
        let ids = index2(self, CUSTOMER_GRANTS, customer.as_str())?;
        let covering = pinned_listed(self, &ids, Some(label))?;
        let ids = ids
            .iter()
            .map(|id| stored_id("customer_grants", id, GrantId::parse))
            .collect::<Result<_, _>>()?;
        Ok((ids, covering))
    }

    fn grant_unchanged(&self, pinned: &Pinned<Grant>) -> Result<bool, StoreError> {
        let id = pinned.value.terms.grant_id.as_str();
        self.holds_record(super::access::Rechecked::Grant(id), &pinned.stored)
    }

    fn all_grants(&self) -> Result<Vec<Grant>, StoreError> {
        with_reads(self, all_json(self, GRANTS)?)
    }

    fn wraps_of(&self, grant: &GrantId) -> Result<Vec<GrantWrap>, StoreError> {
        list_json2(self, WRAPS, grant.as_str())
    }

    fn wrap_pinned(
        &self,
        grant: &GrantId,
        label: &Label,
    ) -> Result<Option<Pinned<GrantWrap>>, StoreError> {
        Pinned::of(
            "wraps",
            get_raw(self, WRAPS, (grant.as_str(), label.as_str()))?,
        )
    }

    fn wrap_unchanged(
        &self,
        grant: &GrantId,
        label: &Label,
        pinned: &Pinned<GrantWrap>,
    ) -> Result<bool, StoreError> {
        self.holds_record(
            super::access::Rechecked::Wrap(grant.as_str(), label.as_str()),
            &pinned.stored,
        )
    }
}

impl GrantWrites for Tx<'_> {
    fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        let (id, customer) = (&grant.terms.grant_id, &grant.terms.customer_id);
        self.put_json(GRANTS, id.as_str(), grant)?;
        self.put_index2(CUSTOMER_GRANTS, customer.as_str(), id.as_str())?;
        self.put_index2(
            ORG_CUSTOMER_GRANTS,
            &pair_key(&grant.terms.org_id, customer),
            id.as_str(),
        )
    }

    fn put_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        // The record keeps only its own part of the count (read_counts.rs).
        let id = grant.terms.grant_id.as_str();
        let derived = self.derived_reads(&[id])?.first().copied().unwrap_or(0);
        let mut record = grant.clone();
        record.reads = record
            .reads
            .saturating_sub(u32::try_from(derived).unwrap_or(u32::MAX));
        self.put_json(GRANTS, id, &record)
    }

    fn count_read(&mut self, grant: &Grant) -> Result<(), StoreError> {
        self.count_tail_read(grant.terms.grant_id.as_str());
        Ok(())
    }

    fn put_wrap(&mut self, grant: &GrantId, wrap: &GrantWrap) -> Result<(), StoreError> {
        self.put_json(WRAPS, (grant.as_str(), wrap.label.as_str()), wrap)
    }

    fn remove_wrap(&mut self, grant: &GrantId, label: &Label) -> Result<bool, StoreError> {
        self.remove_json(WRAPS, (grant.as_str(), label.as_str()))
    }

    fn remove_wraps(&mut self, grant: &GrantId) -> Result<u64, StoreError> {
        self.remove_prefix(WRAPS, grant.as_str())
    }
}
