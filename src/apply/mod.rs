//! Executes planned actions against the tenant under one shared limiter and retry
//! policy. The only place that sends writes.

pub mod api;
pub mod limiter;
pub mod retry;
