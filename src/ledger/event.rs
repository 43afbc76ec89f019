//! Ledger events and their commitments.
//!
//! The public tree holds only `leaf = SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event))` (hashed
//! again as an RFC 9162 leaf, `SHA-256(0x00 ‖ leaf)`). Without the 32-byte random nonce, which
//! only the parties of the event can read, a leaf reveals nothing about its event.

use crate::domain::catalog::{Label, Purpose};
use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId, RequestId};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const LEAF_DOMAIN: &[u8] = b"assent/v1/leaf";

/// Every act the vault records. Serialized with `type` as the tag, in JCS (RFC 8785) form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    CustomerRegistered {
        customer_id: CustomerId,
        at: Timestamp,
    },
    EnvelopeWritten {
        customer_id: CustomerId,
        envelope_id: EnvelopeId,
        label: Label,
        version: u64,
        at: Timestamp,
    },
    EnvelopeErased {
        customer_id: CustomerId,
        envelope_id: EnvelopeId,
        label: Label,
        at: Timestamp,
    },
    KeyRotated {
        customer_id: CustomerId,
        envelope_id: EnvelopeId,
        label: Label,
        version: u64,
        at: Timestamp,
    },
    OrgRegistered {
        org_id: OrgId,
        at: Timestamp,
    },
    RequestCreated {
        customer_id: CustomerId,
        org_id: OrgId,
        request_id: RequestId,
        labels: Vec<Label>,
        purposes: Vec<Purpose>,
        at: Timestamp,
    },
    RequestDeclined {
        customer_id: CustomerId,
        org_id: OrgId,
        request_id: RequestId,
        at: Timestamp,
    },
    GrantCreated {
        customer_id: CustomerId,
        org_id: OrgId,
        grant_id: GrantId,
        request_id: RequestId,
        labels: Vec<Label>,
        purposes: Vec<Purpose>,
        not_after: Timestamp,
        /// The customer's Ed25519 signature over the grant (base64url).
        signature: String,
        at: Timestamp,
    },
    GrantRevoked {
        customer_id: CustomerId,
        org_id: OrgId,
        grant_id: GrantId,
        at: Timestamp,
    },
    Read {
        customer_id: CustomerId,
        org_id: OrgId,
        grant_id: GrantId,
        envelope_id: EnvelopeId,
        version: u64,
        label: Label,
        purpose: Purpose,
        at: Timestamp,
    },
}

impl Event {
    /// The customer this event concerns (who may read it), if any.
    pub fn customer(&self) -> Option<&CustomerId> {
        match self {
            Self::OrgRegistered { .. } => None,
            Self::CustomerRegistered { customer_id, .. }
            | Self::EnvelopeWritten { customer_id, .. }
            | Self::EnvelopeErased { customer_id, .. }
            | Self::KeyRotated { customer_id, .. }
            | Self::RequestCreated { customer_id, .. }
            | Self::RequestDeclined { customer_id, .. }
            | Self::GrantCreated { customer_id, .. }
            | Self::GrantRevoked { customer_id, .. }
            | Self::Read { customer_id, .. } => Some(customer_id),
        }
    }

    /// The organization this event concerns, if any.
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Self::CustomerRegistered { .. }
            | Self::EnvelopeWritten { .. }
            | Self::EnvelopeErased { .. }
            | Self::KeyRotated { .. } => None,
            Self::OrgRegistered { org_id, .. }
            | Self::RequestCreated { org_id, .. }
            | Self::RequestDeclined { org_id, .. }
            | Self::GrantCreated { org_id, .. }
            | Self::GrantRevoked { org_id, .. }
            | Self::Read { org_id, .. } => Some(org_id),
        }
    }

    /// RFC 8785 canonical JSON of the event.
    pub fn canonical(&self) -> Result<Vec<u8>, super::LedgerError> {
        serde_json_canonicalizer::to_vec(self)
            .map_err(|e| super::LedgerError::Encoding(e.to_string()))
    }
}

/// An event ready to append: its canonical bytes and leaf commitment are computed before the
/// write transaction (they do not depend on the leaf's position), so the single writer only
/// places it in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub nonce: [u8; 32],
    pub canonical: Vec<u8>,
    /// `leaf_commitment(nonce, canonical)`.
    pub leaf: [u8; 32],
}

impl Prepared {
    pub fn new(event: &Event, nonce: [u8; 32]) -> Result<Self, super::LedgerError> {
        let canonical = event.canonical()?;
        Ok(Self {
            leaf: leaf_commitment(&nonce, &canonical),
            nonce,
            canonical,
        })
    }

    /// The stored record: `nonce ‖ canonical event` (see [`split_stored`]).
    pub fn stored(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.canonical.len());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.canonical);
        out
    }
}

/// `SHA-256("assent/v1/leaf" ‖ nonce ‖ canonical_event)`: the value entered in the tree.
pub fn leaf_commitment(nonce: &[u8; 32], canonical_event: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LEAF_DOMAIN);
    h.update(nonce);
    h.update(canonical_event);
    h.finalize().into()
}

/// Splits a stored ledger record (`nonce (32 bytes) ‖ canonical event`) into its parts.
pub fn split_stored(stored: &[u8]) -> Option<(&[u8; 32], &[u8])> {
    stored.split_first_chunk::<32>()
}

/// The event of a stored ledger record.
pub fn parse_stored(stored: &[u8]) -> Result<Event, super::LedgerError> {
    let (_, canonical) = split_stored(stored)
        .ok_or_else(|| super::LedgerError::Encoding("stored event is truncated".into()))?;
    serde_json::from_slice(canonical).map_err(|e| super::LedgerError::Encoding(e.to_string()))
}
