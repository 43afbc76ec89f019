//! Organizations' webhooks: registering endpoints and watching their messages. The messages
//! themselves ([`crate::domain::webhook::WebhookMessage`]) are checked by the receiver with
//! the vault key (`client::webhook::verify`), never believed on the vault's word.

use crate::domain::ids::{DeliveryId, WebhookId};
use crate::domain::time::Timestamp;
use crate::domain::webhook::{
    DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookKind, WebhookMessage,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// `https://…` on a public address (the operator may allow private ones and `http://`).
    pub url: String,
    /// What to be told, each once.
    #[schema(min_items = 1)]
    pub kinds: Vec<WebhookKind>,
}

/// A registered endpoint. Display only for the client: what it asked for, as stored.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct WebhookView {
    #[schema(value_type = String)]
    pub webhook_id: WebhookId,
    pub url: String,
    pub kinds: Vec<WebhookKind>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// The endpoint hears of acts at this ledger index and later.
    pub from_index: u64,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            webhook_id: e.webhook_id,
            url: e.url,
            kinds: e.kinds,
            created_at: e.created_at,
            from_index: e.from_index,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct WebhookRemoved {
    #[schema(value_type = String)]
    pub webhook_id: WebhookId,
    pub removed: bool,
}

/// A message and how its delivery is going. Display only: a message is believed when it
/// arrives signed (or when its `ledger_index` entry verifies in the organization's ledger).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    /// The `webhook-id` of every attempt.
    #[schema(value_type = String)]
    pub delivery_id: DeliveryId,
    #[schema(value_type = String)]
    pub webhook_id: WebhookId,
    pub state: DeliveryState,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub last_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub message: WebhookMessage,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            delivery_id: d.delivery_id,
            webhook_id: d.webhook_id,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_error: d.last_error,
            message: d.message,
        }
    }
}
