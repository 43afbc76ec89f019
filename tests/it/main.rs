//! Every integration test in one binary: one link of the crate, one shared harness
//! (`common`), and one `cargo test` process whose tests run in parallel. Run a suite alone with
//! `cargo test --test it <module>::`, e.g. `cargo test --test it hostile::`.

mod common;

mod authz;
mod bad_input;
mod browser_interop;
mod cli_flow;
mod crash_safety;
mod crypto_props;
mod crypto_vectors;
mod domain_policy;
mod erasure;
mod flow;
mod fuzz_regressions;
mod hostile;
mod ledger_note;
mod ledger_transparency;
mod merkle_props;
mod merkle_vectors;
mod multinode;
mod openapi;
mod ops;
mod pg;
mod two_nodes;
mod webhooks;
mod wire_vectors;
mod witness_interop;
mod witness_server;
mod witness_vectors;
mod witnesses;
mod write_path;
