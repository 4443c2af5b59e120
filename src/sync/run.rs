//! One sync from start to end (see the module docs of `sync`): [`sync`] turns a
//! [`SyncConfig`] into a [`SyncReport`], refusing, running the engine, and
//! recording what the tenant acknowledged in the state.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::{
    Controls, Engine, EngineConfig, EngineError, Extras, InputChoice, PreflightMode, RunKind,
    RunReport, TargetChoice,
};
use crate::mapping::{Mapping, MappingError};
use crate::source::InputSpec;
use crate::validate::ConfigError;

use super::decide::{AnchorPolicy, Decisions, Guards, decide, known_index, refusal};
use super::feed::SyncFeed;
use super::hook::{Ack, SyncHook};
use super::state::{Entry, State, StateError, StateLock, default_path};
use super::survey::{Survey, survey};

/// Where a sync's desired users come from.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A full HR export (CSV or NDJSON).
    File(InputSpec),
    /// An LDAP directory or Active Directory, read whole before anything else.
    Ldap(crate::source::ldap::LdapSpec),
}

/// A sync's configuration, resolved once by the caller.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The engine's configuration (target, pace, runs dir, mapping, dry run...);
    /// its input is set by the sync.
    pub engine: EngineConfig,
    /// The source.
    pub source: SourceSpec,
    /// The state file (`--state`); by default one per target under the runs dir.
    pub state: Option<PathBuf>,
    /// Read the tenant and reconcile everything (`--full`).
    pub full: bool,
    /// The safety settings.
    pub guards: Guards,
    /// What a re-created source account does.
    pub anchors: AnchorPolicy,
}

/// Which kind of run a sync was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// No state yet: the tenant was read.
    First,
    /// `--full`: the tenant was read.
    Full,
    /// Planned against the state: no tenant read.
    Incremental,
}

/// What a sync did.
#[derive(Debug)]
pub struct SyncReport {
    /// Which kind of run.
    pub mode: Mode,
    /// The state file.
    pub state_path: PathBuf,
    /// Entries the source held.
    pub source_rows: u64,
    /// Why the whole run was refused before any write, if it was (exit 4).
    pub refused: Option<String>,
    /// Why the deactivations were held, if they were (exit 4).
    pub held: Option<String>,
    /// Leavers (deactivated, or held).
    pub leavers: u64,
    /// Managed users missing from the source, not yet for `--absent-runs` runs.
    pub waiting: u64,
    /// Rows whose source account was re-created.
    pub anchor_changed: u64,
    /// Manager chains that loop.
    pub manager_cycles: Vec<String>,
    /// The engine's run (none when refused).
    pub run: Option<RunReport>,
    /// Whether the state was written (not for a dry run or a refusal).
    pub state_saved: bool,
    /// For a directory source: pages read and continuation references skipped.
    pub directory: Option<(u64, u64)>,
    /// Attributes compared with the tenant's (or the state's) and already
    /// matching (none when refused, or when the ledger could not be read).
    pub attributes: Option<super::AttributeMatch>,
}

impl SyncReport {
    /// A sync refused before it read the whole source.
    fn refused(mode: Mode, state_path: PathBuf, why: String) -> SyncReport {
        SyncReport {
            refused: Some(why),
            ..SyncReport::new(mode, state_path, 0)
        }
    }

    /// A report with nothing done yet.
    fn new(mode: Mode, state_path: PathBuf, source_rows: u64) -> SyncReport {
        SyncReport {
            mode,
            state_path,
            source_rows,
            refused: None,
            held: None,
            leavers: 0,
            waiting: 0,
            anchor_changed: 0,
            manager_cycles: Vec::new(),
            run: None,
            state_saved: false,
            directory: None,
            attributes: None,
        }
    }
}

/// The attributes a directory read asks for: the columns the mapping reads (and
/// the anchor), with `userAccountControl` for `accountEnabled`; never `dn`, which
/// every entry has.
fn requested_attributes(mapping: &Mapping) -> Vec<String> {
    use crate::source::ldap::{ACCOUNT_ENABLED_COLUMN, DN_COLUMN};
    let mut cols: Vec<String> = mapping.columns().into_iter().map(str::to_string).collect();
    if let Some(a) = mapping.anchor_column() {
        cols.push(a.to_string());
    }
    let mut out: Vec<String> = Vec::new();
    for c in cols {
        let c = if c.eq_ignore_ascii_case(ACCOUNT_ENABLED_COLUMN) {
            "userAccountControl".to_string()
        } else {
            c
        };
        if !c.eq_ignore_ascii_case(DN_COLUMN) && !out.iter().any(|o| o.eq_ignore_ascii_case(&c)) {
            out.push(c);
        }
    }
    out
}

/// Why a sync could not run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The state file.
    #[error(transparent)]
    State(#[from] StateError),
    /// The mapping.
    #[error("mapping {}: {source}", path.display())]
    Mapping {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: MappingError,
    },
    /// The source cannot be opened, or the mapping does not fit it.
    #[error(transparent)]
    Input(#[from] ConfigError),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A usage error.
    #[error("{0}")]
    Usage(String),
}

/// Where directory snapshots live, under the runs dir.
const SNAPSHOTS: &str = ".snapshots";

/// Runs one sync.
pub async fn sync(cfg: SyncConfig, controls: Controls) -> Result<SyncReport, SyncError> {
    sync_with(cfg, controls, None).await
}

/// [`sync`] reporting each row's final state through `outbox` (webhooks).
pub async fn sync_with(
    cfg: SyncConfig,
    controls: Controls,
    outbox: Option<Arc<dyn crate::apply::sink::Outbox>>,
) -> Result<SyncReport, SyncError> {
    let SyncConfig {
        mut engine,
        source,
        state,
        full,
        guards,
        anchors,
    } = cfg;
    if matches!(engine.target, TargetChoice::Embedded) {
        return Err(SyncError::Usage(
            "sync keeps a tenant equal to its source, so it needs one that lasts: give --region or --api-url (for a try-out, start `scimport emulator --port 8080` and pass --api-url http://127.0.0.1:8080)".into(),
        ));
    }
    let target = engine.target.name();
    let state_path = state.unwrap_or_else(|| default_path(&engine.runs_dir, &target));
    let _lock = StateLock::acquire(&state_path)?;
    let loaded = State::load(&state_path, &target)?;
    let mode = match (&loaded, full) {
        (None, _) => Mode::First,
        (Some(_), true) => Mode::Full,
        (Some(_), false) => Mode::Incremental,
    };
    let mut state = loaded.unwrap_or_else(|| State::new(&target));
    let mapping_path = engine
        .mapping
        .clone()
        .ok_or_else(|| SyncError::Usage("give --mapping FILE".into()))?;
    let mapping = Mapping::load(&mapping_path).map_err(|source| SyncError::Mapping {
        path: mapping_path.clone(),
        source,
    })?;
    let read_tenant = mode != Mode::Incremental;
    if !read_tenant && engine.preflight == PreflightMode::Auto && engine.schema_baseline.is_none() {
        // The mapping was checked against the target by the run that read it
        // (a baseline asks for the schemas to be compared on every run).
        engine.preflight = PreflightMode::Off;
    }
    let dry_run = engine.dry_run;
    // A resumed sync reads what its run recorded (the file, or the directory's
    // snapshot) again, so that its rows are the ones the journal knows.
    let mut resumed = None;
    let mut directory_read = None;
    let mut spec = if matches!(engine.kind, RunKind::Resume(_)) {
        engine.input = InputChoice::File {
            path: None,
            format: None,
            delimiter: None,
        };
        let runner = Engine::try_new(engine.clone())?;
        let spec = runner.input().clone();
        resumed = Some(runner);
        spec
    } else {
        match source {
            SourceSpec::File(spec) => spec,
            SourceSpec::Ldap(mut l) => {
                if l.attributes.is_empty() {
                    l.attributes = requested_attributes(&mapping);
                }
                let bar = controls.progress.clone();
                let on = move |n: u64| bar.set_message(format!("read {n} directory entries"));
                let dir = engine.runs_dir.join(SNAPSHOTS);
                match super::snapshot::snapshot(&l, &dir, &on).await {
                    Ok((snap, d)) => {
                        let spec = snap.spec();
                        directory_read = Some((snap, d.pages, d.referrals_skipped));
                        spec
                    }
                    Err(super::snapshot::SnapshotError::Ldap(e)) if e.incomplete_read() => {
                        return Ok(SyncReport::refused(
                            mode,
                            state_path,
                            format!("the directory read did not finish: {e}"),
                        ));
                    }
                    Err(e) => return Err(SyncError::Usage(e.to_string())),
                }
            }
        }
    };
    spec.max_record_bytes = engine.max_record_bytes;
    let surveyed = {
        let (spec, mapping) = (spec.clone(), mapping.clone());
        tokio::task::spawn_blocking(move || survey(&spec, &mapping))
            .await
            .map_err(|e| SyncError::Usage(format!("the source survey failed: {e}")))??
    };
    let mut report = SyncReport::new(mode, state_path.clone(), surveyed.count());
    if let Some((_, pages, referrals)) = &directory_read {
        report.directory = Some((*pages, *referrals));
    }
    if let Some(why) = refusal(&surveyed, &state, &guards) {
        report.refused = Some(why);
        return Ok(report);
    }
    let decisions = decide(&surveyed, &state, &guards, anchors);
    report.held = decisions.held.clone();
    report.leavers = decisions.leavers.len() as u64;
    report.waiting = decisions.waiting.len() as u64;
    report.anchor_changed = decisions.anchor_changed;
    report.manager_cycles = decisions.manager_cycles.clone();

    let mut notes = Vec::new();
    if let Some(reason) = &guards.allow_mass
        && !decisions.leavers.is_empty()
    {
        notes.push(format!(
            "--allow-mass-deactivation: {} leavers deactivated; reason given: {reason}",
            decisions.leavers.len()
        ));
    }
    let runner = match resumed {
        Some(r) => r,
        None => {
            engine.input = InputChoice::File {
                path: Some(spec.path.clone()),
                format: spec.format,
                delimiter: spec.delimiter,
            };
            Engine::try_new(engine)?
        }
    };
    let known = (!read_tenant).then(|| known_index(&state));
    let shared = Arc::new(std::mem::take(&mut state));
    let hook = Arc::new(SyncHook::new(runner.mapping(), shared.clone()));
    let Decisions {
        directives,
        leavers,
        leaver_keys,
        waiting,
        dn_to_external_id,
        ..
    } = decisions;
    let feed = SyncFeed {
        file: runner.file_source(),
        directives,
        dn_to_external_id,
        leavers,
    };
    let extras = Extras {
        known,
        hook: Some(hook.clone()),
        notes,
        outbox,
        applying: None,
    };
    let fields = runner.mapping().fields().len();
    let run = runner.run_with(feed, controls, extras).await?;
    report.attributes = match super::attribute_match(&run.dir.ledger_path(), fields) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!("the share of attributes already matching is unknown: {e}");
            None
        }
    };
    let acks = hook.take();
    drop(hook);
    let mut state = Arc::try_unwrap(shared).unwrap_or_else(|s| (*s).clone());
    if !dry_run {
        record(&mut state, &surveyed, acks, &leaver_keys, &waiting);
        state.save(&state_path)?;
        report.state_saved = true;
    }
    // A directory's snapshot stays while its run can be resumed.
    let stopped = run.verdict() == crate::engine::Verdict::Stopped;
    match directory_read {
        Some((snap, _, _)) if stopped => snap.keep(),
        Some(_) => {}
        None if !stopped && spec.path.parent().is_some_and(|d| d.ends_with(SNAPSHOTS)) => {
            let _ = std::fs::remove_file(&spec.path);
        }
        None => {}
    }
    annotate_summary(&run.dir.summary_path(), &report)?;
    report.run = Some(run);
    Ok(report)
}

/// Adds the sync's own figures to the run's summary.json, under `sync`.
fn annotate_summary(path: &std::path::Path, r: &SyncReport) -> Result<(), SyncError> {
    let io = |e: std::io::Error| SyncError::Usage(format!("cannot update {}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| SyncError::Usage(format!("{} is not JSON: {e}", path.display())))?;
    v["sync"] = serde_json::json!({
        "mode": r.mode,
        "state": r.state_path,
        "source_rows": r.source_rows,
        "leavers": r.leavers,
        "deactivations_held": r.held.is_some(),
        "held_reason": r.held,
        "waiting_absent_runs": r.waiting,
        "anchor_changed": r.anchor_changed,
        "manager_cycles": r.manager_cycles,
        "directory_pages": r.directory.map(|d| d.0),
        "referrals_skipped": r.directory.map(|d| d.1),
        "state_saved": r.state_saved,
        "attributes_compared": r.attributes.map(|a| a.compared),
        "attributes_matching": r.attributes.and_then(|a| a.share()),
    });
    let tmp = path.with_extension("json.tmp");
    let body = serde_json::to_vec_pretty(&v).map_err(|e| io(e.into()))?;
    std::fs::write(&tmp, body).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Records a run in the state: what the tenant acknowledged, who was present, who
/// is missing for one more run, and the source's size.
fn record(
    state: &mut State,
    surveyed: &Survey,
    acks: std::collections::HashMap<String, Ack>,
    leaver_keys: &[String],
    waiting: &[String],
) {
    for r in &surveyed.rows {
        if let Some(k) = &r.key
            && let Some(e) = state.entries.get_mut(k)
        {
            e.absent = 0;
        }
    }
    for k in leaver_keys.iter().chain(waiting) {
        if let Some(e) = state.entries.get_mut(k) {
            e.absent = e.absent.saturating_add(1);
        }
    }
    for (key, a) in acks {
        match state.entries.get_mut(&key) {
            Some(e) => {
                // A row done before a resume is heard of without its version:
                // keep the one known (a stale one only costs a re-read).
                if e.id != a.id || a.version.is_some() {
                    e.version = a.version;
                }
                e.id = a.id;
                e.active = a.active;
                if let Some(applied) = a.applied {
                    e.applied = applied;
                    e.hash = a.hash;
                    e.anchor = a.anchor;
                    e.absent = 0;
                }
            }
            None => {
                let Some(applied) = a.applied else { continue };
                state.entries.insert(
                    key.clone(),
                    Entry {
                        key,
                        id: a.id,
                        version: a.version,
                        anchor: a.anchor,
                        hash: a.hash,
                        active: a.active,
                        absent: 0,
                        applied,
                    },
                );
            }
        }
    }
    state.last_good_count = Some(surveyed.count());
    state.runs += 1;
}
