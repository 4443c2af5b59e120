//! Orchestrates one import run on tokio: builds the tenant index (prefetch or
//! per-row lookups, whichever costs fewer calls), plans every valid row, executes
//! the actions with bounded concurrency through the shared [`Api`], then runs the
//! batched passes (managers created later in the file, group memberships).
//!
//! Every input row reaches the sink exactly once through `finish` (and possibly
//! `revise` after a batched pass). A stop (Ctrl-C, open circuit, broken journal)
//! stops dispatching; rows not attempted end `pending` so `--resume` finishes them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::Utc;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::apply::api::Api;
use crate::apply::execute::{self, Executed, RowContext};
use crate::apply::groups::GroupPass;
use crate::apply::lookup::{self, LookupChoice, LookupMode};
use crate::apply::sink::RunSink;
use crate::ledger::LedgerRow;
use crate::mapping::{DesiredUser, Mapping};
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
    /// Per-row planned changes of a dry run, for printing (first rows only).
    pub plan_preview: Vec<String>,
    /// Wall time of the run in seconds.
    pub seconds: f64,
}

/// Shared state of the row tasks.
struct Shared {
    api: Api,
    sink: Arc<RunSink>,
    mapping: Arc<Mapping>,
    index: RwLock<TenantIndex>,
    choice: LookupChoice,
    opts: RunOptions,
    groups: Mutex<GroupPass>,
    deferred: Mutex<Vec<execute::DeferredManager>>,
    stop_tx: watch::Sender<Option<String>>,
    preview: Mutex<Vec<String>>,
    plan_out: Mutex<Option<std::io::BufWriter<std::fs::File>>>,
    parking: Mutex<Parking>,
    /// Rows released from parking and still running (detached tasks: holding their
    /// handles would keep every finished task's memory until the end of the run).
    released: AtomicU64,
    released_done: tokio::sync::Notify,
    /// Set once every row has been dispatched: rows still parked (managers that
    /// form a cycle) run without waiting.
    no_park: std::sync::atomic::AtomicBool,
}

/// Rows waiting for their manager's create, so the manager goes in the POST itself
/// instead of costing a second PATCH later.
#[derive(Default)]
struct Parking {
    /// externalIds of rows dispatched and not finished yet.
    in_flight: HashSet<String>,
    /// Rows parked until the row with this externalId finishes.
    waiters: std::collections::HashMap<String, Vec<DesiredUser>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop_tx.borrow().is_some() || self.sink.is_broken()
    }
    fn stop(&self, why: String) {
        self.stop_tx.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(why);
                true
            } else {
                false
            }
        });
    }
}

/// Runs an import over prepared chunks (in row order). `plan_path` receives the
/// per-row plan of a dry run as JSON lines. `stop` is set by Ctrl-C.
pub async fn run(
    api: Api,
    sink: Arc<RunSink>,
    mapping: Arc<Mapping>,
    mut chunks: mpsc::Receiver<Vec<Prepared>>,
    opts: RunOptions,
    plan_path: Option<std::path::PathBuf>,
    mut interrupt: watch::Receiver<bool>,
) -> ApplyReport {
    let started = Instant::now();
    let (stop_tx, _) = watch::channel(None::<String>);
    let mut report = ApplyReport::default();

    // 1. The tenant index: prefetch or per-row lookups.
    let (index, choice) = match lookup::build_index(&api, &mapping, &opts).await {
        Ok(v) => v,
        Err(e) => {
            report.stopped = Some(format!("cannot read the tenant: {e}"));
            drain_pending(&sink, &mut chunks, &opts.done_rows).await;
            report.seconds = started.elapsed().as_secs_f64();
            return report;
        }
    };
    report.lookup = choice.describe();
    // A dry run whose plan cannot be written stops, rather than leaving a plan
    // that silently lacks rows.
    let (plan_out, plan_error) = match plan_path.map(|p| (std::fs::File::create(&p), p)) {
        None => (None, None),
        Some((Ok(f), _)) => (Some(std::io::BufWriter::new(f)), None),
        Some((Err(e), p)) => (None, Some(format!("cannot write {}: {e}", p.display()))),
    };
    let shared = Arc::new(Shared {
        api: api.clone(),
        sink: sink.clone(),
        mapping,
        index: RwLock::new(index),
        choice,
        opts,
        groups: Mutex::new(GroupPass::default()),
        deferred: Mutex::new(Vec::new()),
        stop_tx,
        preview: Mutex::new(Vec::new()),
        plan_out: Mutex::new(plan_out),
        parking: Mutex::new(Parking::default()),
        released: AtomicU64::new(0),
        released_done: tokio::sync::Notify::new(),
        no_park: std::sync::atomic::AtomicBool::new(false),
    });
    if let Some(why) = plan_error {
        shared.stop(why);
    }

    // The progress bar shows the limiter's pace as it adapts to the tenant.
    let ticker = {
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
    };
    // Ctrl-C turns into a stop.
    let listener = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while interrupt.changed().await.is_ok() {
                if *interrupt.borrow() {
                    shared.stop("interrupted".into());
                    break;
                }
            }
        })
    };

    // 2. Every row: invalid rows straight to the sink, valid rows to a task.
    let limit = shared.opts.concurrency.max(1) * 2;
    let inline = shared.opts.dry_run && !shared.choice.is_per_row();
    let mut tasks: JoinSet<()> = JoinSet::new();
    while let Some(chunk) = chunks.recv().await {
        for prepared in chunk {
            let row = prepared.record.row;
            if let Some(prev) = shared.opts.done_rows.get(&row) {
                // Done before a crash: the batched passes may not have run for it.
                if let (Ok(desired), Some(id)) = (&prepared.result, &prev.scim_id)
                    && prev.outcome == Outcome::Succeeded
                {
                    if let Some(names) = &desired.groups {
                        shared
                            .groups
                            .lock()
                            .want(id.clone(), names.clone(), prev.clone());
                    }
                    if let Some(m) = manager_external_id(desired) {
                        shared.deferred.lock().push(execute::DeferredManager {
                            row: prev.clone(),
                            user_id: id.clone(),
                            manager_external_id: m,
                        });
                    }
                }
                continue;
            }
            sink.expect(row);
            match prepared.result {
                Err(errors) => sink.finish(invalid_row(row, &errors, &prepared.record)),
                Ok(desired) => {
                    if shared.stopped() {
                        sink.finish(pending_row(&desired));
                        continue;
                    }
                    if inline {
                        // A dry run against a prefetched index makes no call per row:
                        // plan in input order, without a task per row.
                        process_now(&shared, &desired).await;
                        continue;
                    }
                    while tasks.len() >= limit {
                        let _ = tasks.join_next().await;
                    }
                    let shared = shared.clone();
                    if let Some(x) = desired.external_id() {
                        shared.parking.lock().in_flight.insert(x.to_string());
                    }
                    tasks.spawn(async move { process_row(shared, desired).await });
                }
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    // Rows released from parking run as tasks of their own; they may release more.
    wait_released(&shared).await;
    // Rows still parked wait on each other (managers in a cycle): run them now,
    // their managers are set by the deferred pass.
    shared.no_park.store(true, Ordering::Release);
    let parked: Vec<DesiredUser> = {
        let mut p = shared.parking.lock();
        p.waiters.drain().flat_map(|(_, v)| v).collect()
    };
    for d in parked {
        spawn_released(&shared, d);
    }
    wait_released(&shared).await;

    // 3. Batched passes: managers created later in the file, then group memberships.
    if !shared.opts.dry_run && !shared.stopped() {
        let mut revised = execute::Revisions::new();
        let deferred = std::mem::take(&mut *shared.deferred.lock());
        report.deferred_managers =
            execute::set_deferred_managers(&shared.api, &shared.index, deferred, &mut revised)
                .await;
        if shared.mapping.manages_groups() {
            let pass = std::mem::take(&mut *shared.groups.lock());
            match pass
                .apply(&shared.api, shared.opts.plan.max_patch_ops, &mut revised)
                .await
            {
                Ok(n) => report.group_patches = n,
                Err(e) => {
                    if e.stops_run() {
                        shared.stop(format!("{e}"));
                    }
                }
            }
        }
        let mut revised: Vec<LedgerRow> = revised.into_values().collect();
        revised.sort_by_key(|r| r.row);
        for row in revised {
            shared.sink.revise(row);
        }
    }
    if let Some(mut w) = shared.plan_out.lock().take() {
        use std::io::Write;
        if let Err(e) = w.flush() {
            shared.stop(format!("cannot write plan.jsonl: {e}"));
        }
    }
    report.plan_preview = std::mem::take(&mut *shared.preview.lock());
    report.stopped = shared
        .stop_tx
        .borrow()
        .clone()
        .or_else(|| shared.sink.first_error());
    report.lookup_calls = shared.choice.calls();
    report.seconds = started.elapsed().as_secs_f64();
    listener.abort();
    let _ = listener.await;
    ticker.abort();
    let _ = ticker.await;
    report
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
            sink.expect(p.record.row);
            match p.result {
                Err(errors) => sink.finish(invalid_row(p.record.row, &errors, &p.record)),
                Ok(d) => sink.finish(pending_row(&d)),
            }
        }
    }
}

async fn process_row(shared: Arc<Shared>, desired: DesiredUser) {
    if shared.stopped() {
        shared.sink.finish(pending_row(&desired));
        release(&shared, &desired);
        return;
    }
    // A manager created earlier in this run but not finished yet: wait for it.
    if let Some(m) = manager_external_id(&desired) {
        let known = shared.index.read().user_by_external_id(&m).is_some();
        if !known {
            let mut p = shared.parking.lock();
            if p.in_flight.contains(&m)
                && desired.external_id() != Some(m.as_str())
                && !shared.no_park.load(Ordering::Acquire)
            {
                p.waiters.entry(m).or_default().push(desired);
                return;
            }
        }
    }
    process_now(&shared, &desired).await;
    release(&shared, &desired);
}

/// The externalId of the row's manager, when it has one.
fn manager_external_id(d: &DesiredUser) -> Option<String> {
    d.user
        .enterprise
        .as_ref()
        .and_then(|e| e.manager.as_ref())
        .map(|m| m.value.clone())
        .filter(|v| !v.is_empty())
}

/// Marks the row finished and starts the rows parked on it.
fn release(shared: &Arc<Shared>, desired: &DesiredUser) {
    let Some(x) = desired.external_id() else {
        return;
    };
    let waiters = {
        let mut p = shared.parking.lock();
        p.in_flight.remove(x);
        p.waiters.remove(x).unwrap_or_default()
    };
    for w in waiters {
        spawn_released(shared, w);
    }
}

/// Runs a row released from parking as a task of its own. Counted before the spawn
/// and uncounted after the row (and whatever it released in turn) is done, so the
/// count reaches 0 only when every released row is finished.
fn spawn_released(shared: &Arc<Shared>, d: DesiredUser) {
    let s = shared.clone();
    shared.released.fetch_add(1, Ordering::AcqRel);
    tokio::spawn(async move {
        process_row(s.clone(), d).await;
        if s.released.fetch_sub(1, Ordering::AcqRel) == 1 {
            s.released_done.notify_waiters();
        }
    });
}

/// Waits until no released row is running.
async fn wait_released(shared: &Shared) {
    loop {
        let notified = shared.released_done.notified();
        if shared.released.load(Ordering::Acquire) == 0 {
            break;
        }
        notified.await;
    }
}

async fn process_now(shared: &Shared, desired: &DesiredUser) {
    let ctx = RowContext {
        api: &shared.api,
        sink: &shared.sink,
        index: &shared.index,
        plan: &shared.opts.plan,
        per_row_lookup: shared.choice.is_per_row(),
        in_flight: &shared.opts.in_flight,
        dry_run: shared.opts.dry_run,
    };
    let executed = execute::execute_row(&ctx, desired).await;
    let Executed {
        row,
        group_user,
        deferred,
        preview,
        error,
    } = executed;
    if let Some(e) = &error
        && e.stops_run()
    {
        shared.stop(format!("{e}"));
    }
    if let Some((user_id, names)) = group_user {
        shared.groups.lock().want(user_id, names, row.clone());
    }
    if let Some(d) = deferred {
        shared.deferred.lock().push(d);
    }
    if let Some(p) = preview {
        let written = match shared.plan_out.lock().as_mut() {
            Some(w) => {
                use std::io::Write;
                writeln!(w, "{p}").map_err(|e| format!("cannot write plan.jsonl: {e}"))
            }
            None => Ok(()),
        };
        if let Err(why) = written {
            shared.stop(why);
        }
        let mut pv = shared.preview.lock();
        if pv.len() < 50 {
            pv.push(p);
        }
    }
    shared.sink.finish(row);
}

fn invalid_row(row: u64, errors: &[RowError], record: &crate::source::Record) -> LedgerRow {
    let fields: Vec<&str> = record.fields.iter().map(String::as_str).collect();
    let hash = if fields.is_empty() {
        String::new()
    } else {
        crate::mapping::source_hash(&fields)
    };
    let mut l = LedgerRow::without_call(row, None, None, Action::None, Outcome::Invalid, hash);
    let (_, messages) = crate::validate::summarize(errors);
    l.error_kind = errors.first().map(|e| e.kind.to_string());
    l.error = Some(messages);
    l.finished_at = Utc::now();
    l
}

fn pending_row(d: &DesiredUser) -> LedgerRow {
    LedgerRow::without_call(
        d.row,
        d.external_id().map(str::to_string),
        d.user_name().map(str::to_string),
        Action::None,
        Outcome::Pending,
        d.source_hash.clone(),
    )
}
