//! End-to-end tests of `scimport emulator` over real HTTP (reqwest on loopback)
//! against the in-process emulator: one file per area under `emulator/`.

mod api;
mod hardening;
mod harness;
mod limits;
mod operations;
mod resources;
mod strict;
