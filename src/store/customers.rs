//! Customer accounts (`customers`) and the handles that name them (`handles`). Closing an
//! account removes its record and keeps its handle, which stays reserved.

use super::access::{Open, decode, get_json, get_raw, stored_id};
use super::records::CustomerRecord;
use super::tables::{CUSTOMERS, HANDLES};
use super::{StoreError, Tx};
use crate::domain::ids::{CustomerId, Handle};
use redb::ReadableTable;

/// The key a login with an unknown handle looks up: not a customer id (those start with
/// `cus_`), so never stored; the lookup walks the same table as a real one.
pub const DECOY_CUSTOMER_KEY: &str = "decoy";

/// A customer record in its stored form, undecoded: what a login decodes in place of a real
/// record when the handle is unknown (see [`CustomerReads::customer_for_login`]).
#[derive(Clone, Debug)]
pub struct StoredCustomer(Vec<u8>);

impl StoredCustomer {
    pub fn encode(record: &CustomerRecord) -> Result<Self, StoreError> {
        serde_json::to_vec(record)
            .map(Self)
            .map_err(|e| StoreError::Corrupt {
                table: "customers",
                detail: e.to_string(),
            })
    }

    pub fn decode(&self) -> Result<CustomerRecord, StoreError> {
        decode("customers", &self.0)
    }
}

pub trait CustomerReads {
    fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError>;
    /// Whether the account exists (one lookup, not decoded).
    fn customer_exists(&self, id: &CustomerId) -> Result<bool, StoreError>;
    /// The id a handle was registered to; still there after the account is closed.
    fn customer_id_by_handle(&self, handle: &Handle) -> Result<Option<CustomerId>, StoreError>;
    /// The open account registered under `handle`.
    fn customer_by_handle(&self, handle: &Handle) -> Result<Option<CustomerRecord>, StoreError>;
    /// A login's lookup, the same work whether or not the handle is known: one handle lookup,
    /// one record lookup (of [`DECOY_CUSTOMER_KEY`] for an unknown handle) and one decode (of
    /// `decoy`, a stored record of the same shape, when nothing is stored). The flag says
    /// whether the record is a real account's.
    fn customer_for_login(
        &self,
        handle: &Handle,
        decoy: &StoredCustomer,
    ) -> Result<(CustomerRecord, bool), StoreError>;
}

pub trait CustomerWrites {
    fn put_customer(&mut self, record: &CustomerRecord) -> Result<(), StoreError>;
    fn reserve_handle(&mut self, handle: &Handle, id: &CustomerId) -> Result<(), StoreError>;
    /// Removes the account record; its handle stays reserved.
    fn remove_customer(&mut self, id: &CustomerId) -> Result<bool, StoreError>;
}

fn handle_target<R: Open + ?Sized>(r: &R, handle: &Handle) -> Result<Option<String>, StoreError> {
    Ok(r.table(HANDLES)?
        .get(handle.as_str())?
        .map(|v| v.value().to_owned()))
}

impl<R: Open> CustomerReads for R {
    fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        get_json(self, CUSTOMERS, id.as_str())
    }

    fn customer_exists(&self, id: &CustomerId) -> Result<bool, StoreError> {
        Ok(self.table(CUSTOMERS)?.get(id.as_str())?.is_some())
    }

    fn customer_id_by_handle(&self, handle: &Handle) -> Result<Option<CustomerId>, StoreError> {
        handle_target(self, handle)?
            .map(|id| stored_id("handles", &id, CustomerId::parse))
            .transpose()
    }

    fn customer_by_handle(&self, handle: &Handle) -> Result<Option<CustomerRecord>, StoreError> {
        match handle_target(self, handle)? {
            Some(id) => get_json(self, CUSTOMERS, id.as_str()),
            None => Ok(None),
        }
    }

    fn customer_for_login(
        &self,
        handle: &Handle,
        decoy: &StoredCustomer,
    ) -> Result<(CustomerRecord, bool), StoreError> {
        let id = handle_target(self, handle)?;
        let stored = get_raw(self, CUSTOMERS, id.as_deref().unwrap_or(DECOY_CUSTOMER_KEY))?;
        let known = id.is_some() && stored.is_some();
        let record = decode("customers", stored.as_deref().unwrap_or(&decoy.0))?;
        Ok((record, known))
    }
}

impl CustomerWrites for Tx<'_> {
    fn put_customer(&mut self, record: &CustomerRecord) -> Result<(), StoreError> {
        self.put_json(CUSTOMERS, record.customer_id.as_str(), record)
    }

    fn reserve_handle(&mut self, handle: &Handle, id: &CustomerId) -> Result<(), StoreError> {
        self.put_str(HANDLES, handle.as_str(), id.as_str())
    }

    fn remove_customer(&mut self, id: &CustomerId) -> Result<bool, StoreError> {
        self.remove_json(CUSTOMERS, id.as_str())
    }
}
