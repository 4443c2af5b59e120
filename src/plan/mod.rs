//! Compares a valid desired user with what the tenant holds and decides an action
//! (create, minimal PATCH update, reactivate, deactivate, skip, conflict). Pure: the
//! same inputs give the same plan, so `--dry-run` is `plan` without `apply`.
//!
//! `index` holds the tenant (users, groups, members) and matches rows to users;
//! `diff` computes the minimal PATCH; `decide` turns both into a `Plan` per row;
//! `groups` plans memberships and batches member PATCHes; `chunk` splits PATCHes to
//! `--max-patch-ops`. No I/O here: `apply` sends what the plan says.

mod chunk;
mod decide;
mod diff;
mod groups;
mod index;

#[cfg(test)]
mod tests;

pub use chunk::{DEFAULT_MAX_PATCH_OPS, chunk_ops};
pub use decide::{
    Action, DeferredManager, Plan, PlanOptions, UserPatch, check_limits, create_body, plan_user,
};
pub use diff::{Diff, FieldChange, authority_path, diff_user, typed_path};
pub use groups::{
    GroupChange, GroupChanges, GroupScope, MemberOp, MembershipChange, UnknownGroups,
    chunk_members, plan_memberships,
};
pub use index::{Match, MatchKey, TenantIndex};
