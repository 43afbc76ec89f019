//! Ledger events and their commitments.
//!
//! The public tree holds only `leaf = SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event))` (hashed
//! again as an RFC 9162 leaf, `SHA-256(0x00 ‖ leaf)`). Without the 32-byte random nonce, which
//! only the parties of the event can read, a leaf reveals nothing about its event.

use crate::domain::catalog::{Label, Purpose};
use crate::domain::erasure::ErasureOutcome;
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
    /// An organization's first keys (`key_seq` 1), as the operator registered them. The nonce of
    /// every key event is public (`GET /v1/orgs/{id}/keys`), so anyone can open it.
    OrgRegistered {
        org_id: OrgId,
        name: String,
        key_seq: u64,
        #[serde(with = "crate::crypto::b64::serde_array")]
        identity_key: [u8; 32],
        #[serde(with = "crate::crypto::b64::serde_array")]
        encryption_key: [u8; 32],
        /// Identity over `assent/v1/org-key\n` ‖ encryption_key.
        #[serde(with = "crate::crypto::b64::serde_bytes")]
        key_signature: Vec<u8>,
        at: Timestamp,
    },
    /// A later key change, signed by the previous identity key over
    /// `assent/v2/org-key-change\n` ‖ JCS({org_id, key_seq, identity_key, encryption_key}).
    OrgKeysChanged {
        org_id: OrgId,
        key_seq: u64,
        #[serde(with = "crate::crypto::b64::serde_array")]
        identity_key: [u8; 32],
        #[serde(with = "crate::crypto::b64::serde_array")]
        encryption_key: [u8; 32],
        #[serde(with = "crate::crypto::b64::serde_bytes")]
        key_signature: Vec<u8>,
        #[serde(with = "crate::crypto::b64::serde_array")]
        previous_identity_key: [u8; 32],
        #[serde(with = "crate::crypto::b64::serde_bytes")]
        change_signature: Vec<u8>,
        at: Timestamp,
    },
    RequestCreated {
        customer_id: CustomerId,
        org_id: OrgId,
        request_id: RequestId,
        labels: Vec<Label>,
        purposes: Vec<Purpose>,
        /// Omitted when empty (the v2 encoding of a request without required purposes).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        required_purposes: Vec<Purpose>,
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_reads: Option<u32>,
        /// The organization's keys the customer approved (wire v2).
        #[serde(with = "crate::crypto::b64::serde_array")]
        org_identity_key: [u8; 32],
        #[serde(with = "crate::crypto::b64::serde_array")]
        org_encryption_key: [u8; 32],
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
    /// The customer asks the organization to erase what it read under the grant, by `due`.
    ErasureRequested {
        customer_id: CustomerId,
        org_id: OrgId,
        grant_id: GrantId,
        due: Timestamp,
        at: Timestamp,
    },
    /// The organization's answer, signed by `identity_key` (its key when it answered) over
    /// `assent/v2/erasure-answer\n` ‖ JCS({customer_id, org_id, grant_id, request_index,
    /// outcome, reason?}).
    ErasureAnswered {
        customer_id: CustomerId,
        org_id: OrgId,
        grant_id: GrantId,
        request_index: u64,
        outcome: ErasureOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(with = "crate::crypto::b64::serde_array")]
        identity_key: [u8; 32],
        #[serde(with = "crate::crypto::b64::serde_bytes")]
        signature: Vec<u8>,
        at: Timestamp,
    },
}

impl Event {
    /// The customer this event concerns (who may read it), if any.
    pub fn customer(&self) -> Option<&CustomerId> {
        match self {
            Self::OrgRegistered { .. } | Self::OrgKeysChanged { .. } => None,
            Self::CustomerRegistered { customer_id, .. }
            | Self::EnvelopeWritten { customer_id, .. }
            | Self::EnvelopeErased { customer_id, .. }
            | Self::KeyRotated { customer_id, .. }
            | Self::RequestCreated { customer_id, .. }
            | Self::RequestDeclined { customer_id, .. }
            | Self::GrantCreated { customer_id, .. }
            | Self::GrantRevoked { customer_id, .. }
            | Self::Read { customer_id, .. }
            | Self::ErasureRequested { customer_id, .. }
            | Self::ErasureAnswered { customer_id, .. } => Some(customer_id),
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
            | Self::OrgKeysChanged { org_id, .. }
            | Self::RequestCreated { org_id, .. }
            | Self::RequestDeclined { org_id, .. }
            | Self::GrantCreated { org_id, .. }
            | Self::GrantRevoked { org_id, .. }
            | Self::Read { org_id, .. }
            | Self::ErasureRequested { org_id, .. }
            | Self::ErasureAnswered { org_id, .. } => Some(org_id),
        }
    }

    /// True for the events that make up an organization's key log.
    /// The `type` tag this event is serialized with.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CustomerRegistered { .. } => "customer_registered",
            Self::EnvelopeWritten { .. } => "envelope_written",
            Self::EnvelopeErased { .. } => "envelope_erased",
            Self::KeyRotated { .. } => "key_rotated",
            Self::OrgRegistered { .. } => "org_registered",
            Self::OrgKeysChanged { .. } => "org_keys_changed",
            Self::RequestCreated { .. } => "request_created",
            Self::RequestDeclined { .. } => "request_declined",
            Self::GrantCreated { .. } => "grant_created",
            Self::GrantRevoked { .. } => "grant_revoked",
            Self::Read { .. } => "read",
            Self::ErasureRequested { .. } => "erasure_requested",
            Self::ErasureAnswered { .. } => "erasure_answered",
        }
    }

    /// For an `erasure_answered` event: the statement it says the organization signed, the key
    /// it names and the signature (check with `crypto::sign::verify_erasure_answer`).
    pub fn erasure_answer(
        &self,
    ) -> Option<(
        crate::domain::erasure::AnswerStatement<'_>,
        &[u8; 32],
        &[u8],
    )> {
        match self {
            Self::ErasureAnswered {
                customer_id,
                org_id,
                grant_id,
                request_index,
                outcome,
                reason,
                identity_key,
                signature,
                ..
            } => Some((
                crate::domain::erasure::AnswerStatement {
                    customer_id,
                    org_id,
                    grant_id,
                    request_index: *request_index,
                    outcome: *outcome,
                    reason: reason.as_deref(),
                },
                identity_key,
                signature,
            )),
            _ => None,
        }
    }

    pub fn is_org_key_event(&self) -> bool {
        matches!(
            self,
            Self::OrgRegistered { .. } | Self::OrgKeysChanged { .. }
        )
    }
}

/// An event as the ledger commits it: the event's fields plus each party's sequence number.
///
/// Invariant: `customer_seq` is present exactly when the event concerns a customer and
/// `org_seq` exactly when it concerns an organization; each counts that party's events
/// 1, 2, 3, … in ledger order, so a listing that omits one of a party's events leaves a gap its
/// client sees ([`Sequenced::check`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequenced {
    #[serde(flatten)]
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_seq: Option<u64>,
}

impl Sequenced {
    /// Refuses sequence numbers that do not match the event's parties (absent, extra or 0).
    pub fn check(&self) -> Result<(), super::LedgerError> {
        let fits = |party: bool, seq: Option<u64>| match seq {
            Some(n) => party && n >= 1,
            None => !party,
        };
        if fits(self.event.customer().is_some(), self.customer_seq)
            && fits(self.event.org().is_some(), self.org_seq)
        {
            Ok(())
        } else {
            Err(super::LedgerError::Encoding(
                "the event's sequence numbers do not match its parties".into(),
            ))
        }
    }

    /// RFC 8785 canonical JSON of the event with its sequence numbers: the committed bytes.
    pub fn canonical(&self) -> Result<Vec<u8>, super::LedgerError> {
        if let Some(read) = super::jcs_read::canonical_read(self) {
            return Ok(read);
        }
        serde_json_canonicalizer::to_vec(self)
            .map_err(|e| super::LedgerError::Encoding(e.to_string()))
    }
}

/// An event ready to append: its canonical bytes (with its sequence numbers) and leaf
/// commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub nonce: [u8; 32],
    pub canonical: Vec<u8>,
    /// `leaf_commitment(nonce, canonical)`.
    pub leaf: [u8; 32],
}

impl Prepared {
    pub fn new(event: &Sequenced, nonce: [u8; 32]) -> Result<Self, super::LedgerError> {
        event.check()?;
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
pub fn parse_stored(stored: &[u8]) -> Result<Sequenced, super::LedgerError> {
    let (_, canonical) = split_stored(stored)
        .ok_or_else(|| super::LedgerError::Encoding("stored event is truncated".into()))?;
    parse_canonical(canonical)
}

/// Parses committed event bytes and checks their sequence numbers fit the event.
pub fn parse_canonical(canonical: &[u8]) -> Result<Sequenced, super::LedgerError> {
    let event: Sequenced = serde_json::from_slice(canonical)
        .map_err(|e| super::LedgerError::Encoding(e.to_string()))?;
    event.check()?;
    Ok(event)
}
