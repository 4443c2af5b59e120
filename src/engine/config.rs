//! [`EngineConfig`]: everything a run needs, as ready-made values. The caller
//! (`cli`) resolves flags, settings files and environment into it once; the engine
//! never looks at raw arguments.

use std::path::PathBuf;

use crate::apply::api::ApiOptions;
use crate::apply::limiter::Pace;
use crate::apply::lookup::LookupMode;
use crate::scim::target::Target;
use crate::source::Format;

/// Where the run's calls go.
#[derive(Debug, Clone)]
pub enum TargetChoice {
    /// A tenant (or an emulator started elsewhere).
    Tenant(Target),
    /// An emulator the engine starts in process for this run only.
    Embedded,
}

impl TargetChoice {
    /// The name the journal and summary.json record: the API URL, or
    /// `embedded-emulator`.
    pub fn name(&self) -> String {
        match self {
            TargetChoice::Tenant(t) => t.api_url.clone(),
            TargetChoice::Embedded => "embedded-emulator".into(),
        }
    }
}

/// Which run this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKind {
    /// A new run.
    New,
    /// Finish the stopped or crashed run with this id (or path).
    Resume(String),
    /// A new run over the failed and invalid rows of this run.
    RetryFailed(String),
}

/// The desired users' origin as the run directory records it.
#[derive(Debug, Clone)]
pub enum InputChoice {
    /// An HR export file (`-` is stdin): checked to exist, hashed for resumes, read
    /// again for failed.csv. `None` with [`RunKind::New`] is a usage error.
    File {
        /// The file; with a resume or retry, overrides the recorded one.
        path: Option<PathBuf>,
        /// Its format; detected when `None`.
        format: Option<Format>,
        /// Its CSV delimiter; detected when `None`.
        delimiter: Option<u8>,
    },
    /// The caller feeds desired users itself (a directory, a state file...);
    /// `label` is what the journal and summary.json record as the input.
    Feed {
        /// A name for the origin of the users.
        label: PathBuf,
    },
}

/// A run's configuration, resolved once by the caller.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The tenant, or the embedded emulator.
    pub target: TargetChoice,
    /// Pacing, concurrency, timeouts and retries of the API façade.
    pub api: ApiOptions,
    /// Where run directories live.
    pub runs_dir: PathBuf,
    /// New run, resume or retry.
    pub kind: RunKind,
    /// Where the desired users come from.
    pub input: InputChoice,
    /// Longest input record read (`--max-record-bytes`); a longer one becomes a
    /// `record_too_large` row.
    pub max_record_bytes: usize,
    /// The mapping file; with a resume or retry, overrides the recorded one.
    pub mapping: Option<PathBuf>,
    /// Plan everything, send no write.
    pub dry_run: bool,
    /// How existing users are found.
    pub lookup: LookupMode,
    /// Rows worked on at once.
    pub concurrency: usize,
    /// Most operations in one PATCH.
    pub max_patch_ops: usize,
    /// Create groups the input names that the target lacks (generic profile).
    pub create_groups: bool,
    /// The command line, recorded (redacted) in the journal.
    pub args: Vec<String>,
    /// Resume even when the audit log fails verification (the override is recorded
    /// in the log, with the reason).
    pub force_resume: bool,
    /// Whether the target's schemas are read and the mapping checked against
    /// them before the first write (`--preflight`).
    pub preflight: super::PreflightMode,
    /// Where the target's discovery documents are.
    pub discovery: super::DiscoveryPaths,
    /// A saved baseline of the target's schemas (`--schema-baseline DIR`, written
    /// by `scimport schema pull`): breaking drift since then that the mapping
    /// runs into stops the run before its first write.
    pub schema_baseline: Option<PathBuf>,
    /// `--resume`/`--retry-failed` proceed although the run recorded another
    /// target address (the same tenant at a new address: an emulator restarted on
    /// another port, a proxy).
    pub allow_target_change: bool,
}

impl EngineConfig {
    /// A new run of `input` with `mapping` against `target`, with the CLI's defaults
    /// for everything else (against a tenant: 300 calls/min, then the tenant's
    /// `inin-ratelimit-allowed`; unpaced against the embedded emulator).
    pub fn new(
        target: TargetChoice,
        runs_dir: PathBuf,
        input: InputChoice,
        mapping: PathBuf,
    ) -> Self {
        let pace = match target {
            TargetChoice::Embedded => Pace::Off,
            TargetChoice::Tenant(_) => Pace::Adaptive { start: 300 },
        };
        EngineConfig {
            target,
            api: ApiOptions {
                pace,
                concurrency: 16,
                max_attempts: 6,
                ..ApiOptions::default()
            },
            runs_dir,
            kind: RunKind::New,
            input,
            max_record_bytes: crate::source::DEFAULT_MAX_RECORD_BYTES,
            mapping: Some(mapping),
            dry_run: false,
            lookup: LookupMode::Auto,
            concurrency: 16,
            max_patch_ops: 50,
            create_groups: false,
            args: Vec::new(),
            force_resume: false,
            preflight: super::PreflightMode::Auto,
            discovery: super::DiscoveryPaths::GENESYS,
            schema_baseline: None,
            allow_target_change: false,
        }
    }
}
