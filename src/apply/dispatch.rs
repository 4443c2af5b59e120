//! The dispatcher of one run's valid rows: row tasks in one `JoinSet` hand their
//! [`Executed`] back, and only the dispatcher folds them into the batched passes'
//! inputs (group memberships, deferred managers) and a dry run's plan.parquet,
//! and hands each row to the sink. It also parks rows until their manager's create
//! finishes, so the manager goes in the POST instead of a later PATCH.
//!
//! What the tasks still share ([`Shared`]) is read-only apart from the tenant index
//! (they plan against it and record what they create or read: one `RwLock` is
//! simpler than routing every lookup through the dispatcher) and the stop flag (a
//! `watch` channel). Reading the input and the batched passes are `run`'s.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::apply::api::Api;
use crate::apply::execute::{self, DeferredManager, Executed, RowContext};
use crate::apply::forecast::ManagerForecast;
use crate::apply::groups::GroupPass;
use crate::apply::plan_file::PlanThread;
use crate::apply::sink::RunSink;
use crate::ledger::LedgerRow;
use crate::mapping::DesiredUser;
use crate::model::{Action, Outcome};
use crate::plan::{PlanOptions, TenantIndex};
use crate::validate::Prepared;

/// What the row tasks share: read-only, apart from the tenant index and the stop.
pub(super) struct Shared {
    /// The API façade.
    pub api: Api,
    /// The run's sink.
    pub sink: Arc<RunSink>,
    /// The tenant index (prefetched, or filled by lookups and writes).
    pub index: RwLock<TenantIndex>,
    /// Look each row up with filters instead of a prefetched index.
    pub per_row_lookup: bool,
    /// The index is the caller's (a sync's state), not read from the tenant.
    pub known: bool,
    /// Planner options.
    pub plan: PlanOptions,
    /// Writes under way when a resumed run stopped, by row.
    pub in_flight: HashMap<u64, Action>,
    /// Plan only.
    pub dry_run: bool,
    /// Why the run stopped, once it did.
    pub stop_tx: watch::Sender<Option<String>>,
    /// The caller's part in each row.
    pub hook: Option<Arc<dyn crate::apply::hook::RowHook>>,
}

impl Shared {
    /// Whether the run stopped (a stop, a halted API: Ctrl-C or the tenant
    /// breaker, or a broken sink).
    pub fn stopped(&self) -> bool {
        self.stop_tx.borrow().is_some() || self.api.stop_reason().is_some() || self.sink.is_broken()
    }

    /// Why the run stopped, if it did (the first reason).
    pub fn stop_reason(&self) -> Option<String> {
        self.stop_tx
            .borrow()
            .clone()
            .or_else(|| self.api.stop_reason())
            .or_else(|| self.sink.first_error())
    }
    /// Stops the run; the first reason wins.
    pub fn stop(&self, why: String) {
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

/// What a row task hands back to the dispatcher.
struct RowResult {
    /// The row's externalId: rows parked on it may start now.
    external_id: Option<String>,
    /// The row's ledger state and what the batched passes need from it.
    executed: Executed,
}

/// Owns the row tasks and everything they hand back: the batched passes' inputs,
/// a dry run's plan.parquet, and the rows parked until their manager's
/// create finishes (so the manager goes in the POST instead of a later PATCH).
pub(super) struct Dispatcher {
    shared: Arc<Shared>,
    tasks: JoinSet<RowResult>,
    /// Rows worked on at once (released rows may go past it briefly).
    limit: usize,
    groups: GroupPass,
    deferred: Vec<DeferredManager>,
    plan_out: Option<PlanThread>,
    /// A dry run's prediction of the users created without their manager.
    forecast: Option<ManagerForecast>,
    /// externalIds of rows dispatched and not handed back yet.
    in_flight: HashSet<String>,
    /// Rows parked until the row with this externalId is handed back.
    waiters: HashMap<String, Vec<DesiredUser>>,
    /// Set once every row has been dispatched: rows still parked (managers that
    /// form a cycle) run without waiting.
    no_park: bool,
    /// Final rows folded but not yet handed to the sink (whose `finish` waits for
    /// room in the writer's queue, so only the async entry points send them).
    finished: Vec<LedgerRow>,
}

/// What the dispatcher collected for the batched passes and the report.
pub(super) struct Collected {
    /// Desired group memberships.
    pub groups: GroupPass,
    /// Managers to set after the main pass.
    pub deferred: Vec<DeferredManager>,
    /// A dry run's plan.parquet, still to close.
    pub plan_out: Option<PlanThread>,
    /// A dry run's prediction of the users created without their manager.
    pub forecast: Option<ManagerForecast>,
}

impl Dispatcher {
    /// A dispatcher running at most `limit` rows at once.
    pub fn new(shared: Arc<Shared>, limit: usize, plan_out: Option<PlanThread>) -> Self {
        Dispatcher {
            forecast: shared.dry_run.then(ManagerForecast::default),
            shared,
            tasks: JoinSet::new(),
            limit: limit.max(1),
            groups: GroupPass::default(),
            deferred: Vec::new(),
            plan_out,
            in_flight: HashSet::new(),
            waiters: HashMap::new(),
            no_park: false,
            finished: Vec::new(),
        }
    }

    /// What was collected; call after [`Dispatcher::drain`].
    pub fn into_collected(self) -> Collected {
        debug_assert!(
            self.finished.is_empty(),
            "every folded row was handed to the sink (drain sends them)"
        );
        Collected {
            groups: self.groups,
            deferred: self.deferred,
            plan_out: self.plan_out,
            forecast: self.forecast,
        }
    }

    /// Starts a valid row once a slot is free (folding finished rows meanwhile).
    pub async fn dispatch(&mut self, desired: DesiredUser) {
        self.fold_finished();
        while self.tasks.len() >= self.limit {
            self.join_one().await;
        }
        self.spawn_or_park(desired);
        self.send_finished().await;
    }

    /// Hands the folded rows to the sink, in the order they were folded.
    pub async fn send_finished(&mut self) {
        for row in std::mem::take(&mut self.finished) {
            self.shared.sink.finish(row).await;
        }
    }

    /// Parks the row if its manager is being created by a row still running;
    /// otherwise starts it (or ends it pending once the run stopped).
    fn spawn_or_park(&mut self, desired: DesiredUser) {
        if self.shared.stopped() {
            self.end_pending(&desired);
            return;
        }
        if let Some(m) = manager_external_id(&desired)
            && !self.no_park
            && desired.external_id() != Some(m.as_str())
            && self.in_flight.contains(&m)
            && self.shared.index.read().id_by_external_id(&m).is_none()
        {
            self.waiters.entry(m).or_default().push(desired);
            return;
        }
        let external_id = desired.external_id().map(str::to_string);
        if let Some(x) = &external_id {
            self.in_flight.insert(x.clone());
        }
        let shared = self.shared.clone();
        self.tasks.spawn(async move {
            let executed = if shared.stopped() {
                Executed::only(pending_row(&desired))
            } else {
                execute_one(&shared, &desired).await
            };
            RowResult {
                external_id,
                executed,
            }
        });
    }

    /// A row not attempted because the run stopped; its waiters end the same way.
    fn end_pending(&mut self, desired: &DesiredUser) {
        self.finished.push(pending_row(desired));
        if let Some(x) = desired.external_id() {
            self.release(x);
        }
    }

    /// Starts the rows parked on `external_id`.
    fn release(&mut self, external_id: &str) {
        self.in_flight.remove(external_id);
        for w in self.waiters.remove(external_id).unwrap_or_default() {
            self.spawn_or_park(w);
        }
    }

    /// Folds the rows already handed back, without waiting.
    fn fold_finished(&mut self) {
        while let Some(r) = self.tasks.try_join_next() {
            self.joined(r);
        }
    }

    /// Waits for one row and folds it.
    async fn join_one(&mut self) {
        if let Some(r) = self.tasks.join_next().await {
            self.joined(r);
        }
        self.send_finished().await;
    }

    fn joined(&mut self, r: Result<RowResult, tokio::task::JoinError>) {
        match r {
            Ok(RowResult {
                external_id,
                executed,
            }) => {
                self.fold(executed);
                if let Some(x) = external_id {
                    self.release(&x);
                }
            }
            // A panicked row task is a bug; the row stays unfinished (pending).
            Err(e) => tracing::error!(error = %e, "a row task failed"),
        }
    }

    /// Takes in one row's result: stop on a run-stopping error, collect what the
    /// batched passes need, write the plan line, and queue the row for the sink
    /// ([`Dispatcher::send_finished`]).
    pub fn fold(&mut self, executed: Executed) {
        let Executed {
            row,
            group_user,
            deferred,
            preview,
            error,
            planned_members,
            unresolved_manager,
        } = executed;
        if let Some(f) = self.forecast.as_mut() {
            if let Some(m) = &unresolved_manager {
                f.deferred(row.row, m);
            }
            f.saw(&row);
        }
        if let Some(e) = &error
            && e.stops_run()
        {
            self.shared.stop(e.stop_reason());
        }
        if let Some((user_id, names)) = group_user {
            self.groups.want(user_id, names, row.clone());
        }
        if let Some((user_id, changes)) = planned_members {
            self.groups.planned(user_id, &changes, row.clone());
        }
        if let Some(d) = deferred {
            self.deferred.push(d);
        }
        if let Some(p) = preview
            && let Some(w) = self.plan_out.as_mut()
            && !w.write(p)
        {
            // The writer failed: closing it says why; the run stops rather than
            // leave a plan that silently lacks rows.
            let why = match self.plan_out.take().map(PlanThread::close) {
                Some(Err(e)) => e.to_string(),
                _ => "the writer stopped".into(),
            };
            self.shared
                .stop(format!("cannot write plan.parquet: {why}"));
        }
        self.finished.push(row);
    }

    /// Waits for every row, parked ones included: first the rows released as their
    /// managers finish, then the rows whose managers wait on each other (a cycle),
    /// whose managers the deferred pass sets.
    pub async fn drain(&mut self) {
        while !self.tasks.is_empty() {
            self.join_one().await;
        }
        self.no_park = true;
        let parked: Vec<DesiredUser> = self.waiters.drain().flat_map(|(_, v)| v).collect();
        for d in parked {
            self.spawn_or_park(d);
        }
        self.send_finished().await;
        while !self.tasks.is_empty() {
            self.join_one().await;
        }
    }

    /// A row of a resumed run done before the crash: the batched passes may not
    /// have run for it.
    pub fn recheck_done(&mut self, prepared: &Prepared, prev: &LedgerRow) {
        if let (Ok(desired), Some(id), Some(hook)) =
            (&prepared.result, &prev.scim_id, &self.shared.hook)
            && matches!(prev.outcome, Outcome::Succeeded | Outcome::Skipped)
        {
            // Done before the stop: the caller hears of it as if done now.
            let user = crate::apply::hook::AckUser {
                id: id.clone(),
                version: None,
            };
            hook.acknowledged(desired, prev.action, &user);
        }
        // A saved plan's memberships of a user written before the stop (the group
        // pass leaves out those already in effect).
        if let (Ok(desired), Some(id)) = (&prepared.result, &prev.scim_id)
            && let Some(crate::model::Directive::Planned(w)) = desired.directive.as_deref()
            && let Some(Ok(m)) = w
                .memberships
                .as_deref()
                .map(|t| crate::apply::plan_file::PlannedMemberships::parse(Some(t)))
            && (prev.outcome == Outcome::Succeeded
                || (prev.outcome == Outcome::Skipped && prev.error_kind.is_none()))
        {
            self.groups.planned(id.clone(), &m.changes(), prev.clone());
        }
        if let (Ok(desired), Some(id)) = (&prepared.result, &prev.scim_id)
            && prev.outcome == Outcome::Succeeded
        {
            if let Some(names) = &desired.groups {
                self.groups.want(id.clone(), names.clone(), prev.clone());
            }
            if let Some(m) = manager_external_id(desired) {
                self.deferred.push(DeferredManager {
                    row: prev.clone(),
                    user_id: id.clone(),
                    manager_external_id: m,
                });
            }
        }
    }
}

/// The externalId of the row's manager, when it has one.
pub(super) fn manager_external_id(d: &DesiredUser) -> Option<String> {
    d.manager().map(str::to_string)
}

/// Carries one valid row to its final state.
pub(super) async fn execute_one(shared: &Shared, desired: &DesiredUser) -> Executed {
    let ctx = RowContext {
        api: &shared.api,
        sink: &shared.sink,
        index: &shared.index,
        plan: &shared.plan,
        per_row_lookup: shared.per_row_lookup,
        in_flight: &shared.in_flight,
        dry_run: shared.dry_run,
        hook: shared.hook.as_deref(),
        known: shared.known,
    };
    execute::execute_row(&ctx, desired).await
}

pub(super) use crate::apply::execute::pending_row;
