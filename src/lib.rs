//! scimport makes Genesys Cloud's users match an HR source over SCIM 2.0.
//!
//! A row flows through the modules in the order they are declared here:
//! [`source`] streams records out of a CSV/NDJSON export, [`mapping`] turns each
//! record into the SCIM user the mapping file asks for, [`validate`] judges it
//! (every problem at once, never stopping the run), [`plan`] compares it with what
//! the tenant holds and decides an action, [`apply`] is the only place that sends
//! writes (under one shared rate limiter and retry policy), and the outcome of every
//! row lands in the [`ledger`] (Parquet) while every decision and call lands in the
//! [`audit`] log; the [`journal`] makes a run crash-safe and resumable.
//! [`model`] holds the leaf types every stage shares (actions, outcomes, row
//! errors, changed paths). [`scim`] holds the wire model and the HTTP client, [`emulator`] a
//! Genesys-compatible SCIM server used by tests, benchmarks and first runs.
//! [`sync`] is the engine's second caller: it keeps a tenant equal to a source,
//! with a state per target, delta runs and guarded deprovisioning.
//! [`webhook`] tells the HR system how each user ended (Standard Webhooks),
//! through the journal as an outbox.
//! [`secrets`] is the one redactor: every secret value the run knows is masked,
//! in any encoding, wherever text leaves the process.

pub mod apply;
pub mod audit;
pub mod cli;
pub mod emulator;
pub mod engine;
pub mod journal;
pub mod ledger;
pub mod mapping;
pub mod model;
pub mod plan;
pub mod report;
pub mod scim;
pub mod secrets;
pub mod skills;
pub mod source;
pub mod sync;
pub mod validate;
pub mod webhook;
pub mod writeback;
