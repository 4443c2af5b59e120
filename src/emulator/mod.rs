//! `scimport emulator`: a Genesys-compatible SCIM 2.0 server held in memory, used by
//! tests, benchmarks and a new user's first run.
//!
//! [`spawn`] starts one on the current tokio runtime and returns an
//! [`EmulatorHandle`]. `config.rs` holds the options, `server.rs` the connection
//! handling and request pipeline (auth, rate limit, faults), `routes/` the endpoints,
//! `store.rs` the users and groups with their indexes, `rules.rs` Genesys's
//! validation, `patch.rs` and `filter.rs` the RFC 7644 PATCH and filter semantics,
//! `attributes.rs` which attributes a user has (`--unknown-attributes`),
//! `tenant.rs` the catalogue, seeding and the state file.

mod attributes;
mod auth;
pub mod config;
pub mod errors;
mod extensions;
mod faults;
pub mod filter;
mod limit;
pub mod patch;
pub mod permissions;
mod rank;
mod routes;
pub mod rules;
pub mod schemas;
mod server;
mod state;
pub mod stats;
pub mod store;
pub mod tenant;

pub use config::{
    EmulatorConfig, ErrorShape, LargePages, LatencyRange, RateLimitSpec, UnknownAttributes,
    VersionConflict,
};
pub use errors::{ApiError, EmulatorError};
pub use server::{EmulatorHandle, spawn};
pub use stats::{Stats, UserCounts};
pub use store::{StoredUser, UserState};
pub use tenant::TenantFile;
