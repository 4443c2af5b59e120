//! Resolves which run this is, once: a new run (a fresh run directory, journal and
//! audit log), a `--resume` of a stopped one (its audit log verified first, its
//! journal replayed: rows done and writes in flight), or a `--retry-failed` over
//! another run's failed rows (its edited failed.csv, or the original input
//! restricted to those rows).
//!
//! Does not read the input itself (see `source`) nor run anything (see `run`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::config::{EngineConfig, InputChoice, RunKind, TargetChoice};
use super::error::EngineError;
use crate::audit::{AuditEvent, AuditLog, FlushPolicy, verify};
use crate::journal::{Journal, JournalState, RunMeta};
use crate::ledger::{self, LedgerRow, RunDir, RunLock, RunSummary};
use crate::model::{Action, Outcome};
use crate::source::{Format, InputSpec};

/// A run directory ready to receive rows.
#[derive(Debug)]
pub(super) struct Resolved {
    pub dir: RunDir,
    /// The run directory's lock, held until the run's files are closed.
    pub lock: RunLock,
    /// A `--retry-failed`'s read lock on the run it retries (whose failed.csv or
    /// recorded input it reads), held as long as this run.
    pub reading: Option<RunLock>,
    /// The input (for a fed source, only its label).
    pub input: InputSpec,
    pub mapping_path: PathBuf,
    pub only_rows: Option<HashSet<u64>>,
    pub journal: Journal,
    pub audit: AuditLog,
    /// Rows final before a resume, with their ledger state.
    pub done_rows: HashMap<u64, LedgerRow>,
    /// Rows of a resume whose write was under way: the action intended.
    pub in_flight: HashMap<u64, Action>,
    /// A resume's outbox as journaled (deliveries made and how they ended).
    pub outbox: crate::journal::OutboxState,
    pub resumed: bool,
}

impl Resolved {
    /// Removes the directory of a new run that could not start: nothing was sent,
    /// so nothing needs keeping.
    pub fn discard(&self) {
        discard_new_run(&self.dir, self.resumed);
    }
}

/// Removes the directory of a new run that failed before its first row.
pub(super) fn discard_new_run(dir: &RunDir, resumed: bool) {
    if !resumed {
        let _ = std::fs::remove_dir_all(&dir.root);
    }
}

/// Resolves `cfg` into a run directory.
pub(super) fn resolve(cfg: &EngineConfig) -> Result<Resolved, EngineError> {
    match &cfg.kind {
        RunKind::Resume(id) => resume(cfg, id),
        RunKind::RetryFailed(prev) => {
            let (input, mapping, only, reading) = retry_source(cfg, prev)?;
            let mut resolved = create(cfg, input, mapping, Some(only))?;
            resolved.reading = reading;
            Ok(resolved)
        }
        RunKind::New => {
            let input = match &cfg.input {
                InputChoice::File { path: None, .. } => return Err(EngineError::NoInput),
                InputChoice::File {
                    path: Some(p),
                    format,
                    delimiter,
                } => InputSpec {
                    path: p.clone(),
                    format: *format,
                    delimiter: *delimiter,
                    row_column: None,
                    max_record_bytes: cfg.max_record_bytes,
                },
                InputChoice::Feed { label } => InputSpec::new(label.clone()),
            };
            let mapping = cfg.mapping.clone().ok_or(EngineError::NoMapping)?;
            create(cfg, input, mapping, None)
        }
    }
}

/// The file options of the input choice (none for a fed source).
fn file_options(cfg: &EngineConfig) -> (Option<&PathBuf>, Option<Format>, Option<u8>) {
    match &cfg.input {
        InputChoice::File {
            path,
            format,
            delimiter,
        } => (path.as_ref(), *format, *delimiter),
        InputChoice::Feed { label } => (Some(label), None, None),
    }
}

fn resume(cfg: &EngineConfig, id: &str) -> Result<Resolved, EngineError> {
    let dir = RunDir::open(&cfg.runs_dir, id)?;
    // Before anything in the run is read or written: a run still in use is refused
    // untouched (opening the journal would already cut a line being written).
    let lock = RunLock::acquire(&dir)?;
    // Before anything is written: appending would hide a tampered log.
    let forced = match audit_problem(&dir)? {
        Some(problem) if !cfg.force_resume => {
            return Err(EngineError::AuditTampered {
                run_id: dir.id.clone(),
                path: dir.audit_path(),
                problem,
            });
        }
        other => other,
    };
    let (journal, state) = Journal::open(&dir.journal_path())?;
    check_resumable(cfg, &dir, &state)?;
    let (path, format, delimiter) = file_options(cfg);
    let input_path = path.cloned().unwrap_or(state.meta.input.clone());
    let mut audit = AuditLog::open_append(&dir.audit_path())?;
    if let Some(problem) = forced {
        audit.append(&AuditEvent::note(format!(
            "resume forced (--force-resume) over a failed audit verification: {problem}"
        )))?;
    }
    let in_flight = state
        .in_flight
        .iter()
        .map(|(row, i)| (*row, i.action))
        .collect();
    let done_rows = state
        .done
        .iter()
        .filter(|(_, r)| r.outcome != Outcome::Pending)
        .map(|(row, r)| (*row, r.clone()))
        .collect();
    let input = InputSpec {
        path: input_path,
        format,
        delimiter,
        row_column: state.meta.row_column.clone(),
        max_record_bytes: cfg.max_record_bytes,
    };
    let only_rows = state
        .meta
        .only_rows
        .clone()
        .map(|v| v.into_iter().collect());
    Ok(Resolved {
        mapping_path: cfg.mapping.clone().unwrap_or(state.meta.mapping.clone()),
        dir,
        lock,
        reading: None,
        input,
        only_rows,
        journal,
        audit,
        done_rows,
        in_flight,
        outbox: state.outbox,
        resumed: true,
    })
}

/// Why a stopped run's audit log must not be continued, if it must not: the chain
/// is broken (a torn last line, which a crash leaves and the resume cuts off, is
/// fine), or the log is shorter than, or as long as but with another head than,
/// what the run's summary.json recorded. A longer log is fine: a later session that
/// could not write its summary appended to it.
fn audit_problem(dir: &RunDir) -> Result<Option<String>, EngineError> {
    let report = verify(&dir.audit_path())?;
    if let Some(p) = report.problem.as_ref().filter(|_| !report.torn) {
        return Ok(Some(format!("line {}: {}", p.line, p.what)));
    }
    let Ok(summary) = RunSummary::read(&dir.summary_path()) else {
        return Ok(None);
    };
    let recorded = |key: &str| summary.details.get(key).cloned();
    let lines = recorded("audit_lines").and_then(|v| v.as_u64());
    let head = recorded("audit_head").and_then(|v| v.as_str().map(str::to_string));
    let complete = report.lines - u64::from(report.torn);
    match lines {
        Some(n) if complete < n => Ok(Some(format!(
            "it has {complete} complete lines but summary.json recorded {n}: it was cut short"
        ))),
        Some(n) if complete == n && !report.torn => match (head, report.head) {
            (Some(want), Some(got)) if !want.is_empty() && want != got => Ok(Some(format!(
                "its head is sha256:{got} but summary.json recorded sha256:{want}: it was rewritten"
            ))),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// A resume continues the same work: same tenant, a real run, the same input.
fn check_resumable(
    cfg: &EngineConfig,
    dir: &RunDir,
    state: &JournalState,
) -> Result<(), EngineError> {
    let target = cfg.target.name();
    if state.meta.target != target && !cfg.allow_target_change {
        return Err(EngineError::OtherTarget {
            run_id: dir.id.clone(),
            was: state.meta.target.clone(),
            now: target,
        });
    }
    if state.meta.dry_run {
        return Err(EngineError::ResumeDryRun {
            run_id: dir.id.clone(),
        });
    }
    let (path, _, _) = file_options(cfg);
    let input_path = path.cloned().unwrap_or(state.meta.input.clone());
    let now = file_sha256(&input_path);
    if !state.meta.input_sha256.is_empty() && !now.is_empty() && now != state.meta.input_sha256 {
        return Err(EngineError::InputChanged {
            path: input_path,
            run_id: dir.id.clone(),
        });
    }
    Ok(())
}

/// The file a run read from stdin keeps it in, in its run directory.
pub const STDIN_FILE: &str = "stdin";

/// Creates a new run directory with its journal and audit log.
fn create(
    cfg: &EngineConfig,
    mut input: InputSpec,
    mapping_path: PathBuf,
    only_rows: Option<HashSet<u64>>,
) -> Result<Resolved, EngineError> {
    let is_file = matches!(cfg.input, InputChoice::File { .. });
    if is_file && input.path != Path::new("-") && !input.path.exists() {
        return Err(EngineError::InputMissing { path: input.path });
    }
    let dir = RunDir::create(&cfg.runs_dir).map_err(|source| EngineError::RunDir {
        runs_dir: cfg.runs_dir.clone(),
        source,
    })?;
    // The directory is ours alone (create_dir is exclusive, so the id collides with
    // no run in use); lock it before writing anything else in it, so that a
    // --resume of the new id waits its turn like any other.
    let lock = match RunLock::acquire(&dir) {
        Ok(l) => l,
        Err(e) => {
            if matches!(e, ledger::LockError::Io { .. }) {
                discard_new_run(&dir, false);
            }
            return Err(e.into());
        }
    };
    // stdin is read once: kept in the run directory, it is the run's input from
    // now on, so that failed.csv, --resume and --retry-failed can read it again.
    if is_file && input.path == Path::new("-") {
        let spooled = dir.root.join(STDIN_FILE);
        let copied = std::fs::File::create(&spooled)
            .and_then(|mut f| std::io::copy(&mut std::io::stdin().lock(), &mut f).map(|_| f))
            .and_then(|f| f.sync_all());
        if let Err(source) = copied {
            drop(lock);
            discard_new_run(&dir, false);
            return Err(EngineError::Stdin { source });
        }
        input.path = spooled;
    }
    let meta = RunMeta {
        run_id: dir.id.clone(),
        input: input.path.clone(),
        input_sha256: file_sha256(&input.path),
        mapping: mapping_path.clone(),
        target: cfg.target.name(),
        dry_run: cfg.dry_run,
        created_at: chrono::Utc::now(),
        args: cfg.args.clone(),
        row_column: input.row_column.clone(),
        only_rows: only_rows.as_ref().map(|s| {
            let mut v: Vec<u64> = s.iter().copied().collect();
            v.sort_unstable();
            v
        }),
    };
    let journal = Journal::create(&dir.journal_path(), &meta)?;
    let mut audit = AuditLog::create(&dir.audit_path(), &dir.id)?;
    if cfg.dry_run {
        // A dry run writes nothing to the tenant, so nothing needs the log on disk line
        // by line; a buffered log keeps a million-row plan cheap.
        audit.set_flush_policy(FlushPolicy::Buffered(256 * 1024));
    }
    Ok(Resolved {
        dir,
        lock,
        reading: None,
        input,
        mapping_path,
        only_rows,
        journal,
        audit,
        done_rows: HashMap::new(),
        in_flight: HashMap::new(),
        outbox: Default::default(),
        resumed: false,
    })
}

/// SHA-256 of a file, empty for stdin or an unreadable file.
pub(super) fn file_sha256(path: &Path) -> String {
    if path == Path::new("-") {
        return String::new();
    }
    RunMeta::hash_input(path).unwrap_or_default()
}

/// What a --retry-failed reads: its rows' input, its mapping, the rows to retry,
/// and the read lock on the run it retries.
type RetrySource = (InputSpec, PathBuf, HashSet<u64>, Option<RunLock>);

/// Where a --retry-failed run reads its rows: the previous run's failed.csv if the
/// user edited it (its hash differs from the one recorded), else the original input
/// restricted to the failed rows. A previous run still in use is refused: its files
/// are in flux.
fn retry_source(cfg: &EngineConfig, prev: &str) -> Result<RetrySource, EngineError> {
    let dir = RunDir::open(&cfg.runs_dir, prev)?;
    let reading = RunLock::acquire_shared(&dir)?;
    let summary =
        RunSummary::read(&dir.summary_path()).map_err(|source| EngineError::NoSummary {
            run_id: dir.id.clone(),
            source,
        })?;
    // The rows go where the run went (like a resume), unless told otherwise.
    let was = summary
        .details
        .get("target")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let now = cfg.target.name();
    if !cfg.allow_target_change {
        if was == TargetChoice::Embedded.name() {
            return Err(EngineError::RetryEmbedded {
                run_id: dir.id.clone(),
                failed_csv: dir.failed_path().display().to_string(),
            });
        }
        if !was.is_empty() && was != now {
            return Err(EngineError::OtherTarget {
                run_id: dir.id.clone(),
                was,
                now,
            });
        }
    }
    let rows = ledger::read_verdicts(&dir.ledger_path())?;
    let failed: HashSet<u64> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Invalid))
        .map(|r| r.row)
        .collect();
    if failed.is_empty() {
        return Err(EngineError::NothingToRetry { run_id: dir.id });
    }
    let detail = |key: &str| {
        summary
            .details
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let original_input = detail("input").map(PathBuf::from);
    let mapping = cfg
        .mapping
        .clone()
        .or_else(|| detail("mapping").map(PathBuf::from))
        .ok_or(EngineError::RetryWithoutMapping)?;
    let recorded = detail("failed_csv_sha256").unwrap_or_default();
    let failed_csv = dir.failed_path();
    let edited = failed_csv.exists() && file_sha256(&failed_csv) != recorded;
    if edited || original_input.as_ref().is_none_or(|p| !p.exists()) {
        if !failed_csv.exists() {
            return Err(EngineError::RetryInputGone { run_id: dir.id });
        }
        let spec = InputSpec {
            path: failed_csv,
            format: Some(Format::Csv),
            delimiter: Some(b','),
            row_column: Some("row".into()),
            max_record_bytes: cfg.max_record_bytes,
        };
        return Ok((spec, mapping, failed, reading));
    }
    let (path, format, delimiter) = file_options(cfg);
    let spec = InputSpec {
        path: path
            .cloned()
            .or(original_input)
            .ok_or(EngineError::OriginalInputUnknown)?,
        format,
        delimiter,
        row_column: None,
        max_record_bytes: cfg.max_record_bytes,
    };
    Ok((spec, mapping, failed, reading))
}
