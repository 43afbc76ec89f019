//! The webhook outbox: pending messages and dead letters (`webhook_deliveries`), the due
//! schedule (`webhook_due`), each organization's listing (`org_webhook_deliveries`) and the
//! ledger cursor the scheduler has reached (`webhook_state`). Endpoints live in the org record.
//!
//! Invariant: a pending or scheduled message has exactly one `webhook_due` entry (its
//! `next_attempt_at`), a dead letter none; every message has exactly one `org_webhook_deliveries` entry under its
//! state. [`WebhookWrites::put_delivery`] keeps both from the stored record it replaces.

use super::access::{Open, decode, get_json, stored_id};
use super::tables::{
    ORG_WEBHOOK_DELIVERIES, WEBHOOK_CURSOR, WEBHOOK_DELIVERIES, WEBHOOK_DUE, WEBHOOK_ORGS,
    WEBHOOK_STATE,
};
use super::{StoreError, Tx};
use crate::domain::ids::{DeliveryId, OrgId};
use crate::domain::webhook::{DeliveryState, WebhookDelivery};
use redb::ReadableTable;

pub trait WebhookReads {
    /// Events below this ledger index have had their messages scheduled (`None`: never ran).
    fn webhook_cursor(&self) -> Result<Option<u64>, StoreError>;
    /// The organizations that have at least one webhook endpoint.
    fn webhook_orgs(&self) -> Result<Vec<OrgId>, StoreError>;
    fn delivery(&self, id: &DeliveryId) -> Result<Option<WebhookDelivery>, StoreError>;
    /// Pending messages due at or before `now` (unix seconds), earliest first, at most `limit`.
    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// An organization's messages in `state`, in id order (ledger order), at most `limit`.
    fn org_deliveries(
        &self,
        org: &OrgId,
        state: DeliveryState,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// How many of an organization's messages are in `state`.
    fn org_delivery_count(&self, org: &OrgId, state: DeliveryState) -> Result<u64, StoreError>;
}

pub trait WebhookWrites {
    /// Stores a message (new or updated), keeping the schedule and the listing in step.
    fn put_delivery(&mut self, d: &WebhookDelivery) -> Result<(), StoreError>;
    /// Removes a message (delivered, or no longer to be sent).
    fn remove_delivery(&mut self, id: &DeliveryId) -> Result<(), StoreError>;
    fn set_webhook_cursor(&mut self, index: u64) -> Result<(), StoreError>;
}

pub(super) fn state_key(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Pending => "pending",
        DeliveryState::Scheduled => "scheduled",
        DeliveryState::Dead => "dead",
    }
}

impl<R: Open> WebhookReads for R {
    fn webhook_cursor(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .table(WEBHOOK_STATE)?
            .get(WEBHOOK_CURSOR)?
            .map(|v| v.value()))
    }

    fn webhook_orgs(&self) -> Result<Vec<OrgId>, StoreError> {
        let mut out = Vec::new();
        for item in self.table(WEBHOOK_ORGS)?.iter()? {
            let (k, _) = item?;
            out.push(stored_id("webhook_orgs", k.value(), OrgId::parse)?);
        }
        Ok(out)
    }

    fn delivery(&self, id: &DeliveryId) -> Result<Option<WebhookDelivery>, StoreError> {
        get_json(self, WEBHOOK_DELIVERIES, id.as_str())
    }

    fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<WebhookDelivery>, StoreError> {
        let due = self.table(WEBHOOK_DUE)?;
        let records = self.table(WEBHOOK_DELIVERIES)?;
        let mut out = Vec::new();
        for item in due.range((i64::MIN, "")..=(now, "\u{10FFFF}"))?.take(limit) {
            let (k, _) = item?;
            let (_, id) = k.value();
            if let Some(v) = records.get(id)? {
                out.push(decode("webhook_deliveries", v.value())?);
            }
        }
        Ok(out)
    }

    fn org_deliveries(
        &self,
        org: &OrgId,
        state: DeliveryState,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let index = self.table(ORG_WEBHOOK_DELIVERIES)?;
        let records = self.table(WEBHOOK_DELIVERIES)?;
        let (o, s) = (org.as_str(), state_key(state));
        let mut out = Vec::new();
        for item in index.range((o, s, "")..=(o, s, "\u{10FFFF}"))?.take(limit) {
            let (k, _) = item?;
            let (_, _, id) = k.value();
            if let Some(v) = records.get(id)? {
                out.push(decode("webhook_deliveries", v.value())?);
            }
        }
        Ok(out)
    }

    fn org_delivery_count(&self, org: &OrgId, state: DeliveryState) -> Result<u64, StoreError> {
        let (o, s) = (org.as_str(), state_key(state));
        let index = self.table(ORG_WEBHOOK_DELIVERIES)?;
        let mut n = 0;
        for item in index.range((o, s, "")..=(o, s, "\u{10FFFF}"))? {
            item?;
            n += 1;
        }
        Ok(n)
    }
}

impl Tx<'_> {
    /// Takes the stored message `id` out of the schedule and the listing; returns it.
    fn unlist(&mut self, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        let previous: Option<WebhookDelivery> = get_json(self, WEBHOOK_DELIVERIES, id)?;
        if let Some(p) = &previous {
            if let Some(due) = p.due() {
                self.table_mut(WEBHOOK_DUE)?.remove((due, id))?;
            }
            let listed = (p.org_id.as_str(), state_key(p.state), id);
            self.table_mut(ORG_WEBHOOK_DELIVERIES)?.remove(listed)?;
        }
        Ok(previous)
    }
}

impl WebhookWrites for Tx<'_> {
    fn put_delivery(&mut self, d: &WebhookDelivery) -> Result<(), StoreError> {
        let id = d.delivery_id.as_str();
        self.unlist(id)?;
        if let Some(due) = d.due() {
            self.table_mut(WEBHOOK_DUE)?.insert((due, id), ())?;
        }
        self.table_mut(ORG_WEBHOOK_DELIVERIES)?
            .insert((d.org_id.as_str(), state_key(d.state), id), ())?;
        self.put_json(WEBHOOK_DELIVERIES, id, d)
    }

    fn remove_delivery(&mut self, id: &DeliveryId) -> Result<(), StoreError> {
        if self.unlist(id.as_str())?.is_some() {
            self.remove_json(WEBHOOK_DELIVERIES, id.as_str())?;
        }
        Ok(())
    }

    fn set_webhook_cursor(&mut self, index: u64) -> Result<(), StoreError> {
        self.table_mut(WEBHOOK_STATE)?
            .insert(WEBHOOK_CURSOR, index)?;
        Ok(())
    }
}
