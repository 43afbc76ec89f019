//! The consent ledger: events, their leaf commitments and the RFC 9162 Merkle tree. Pure.

pub mod checkpoint;
pub mod cosignature;
pub mod error;
pub mod event;
mod jcs_read;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod rotation;

pub use error::LedgerError;
pub use event::{Event, Prepared, Sequenced, leaf_commitment};
