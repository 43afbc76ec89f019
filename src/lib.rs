//! Assent: a customer-controlled personal data consent vault.
//!
//! Layers, innermost first (see ARCHITECTURE.md):
//! - [`domain`], [`crypto`], [`ledger`]: pure — no I/O, time passed in.
//! - [`store`]: the redb file, its tables and the group-commit writer.
//! - [`vault`]: use cases; each is one transaction that appends its ledger event.
//! - [`http`]: the axum API; [`client`] and [`cli`]: the command line and its HTTP client.
#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod ledger;
pub mod settings;
pub mod store;
pub mod tokens;
pub mod vault;
pub mod wire;
pub mod witness;
