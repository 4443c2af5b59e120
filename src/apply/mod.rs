//! Executes planned actions against the tenant under one shared limiter and retry
//! policy. The only place that sends writes.
//!
//! `api` is the façade every call goes through (token, limiter, retries, audit of
//! each attempt); `run` drives one run's rows and batched passes, `dispatch` its
//! row tasks; `lookup` finds existing users; `execute` carries one row to its
//! final state; `groups` batches memberships and `bisect` isolates a refused member;
//! `breaker` stops a run whose tenant keeps failing, and holds the Ctrl-C halt;
//! `sink` owns the journal, the audit log and the progress bar; `hook` is what a
//! caller (a sync) may add to each row.

pub mod api;
pub mod bisect;
pub mod breaker;
mod create_groups;
mod dispatch;
pub mod execute;
pub mod forecast;
pub mod groups;
pub mod hook;
pub mod limiter;
pub mod lookup;
pub mod plan_file;
pub mod retry;
pub mod run;
pub mod sink;
