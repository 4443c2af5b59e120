//! What a caller of the engine (a sync) adds to one row's execution: settling a
//! row it decided itself, retiring a re-created account's old user first, telling
//! its hook which tenant user a row became, and, when the caller's index did not
//! come from the tenant, adopting a user whose create was refused as a duplicate.

use serde_json::json;

use super::{Executed, MAX_VERSION_RETRIES, RowContext, done, pending_row, update};
use crate::apply::api::ApiError;
use crate::apply::hook::AckUser;
use crate::apply::lookup;
use crate::ledger::LedgerRow;
use crate::mapping::DesiredUser;
use crate::model::{Action, Directive, ErrorKind, Outcome};
use crate::plan;
use crate::scim::model::{PatchOperation, User};

/// Tells the hook which tenant user the row now is.
pub(super) fn acknowledge(ctx: &RowContext<'_>, desired: &DesiredUser, action: Action, id: &str) {
    if let Some(hook) = ctx.hook {
        let version = ctx
            .index
            .read()
            .user(id)
            .and_then(|u| u.meta.as_ref().and_then(|m| m.version.clone()));
        let user = AckUser {
            id: id.to_string(),
            version,
        };
        hook.acknowledged(desired, action, &user);
    }
}

/// The tenant user the row matches, if exactly one.
pub(super) fn matched(ctx: &RowContext<'_>, desired: &DesiredUser) -> Option<User> {
    match ctx.index.read().find(desired, &ctx.plan.match_keys) {
        plan::Match::One(u) => Some(*u),
        _ => None,
    }
}

/// A row the caller settled: it ends as the directive says, with no call.
pub(super) async fn settle(ctx: &RowContext<'_>, desired: &DesiredUser) -> Executed {
    let mut led = pending_row(desired);
    if let Some(Directive::Settle {
        action,
        outcome,
        kind,
        reason,
        scim_id,
    }) = desired.directive.as_deref()
    {
        led.action = *action;
        led.outcome = *outcome;
        led.error_kind = Some(*kind);
        led.error = Some(reason.clone());
        led.scim_id = scim_id.clone();
        if !ctx.dry_run {
            ctx.sink
                .decision(led.row, led.action, led.outcome, kind.as_str())
                .await;
        }
    }
    Executed::only(done(led))
}

/// A user to retire: its keys move to these tombstones.
pub(super) struct Tombstone<'a> {
    pub(super) id: &'a str,
    pub(super) version: Option<&'a str>,
    pub(super) user_name: &'a str,
    pub(super) external_id: Option<&'a str>,
}

/// Sets the user inactive and moves its keys aside (one PATCH, If-Match), so that
/// the row's create may take them.
pub(super) async fn retire(
    ctx: &RowContext<'_>,
    led: &mut LedgerRow,
    t: &Tombstone<'_>,
) -> Result<(), ApiError> {
    if !ctx.sink.intent(led.row, Action::Deactivate, t.id).await {
        return Err(ApiError::CircuitOpen {
            reason: "the journal cannot be written".into(),
        });
    }
    let mut ops = vec![
        PatchOperation::replace("active", json!(false)),
        PatchOperation::replace("userName", json!(t.user_name)),
    ];
    if let Some(x) = t.external_id {
        ops.push(PatchOperation::replace("externalId", json!(x)));
    }
    let mut version = t.version.map(str::to_string);
    for attempt in 0..=MAX_VERSION_RETRIES {
        match ctx
            .api
            .patch_user(Some(led.row), t.id, ops.clone(), version.as_deref())
            .await
        {
            Ok(v) => {
                led.attempts += v.attempts;
                led.latency_ms += v.latency_ms;
                ctx.index.write().insert_user(v.value);
                return Ok(());
            }
            Err(e) if e.is_version_conflict() && attempt < MAX_VERSION_RETRIES => {
                led.attempts += e.attempts();
                let fresh = ctx.api.get_user(Some(led.row), t.id).await?;
                led.attempts += fresh.attempts;
                version = fresh.etag.clone();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A create the tenant refused because the user exists: look the row up, plan it
/// again against what was found, and carry that plan out.
pub(super) async fn again(
    ctx: &RowContext<'_>,
    led: &mut LedgerRow,
    desired: &DesiredUser,
) -> Result<String, ApiError> {
    lookup::lookup_row(ctx.api, ctx.index, desired).await?;
    let replanned = plan::plan_user(desired, &ctx.index.read(), ctx.plan);
    led.action = replanned.action.kind();
    led.changed_fields = replanned.changed_fields();
    match &replanned.action {
        plan::Action::Update(p) | plan::Action::Reactivate(p) | plan::Action::Deactivate(p) => {
            update(ctx, led, desired, p).await
        }
        plan::Action::Skip { id: Some(id), .. } => {
            led.outcome = Outcome::Skipped;
            Ok(id.clone())
        }
        plan::Action::Conflict { kind, reason } => Err(ApiError::Refused {
            kind: *kind,
            reason: reason.clone(),
        }),
        _ => Err(ApiError::Refused {
            kind: ErrorKind::Uniqueness,
            reason: "the tenant refused the create as a duplicate, and no user with the row's keys was found".into(),
        }),
    }
}
