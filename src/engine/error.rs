//! [`EngineError`]: why a run could not start or could not be recorded, and
//! [`InputError`]: why a source of desired users could not be read. A problem with
//! one row is never an error here: it is a ledger row.

use std::path::PathBuf;

use crate::apply::api::ApiError;
use crate::audit::AuditError;
use crate::emulator::EmulatorError;
use crate::journal::JournalError;
use crate::ledger::failed_csv::FailedCsvError;
use crate::ledger::{LedgerError, LockError};
use crate::mapping::MappingError;
use crate::source::SourceError;
use crate::validate::ConfigError;

/// Why a source of desired users could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input cannot be opened or the mapping does not fit its header.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The input could not be read to the end.
    #[error(transparent)]
    Read(#[from] SourceError),
    /// The source's thread ended before saying what it holds.
    #[error("the input reader stopped before reading the header")]
    Stopped,
    /// Another source's own failure.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Why a run could not start, or could not be recorded once it ran.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A resume against the embedded emulator, which keeps no state.
    #[error(
        "--resume needs the tenant the run was against (--region or --api-url); the embedded emulator keeps no state between runs"
    )]
    ResumeEmbedded,
    /// The mapping file cannot be read or is invalid.
    #[error("mapping {}", path.display())]
    Mapping {
        /// The mapping file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: MappingError,
    },
    /// A new run without an input.
    #[error("give the HR export to import (or --resume RUN_ID / --retry-failed RUN_ID)")]
    NoInput,
    /// A new run without a mapping.
    #[error("give --mapping FILE (scimport init writes a starter one)")]
    NoMapping,
    /// A retry whose previous run recorded no mapping.
    #[error("give --mapping FILE")]
    RetryWithoutMapping,
    /// The input file does not exist.
    #[error("input {} does not exist", path.display())]
    InputMissing {
        /// The input.
        path: PathBuf,
    },
    /// The run directory cannot be created.
    #[error("cannot create a run directory under {}", runs_dir.display())]
    RunDir {
        /// Where run directories live.
        runs_dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The run (or the run a retry reads) is in use by another process, or cannot
    /// be locked: nothing was written.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A resume against another tenant than the run's.
    #[error(
        "run {run_id} was against {was}, not {now}; give the same --region or --api-url/--login-url (or, when the same tenant now answers at a new address, add --allow-target-change)"
    )]
    OtherTarget {
        /// The run.
        run_id: String,
        /// Its tenant.
        was: String,
        /// The tenant given now.
        now: String,
    },
    /// A retry of a run against the embedded emulator, which kept nothing.
    #[error(
        "run {run_id} ran against the embedded emulator, which kept nothing: fix its rows in {failed_csv} and import the whole file again (or give a tenant and --allow-target-change to send only those rows there)"
    )]
    RetryEmbedded {
        /// The run.
        run_id: String,
        /// Its failed.csv.
        failed_csv: String,
    },
    /// A resume of a dry run.
    #[error("run {run_id} was a dry run: nothing to resume (run it again)")]
    ResumeDryRun {
        /// The run.
        run_id: String,
    },
    /// A resume whose input changed since the run started.
    #[error(
        "{} changed since run {run_id} started; resuming would mix two exports. Start a new run instead",
        path.display()
    )]
    InputChanged {
        /// The input.
        path: PathBuf,
        /// The run.
        run_id: String,
    },
    /// A retry of a run that never finished.
    #[error("run {run_id} has no summary.json (did it finish? try --resume)")]
    NoSummary {
        /// The run.
        run_id: String,
        /// The cause.
        #[source]
        source: LedgerError,
    },
    /// A retry of a run without failed rows.
    #[error("run {run_id} has no failed or invalid rows to retry")]
    NothingToRetry {
        /// The run.
        run_id: String,
    },
    /// A retry whose rows cannot be read any more.
    #[error("run {run_id} has neither its input nor failed.csv any more")]
    RetryInputGone {
        /// The run.
        run_id: String,
    },
    /// A retry whose original input is not recorded.
    #[error("the original input is unknown")]
    OriginalInputUnknown,
    /// The embedded emulator did not start.
    #[error("cannot start the embedded emulator")]
    Emulator(#[source] EmulatorError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Http(#[source] ApiError),
    /// The desired users could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The sink could not write the ledger when closing: writes may have been
    /// sent, so the run is stopped (resumable), not a usage error.
    #[error("run {run_id} stopped: {source}")]
    Closing {
        /// The run.
        run_id: String,
        /// Why its files could not be closed.
        #[source]
        source: crate::apply::sink::CloseError,
    },
    /// A row task still held the sink after the run.
    #[error("the run's sink is still in use")]
    SinkInUse,
    /// summary.json could not be written.
    #[error("cannot write {}", path.display())]
    Summary {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A resume whose audit log fails verification: appending would hide the tampering.
    #[error(
        "run {run_id}: its audit log {} fails verification ({problem}); it was edited, truncated or rewritten since the run stopped. Keep a copy and investigate; to resume anyway, add --force-resume (the override is recorded in the log)",
        path.display()
    )]
    AuditTampered {
        /// The run.
        run_id: String,
        /// The audit log.
        path: PathBuf,
        /// What verification found.
        problem: String,
    },
    /// The journal could not be opened, created or closed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The audit log could not be opened or created.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The pre-flight found paths the target does not offer: nothing was sent.
    #[error(
        "pre-flight: the target does not offer what the mapping writes, so nothing was sent:\n  - {}\n(--preflight off skips this check)",
        problems.join("\n  - ")
    )]
    Preflight {
        /// Every problem, one line each (field, path, problem, fix).
        problems: Vec<String>,
    },
    /// A discovery document the pre-flight read is not RFC 7643: nothing was sent.
    #[error("pre-flight: {source}; nothing was sent (--preflight off skips this check)")]
    PreflightMalformed {
        /// What is wrong with it.
        #[source]
        source: crate::scim::schema::SchemaError,
    },
    /// `--preflight require` and the target does not describe itself.
    #[error(
        "pre-flight (--preflight require): {why}; nothing was sent (--preflight auto goes on without the check)"
    )]
    PreflightUnavailable {
        /// Why the schemas could not be read.
        why: String,
    },
    /// The mapping names routing skills or languages the tenant lacks: nothing
    /// was sent.
    #[error(
        "pre-flight: the mapping names routing skills or languages the tenant does not have, so nothing was sent:\n  - {}\n(--preflight off skips this check)",
        unknown.join("\n  - ")
    )]
    UnknownRouting {
        /// Every unknown name, one line each (kind, name, fields, suggestions).
        unknown: Vec<String>,
    },
    /// The `--schema-baseline` directory cannot be read.
    #[error(transparent)]
    SchemaBaseline(#[from] crate::scim::schema::baseline::BaselineError),
    /// `--schema-baseline` with `--preflight off`: the comparison needs the
    /// pre-flight's read of the target's schemas.
    #[error(
        "--schema-baseline compares the target's schemas, which --preflight off does not read: drop one of them"
    )]
    BaselineWithoutPreflight,
    /// `--schema-baseline` and the target does not describe itself.
    #[error(
        "--schema-baseline: {why}, so the schemas cannot be compared with the baseline; nothing was sent"
    )]
    BaselineUncompared {
        /// Why the schemas could not be read.
        why: String,
    },
    /// The target's schemas changed since the baseline in a way the mapping runs
    /// into: nothing was sent.
    #[error(
        "schema drift since the baseline {}: the target changed what the mapping writes, so nothing was sent:\n  - {}\n(see every change with `scimport schema diff --baseline {}`; once the mapping fits, save a new baseline with `scimport schema pull --out {}`)",
        baseline.display(),
        changes.join("\n  - "),
        crate::model::shell::shell_quote(&baseline.display().to_string()),
        crate::model::shell::shell_quote(&baseline.display().to_string())
    )]
    SchemaDrift {
        /// The baseline directory.
        baseline: PathBuf,
        /// Every breaking change the mapping runs into, one line each.
        changes: Vec<String>,
    },
    /// The token endpoint refused the credentials, or the tenant refused the
    /// token: nothing was sent.
    #[error("the tenant refused the credentials, so nothing was sent: {detail}\ncheck: {check}")]
    Credentials {
        /// What the server said (no secret).
        detail: String,
        /// What to check.
        check: String,
    },
    /// The login service or the API cannot be reached: nothing was sent.
    #[error("cannot reach {url}: {detail}; nothing was sent\ncheck: {check}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// The transport error.
        detail: String,
        /// What to check.
        check: String,
    },
    /// stdin could not be copied into the run directory.
    #[error("cannot keep stdin in the run directory: {source}")]
    Stdin {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// failed.csv could not be written.
    #[error(transparent)]
    FailedCsv(#[from] FailedCsvError),
}
