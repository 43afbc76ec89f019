//! The ledger as its parties and the public see it: entry references, pages, key logs, proofs.

use crate::crypto::b64::serde_array;
use crate::domain::ids::OrgId;
use crate::ledger::Sequenced;
use crate::wire::schema::Base64Url32;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where an act landed in the ledger.
#[derive(Serialize, Deserialize, Clone, Copy, ToSchema, Debug)]
pub struct LedgerRef {
    pub index: u64,
    /// SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event)).
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub leaf: [u8; 32],
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Entry {
    pub index: u64,
    /// Opens the commitment: leaf = SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event)).
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub nonce: [u8; 32],
    /// The event, tagged by `type` (`customer_registered`, `envelope_written`, `envelope_erased`,
    /// `key_rotated`, `org_registered`, `org_keys_changed`, `request_created`,
    /// `request_declined`, `grant_created`, `grant_revoked`, `read`), with `customer_seq` and/or
    /// `org_seq`: each party's events numbered 1, 2, 3, … Clients check the numbers are
    /// contiguous from 1 and never go back (an omitted event leaves a gap), and recompute the
    /// leaf from this event and the nonce.
    #[schema(value_type = Object)]
    pub event: Sequenced,
    #[serde(with = "serde_array")]
    #[schema(value_type = Base64Url32)]
    pub leaf: [u8; 32],
    /// RFC 9162 inclusion proof of this leaf in the tree of `size` leaves (the checkpoint).
    /// Every entry listed is below the checkpoint size: a client treats one at or beyond it as
    /// a failure.
    #[schema(value_type = Option<Vec<Base64Url32>>)]
    pub proof: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct LedgerPage {
    /// The signed checkpoint (C2SP tlog-checkpoint note) the proofs are against.
    pub checkpoint: String,
    /// Its tree size.
    pub size: u64,
    pub entries: Vec<Entry>,
}

/// An organization's key log: what a device checks before it trusts the organization's keys.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct KeyLog {
    pub org_id: OrgId,
    #[serde(flatten)]
    pub page: LedgerPage,
}
/// The current verifier key and the rotation statements that lead to it.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct KeyHistory {
    /// The C2SP verifier key that signs checkpoints now.
    pub current: String,
    /// Signed notes, oldest first, each signed by the key it retires (text:
    /// `assent/v2/vault-key-rotation`, previous key, next key, time). A client verifies each with
    /// the key it pinned; the server's word alone moves no pin.
    pub rotations: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    #[schema(value_type = Vec<Base64Url32>)]
    pub proof: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    #[schema(value_type = Vec<Base64Url32>)]
    pub proof: Vec<String>,
}
