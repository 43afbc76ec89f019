//! Pure consent rules: typed ids, labels, purposes, grants, requests and the read policy.
//! No I/O: every function that depends on time takes `now` as a parameter.

pub mod catalog;
pub mod controller;
pub mod erasure;
pub mod error;
pub mod grant;
pub mod ids;
pub mod named_file;
pub mod receipts;
pub mod request;
pub mod time;
pub mod webhook;

pub use error::DomainError;
