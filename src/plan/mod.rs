//! Compares a valid desired user with what the tenant holds and decides an action
//! (create, minimal PATCH update, reactivate, deactivate, skip, conflict). Pure: the
//! same inputs give the same plan, so `--dry-run` is `plan` without `apply`.
//!
//! `index` holds the tenant (users, groups, members) and matches rows to users;
//! `diff` computes the minimal PATCH; `decide` turns both into a `Plan` per row;
//! `groups` decides memberships (per row and per group) and builds member PATCHes;
//! `chunk` splits PATCHes to `--max-patch-ops`; `order` puts managers' creates in
//! earlier waves. No I/O here: `apply` sends what the plan says.
//!
//! How an import uses it:
//! 1. Fill a [`TenantIndex`]: groups first (`insert_group`), then users
//!    (`insert_user`, keeping `meta.version`), from a prefetch or from per-row lookups
//!    (look up both externalId and userName so conflicts are seen).
//! 2. Optionally split the rows into [`manager_waves`] so managers are created first.
//! 3. [`plan_user`] per row. `Create` -> POST `user`; `Update`/`Reactivate`/`Deactivate`
//!    -> PATCH `ops` (when not empty) cut by [`chunk_ops`], If-Match chained by version;
//!    `Skip` and `Conflict` send nothing.
//! 4. After each write, `insert_user` the returned user and keep a [`MemberWant`]
//!    (its id, the row's groups). Once every user exists, resolve the wants against
//!    the tenant's groups ([`DesiredMembers`]) and send each group's change as its
//!    [`chunk_members`] PATCHes.
//! 5. Rows with `deferred` managers: plan them again after the creates.
//!
//! ```
//! use scimport::mapping::DesiredUser;
//! use scimport::plan::{Action, PlanOptions, TenantIndex, plan_user};
//! use scimport::scim::model::User;
//!
//! let mut idx = TenantIndex::new();
//! idx.insert_user(User {
//!     id: Some("u1".into()),
//!     external_id: Some("E1".into()),
//!     user_name: Some("ana@example.com".into()),
//!     title: Some("Agent".into()),
//!     ..User::default()
//! });
//! let row = DesiredUser {
//!     row: 1,
//!     user: User {
//!         external_id: Some("E1".into()),
//!         user_name: Some("Ana@Example.com".into()),
//!         title: Some("Lead".into()),
//!         ..User::default()
//!     },
//!     ..DesiredUser::default()
//! };
//! let plan = plan_user(&row, &idx, &PlanOptions::default());
//! let Action::Update(patch) = &plan.action else { panic!("{:?}", plan.action) };
//! assert_eq!(patch.changed, vec!["title"]); // userName differs only by case
//! ```

mod chunk;
mod decide;
mod diff;
mod extension;
mod groups;
mod index;
mod options;
mod order;
mod policy;

#[cfg(test)]
mod tests;

pub use chunk::{DEFAULT_MAX_PATCH_OPS, chunk_ops};
pub use decide::{
    Action, DeferredManager, LimitError, Plan, UserPatch, check_limits, create_body, plan_user,
};
pub use diff::{
    Diff, FieldChange, authority_path, diff_user, manager_of, same_value, typed_path, value_at,
};
pub use groups::{
    DesiredMembers, GroupChange, GroupScope, MEMBERS_PER_ADD, MemberOp, MemberWant,
    MembershipChange, UnknownGroups, chunk_members, member_path, patch_members, plan_memberships,
};
pub use index::{Match, MatchKey, TenantIndex};
pub use options::PlanOptions;
pub use order::manager_waves;
pub use policy::{TargetEdit, reconcile_fields, reconcile_fields_with};
