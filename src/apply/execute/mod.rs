//! Executes one row: optional per-row lookup, plan, then the write(s) the plan asks
//! for, with If-Match and re-read-and-re-diff on a version conflict. Returns the
//! row's ledger state; the caller hands it to the sink.

use parking_lot::RwLock;
use serde_json::json;

use crate::apply::api::{Api, ApiError};
use crate::apply::hook::RowHook;
use crate::apply::lookup;
use crate::apply::sink::RunSink;
use crate::ledger::LedgerRow;
use crate::mapping::DesiredUser;
use crate::model::ErrorKind;
use crate::model::{Action, Directive, Outcome};

mod caller;
mod planned;
use crate::plan::{self, PlanOptions, TenantIndex};
use crate::scim::model::{PatchOperation, SCHEMA_ENTERPRISE, User};
use caller::{Tombstone, acknowledge, again, matched, retire, settle};

/// Version conflicts re-read and re-diffed before the row fails.
const MAX_VERSION_RETRIES: u32 = 3;

/// What a row task needs.
pub struct RowContext<'a> {
    /// The API façade.
    pub api: &'a Api,
    /// The run's sink (intents and decisions).
    pub sink: &'a RunSink,
    /// The tenant index (prefetched, or filled by lookups).
    pub index: &'a RwLock<TenantIndex>,
    /// Planner options.
    pub plan: &'a PlanOptions,
    /// Look each row up with filters instead of a prefetched index.
    pub per_row_lookup: bool,
    /// Plan only.
    pub dry_run: bool,
    /// Writes under way when a resumed run stopped, by row.
    pub in_flight: &'a std::collections::HashMap<u64, Action>,
    /// The caller's part in each row.
    pub hook: Option<&'a dyn RowHook>,
    /// The index is the caller's (a sync's state), not read from the tenant: a
    /// create refused because the user exists looks it up and plans again.
    pub known: bool,
}

/// A manager to set once the manager's user exists (created later in the run).
#[derive(Debug, Clone)]
pub struct DeferredManager {
    /// The row's ledger state so far.
    pub row: LedgerRow,
    /// The user to patch.
    pub user_id: String,
    /// The manager's externalId.
    pub manager_external_id: String,
}

/// The result of one row.
pub struct Executed {
    /// The row's final ledger state (before batched passes).
    pub row: LedgerRow,
    /// The user id and desired group names, when groups are managed and the user exists.
    pub group_user: Option<(String, Vec<String>)>,
    /// A manager to set after the main pass.
    pub deferred: Option<DeferredManager>,
    /// What a dry run plans for the row's user, for plan.parquet (`None` for a
    /// row that changes nothing or must not be applied).
    pub preview: Option<crate::apply::plan_file::PlannedUser>,
    /// The API error that ended the row, if any.
    pub error: Option<ApiError>,
    /// A saved plan's membership changes for this user (its id), for the group pass.
    pub planned_members: Option<(String, Vec<plan::MembershipChange>)>,
    /// A dry run's row planned without its manager, which the tenant lacks: the
    /// manager's externalId (see `apply::forecast`).
    pub unresolved_manager: Option<String>,
}

impl Executed {
    /// A result holding only the row's ledger state.
    pub fn only(row: LedgerRow) -> Self {
        Executed {
            row,
            group_user: None,
            deferred: None,
            preview: None,
            error: None,
            planned_members: None,
            unresolved_manager: None,
        }
    }
}

/// Runs one valid row to its final state; the row's `wait_ms` is its time not
/// spent in its own calls.
pub async fn execute_row(ctx: &RowContext<'_>, desired: &DesiredUser) -> Executed {
    let started = std::time::Instant::now();
    let mut out = execute_row_inner(ctx, desired).await;
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    out.row.wait_ms = (wall - out.row.latency_ms).max(0.0);
    out
}

async fn execute_row_inner(ctx: &RowContext<'_>, desired: &DesiredUser) -> Executed {
    if let Some(Directive::Settle { .. }) = desired.directive.as_deref() {
        return settle(ctx, desired).await;
    }
    let adjusted;
    let mut desired = desired;
    let mut led = pending_row(desired);
    let mut out = Executed::only(led.clone());

    if ctx.per_row_lookup
        && let Err(e) = lookup::lookup_row(ctx.api, ctx.index, desired).await
    {
        fail(&mut led, &e);
        out.error = Some(e);
        out.row = done(led);
        return out;
    }

    if let Some(Directive::Planned(w)) = desired.directive.as_deref() {
        return planned::apply_planned(ctx, desired, w, led).await;
    }

    if ctx.plan.create_groups
        && !ctx.dry_run
        && let Err(e) =
            crate::apply::create_groups::ensure_groups(ctx.api, ctx.index, desired).await
    {
        fail(&mut led, &e);
        out.error = Some(e);
        out.row = done(led);
        return out;
    }

    if let Some(Directive::Retire {
        id,
        version,
        user_name,
        external_id,
    }) = desired.directive.as_deref()
        && !ctx.dry_run
    {
        let tomb = Tombstone {
            id,
            version: version.as_deref(),
            user_name,
            external_id: external_id.as_deref(),
        };
        if let Err(e) = retire(ctx, &mut led, &tomb).await {
            fail(&mut led, &e);
            out.error = Some(e);
            out.row = done(led);
            return out;
        }
    }

    let original = desired;
    let mut note = None;
    if let Some(hook) = ctx.hook {
        let tenant = matched(ctx, desired);
        let mut changed = desired.clone();
        note = hook.before_plan(&mut changed, tenant.as_ref(), !ctx.known);
        adjusted = changed;
        desired = &adjusted;
    }

    let mut planned = plan::plan_user(desired, &ctx.index.read(), ctx.plan);
    // Planned against the caller's copy, a change to a field whose policy keeps
    // edits made in the tenant needs the tenant's own value: read it, plan again.
    let refreshed;
    if let (Some(hook), Some(p)) = (ctx.hook, planned.action.patch())
        && ctx.known
        && !ctx.dry_run
        && hook.wants_fresh(original, &planned.changed_fields())
    {
        match ctx.api.get_user(Some(led.row), &p.id).await {
            Ok(fresh) => {
                led.attempts += fresh.attempts;
                led.latency_ms += fresh.latency_ms;
                let mut user = fresh.value;
                if user
                    .meta
                    .as_ref()
                    .and_then(|m| m.version.as_ref())
                    .is_none()
                {
                    user.meta.get_or_insert_with(Default::default).version = fresh.etag;
                }
                ctx.index.write().insert_user(user.clone());
                let mut again = original.clone();
                note = hook.before_plan(&mut again, Some(&user), true);
                refreshed = again;
                desired = &refreshed;
                planned = plan::plan_user(desired, &ctx.index.read(), ctx.plan);
            }
            Err(e) => {
                fail(&mut led, &e);
                out.error = Some(e);
                out.row = done(led);
                return out;
            }
        }
    }
    led.changed_fields = planned.changed_fields();
    led.action = planned.action.kind();
    led.scim_id = planned.action.id().map(str::to_string);
    if matches!(desired.directive.as_deref(), Some(Directive::Retire { .. })) {
        led.changed_fields.push("replaced".into());
        if ctx.dry_run {
            // The user would be retired first, so the row is a create.
            led.action = Action::Create;
        }
    }
    if let Some(n) = note {
        led.error_kind = Some(ErrorKind::TargetEdited);
        led.error = Some(n);
    }
    // Not an unchanged user: there is no user (a leaver never created).
    if planned.action.is_inactive_absent() {
        led.error_kind = Some(ErrorKind::InactiveAbsent);
        led.error = Some("inactive in the source and not in the tenant: not created".into());
    }
    if let plan::Action::Conflict { kind, reason } = &planned.action {
        led.outcome = Outcome::Failed;
        led.error_kind = Some(*kind);
        led.error = Some(reason.clone());
    }
    if ctx.dry_run {
        if led.outcome != Outcome::Failed {
            led.outcome = Outcome::Skipped;
        }
        if led.outcome != Outcome::Failed {
            out.preview = planned_user(&led, &planned);
            out.unresolved_manager = planned.deferred.map(|d| d.manager_external_id);
        }
        out.row = done(led);
        return out;
    }
    if led.outcome == Outcome::Failed {
        out.row = done(led);
        return out;
    }
    // The decision, before any write (its outcome is recorded when the row ends).
    ctx.sink
        .decision(
            led.row,
            led.action,
            Outcome::Pending,
            &led.changed_fields.join(","),
        )
        .await;
    let result = match &planned.action {
        plan::Action::Conflict { .. } => unreachable_conflict(),
        plan::Action::Skip { id, .. } => match ctx.in_flight.get(&led.row) {
            // The write before the crash went through: adopt it, do not redo it.
            Some(intended) if *intended != Action::Skip => {
                led.action = *intended;
                led.changed_fields = vec!["adopted".into()];
                Ok(id.clone())
            }
            _ => {
                led.outcome = Outcome::Skipped;
                Ok(id.clone())
            }
        },
        plan::Action::Create { user } => match create(ctx, &mut led, user).await {
            Err(e) if ctx.known && e.is_uniqueness() => {
                // The state did not know this user: find it and plan again.
                led.attempts += e.attempts();
                again(ctx, &mut led, desired).await.map(Some)
            }
            other => other.map(Some),
        },
        plan::Action::Update(p) | plan::Action::Reactivate(p) | plan::Action::Deactivate(p) => {
            update(ctx, &mut led, desired, p).await.map(Some)
        }
    };
    match result {
        Ok(id) => {
            if led.outcome == Outcome::Pending {
                led.outcome = Outcome::Succeeded;
            }
            if let Some(id) = id {
                led.scim_id = Some(id.clone());
                acknowledge(ctx, desired, led.action, &id);
                if let Some(mgr) = &planned.deferred {
                    out.deferred = Some(DeferredManager {
                        row: led.clone(),
                        user_id: id.clone(),
                        manager_external_id: mgr.manager_external_id.clone(),
                    });
                }
                if let Some(names) = &desired.groups {
                    out.group_user = Some((id, names.clone()));
                }
            }
        }
        Err(e) => {
            fail(&mut led, &e);
            out.error = Some(e);
        }
    }
    out.row = done(led);
    out
}

fn unreachable_conflict() -> Result<Option<String>, ApiError> {
    // Conflicts returned above; kept total so the match needs no panic.
    Ok(None)
}

/// What plan.parquet holds for a dry run's row: a create's POST body, or an
/// update's changes each with the PATCH operation that makes it (`changes[i]`
/// describes `ops[i]`; a membership change, last, holds the joins and leaves).
/// `None` for a row that sends nothing.
fn planned_user(
    led: &LedgerRow,
    planned: &plan::Plan,
) -> Option<crate::apply::plan_file::PlannedUser> {
    use crate::apply::plan_file::{PlannedChange, PlannedMemberships, PlannedUser};
    let mut user = PlannedUser {
        row: crate::model::input_row(led.row),
        external_id: led.external_id.clone(),
        user_name: led.user_name.clone(),
        action: planned.action.kind(),
        scim_id: None,
        version: None,
        body: None,
        changes: Vec::new(),
        fields: planned.changes.len(),
    };
    match &planned.action {
        plan::Action::Create { user: body } => {
            user.body = Some(to_json(body.as_ref()));
            user.changes = planned
                .changes
                .iter()
                .filter(|c| c.path == crate::apply::plan_file::GROUPS_PATH)
                .map(|c| PlannedChange {
                    path: c.path.to_string(),
                    before: c.before.clone(),
                    after: c.after.clone(),
                    op: None,
                })
                .collect();
        }
        plan::Action::Update(p) | plan::Action::Reactivate(p) | plan::Action::Deactivate(p) => {
            user.scim_id = Some(p.id.clone());
            user.version = p.version.clone();
            let n = planned.changes.len().max(p.ops.len());
            user.changes = (0..n)
                .map(|i| {
                    let op = p.ops.get(i);
                    let c = planned.changes.get(i);
                    PlannedChange {
                        path: c
                            .map(|c| c.path.to_string())
                            .unwrap_or_else(|| op.and_then(|o| o.path.clone()).unwrap_or_default()),
                        before: c.and_then(|c| c.before.clone()),
                        after: c.and_then(|c| c.after.clone()),
                        op: op.map(to_json),
                    }
                })
                .collect();
        }
        // Up to date but for a manager this plan creates: the pass after the
        // creates sets it, as in a normal import (an update with no PATCH op).
        plan::Action::Skip { id: Some(id), .. } if planned.deferred.is_some() => {
            user.action = Action::Update;
            user.scim_id = Some(id.clone());
        }
        plan::Action::Skip { .. } | plan::Action::Conflict { .. } => return None,
    }
    // The membership change's op: the exact joins and leaves `--plan` sends.
    for c in user.changes.iter_mut().filter(|c| c.is_membership()) {
        c.op = Some(PlannedMemberships::from_changes(&planned.memberships).to_json());
    }
    if let Some(d) = &planned.deferred {
        user.changes.push(PlannedChange {
            path: format!("{SCHEMA_ENTERPRISE}:manager"),
            before: None,
            after: Some(d.manager_external_id.clone()),
            op: None,
        });
    }
    Some(user)
}

/// JSON of the wire model (strings, numbers, maps: serialising cannot fail).
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn done(mut led: LedgerRow) -> LedgerRow {
    led.finished_at = chrono::Utc::now();
    led
}

/// Records an API error on the row: pending when the run stops (the row was not
/// really attempted), failed otherwise.
fn fail(led: &mut LedgerRow, e: &ApiError) {
    if e.stops_run() {
        led.outcome = Outcome::Pending;
    } else {
        led.outcome = Outcome::Failed;
    }
    led.error_kind = Some(e.kind());
    led.error = Some(e.to_string());
    if let Some(s) = e.status() {
        led.http_status = Some(i32::from(s));
    }
    led.attempts += e.attempts();
}

async fn create(
    ctx: &RowContext<'_>,
    led: &mut LedgerRow,
    user: &User,
) -> Result<String, ApiError> {
    let key = led
        .external_id
        .clone()
        .or_else(|| led.user_name.clone())
        .unwrap_or_default();
    if !ctx.sink.intent(led.row, Action::Create, &key).await {
        return Err(ApiError::CircuitOpen {
            reason: "the journal cannot be written".into(),
        });
    }
    let created = ctx.api.create_user(Some(led.row), user).await?;
    let v = created.user;
    led.http_status = Some(i32::from(v.status));
    led.attempts += v.attempts;
    led.latency_ms += v.latency_ms;
    let id = v.value.id.clone().unwrap_or_default();
    if created.adopted {
        led.changed_fields.push("adopted".into());
    }
    ctx.index.write().insert_user(v.value);
    Ok(id)
}

async fn update(
    ctx: &RowContext<'_>,
    led: &mut LedgerRow,
    desired: &DesiredUser,
    patch: &plan::UserPatch,
) -> Result<String, ApiError> {
    let id = patch.id.as_str();
    let mut version = patch.version.clone();
    let mut ops = patch.ops.clone();
    if ops.is_empty() {
        return Ok(id.to_string());
    }
    if !ctx.sink.intent(led.row, led.action, id).await {
        return Err(ApiError::CircuitOpen {
            reason: "the journal cannot be written".into(),
        });
    }
    if version.is_none() && ctx.known {
        // The caller's index lacks the version: read it, never PATCH blind.
        let fresh = ctx.api.get_user(Some(led.row), id).await?;
        led.attempts += fresh.attempts;
        led.latency_ms += fresh.latency_ms;
        version = fresh.etag.clone();
    }
    let mut conflicts = 0;
    'outer: loop {
        for chunk in plan::chunk_ops(ops.clone(), ctx.plan.max_patch_ops) {
            match ctx
                .api
                .patch_user(Some(led.row), id, chunk, version.as_deref())
                .await
            {
                Ok(v) => version = patched(ctx, led, v),
                Err(e) if e.is_version_conflict() && conflicts < MAX_VERSION_RETRIES => {
                    conflicts += 1;
                    led.attempts += e.attempts();
                    // Someone else changed the user: re-read and re-diff from scratch.
                    let fresh = ctx.api.get_user(Some(led.row), id).await?;
                    led.attempts += fresh.attempts;
                    led.latency_ms += fresh.latency_ms;
                    version = fresh.etag.clone();
                    ctx.index.write().insert_user(fresh.value.clone());
                    let replanned = plan::plan_user(desired, &ctx.index.read(), ctx.plan);
                    ops = replanned
                        .action
                        .patch()
                        .map(|p| p.ops.clone())
                        .unwrap_or_default();
                    if ops.is_empty() {
                        break 'outer;
                    }
                    continue 'outer;
                }
                Err(e) => return Err(e),
            }
        }
        break;
    }
    Ok(id.to_string())
}

/// Records a PATCH's answer on the row and in the index; returns the version the
/// next PATCH of the same user carries as If-Match.
fn patched(
    ctx: &RowContext<'_>,
    led: &mut LedgerRow,
    v: crate::apply::api::Versioned<User>,
) -> Option<String> {
    led.http_status = Some(i32::from(v.status));
    led.attempts += v.attempts;
    led.latency_ms += v.latency_ms;
    let version = v
        .etag
        .clone()
        .or_else(|| v.value.meta.as_ref().and_then(|m| m.version.clone()));
    ctx.index.write().insert_user(v.value);
    version
}

/// The warning kind of a user written without its manager.
pub const MANAGER_UNRESOLVED: &str = "manager_unresolved";

/// Rows changed by the batched passes after the main pass, by row: each pass starts
/// from the row's latest state so that one pass never undoes another's verdict.
pub type Revisions = std::collections::HashMap<u64, LedgerRow>;

/// Sets managers that could not be resolved during the main pass (the manager was
/// created later in the run). Returns how many were set; changed rows go to `revised`.
pub async fn set_deferred_managers(
    api: &Api,
    index: &RwLock<TenantIndex>,
    deferred: Vec<DeferredManager>,
    revised: &mut Revisions,
) -> u64 {
    let mut set = 0;
    for d in deferred {
        let manager_id = index
            .read()
            .id_by_external_id(&d.manager_external_id)
            .map(str::to_string);
        let current = index
            .read()
            .user(&d.user_id)
            .and_then(|u| crate::plan::manager_of(&u).map(str::to_string));
        if manager_id.is_some() && current == manager_id {
            continue;
        }
        let mut led = revised.remove(&d.row.row).unwrap_or_else(|| d.row.clone());
        let Some(manager_id) = manager_id else {
            // The user's own write landed: the row succeeded, without its manager
            // (terminated, invalid or absent in the source, and not in the tenant).
            // A later run links it once the manager exists.
            led.warning = Some(format!(
                "{MANAGER_UNRESOLVED}: manager {} is not in the tenant (it is terminated, invalid or \
                 absent in the source); the user was written without it, and a later run links \
                 it once the manager exists",
                d.manager_external_id
            ));
            revised.insert(led.row, done(led));
            continue;
        };
        let op = PatchOperation::replace(
            format!("{SCHEMA_ENTERPRISE}:manager"),
            json!({ "value": manager_id }),
        );
        match api
            .patch_user(Some(d.row.row), &d.user_id, vec![op], None)
            .await
        {
            Ok(v) => {
                led.attempts += v.attempts;
                led.latency_ms += v.latency_ms;
                led.http_status = Some(i32::from(v.status));
                led.changed_fields
                    .push(format!("{SCHEMA_ENTERPRISE}:manager").into());
                index.write().insert_user(v.value);
                set += 1;
            }
            Err(e) => fail(&mut led, &e),
        }
        revised.insert(led.row, done(led));
    }
    set
}

/// The ledger state of a row not attempted (the run stopped first).
pub(crate) fn pending_row(d: &DesiredUser) -> LedgerRow {
    LedgerRow::without_call(
        d.row,
        d.external_id().map(str::to_string),
        d.user_name().map(str::to_string),
        Action::None,
        Outcome::Pending,
        d.source_hash.clone(),
    )
}
