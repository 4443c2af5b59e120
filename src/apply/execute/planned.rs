//! Applies one user's writes from a saved plan (`import --plan`) exactly: nothing
//! is planned again. A create whose keys now match a tenant user, or an update of
//! a user whose version is no longer the one the plan saw (seen in the index
//! before sending, or answered by the server to the If-Match), is not applied and
//! not retried: outcome `skipped`, error_kind `plan_stale`. In a resumed run, a
//! write under way when the run stopped (its intent journaled) that the tenant
//! shows done is this run's own: adopted, never sent twice.
//!
//! The user's planned group joins and leaves are read before anything is sent
//! and handed back (with the user's id) once its own write landed, or at once
//! when memberships are all it changes; `apply::groups` sends them after the main
//! pass. A user whose write was stale or failed gets no membership change.

use crate::apply::api::ApiError;
use crate::apply::plan_file::PlannedMemberships;
use crate::ledger::LedgerRow;
use crate::mapping::DesiredUser;
use crate::model::{Action, ErrorKind, Outcome, PlannedWrite};
use crate::plan::{self, Match};
use crate::scim::model::{ManagerRef, PatchOperation, User};

use super::{DeferredManager, Executed, RowContext, create, done, fail, patched};

/// Why a planned write was left alone, in the ledger's words.
fn stale(led: &mut LedgerRow, why: String) {
    led.outcome = Outcome::Skipped;
    led.error_kind = Some(ErrorKind::PlanStale);
    led.error = Some(format!(
        "{why}: not applied (the plan is stale for this user); plan again"
    ));
}

/// A plan row that cannot be read back into a request.
fn undecodable(led: &mut LedgerRow, what: &str, e: serde_json::Error) {
    led.outcome = Outcome::Failed;
    led.error_kind = Some(ErrorKind::Decode);
    led.error = Some(format!("the plan's {what} cannot be read: {e}"));
}

/// Sends `w` for `desired`'s row (its keys were looked up already, when the run
/// looks users up per row) and returns the row's final state.
pub(super) async fn apply_planned(
    ctx: &RowContext<'_>,
    desired: &DesiredUser,
    w: &PlannedWrite,
    mut led: LedgerRow,
) -> Executed {
    led.action = w.action;
    led.scim_id = w.scim_id.clone();
    led.changed_fields = w.changed.iter().map(|p| p.clone().into()).collect();
    let mut out = Executed::only(led.clone());
    // Read before anything is sent: a user's changes apply whole or not at all.
    let members = match w
        .memberships
        .as_deref()
        .map(|t| PlannedMemberships::parse(Some(t)))
        .transpose()
    {
        Ok(m) => m.map(|m| m.changes()).unwrap_or_default(),
        Err(e) => {
            undecodable(&mut led, "membership changes", e);
            out.row = done(led);
            return out;
        }
    };
    let result = match w.action {
        Action::Create => apply_create(ctx, desired, w, &mut led).await,
        Action::Update | Action::Reactivate | Action::Deactivate => {
            apply_patch(ctx, w, &mut led).await
        }
        other => {
            led.outcome = Outcome::Failed;
            led.error_kind = Some(ErrorKind::Decode);
            led.error = Some(format!(
                "a plan does not apply the action {}",
                other.as_str()
            ));
            Ok(())
        }
    };
    match result {
        Ok(()) if led.outcome == Outcome::Pending => led.outcome = Outcome::Succeeded,
        Ok(()) => {}
        Err(e) => {
            fail(&mut led, &e);
            out.error = Some(e);
        }
    }
    // The user's own write landed, or it had none (memberships only).
    let landed = led.outcome == Outcome::Succeeded
        || (led.outcome == Outcome::Skipped && led.error_kind.is_none());
    if landed
        && !members.is_empty()
        && let Some(id) = &led.scim_id
    {
        out.planned_members = Some((id.clone(), members));
    }
    // A manager this plan creates: set by the pass after the creates (which sends
    // nothing when the POST carried it already).
    if landed && let (Some(m), Some(id)) = (&w.manager, &led.scim_id) {
        out.deferred = Some(DeferredManager {
            row: led.clone(),
            user_id: id.clone(),
            manager_external_id: m.clone(),
        });
    }
    out.row = done(led);
    out
}

async fn apply_create(
    ctx: &RowContext<'_>,
    desired: &DesiredUser,
    w: &PlannedWrite,
    led: &mut LedgerRow,
) -> Result<(), ApiError> {
    let found = ctx.index.read().find(desired, &ctx.plan.match_keys);
    match found {
        Match::None => {}
        Match::One(u) if ctx.in_flight.get(&led.row) == Some(&Action::Create) => {
            // This run's own create, sent before it stopped: adopt it, never POST again.
            led.scim_id = u.id.clone();
            led.changed_fields = vec!["adopted".into()];
            return Ok(());
        }
        Match::One(u) => {
            led.scim_id = u.id.clone();
            stale(
                led,
                format!(
                    "a user with its keys was created in the tenant since planning (id {})",
                    u.id.as_deref().unwrap_or("?")
                ),
            );
            return Ok(());
        }
        Match::Conflict { reason, .. } => {
            stale(led, format!("the tenant changed since planning ({reason})"));
            return Ok(());
        }
    }
    let mut body: User = match serde_json::from_str(w.body.as_deref().unwrap_or_default()) {
        Ok(b) => b,
        Err(e) => {
            undecodable(led, "create body", e);
            return Ok(());
        }
    };
    // A manager this plan creates and that exists by now goes in the POST, as a
    // normal import sends it: the planned end state in one call instead of two.
    if let Some(m) = &w.manager
        && let Some(id) = ctx.index.read().id_by_external_id(m)
    {
        body.enterprise.get_or_insert_with(Default::default).manager = Some(ManagerRef {
            value: id.to_string(),
            ..ManagerRef::default()
        });
    }
    decision(ctx, led).await;
    match create(ctx, led, &body).await {
        Ok(id) => {
            led.scim_id = Some(id);
            Ok(())
        }
        Err(e) if e.is_uniqueness() => {
            led.attempts += e.attempts();
            led.http_status = e.status().map(i32::from);
            stale(
                led,
                "the tenant refused the create: a user with its keys exists now".into(),
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

async fn apply_patch(
    ctx: &RowContext<'_>,
    w: &PlannedWrite,
    led: &mut LedgerRow,
) -> Result<(), ApiError> {
    let id = w.scim_id.clone().unwrap_or_default();
    // What the index holds now (prefetched, or this row's lookup): a user gone or
    // at another version changed since planning, and is not sent a PATCH.
    let now = ctx.index.read().user(&id);
    match now {
        None => {
            stale(led, format!("user {id} is no longer in the tenant"));
            return Ok(());
        }
        Some(u) => {
            let seen = u.meta.as_ref().and_then(|m| m.version.clone());
            if let (Some(planned), Some(seen)) = (&w.version, &seen)
                && planned != seen
                && ctx.in_flight.contains_key(&led.row)
            {
                // This run's own PATCH, sent before it stopped, moved the version:
                // adopt it rather than send it again.
                led.changed_fields = vec!["adopted".into()];
                return Ok(());
            }
            if let (Some(planned), Some(seen)) = (&w.version, &seen)
                && planned != seen
            {
                stale(
                    led,
                    format!("user {id} is at version {seen}, the plan saw {planned}"),
                );
                return Ok(());
            }
        }
    }
    let ops: Vec<PatchOperation> = match w.ops.iter().map(|o| serde_json::from_str(o)).collect() {
        Ok(ops) => ops,
        Err(e) => {
            undecodable(led, "PATCH operations", e);
            return Ok(());
        }
    };
    if ops.is_empty() {
        // Only memberships changed: no user PATCH; the group pass sends them.
        led.outcome = Outcome::Skipped;
        return Ok(());
    }
    decision(ctx, led).await;
    if !ctx.sink.intent(led.row, led.action, &id).await {
        return Err(ApiError::CircuitOpen {
            reason: "the journal cannot be written".into(),
        });
    }
    let mut version = w.version.clone();
    for chunk in plan::chunk_ops(ops, ctx.plan.max_patch_ops) {
        match ctx
            .api
            .patch_user(Some(led.row), &id, chunk, version.as_deref())
            .await
        {
            Ok(v) => version = patched(ctx, led, v),
            Err(e) if e.is_version_conflict() || e.is_uniqueness() => {
                led.attempts += e.attempts();
                led.http_status = e.status().map(i32::from);
                stale(
                    led,
                    format!(
                        "user {id} changed in the tenant since planning (the server answered {e})"
                    ),
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The decision, before any write (its outcome is recorded when the row ends).
async fn decision(ctx: &RowContext<'_>, led: &LedgerRow) {
    ctx.sink
        .decision(
            led.row,
            led.action,
            Outcome::Pending,
            &led.changed_fields.join(","),
        )
        .await;
}
