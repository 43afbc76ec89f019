//! Erasure requests (`erasure_requests`, one per grant) and each organization's listing
//! (`org_erasure_requests`). Derived from the `erasure_requested` and `erasure_answered`
//! ledger events, written in the same transaction as each.

use super::access::{Open, get_json, index2};
use super::tables::{ERASURE_REQUESTS, ORG_ERASURE_REQUESTS};
use super::{StoreError, Tx};
use crate::domain::erasure::ErasureRequest;
use crate::domain::ids::{GrantId, OrgId};

pub trait ErasureReads {
    fn erasure_request(&self, grant: &GrantId) -> Result<Option<ErasureRequest>, StoreError>;
    /// Every erasure request made to the organization, in grant id order.
    fn org_erasure_requests(&self, org: &OrgId) -> Result<Vec<ErasureRequest>, StoreError>;
}

pub trait ErasureWrites {
    /// Stores a request (new, or answered) and lists it under its organization.
    fn put_erasure_request(&mut self, request: &ErasureRequest) -> Result<(), StoreError>;
}

impl<R: Open> ErasureReads for R {
    fn erasure_request(&self, grant: &GrantId) -> Result<Option<ErasureRequest>, StoreError> {
        get_json(self, ERASURE_REQUESTS, grant.as_str())
    }

    fn org_erasure_requests(&self, org: &OrgId) -> Result<Vec<ErasureRequest>, StoreError> {
        let mut out = Vec::new();
        for id in index2(self, ORG_ERASURE_REQUESTS, org.as_str())? {
            if let Some(r) = get_json(self, ERASURE_REQUESTS, id.as_str())? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

impl ErasureWrites for Tx<'_> {
    fn put_erasure_request(&mut self, r: &ErasureRequest) -> Result<(), StoreError> {
        let id = r.grant_id.as_str();
        self.put_json(ERASURE_REQUESTS, id, r)?;
        self.put_index2(ORG_ERASURE_REQUESTS, r.org_id.as_str(), id)
    }
}
