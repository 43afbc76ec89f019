//! [`Batch`]: everything a use case may do inside a group-commit batch — every typed read,
//! every aggregate's writes, and the ledger's. redb's batch is [`Tx`]; the traits involved are
//! object safe, so a second backend's writer can hand use cases `&mut dyn Batch` instead.

use super::customers::CustomerWrites;
use super::envelopes::EnvelopeWrites;
use super::erasures::ErasureWrites;
use super::grants::GrantWrites;
use super::ledger_tx::Appended;
use super::orgs::OrgWrites;
use super::requests::RequestWrites;
use super::webhooks::WebhookWrites;
use super::{Reads, StoreError, Tx};
use crate::ledger::Event;

pub trait Batch:
    Reads
    + CustomerWrites
    + OrgWrites
    + EnvelopeWrites
    + GrantWrites
    + RequestWrites
    + WebhookWrites
    + ErasureWrites
{
    /// Appends `event` to the ledger in this batch, numbered for each party it concerns.
    fn append(&mut self, event: &Event, nonce: [u8; 32]) -> Result<Appended, StoreError>;
    /// Stores a signed checkpoint for tree size `size`.
    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError>;
    /// Records a used client-assertion `jti` until `exp`; false if it was already used.
    fn use_jti(&mut self, key: &str, exp: i64, now: i64) -> Result<bool, StoreError>;
    /// How many writes this batch has made so far: the writer aborts a batch in which a use
    /// case failed after writing (invariant 3).
    fn writes(&self) -> u64;
}

impl Batch for Tx<'_> {
    fn append(&mut self, event: &Event, nonce: [u8; 32]) -> Result<Appended, StoreError> {
        Tx::append(self, event, nonce)
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError> {
        Tx::put_checkpoint(self, size, note)
    }

    fn use_jti(&mut self, key: &str, exp: i64, now: i64) -> Result<bool, StoreError> {
        Tx::use_jti(self, key, exp, now)
    }

    fn writes(&self) -> u64 {
        Tx::writes(self)
    }
}

/// The boundary stays usable as a trait object.
#[allow(dead_code)]
fn object_safe(_: &mut dyn Batch) {}
