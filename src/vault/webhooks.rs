//! Organizations' webhooks: endpoints (in the org record), and the outbox that the ledger
//! feeds. The ledger *is* the durable record of every act (invariant 2: an act and its event
//! commit together), so the scheduler turns committed events into messages by walking the
//! ledger from a durable cursor, in a batch that moves the cursor with the messages it adds:
//! a crash anywhere loses none and schedules none twice (message ids come from the ledger
//! index), and nothing is announced before its act is durable. No act's own transaction pays
//! for webhooks.
//!
//! Delivery is at least once: a message is claimed (attempts + 1, due again after a lease) in
//! one batch before it is sent, and settled in another after; a crash between the two sends it
//! again after the lease, under the same `webhook-id`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::{Vault, VaultError, random_id_bytes};
use crate::domain::grant::Grant;
use crate::domain::ids::{DeliveryId, OrgId, WebhookId};
use crate::domain::time::Timestamp;
use crate::domain::webhook::{
    self as wh, DeliveryState, WebhookData, WebhookDelivery, WebhookEndpoint, WebhookKind,
    WebhookMessage,
};
use crate::ledger::{Event, Sequenced};
use crate::store::prelude::*;
use crate::store::records::OrgRecord;

/// Events turned into messages per scheduling batch.
const SCHEDULE_CHUNK: u64 = 1_024;
/// Messages claimed per round.
pub const CLAIM_BATCH: usize = 32;
/// Messages an organization can list at once.
pub const LIST_LIMIT: usize = 1_000;

/// How deliveries behave (`[webhooks]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Allow endpoints on non-public addresses, and `http://` (tests, private networks).
    pub allow_private: bool,
    /// A receiver must answer within this long.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            // Standard Webhooks recommends 15–30 s.
            timeout: Duration::from_secs(15),
        }
    }
}

impl WebhookSettings {
    /// A claimed message is due again after this long if its attempt is never settled (the
    /// node stopped): longer than any attempt can take.
    pub fn lease_secs(&self) -> i64 {
        i64::try_from(self.timeout.as_secs()).unwrap_or(120) + 30
    }
}

/// A message claimed for one attempt, with where it goes.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: WebhookDelivery,
    pub url: String,
}

fn org_missing(org: &OrgId) -> VaultError {
    VaultError::not_found("no_org", format!("{org} is not registered"))
}

fn no_webhook(id: &WebhookId) -> VaultError {
    VaultError::not_found("no_webhook", format!("no webhook {id}"))
}

impl Vault {
    pub fn webhook_settings(&self) -> &WebhookSettings {
        &self.webhooks
    }

    /// Registers an endpoint for `kinds`. It hears of acts committed from now on.
    pub async fn add_webhook(
        &self,
        org: OrgId,
        url: &str,
        kinds: Vec<WebhookKind>,
    ) -> Result<WebhookEndpoint, VaultError> {
        let url = wh::check_url(url.trim(), self.webhooks.allow_private)?.to_string();
        let kinds = wh::check_kinds(kinds)?;
        let now = self.now();
        let webhook_id = WebhookId::from_random(random_id_bytes());
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut record = tx.org(&org)?.ok_or_else(|| org_missing(&org))?;
                if record.webhooks.iter().any(|e| e.url == url) {
                    return Err(VaultError::conflict(
                        "webhook_exists",
                        "this URL is already registered; remove it first to change its kinds",
                    ));
                }
                if record.webhooks.len() >= wh::MAX_ENDPOINTS {
                    return Err(VaultError::conflict(
                        "too_many_webhooks",
                        format!(
                            "an organization has at most {} webhook endpoints",
                            wh::MAX_ENDPOINTS
                        ),
                    ));
                }
                let endpoint = WebhookEndpoint {
                    webhook_id,
                    url,
                    kinds,
                    created_at: now,
                    from_index: tx.ledger_size()?,
                };
                record.webhooks.push(endpoint.clone());
                tx.put_org(&record)?;
                Ok(endpoint)
            })
            .await
    }

    pub fn webhooks(&self, org: &OrgId) -> Result<Vec<WebhookEndpoint>, VaultError> {
        let record = self
            .store()
            .read()?
            .org(org)?
            .ok_or_else(|| org_missing(org))?;
        Ok(record.webhooks)
    }

    /// Removes an endpoint and every message still addressed to it.
    pub async fn remove_webhook(&self, org: OrgId, id: WebhookId) -> Result<(), VaultError> {
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut record = tx.org(&org)?.ok_or_else(|| org_missing(&org))?;
                let before = record.webhooks.len();
                record.webhooks.retain(|e| e.webhook_id != id);
                if record.webhooks.len() == before {
                    return Err(no_webhook(&id));
                }
                let mut doomed = Vec::new();
                for state in [
                    DeliveryState::Pending,
                    DeliveryState::Scheduled,
                    DeliveryState::Dead,
                ] {
                    let cap = usize::try_from(wh::QUEUE_CAP + wh::DEAD_CAP).unwrap_or(usize::MAX);
                    for d in tx.org_deliveries(&org, state, cap)? {
                        if d.webhook_id == id {
                            doomed.push(d.delivery_id);
                        }
                    }
                }
                tx.put_org(&record)?;
                for d in doomed {
                    tx.remove_delivery(&d)?;
                }
                Ok(())
            })
            .await
    }

    /// An organization's messages in `state`, oldest first (at most [`LIST_LIMIT`]).
    pub fn webhook_deliveries(
        &self,
        org: &OrgId,
        state: DeliveryState,
    ) -> Result<Vec<WebhookDelivery>, VaultError> {
        Ok(self
            .store()
            .read()?
            .org_deliveries(org, state, LIST_LIMIT)?)
    }

    /// Puts a dead letter back in the queue, due now, with a fresh retry schedule.
    pub async fn retry_webhook_delivery(
        &self,
        org: OrgId,
        id: DeliveryId,
    ) -> Result<WebhookDelivery, VaultError> {
        let now = self.now();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut d = tx
                    .delivery(&id)?
                    .filter(|d| d.org_id == org)
                    .ok_or_else(|| {
                        VaultError::not_found("no_delivery", format!("no webhook message {id}"))
                    })?;
                if d.state != DeliveryState::Dead {
                    return Err(VaultError::conflict(
                        "not_dead",
                        "the message is still queued; only a dead letter can be retried",
                    ));
                }
                if tx.org_delivery_count(&org, DeliveryState::Pending)? >= wh::QUEUE_CAP {
                    return Err(VaultError::conflict(
                        "queue_full",
                        "the organization's webhook queue is full",
                    ));
                }
                d.state = DeliveryState::Pending;
                d.attempts = 0;
                d.next_attempt_at = Some(now);
                tx.put_delivery(&d)?;
                Ok(d)
            })
            .await
    }

    /// Turns events committed since the cursor into messages (at most [`SCHEDULE_CHUNK`]
    /// events per call); returns how many events it walked. The messages are planned on a read
    /// snapshot, off the writer, and written in a batch only if the cursor has not moved
    /// meanwhile (another round or another node scheduled them). A vault whose cursor was
    /// never set starts at the current size: history is not announced.
    pub async fn schedule_webhooks(&self) -> Result<u64, VaultError> {
        let (from, end, plan) = {
            let view = self.store().read()?;
            let size = view.ledger_size()?;
            match view.webhook_cursor()? {
                None => (None, size, Scheduler::default()),
                Some(c) if c >= size => return Ok(0),
                Some(c) => {
                    let subscribed: BTreeSet<OrgId> = view.webhook_orgs()?.into_iter().collect();
                    if subscribed.is_empty() {
                        // No endpoint anywhere: nothing to read. One registered later starts
                        // at the size it sees, past all of these.
                        (Some(c), size, Scheduler::default())
                    } else {
                        let end = size.min(c + SCHEDULE_CHUNK);
                        let mut plan = Scheduler {
                            subscribed,
                            ..Scheduler::default()
                        };
                        for (index, stored) in view.events_between(c, end)? {
                            plan.stored(&*view, index, &stored)?;
                        }
                        (Some(c), end, plan)
                    }
                }
            }
        };
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                if tx.webhook_cursor()? != from {
                    return Ok(0);
                }
                plan.write(tx)?;
                tx.set_webhook_cursor(end)?;
                Ok(from.map_or(0, |f| end - f))
            })
            .await
    }

    /// Whether a round has nothing to do: every event scheduled, nothing due.
    pub fn webhooks_idle(&self) -> Result<bool, VaultError> {
        let view = self.store().read()?;
        Ok(view.webhook_cursor()? == Some(view.ledger_size()?)
            && view.due_deliveries(self.now().unix(), 1)?.is_empty())
    }

    /// Claims up to [`CLAIM_BATCH`] due messages for an attempt. A `grant.expired` message
    /// whose grant was revoked first is dropped (its revocation was announced instead).
    pub async fn claim_webhooks(&self) -> Result<Vec<Claimed>, VaultError> {
        let now = self.now();
        let lease = self.webhooks.lease_secs();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let due = tx.due_deliveries(now.unix(), CLAIM_BATCH)?;
                let mut orgs: HashMap<OrgId, Option<OrgRecord>> = HashMap::new();
                let mut decided = Vec::new();
                for mut d in due {
                    if !orgs.contains_key(&d.org_id) {
                        orgs.insert(d.org_id.clone(), tx.org(&d.org_id)?);
                    }
                    let url = orgs
                        .get(&d.org_id)
                        .and_then(Option::as_ref)
                        .and_then(|o| o.webhooks.iter().find(|e| e.webhook_id == d.webhook_id))
                        .map(|e| e.url.clone());
                    let superseded = d.message.kind == WebhookKind::GrantExpired
                        && match &d.message.data.grant_id {
                            Some(g) => tx.grant(g)?.is_none_or(|g| revoked_first(&g)),
                            None => true,
                        };
                    match url {
                        Some(url) if !superseded => {
                            d.attempts += 1;
                            d.state = DeliveryState::Pending;
                            d.last_attempt_at = Some(now);
                            // Under way: the outcome of this attempt replaces it.
                            d.last_error = None;
                            d.next_attempt_at = Some(now.plus(lease));
                            decided.push(Ok(Claimed { delivery: d, url }));
                        }
                        _ => decided.push(Err(d.delivery_id)),
                    }
                }
                let mut claimed = Vec::new();
                for c in decided {
                    match c {
                        Ok(c) => {
                            tx.put_delivery(&c.delivery)?;
                            claimed.push(c);
                        }
                        Err(id) => tx.remove_delivery(&id)?,
                    }
                }
                Ok(claimed)
            })
            .await
    }

    /// Settles attempts: a delivered message is removed, a failed one is due again on the
    /// schedule or becomes a dead letter. An outcome for a message claimed again since (its
    /// lease ran out) is ignored.
    pub async fn settle_webhooks(
        &self,
        outcomes: Vec<(DeliveryId, u32, Result<(), String>)>,
    ) -> Result<(), VaultError> {
        let now = self.now();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                let mut decided = Vec::new();
                for (id, attempt, outcome) in outcomes {
                    let Some(mut d) = tx.delivery(&id)? else {
                        continue;
                    };
                    if d.attempts != attempt || d.state != DeliveryState::Pending {
                        continue;
                    }
                    match outcome {
                        Ok(()) => decided.push(Err(id)),
                        Err(e) => {
                            d.failed(now, e);
                            decided.push(Ok(d));
                        }
                    }
                }
                for d in decided {
                    match d {
                        Ok(d) if d.state == DeliveryState::Dead => bury(tx, d)?,
                        Ok(d) => tx.put_delivery(&d)?,
                        Err(id) => tx.remove_delivery(&id)?,
                    }
                }
                Ok(())
            })
            .await
    }
}

/// A grant revoked at or before its `not_after` never expires.
fn revoked_first(g: &Grant) -> bool {
    g.revoked_at.is_some_and(|r| r <= g.terms.not_after)
}

/// Stores a dead letter, dropping the organization's oldest beyond [`wh::DEAD_CAP`].
fn bury(tx: &mut dyn Batch, d: WebhookDelivery) -> Result<(), VaultError> {
    let dead = tx.org_delivery_count(&d.org_id, DeliveryState::Dead)?;
    if dead >= wh::DEAD_CAP {
        let excess = usize::try_from(dead + 1 - wh::DEAD_CAP).unwrap_or(usize::MAX);
        for old in tx.org_deliveries(&d.org_id, DeliveryState::Dead, excess)? {
            tx.remove_delivery(&old.delivery_id)?;
        }
    }
    tx.put_delivery(&d)?;
    Ok(())
}

/// The messages a run of events makes, decided on reads before anything is written.
#[derive(Default)]
struct Scheduler {
    /// The organizations with endpoints (`webhook_orgs`, read with the events).
    subscribed: BTreeSet<OrgId>,
    /// Each organization met: its endpoints, and its queue length as scheduled so far.
    orgs: HashMap<OrgId, (Vec<WebhookEndpoint>, u64)>,
    out: Vec<WebhookDelivery>,
}

impl Scheduler {
    /// A stored event: decoded in full unless it is a read.
    fn stored(&mut self, tx: &dyn Reads, index: u64, stored: &[u8]) -> Result<(), VaultError> {
        #[derive(serde::Deserialize)]
        struct Kind<'a> {
            #[serde(rename = "type", borrow)]
            kind: &'a str,
            #[serde(default, borrow)]
            org_id: Option<&'a str>,
        }
        let bad = |e: &dyn std::fmt::Display| VaultError::Internal(format!("event {index}: {e}"));
        let (_, canonical) =
            crate::ledger::event::split_stored(stored).ok_or_else(|| bad(&"truncated"))?;
        let kind: Kind<'_> = serde_json::from_slice(canonical).map_err(|e| bad(&e))?;
        // Reads are most of the ledger and announce nothing; an event of an organization
        // without endpoints announces nothing either: skip them undecoded.
        let unheard = kind
            .org_id
            .is_some_and(|o| !self.subscribed.iter().any(|s| s.as_str() == o));
        if kind.kind == "read" || unheard {
            return Ok(());
        }
        let event: Sequenced = serde_json::from_slice(canonical).map_err(|e| bad(&e))?;
        self.event(tx, index, &event.event)
    }

    /// The messages `event` makes, each for one organization; a message is due at its own
    /// time (the act's, or for `grant.expired` the grant's `not_after`).
    fn event(&mut self, tx: &dyn Reads, index: u64, event: &Event) -> Result<(), VaultError> {
        use WebhookKind as K;
        let about = |customer_id: &crate::domain::ids::CustomerId| {
            WebhookData::about(customer_id.clone(), Some(index))
        };
        let msg = |kind, timestamp, data| WebhookMessage {
            kind,
            timestamp,
            data,
        };
        let mut out: Vec<(OrgId, WebhookMessage)> = Vec::new();
        match event {
            Event::GrantCreated {
                customer_id,
                org_id,
                grant_id,
                request_id,
                not_after,
                at,
                ..
            } => {
                let approved = WebhookData {
                    request_id: Some(request_id.clone()),
                    grant_id: Some(grant_id.clone()),
                    ..about(customer_id)
                };
                // No act makes an expiry: it names no ledger entry.
                let expired = WebhookData {
                    ledger_index: None,
                    ..approved.clone()
                };
                out.push((org_id.clone(), msg(K::RequestApproved, *at, approved)));
                out.push((org_id.clone(), msg(K::GrantExpired, *not_after, expired)));
            }
            Event::RequestDeclined {
                customer_id,
                org_id,
                request_id,
                at,
            } => {
                let declined = WebhookData {
                    request_id: Some(request_id.clone()),
                    ..about(customer_id)
                };
                out.push((org_id.clone(), msg(K::RequestDeclined, *at, declined)));
            }
            Event::GrantRevoked {
                customer_id,
                org_id,
                grant_id,
                at,
            } => {
                let revoked = WebhookData {
                    grant_id: Some(grant_id.clone()),
                    ..about(customer_id)
                };
                out.push((org_id.clone(), msg(K::GrantRevoked, *at, revoked)));
            }
            Event::EnvelopeWritten {
                customer_id,
                label,
                version,
                at,
                ..
            }
            | Event::KeyRotated {
                customer_id,
                label,
                version,
                at,
                ..
            } => {
                for org in self.readers(tx, index, customer_id, label, *at)? {
                    let updated = WebhookData {
                        label: Some(label.clone()),
                        version: Some(*version),
                        ..about(customer_id)
                    };
                    out.push((org, msg(K::EnvelopeUpdated, *at, updated)));
                }
            }
            Event::ErasureRequested {
                customer_id,
                org_id,
                grant_id,
                due,
                at,
            } => {
                let asked = WebhookData {
                    grant_id: Some(grant_id.clone()),
                    due: Some(*due),
                    ..about(customer_id)
                };
                out.push((org_id.clone(), msg(K::ErasureRequested, *at, asked)));
            }
            _ => {}
        }
        for (org, message) in out {
            self.message(tx, &org, index, message)?;
        }
        Ok(())
    }

    /// Every organization with endpoints that may read `label` of `customer` as of the write at
    /// `index` (time `at`), once each: granted before the write (the ledger orders them; a grant
    /// can be made after it and before this runs), and in force at its time.
    fn readers(
        &self,
        tx: &dyn Reads,
        index: u64,
        customer: &crate::domain::ids::CustomerId,
        label: &crate::domain::catalog::Label,
        at: Timestamp,
    ) -> Result<Vec<OrgId>, VaultError> {
        let may_read = |g: &Grant| {
            g.ledger_index < index
                && g.state(at) == crate::domain::grant::GrantState::Active
                && g.terms.labels.contains(label)
        };
        // A few subscribers: look each up by (org, customer); many: the customer's grants.
        let mut readers: Vec<OrgId> = Vec::new();
        if self.subscribed.len() <= 32 {
            for org in &self.subscribed {
                let grants = tx.grants_for(org, customer)?;
                if grants
                    .iter()
                    .any(|g| may_read(std::borrow::Borrow::borrow(g)))
                {
                    readers.push(org.clone());
                }
            }
        } else {
            readers = tx
                .grants_of(customer)?
                .into_iter()
                .filter(|g| may_read(g) && self.subscribed.contains(&g.terms.org_id))
                .map(|g| g.terms.org_id)
                .collect();
            readers.sort();
            readers.dedup();
        }
        Ok(readers)
    }

    /// One message per endpoint of `org` that wants its kind, due at the message's time;
    /// beyond the queue cap, a dead letter at once.
    fn message(
        &mut self,
        tx: &dyn Reads,
        org: &OrgId,
        index: u64,
        message: WebhookMessage,
    ) -> Result<(), VaultError> {
        if !self.orgs.contains_key(org) {
            let endpoints = tx.org(org)?.map(|o| o.webhooks).unwrap_or_default();
            let queued = if endpoints.is_empty() {
                0
            } else {
                tx.org_delivery_count(org, DeliveryState::Pending)?
            };
            self.orgs.insert(org.clone(), (endpoints, queued));
        }
        let Some((endpoints, queued)) = self.orgs.get_mut(org) else {
            return Ok(());
        };
        let kind = message.kind;
        for e in endpoints.iter().filter(|e| e.wants(kind, index)) {
            let due = message.timestamp;
            let mut d = WebhookDelivery::new(org.clone(), e, index, message.clone(), due);
            if kind == WebhookKind::GrantExpired {
                // Waits for the grant's end; at most one per grant and endpoint, uncapped.
                d.state = DeliveryState::Scheduled;
            } else if *queued >= wh::QUEUE_CAP {
                d.last_error = Some("queue_full: the organization's queue was full".into());
                d.kill();
            } else {
                *queued += 1;
            }
            self.out.push(d);
        }
        Ok(())
    }

    fn write(self, tx: &mut dyn Batch) -> Result<(), VaultError> {
        for d in self.out {
            if d.state == DeliveryState::Dead {
                bury(tx, d)?;
            } else {
                tx.put_delivery(&d)?;
            }
        }
        Ok(())
    }
}
