//! Checking a webhook delivery on the organization's side (Standard Webhooks 1.0, scheme
//! `v1a`): the `webhook-signature` must hold an Ed25519 signature by the pinned vault key over
//! `webhook-id.webhook-timestamp.body`, the timestamp must be near the receiver's clock (when a
//! clock is given: a replayed old delivery is refused) and the body must be a message. Nothing
//! in a delivery is believed before this passes; its `ledger_index` can then be found in the
//! organization's own verified ledger.

use base64::Engine;

use super::api::ClientError;
use crate::domain::ids::{DeliveryId, WebhookId};
use crate::domain::webhook::{self as wh, DeliveryState, WebhookKind, WebhookMessage};
use crate::wire::webhooks::{DeliveryView, WebhookBody, WebhookView};

impl super::org::OrgClient {
    /// Registers an endpoint for `kinds` (every kind when empty).
    pub fn add_webhook(&self, url: &str, kinds: &[String]) -> Result<WebhookView, ClientError> {
        let kinds = if kinds.is_empty() {
            WebhookKind::ALL.to_vec()
        } else {
            kinds
                .iter()
                .map(|k| WebhookKind::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ClientError::Usage(e.to_string()))?
        };
        self.api.post(
            "/v1/org/webhooks",
            &WebhookBody {
                url: url.to_owned(),
                kinds,
            },
        )
    }

    pub fn webhooks(&self) -> Result<Vec<WebhookView>, ClientError> {
        self.api.get("/v1/org/webhooks")
    }

    pub fn remove_webhook(&self, id: &str) -> Result<(), ClientError> {
        let id = WebhookId::parse(id).map_err(|e| ClientError::Usage(e.to_string()))?;
        self.api
            .delete::<crate::wire::webhooks::WebhookRemoved>(&format!("/v1/org/webhooks/{id}"))
            .map(|_| ())
    }

    /// Messages in `state`, as the vault reports them: display only.
    pub fn webhook_deliveries(
        &self,
        state: DeliveryState,
    ) -> Result<Vec<DeliveryView>, ClientError> {
        self.api
            .get_query("/v1/org/webhooks/deliveries", &[("state", state)])
    }

    pub fn retry_webhook(&self, id: &str) -> Result<DeliveryView, ClientError> {
        let id = DeliveryId::parse(id).map_err(|e| ClientError::Usage(e.to_string()))?;
        self.api.post(
            &format!("/v1/org/webhooks/deliveries/{id}/retry"),
            &serde_json::json!({}),
        )
    }
}

/// Standard Webhooks' text form of an Ed25519 public key.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// One delivery as received: its three headers and the raw body.
pub struct Delivery<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
    pub body: &'a [u8],
}

/// `whpk_` ‖ base64(public key), what Standard Webhooks libraries take.
pub fn public_key_text(key: &[u8; 32]) -> String {
    format!(
        "{PUBLIC_KEY_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// A vault key given as `whpk_…` or as the signed-note verifier key (`name+id+key`).
pub fn parse_public_key(s: &str) -> Result<[u8; 32], ClientError> {
    let s = s.trim();
    if let Some(b64) = s.strip_prefix(PUBLIC_KEY_PREFIX) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| ClientError::Usage(format!("{PUBLIC_KEY_PREFIX} key: {e}")))?;
        return <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| ClientError::Usage(format!("a {PUBLIC_KEY_PREFIX} key is 32 bytes")));
    }
    crate::ledger::note::parse_verifier_key(s)
        .map(|v| v.public)
        .map_err(|e| ClientError::Usage(format!("vault key: {e}")))
}

/// Verifies a delivery against `vault_key`; with `now` (unix seconds), also that it was sent
/// within [`wh::TIMESTAMP_TOLERANCE_SECS`] of it. Returns the message.
pub fn verify(
    vault_key: &[u8; 32],
    d: &Delivery<'_>,
    now: Option<i64>,
) -> Result<WebhookMessage, ClientError> {
    let refused = |m: String| ClientError::Refused(format!("webhook delivery: {m}"));
    let id = DeliveryId::parse(d.id.trim()).map_err(|e| refused(e.to_string()))?;
    let timestamp: i64 = d
        .timestamp
        .trim()
        .parse()
        .map_err(|_| refused("webhook-timestamp is not unix seconds".into()))?;
    if let Some(now) = now
        && (now - timestamp).abs() > wh::TIMESTAMP_TOLERANCE_SECS
    {
        return Err(refused(format!(
            "sent at {timestamp}, more than {} s from now ({now}): too old or from the future",
            wh::TIMESTAMP_TOLERANCE_SECS
        )));
    }
    let key = crate::crypto::keys::verifying_key(vault_key)
        .map_err(|_| ClientError::Usage("the vault key is not an Ed25519 key".into()))?;
    let content = wh::signed_content(&id, timestamp, d.body);
    // Several signatures may be listed (key rotation): one valid `v1a` one suffices.
    let signed = d
        .signature
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == wh::SIGNATURE_VERSION)
        .filter_map(|(_, b64)| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter_map(|sig| ed25519_dalek::Signature::from_slice(&sig).ok())
        .any(|sig| key.verify_strict(&content, &sig).is_ok());
    if !signed {
        return Err(refused(
            "no v1a signature by the vault key over this id, timestamp and body".into(),
        ));
    }
    serde_json::from_slice(d.body).map_err(|e| refused(format!("the body is not a message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{CustomerId, GrantId};
    use crate::domain::time::Timestamp;
    use crate::domain::webhook::WebhookData;
    use ed25519_dalek::Signer;

    fn signed(key: &ed25519_dalek::SigningKey, ts: i64) -> (String, Vec<u8>, String) {
        let id = DeliveryId::for_event(7, "gr", &WebhookId::from_random([1; 16]));
        let body = serde_json::to_vec(&WebhookMessage {
            kind: WebhookKind::GrantRevoked,
            timestamp: Timestamp::from_unix(1_700_000_000).unwrap(),
            data: WebhookData {
                grant_id: Some(GrantId::from_random([3; 16])),
                ..WebhookData::about(CustomerId::from_random([2; 16]), Some(7))
            },
        })
        .unwrap();
        let sig = key.sign(&wh::signed_content(&id, ts, &body)).to_bytes();
        let header = format!(
            "v1,bm90IGEgc2lnbmF0dXJl v1a,{}",
            base64::engine::general_purpose::STANDARD.encode(sig)
        );
        (id.to_string(), body, header)
    }

    #[test]
    fn a_signed_delivery_verifies_and_any_change_is_refused() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let public = key.verifying_key().to_bytes();
        assert_eq!(parse_public_key(&public_key_text(&public)).unwrap(), public);
        let (id, body, sig) = signed(&key, 1_700_000_100);
        let check = |id: &str, ts: &str, body: &[u8], now: Option<i64>| {
            let d = Delivery {
                id,
                timestamp: ts,
                signature: &sig,
                body,
            };
            verify(&public, &d, now)
        };
        // Domain separation: a signed content is one line (every other vault statement is not).
        let id_parsed = DeliveryId::parse(&id).unwrap();
        assert!(!wh::signed_content(&id_parsed, 1_700_000_100, &body).contains(&b'\n'));
        let m = check(&id, "1700000100", &body, Some(1_700_000_200)).unwrap();
        assert_eq!(m.kind, WebhookKind::GrantRevoked);
        // Offline, without a clock: the signature alone.
        assert!(check(&id, "1700000100", &body, None).is_ok());
        // Another timestamp, id or body; sent too long ago; another key.
        assert!(check(&id, "1700000101", &body, None).is_err());
        let other = DeliveryId::for_event(8, "gr", &WebhookId::from_random([1; 16]));
        assert!(check(other.as_str(), "1700000100", &body, None).is_err());
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert!(check(&id, "1700000100", &tampered, None).is_err());
        assert!(check(&id, "1700000100", &body, Some(1_700_001_000)).is_err());
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
        let d = Delivery {
            id: &id,
            timestamp: "1700000100",
            signature: &sig,
            body: &body,
        };
        assert!(verify(&stranger.verifying_key().to_bytes(), &d, None).is_err());
    }
}
