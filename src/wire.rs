//! The wire: what travels between the vault and its clients, defined once for both sides.
//!
//! `schema` gives the crate's own wire forms (typed ids, labels, purposes, timestamps,
//! base64url bytes) their OpenAPI schemas, built from the code's own constants.

pub mod customers;
pub mod envelopes;
pub mod erasure;
pub mod grants;
pub mod ledger;
pub mod ops;
pub mod org;
pub mod requests;
pub mod schema;
pub mod webhooks;
