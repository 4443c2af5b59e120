//! [`Engine`]: a resolved run directory and mapping ([`Engine::try_new`]), then one
//! run over a source of desired users ([`Engine::run`]) that returns the
//! [`RunReport`] and leaves the run directory complete: ledger, audit log, journal,
//! failed.csv and summary.json.
//!
//! Owns the run's resources (embedded emulator, API façade, sink) and their order of
//! closing. The row pipeline itself (lookup, plan, writes, batched passes) is
//! `apply::run`'s.

use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;
use tokio::sync::watch;

use super::config::{EngineConfig, RunKind, TargetChoice};
use super::error::{EngineError, InputError};
use super::failed::write_failed_csv;
use super::preflight::preflight;
use super::report::{Calls, Done, RunReport};
use super::resolve::{Resolved, discard_new_run, resolve};
use super::source::{DesiredSource, Feed, FileSource};
use crate::apply::api::Api;
use crate::apply::run::{self, ApplyReport, RunOptions};
use crate::apply::sink::{Closed, RunSink};
use crate::emulator::{EmulatorConfig, EmulatorHandle};
use crate::ledger::{self, RunDir, RunSummary, Verdict};
use crate::mapping::Mapping;
use crate::plan::PlanOptions;
use crate::scim::target::Target;

/// What the caller lends a run: where progress shows, and the interrupt.
#[derive(Debug)]
pub struct Controls {
    /// The progress bar (hidden when nobody watches); its length is set from the
    /// source's head.
    pub progress: ProgressBar,
    /// Becomes `true` when the run must stop (Ctrl-C, SIGTERM): rows not started
    /// end pending, resumable.
    pub interrupt: watch::Receiver<bool>,
}

impl Controls {
    /// No progress shown, never interrupted (tests, embedding).
    pub fn quiet() -> Controls {
        // A closed channel reads as "never interrupted".
        let (_, interrupt) = watch::channel(false);
        Controls {
            progress: ProgressBar::hidden(),
            interrupt,
        }
    }
}

/// What a caller adds to a run (see [`Engine::run_with`]).
#[derive(Default)]
pub struct Extras {
    /// The tenant as the caller knows it (a sync's state): planned against with no
    /// tenant read and no per-row lookup.
    pub known: Option<crate::plan::TenantIndex>,
    /// The caller's part in each row.
    pub hook: Option<Arc<dyn crate::apply::hook::RowHook>>,
    /// Lines for the audit log before the first row (e.g. why a guard was
    /// overridden).
    pub notes: Vec<String>,
    /// Where rows' final states are reported (webhooks), through the journal as
    /// an outbox. Ignored by a dry run.
    pub outbox: Option<Arc<dyn crate::apply::sink::Outbox>>,
    /// The saved plan this run applies (`import --plan`), for summary.json; the
    /// rows it found changed since planning are added at the end.
    pub applying: Option<super::report::AppliedPlan>,
}

/// One run, resolved and ready to start.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    resolved: Resolved,
    mapping: Arc<Mapping>,
    baseline: Option<super::preflight::Baseline>,
}

fn load_mapping(path: &std::path::Path) -> Result<Mapping, EngineError> {
    Mapping::load(path).map_err(|source| EngineError::Mapping {
        path: path.to_path_buf(),
        source,
    })
}

impl Engine {
    /// Resolves the run directory (new, resumed or retried) and loads the mapping.
    /// A mapping named in `cfg` is checked before anything is created; a new run
    /// whose mapping fails is removed again.
    pub fn try_new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        if matches!(cfg.target, TargetChoice::Embedded) && matches!(cfg.kind, RunKind::Resume(_)) {
            return Err(EngineError::ResumeEmbedded);
        }
        if let Some(m) = &cfg.mapping {
            load_mapping(m)?;
        }
        // Read before anything is created, so a bad baseline leaves nothing behind.
        let baseline = match &cfg.schema_baseline {
            Some(_) if cfg.preflight == super::PreflightMode::Off => {
                return Err(EngineError::BaselineWithoutPreflight);
            }
            Some(dir) => Some(super::preflight::Baseline {
                dir: dir.clone(),
                discovery: crate::scim::schema::baseline::load(dir)?,
            }),
            None => None,
        };
        let resolved = resolve(&cfg)?;
        let mapping = match load_mapping(&resolved.mapping_path) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                resolved.discard();
                return Err(e);
            }
        };
        Ok(Engine {
            cfg,
            resolved,
            mapping,
            baseline,
        })
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.resolved.dir.id
    }

    /// Whether this run resumes a stopped one.
    pub fn resumed(&self) -> bool {
        self.resolved.resumed
    }

    /// The mapping the run applies.
    pub fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }

    /// The resolved input (the recorded one for a resume or a retry).
    pub fn input(&self) -> &crate::source::InputSpec {
        &self.resolved.input
    }

    /// The source an import reads: the resolved input file (restricted to the rows
    /// a retry or a resumed retry covers).
    pub fn file_source(&self) -> FileSource {
        FileSource::new(self.resolved.input.clone(), self.resolved.only_rows.clone())
    }

    /// Runs every row of `source` and completes the run directory. An error before
    /// the first row (an unreadable input) removes a new run's directory.
    pub async fn run<S: DesiredSource>(
        self,
        source: S,
        controls: Controls,
    ) -> Result<RunReport, EngineError> {
        self.run_with(source, controls, Extras::default()).await
    }

    /// [`Engine::run`] with what a caller such as a sync adds: the tenant as it
    /// already knows it (no tenant read), and its part in each row.
    pub async fn run_with<S: DesiredSource>(
        self,
        source: S,
        controls: Controls,
        extras: Extras,
    ) -> Result<RunReport, EngineError> {
        let started = Instant::now();
        let Engine {
            cfg,
            resolved,
            mapping,
            baseline,
        } = self;
        let Resolved {
            dir,
            lock,
            reading,
            input,
            mapping_path,
            journal,
            audit,
            done_rows,
            in_flight,
            outbox: journaled_outbox,
            resumed,
            ..
        } = resolved;
        let outbox = extras.outbox.clone().filter(|_| !cfg.dry_run);
        let (emulator, target) = connect(&cfg.target).await?;
        let reread = source.reread();
        let Feed { head, chunks, end } = source.start(mapping.clone());
        // A source that ends before its head stopped before reading it.
        let head = match head.await.unwrap_or(Err(InputError::Stopped)) {
            Ok(h) => h,
            Err(e) => {
                // Nothing was sent: a new run's directory goes away again.
                discard_new_run(&dir, resumed);
                return Err(e.into());
            }
        };
        if let Some(n) = head.expected_rows {
            controls.progress.set_length(n);
        }
        // A resumed run's bar starts at the rows its first part finished.
        controls.progress.set_position(done_rows.len() as u64);
        let sink = Arc::new(if cfg.dry_run {
            journal.close()?;
            RunSink::direct(&dir.id, &dir.ledger_path(), audit, controls.progress)?
        } else {
            RunSink::journaled_with(&dir.id, journal, audit, controls.progress, outbox.clone())
        });
        for n in &extras.notes {
            sink.note(n).await;
        }
        if outbox.is_some() {
            // A resume sends again what an earlier session journaled and never saw
            // acknowledged, and reports rows it finished without a delivery.
            let (items, rows) = unsent(&journaled_outbox, &done_rows);
            sink.resend(items, rows).await;
        }
        let api = Api::new(&target, cfg.api.clone(), sink.clone()).map_err(EngineError::Http)?;
        // A run that may send nothing (an incremental sync) gets its token when
        // it first needs one; any other run gets it first, before anything else.
        let contact = if extras.known.is_none() || cfg.preflight != super::PreflightMode::Off {
            super::contact::first_contact(&api, &target).await
        } else {
            Ok(())
        };
        // A generic server names its endpoints in /ResourceTypes (read once).
        if contact.is_ok() {
            match api.discover_endpoints().await {
                Ok(None) => {}
                Ok(Some(warning)) => tracing::warn!("{warning}"),
                Err(e) => {
                    tracing::warn!(
                        "/ResourceTypes could not be read ({e}); using /Users and /Groups"
                    )
                }
            }
        }
        // Before the first write (and before any lookup): does the target offer
        // every path the mapping writes?
        let checked = match contact {
            Ok(()) => {
                preflight(
                    &api,
                    &sink,
                    cfg.preflight,
                    cfg.discovery,
                    &mapping,
                    baseline.as_ref(),
                    &target,
                )
                .await
            }
            Err(e) => Err(e),
        };
        // Skills and languages the mapping names: known to the tenant? (Asked only
        // of a target whose schemas were checked: one that does not describe
        // itself is not asked for its catalogue either.)
        let checked = match checked {
            Ok(p) => {
                let mode = match p.status {
                    "passed" => cfg.preflight,
                    _ => super::PreflightMode::Off,
                };
                super::routing::routing_preflight(&api, &sink, mode, &mapping)
                    .await
                    .map(|r| (p, r))
            }
            Err(e) => Err(e),
        };
        let (preflight, routing) = match checked {
            Ok(both) => both,
            Err(e) => {
                drop(api);
                drop(chunks);
                // Nothing was sent: close the files, and a new run goes away again.
                let _ = close(sink, &dir).await;
                discard_new_run(&dir, resumed);
                if let Some(h) = emulator {
                    h.shutdown().await;
                }
                return Err(e);
            }
        };
        // `preflight.calls` counts the discovery GETs; the catalogue's are in `calls`.
        let mut preflight = preflight;
        preflight.warnings.extend(routing.warnings);
        let chunks = match routing.catalogue {
            Some(c) => super::routing::screen_rows(c, chunks),
            None => chunks,
        };
        let opts = RunOptions {
            dry_run: cfg.dry_run,
            lookup: cfg.lookup,
            concurrency: cfg.concurrency.max(1),
            plan: PlanOptions {
                max_patch_ops: cfg.max_patch_ops.max(1),
                create_groups: cfg.create_groups,
                match_keys: mapping.keys().to_vec(),
                ..PlanOptions::default()
            },
            done_rows,
            in_flight,
            expected_rows: head.expected_rows,
            known: extras.known,
            hook: extras.hook,
        };
        let plan_out = cfg
            .dry_run
            .then(|| open_plan(&dir, &input.path, &mapping_path));
        let mut applied: ApplyReport = run::run(
            api.clone(),
            sink.clone(),
            mapping.clone(),
            chunks,
            opts,
            plan_out,
            controls.interrupt,
        )
        .await;
        if let Ok(Err(e)) = end.await {
            applied
                .stopped
                .get_or_insert(format!("the input could not be read to the end: {e}"));
        }
        let stats = api.stats();
        drop(api);
        if let Some(outbox) = &outbox {
            sink.flush_outbox().await;
            if !outbox.drain().await {
                tracing::info!("webhook deliveries still pending; a resume sends them");
            }
        }
        if let Some(p) = &applied.plan {
            sink.note(&format!(
                "plan {} written: {} rows, {} users, sha256:{} (input sha256:{}, mapping sha256:{})",
                crate::apply::plan_file::PLAN_FILE,
                p.rows,
                p.users,
                p.sha256,
                p.input_sha256,
                p.mapping_sha256
            ))
            .await;
        }
        let (mut closed, rows) = close(sink, &dir).await?;
        if let Some(e) = &closed.error {
            applied.stopped.get_or_insert_with(|| e.clone());
        }
        // A dry run learns at its end which users a real run would create without
        // their manager: their rows, written already, get the warning now.
        if let Some(counts) =
            ledger::patch::add_warnings(&dir.ledger_path(), &dir.id, &applied.predicted_warnings)?
            // (A benchmark build may have discarded the rows: keep its counts.)
            && counts.rows == closed.summary.rows
        {
            closed.summary = counts;
        }
        let (failed_sha, note) =
            write_failed_csv(&dir, reread.as_ref(), &mapping, &head.header, &rows)?;
        let done = Done::count(&rows);
        let counts = RunSummary::new(&dir.id, &closed.summary);
        let report = RunReport {
            run_id: counts.run_id,
            rows: counts.rows,
            outcomes: counts.outcomes,
            actions: counts.actions,
            error_kinds: counts.error_kinds,
            warnings: closed.summary.warnings.clone(),
            audit_head: closed.audit_head.clone(),
            audit_lines: closed.audit_lines,
            calls_per_changed_user: done.calls_per_changed(&stats),
            calls: Calls::from(stats),
            success_rate: None,
            deferred_managers: applied.deferred_managers,
            done,
            dry_run: cfg.dry_run,
            failed_csv_sha256: failed_sha,
            group_patches: applied.group_patches,
            input: input.path,
            lookup: applied.lookup,
            lookup_calls: applied.lookup_calls,
            mapping: mapping_path,
            seconds: started.elapsed().as_secs_f64(),
            sink_seconds: closed.lost_seconds,
            stopped: applied.stopped,
            target: cfg.target.name(),
            writer_cpu_seconds: closed.writer_cpu_seconds,
            resumed,
            apply_seconds: applied.seconds,
            plan: applied.plan,
            applied_plan: applied_plan(extras.applying, &rows),
            notes: note.into_iter().chain(preflight.warnings.clone()).collect(),
            preflight,
            webhooks: closed.outbox,
            dir,
        };
        let mut report = report;
        report.success_rate = report.success_rate();
        report.write(&report.dir.summary_path())?;
        if let Some(h) = emulator {
            h.shutdown().await;
        }
        // Every file of the run is closed: another process may take it now.
        drop(lock);
        drop(reading);
        Ok(report)
    }
}

/// The applied plan's record, with the rows found changed since planning.
fn applied_plan(
    plan: Option<super::report::AppliedPlan>,
    rows: &[Verdict],
) -> Option<super::report::AppliedPlan> {
    let mut plan = plan?;
    let stale = crate::model::ErrorKind::PlanStale.as_str();
    let rows: Vec<u64> = rows
        .iter()
        .filter(|v| {
            v.note.as_deref() == Some(stale) || v.error.as_ref().is_some_and(|(k, _)| k == stale)
        })
        .map(|v| v.row)
        .collect();
    plan.stale = rows.len() as u64;
    plan.stale_rows = rows
        .into_iter()
        .take(super::report::STALE_ROWS_LISTED)
        .collect();
    Some(plan)
}

/// Creates a dry run's plan.parquet, recording the input's and the mapping's
/// hashes and the mapping itself; `Err` says why it cannot be written (the run
/// then stops rather than leave a plan that silently lacks rows).
fn open_plan(
    dir: &RunDir,
    input: &std::path::Path,
    mapping: &std::path::Path,
) -> Result<crate::apply::plan_file::PlanThread, String> {
    use crate::apply::plan_file::{PLAN_FILE, PlanOrigin, PlanThread, PlanWriter};
    let path = dir.root.join(PLAN_FILE);
    let origin = PlanOrigin {
        run_id: dir.id.clone(),
        input: input.to_path_buf(),
        input_sha256: super::resolve::file_sha256(input),
        mapping_path: mapping.to_path_buf(),
        mapping_sha256: super::resolve::file_sha256(mapping),
        mapping_text: std::fs::read_to_string(mapping).unwrap_or_default(),
    };
    let writer =
        PlanWriter::try_new(&path, origin).map_err(|e| format!("cannot write {PLAN_FILE}: {e}"))?;
    PlanThread::spawn(writer).map_err(|e| format!("cannot start the {PLAN_FILE} writer: {e}"))
}

/// Closes the sink (the ledger is written, from the journal for a real run) and
/// reads every row's verdict back.
async fn close(sink: Arc<RunSink>, dir: &RunDir) -> Result<(Closed, Vec<Verdict>), EngineError> {
    let sink = Arc::try_unwrap(sink).map_err(|_| EngineError::SinkInUse)?;
    let mut closed = sink
        .close(&dir.journal_path(), &dir.ledger_path())
        .await
        .map_err(|source| EngineError::Closing {
            run_id: dir.id.clone(),
            source,
        })?;
    let rows = match closed.verdicts.take() {
        Some(v) => v,
        None => ledger::read_verdicts(&dir.ledger_path())?,
    };
    Ok((closed, rows))
}

/// What a resume's outbox owes: the journaled deliveries never acknowledged, and
/// the rows finished earlier that no journaled delivery reports (their event was
/// held in a batch, or not journaled yet, when the run stopped), in row order.
fn unsent(
    outbox: &crate::journal::OutboxState,
    done: &std::collections::HashMap<u64, crate::ledger::LedgerRow>,
) -> (
    Vec<crate::journal::OutboxItem>,
    Vec<crate::ledger::LedgerRow>,
) {
    let covered: std::collections::HashSet<u64> = outbox
        .items()
        .iter()
        .flat_map(|i| i.rows.iter().copied())
        .collect();
    let mut rows: Vec<_> = done
        .values()
        .filter(|r| !covered.contains(&r.row))
        .cloned()
        .collect();
    rows.sort_by_key(|r| r.row);
    (outbox.pending(), rows)
}

/// The tenant's target, starting the embedded emulator when none was given.
async fn connect(choice: &TargetChoice) -> Result<(Option<EmulatorHandle>, Target), EngineError> {
    match choice {
        TargetChoice::Tenant(t) => Ok((None, t.clone())),
        TargetChoice::Embedded => {
            let handle = crate::emulator::spawn(EmulatorConfig {
                rate_limit_per_minute: None,
                ..Default::default()
            })
            .await
            .map_err(EngineError::Emulator)?;
            let t = Target::emulator(&handle.url(), handle.client_id(), handle.client_secret());
            Ok((Some(handle), t))
        }
    }
}
