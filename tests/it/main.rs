//! The one integration-test binary: end-to-end tests over real HTTP against the
//! in-process emulator, the real CLI binary, and independent Parquet readers.

mod ad_source;
mod anchor;
mod bounded;
mod breaker;
mod clear;
mod cli_experience;
mod client;
mod common;
mod diagnostics;
mod emulator;
mod group_failures;
mod groups;
mod import;
mod interop;
mod layers;
mod ldap_source;
mod ledger;
mod metrics;
mod odd_inputs;
mod pace;
mod peers;
mod permissions;
mod plan;
mod preflight;
mod quickstart;
mod resume;
mod runlock;
mod runs;
mod schema_baseline;
mod schema_drift;
mod secrets;
mod skills;
mod sync;
mod validate;
mod webhooks;
