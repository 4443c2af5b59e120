//! Orchestrates one import run on tokio: builds the tenant index (prefetch or
//! per-row lookups, whichever costs fewer calls), plans every valid row, executes
//! the actions with bounded concurrency through the shared [`Api`], then runs the
//! batched passes (managers created later in the file, group memberships).
//!
//! Every input row reaches the sink exactly once through `finish` (and possibly
//! `revise` after a batched pass). A stop (Ctrl-C, open circuit, the tenant breaker
//! giving up, broken journal) stops dispatching; rows not attempted end `pending`
//! so `--resume` finishes them. Ctrl-C halts the API at once: calls in flight
//! finish their current try only (see `apply::breaker`).
//!
//! Valid rows go to the `dispatch` module's dispatcher, which runs them as tasks and
//! folds what they hand back; this file reads the input, builds the index, and runs
//! the batched passes with what the dispatcher collected.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use parking_lot::RwLock;
use tokio::sync::{mpsc, watch};

use crate::apply::api::Api;
use crate::apply::dispatch::{Collected, Dispatcher, Shared, execute_one, pending_row};
use crate::apply::execute::{self, DeferredManager};
use crate::apply::groups::GroupPass;
use crate::apply::hook::RowHook;
use crate::apply::lookup::{self, LookupMode};
use crate::apply::sink::RunSink;
use crate::ledger::LedgerRow;
use crate::mapping::Mapping;
use crate::model::{Action, Outcome};
use crate::plan::{PlanOptions, TenantIndex};
use crate::validate::{Prepared, RowError};

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Plan only: no write is sent.
    pub dry_run: bool,
    /// How to find existing users.
    pub lookup: LookupMode,
    /// Rows worked on at once (calls are further paced by the limiter).
    pub concurrency: usize,
    /// Planner options (max PATCH operations, length limits).
    pub plan: PlanOptions,
    /// Rows already final in a resumed run, with their ledger state: not written
    /// again, but their group memberships and managers are re-checked.
    pub done_rows: HashMap<u64, LedgerRow>,
    /// Rows of a resumed run whose write was under way when it stopped (intent
    /// journaled, no outcome): the action intended.
    pub in_flight: HashMap<u64, Action>,
    /// Rows the input holds, when known (sizes the lookup choice).
    pub expected_rows: Option<u64>,
    /// The tenant as the caller already knows it (a sync's state): no tenant read,
    /// no per-row lookup. Groups are still read when the mapping manages them.
    pub known: Option<TenantIndex>,
    /// The caller's part in each row.
    pub hook: Option<Arc<dyn RowHook>>,
}

impl std::fmt::Debug for dyn RowHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowHook")
    }
}

/// What the run did besides the per-row outcomes, for the summary.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// `prefetch` or `filter`, with why.
    pub lookup: String,
    /// Calls the lookups cost.
    pub lookup_calls: u64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// Managers set in the pass after the creates.
    pub deferred_managers: u64,
    /// Group PATCH calls sent.
    pub group_patches: u64,
    /// A dry run's plan.parquet as written (counts, hash, the first users).
    pub plan: Option<crate::apply::plan_file::PlanWritten>,
    /// A dry run's warnings a real run would record, by row: the users it would
    /// create without their manager (`manager_unresolved`).
    pub predicted_warnings: HashMap<u64, String>,
    /// Wall time of the run in seconds.
    pub seconds: f64,
}

/// Runs an import over prepared chunks (in row order). `plan_out` receives the
/// plan of a dry run (plan.parquet), or says why it could not be created.
/// `interrupt` is set by Ctrl-C.
pub async fn run(
    api: Api,
    sink: Arc<RunSink>,
    mapping: Arc<Mapping>,
    mut chunks: mpsc::Receiver<Vec<Prepared>>,
    mut opts: RunOptions,
    plan_out: Option<Result<crate::apply::plan_file::PlanThread, String>>,
    interrupt: watch::Receiver<bool>,
) -> ApplyReport {
    let started = Instant::now();
    let mut report = ApplyReport::default();
    // An interrupt that came before the first call stops the run before any call,
    // not whenever the listener first runs.
    if *interrupt.borrow() {
        api.halt(INTERRUPTED);
    }
    let listener = spawn_interrupt_listener(&api, interrupt);

    // 1. The tenant index: the caller's, or a prefetch, or per-row lookups.
    let built = match opts.known.take() {
        Some(known) => lookup::known_index(&api, &mapping, known).await,
        None => lookup::build_index(&api, &mapping, opts.lookup, opts.expected_rows).await,
    };
    let (index, choice) = match built {
        Ok(v) => v,
        Err(e) => {
            report.stopped = Some(
                api.stop_reason()
                    .unwrap_or_else(|| format!("cannot read the tenant: {e}")),
            );
            listener.abort();
            let _ = listener.await;
            drain_pending(&sink, &mut chunks, &opts.done_rows).await;
            report.seconds = started.elapsed().as_secs_f64();
            return report;
        }
    };
    report.lookup = choice.describe();
    // A dry run whose plan cannot be written stops, rather than leaving a plan
    // that silently lacks rows.
    let (plan_out, plan_error) = match plan_out {
        None => (None, None),
        Some(Ok(w)) => (Some(w), None),
        Some(Err(e)) => (None, Some(e)),
    };
    let (stop_tx, _) = watch::channel(None::<String>);
    let RunOptions {
        dry_run,
        lookup: _,
        concurrency,
        plan,
        done_rows,
        in_flight,
        expected_rows: _,
        known: _,
        hook,
    } = opts;
    let shared = Arc::new(Shared {
        api: api.clone(),
        sink: sink.clone(),
        index: RwLock::new(index),
        per_row_lookup: choice.is_per_row(),
        known: choice.is_known(),
        plan,
        in_flight,
        dry_run,
        stop_tx,
        hook,
    });
    if let Some(why) = plan_error {
        shared.stop(why);
    }
    let ticker = spawn_pace_ticker(&api, &sink);

    // 2. Every row: invalid rows straight to the sink, valid rows to a task.
    let mut d = Dispatcher::new(shared.clone(), concurrency.max(1) * 2, plan_out);
    // A dry run against a prefetched index makes no call per row: plan in input
    // order, without a task per row.
    let inline = dry_run && !shared.per_row_lookup;
    while let Some(chunk) = chunks.recv().await {
        for prepared in chunk {
            let row = prepared.record.row;
            if let Some(prev) = done_rows.get(&row) {
                d.recheck_done(&prepared, prev);
                continue;
            }
            sink.expect(row).await;
            match prepared.result {
                Err(errors) => {
                    sink.finish(invalid_row(&errors, &prepared.record, &prepared.keys))
                        .await
                }
                Ok(desired) if shared.stopped() => sink.finish(pending_row(&desired)).await,
                Ok(desired) if inline => {
                    let executed = execute_one(&shared, &desired).await;
                    d.fold(executed);
                    d.send_finished().await;
                }
                Ok(desired) => d.dispatch(desired).await,
            }
        }
    }
    d.drain().await;

    // 3. Batched passes: managers created later in the file, then group memberships.
    let Collected {
        groups,
        deferred,
        plan_out,
        forecast,
    } = d.into_collected();
    if let Some(f) = forecast
        && !shared.stopped()
    {
        report.predicted_warnings = f.finish();
    }
    if !dry_run && !shared.stopped() {
        let (managers, patches) = batched_passes(&shared, &mapping, deferred, groups).await;
        report.deferred_managers = managers;
        report.group_patches = patches;
    }
    match plan_out.map(|w| w.close()) {
        Some(Ok(written)) => report.plan = Some(written),
        Some(Err(e)) => shared.stop(format!("cannot write plan.parquet: {e}")),
        None => {}
    }
    if let Some(hook) = &shared.hook
        && !dry_run
    {
        hook.finished(&shared.index.read());
    }
    report.stopped = shared.stop_reason();
    report.lookup_calls = choice.calls();
    report.seconds = started.elapsed().as_secs_f64();
    listener.abort();
    let _ = listener.await;
    ticker.abort();
    let _ = ticker.await;
    report
}

/// The progress bar shows the limiter's pace as it adapts to the tenant.
fn spawn_pace_ticker(api: &Api, sink: &Arc<RunSink>) -> tokio::task::JoinHandle<()> {
    let (api, sink) = (api.clone(), sink.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            let pace = match api.limiter().current_rate() {
                Some(r) => format!("{r}/min"),
                None => "unpaced".to_string(),
            };
            sink.progress().set_prefix(pace);
        }
    })
}

/// The stop reason of Ctrl-C and SIGTERM.
const INTERRUPTED: &str = "interrupted";

/// Ctrl-C halts the API: no new try, retry or backoff; rows end pending.
fn spawn_interrupt_listener(
    api: &Api,
    mut interrupt: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let api = api.clone();
    tokio::spawn(async move {
        while interrupt.changed().await.is_ok() {
            if *interrupt.borrow() {
                api.halt(INTERRUPTED);
                break;
            }
        }
    })
}

/// Sets the deferred managers, then the group memberships; revised rows go to the
/// sink. Returns (managers set, group PATCH calls).
async fn batched_passes(
    shared: &Shared,
    mapping: &Mapping,
    deferred: Vec<DeferredManager>,
    groups: GroupPass,
) -> (u64, u64) {
    let mut revised = execute::Revisions::new();
    let managers =
        execute::set_deferred_managers(&shared.api, &shared.index, deferred, &mut revised).await;
    let mut patches = 0;
    if mapping.manages_groups() {
        match groups.apply(&shared.api, &shared.plan, &mut revised).await {
            Ok(n) => patches = n,
            Err(e) => {
                if e.stops_run() {
                    shared.stop(e.stop_reason());
                }
            }
        }
    }
    let mut revised: Vec<LedgerRow> = revised.into_values().collect();
    revised.sort_by_key(|r| r.row);
    for row in revised {
        shared.sink.revise(row).await;
    }
    (managers, patches)
}

/// Marks every remaining row pending when the run cannot start.
async fn drain_pending(
    sink: &RunSink,
    chunks: &mut mpsc::Receiver<Vec<Prepared>>,
    done: &HashMap<u64, LedgerRow>,
) {
    while let Some(chunk) = chunks.recv().await {
        for p in chunk {
            if done.contains_key(&p.record.row) {
                continue;
            }
            sink.expect(p.record.row).await;
            match p.result {
                Err(errors) => sink.finish(invalid_row(&errors, &p.record, &p.keys)).await,
                Ok(d) => sink.finish(pending_row(&d)).await,
            }
        }
    }
}

fn invalid_row(
    errors: &[RowError],
    record: &crate::source::Record,
    keys: &crate::validate::Keys,
) -> LedgerRow {
    let fields: Vec<&str> = record.fields.iter().map(String::as_str).collect();
    let hash = if fields.is_empty() {
        String::new()
    } else {
        crate::mapping::source_hash(&fields)
    };
    let mut l = LedgerRow::without_call(
        record.row,
        keys.external_id.clone(),
        keys.user_name.clone(),
        Action::None,
        Outcome::Invalid,
        hash,
    );
    let (_, messages) = crate::validate::summarize(errors);
    l.error_kind = errors.first().map(|e| e.kind);
    l.error = Some(messages);
    l.finished_at = Utc::now();
    l
}
