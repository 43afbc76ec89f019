//! Registered organizations (`orgs`). Their key log is in the ledger (see ledger_reads.rs).

use super::access::{Open, get_json};
use super::records::OrgRecord;
use super::tables::{ORGS, WEBHOOK_ORGS};
use super::{StoreError, Tx};
use crate::domain::ids::OrgId;

pub trait OrgReads {
    fn org(&self, id: &OrgId) -> Result<Option<OrgRecord>, StoreError>;
}

pub trait OrgWrites {
    fn put_org(&mut self, record: &OrgRecord) -> Result<(), StoreError>;
}

impl<R: Open> OrgReads for R {
    fn org(&self, id: &OrgId) -> Result<Option<OrgRecord>, StoreError> {
        get_json(self, ORGS, id.as_str())
    }
}

impl OrgWrites for Tx<'_> {
    /// Also keeps `webhook_orgs` (organizations with endpoints) in step with the record.
    fn put_org(&mut self, record: &OrgRecord) -> Result<(), StoreError> {
        let id = record.org_id.as_str();
        self.put_json(ORGS, id, record)?;
        let endpoints = record.webhooks.len() as u64;
        let mut listed = self.table_mut(WEBHOOK_ORGS)?;
        if endpoints == 0 {
            listed.remove(id)?;
        } else {
            listed.insert(id, endpoints)?;
        }
        Ok(())
    }
}
