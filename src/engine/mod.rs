//! The engine: one run from a source of desired users to the tenant, with its run
//! directory (ledger, audit log, journal, summary.json, failed.csv).
//!
//! Owns the run's life: resolving a new run, a `--resume` or a `--retry-failed`
//! into a run directory (`resolve`), starting the embedded emulator when no tenant
//! is given, building the API and the sink, driving `apply::run`, closing the sink,
//! checking the mapping against the target's schemas before the first write
//! (`preflight`), and writing `failed.csv` and `summary.json` from a typed [`RunReport`]
//! (`report`). Callers (`import` today, `sync` next) differ only in the
//! [`EngineConfig`] they resolve and the [`DesiredSource`] they feed (`source`).
//! Does not parse flags, print, or draw the progress bar (see `cli`), and never
//! plans or sends a call itself (see `plan` and `apply`).

mod config;
mod contact;
mod error;
mod failed;
mod metrics;
mod plan_source;
mod preflight;
mod report;
mod resolve;
mod routing;
mod run;
mod source;
#[cfg(test)]
mod tests;

pub use config::{EngineConfig, InputChoice, RunKind, TargetChoice};
pub use error::{EngineError, InputError};
pub use metrics::{MetricsError, MetricsInput, write_metrics};
pub use plan_source::PlanSource;
pub use preflight::{
    BaselineReport, Discovered, DiscoveryError, DiscoveryPaths, PreflightMode, PreflightReport,
    discover,
};
pub use report::{AppliedPlan, Calls, Done, RunReport, Verdict};
pub use run::{Controls, Engine, Extras};
pub use source::{DesiredSource, Feed, FileSource, RowsSource, SourceHead};
