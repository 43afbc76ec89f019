//! Access requests (`requests`) and their indexes by customer (`customer_requests`) and by
//! organization (`org_requests`).

use super::access::{Open, get_json, index2};
use super::tables::{CUSTOMER_REQUESTS, ORG_REQUESTS, REQUESTS};
use super::{StoreError, Tx};
use crate::domain::ids::{CustomerId, OrgId, RequestId};
use crate::domain::request::{AccessRequest, RequestStatus};

pub trait RequestReads {
    fn request(&self, id: &RequestId) -> Result<Option<AccessRequest>, StoreError>;
    /// Every request made to the customer, in id order.
    fn requests_of_customer(&self, customer: &CustomerId)
    -> Result<Vec<AccessRequest>, StoreError>;
    /// Every request the organization made, in id order.
    fn requests_of_org(&self, org: &OrgId) -> Result<Vec<AccessRequest>, StoreError>;
    /// How many of `org`'s requests to `customer` are pending (decodes only the two fields
    /// the count needs).
    fn pending_requests(&self, customer: &CustomerId, org: &OrgId) -> Result<u32, StoreError>;
}

pub trait RequestWrites {
    /// Stores a new request and lists it under its customer and its organization.
    fn insert_request(&mut self, request: &AccessRequest) -> Result<(), StoreError>;
    /// Stores a decided request.
    fn put_request(&mut self, request: &AccessRequest) -> Result<(), StoreError>;
}

fn listed<R: Open + ?Sized>(r: &R, ids: Vec<String>) -> Result<Vec<AccessRequest>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(req) = get_json(r, REQUESTS, id.as_str())? {
            out.push(req);
        }
    }
    Ok(out)
}

impl<R: Open> RequestReads for R {
    fn request(&self, id: &RequestId) -> Result<Option<AccessRequest>, StoreError> {
        get_json(self, REQUESTS, id.as_str())
    }

    fn requests_of_customer(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<AccessRequest>, StoreError> {
        listed(self, index2(self, CUSTOMER_REQUESTS, customer.as_str())?)
    }

    fn requests_of_org(&self, org: &OrgId) -> Result<Vec<AccessRequest>, StoreError> {
        listed(self, index2(self, ORG_REQUESTS, org.as_str())?)
    }

    fn pending_requests(&self, customer: &CustomerId, org: &OrgId) -> Result<u32, StoreError> {
        /// The two fields the count needs (serde skips the rest without keeping it).
        #[derive(serde::Deserialize)]
        struct Head {
            org_id: OrgId,
            status: RequestStatus,
        }
        let mut pending = 0u32;
        for id in index2(self, CUSTOMER_REQUESTS, customer.as_str())? {
            if let Some(r) = get_json::<_, _, Head>(self, REQUESTS, id.as_str())?
                && &r.org_id == org
                && r.status == RequestStatus::Pending
            {
                pending += 1;
            }
        }
        Ok(pending)
    }
}

impl RequestWrites for Tx<'_> {
    fn insert_request(&mut self, request: &AccessRequest) -> Result<(), StoreError> {
        let id = request.request_id.as_str();
        self.put_json(REQUESTS, id, request)?;
        self.put_index2(CUSTOMER_REQUESTS, request.customer_id.as_str(), id)?;
        self.put_index2(ORG_REQUESTS, request.org_id.as_str(), id)
    }

    fn put_request(&mut self, request: &AccessRequest) -> Result<(), StoreError> {
        self.put_json(REQUESTS, request.request_id.as_str(), request)
    }
}
