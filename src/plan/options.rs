//! [`PlanOptions`]: how the planner decides (match keys, PATCH size, kept roles,
//! length and list limits, which groups' memberships it may change).
//!
//! Plain configuration, resolved once by the caller; read by `decide` and `diff`.

use std::collections::BTreeMap;

use super::groups::GroupScope;
use super::index::MatchKey;

/// How to plan: match keys, limits, role and group rules.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// Keys a row is matched on, in order (default externalId then userName).
    pub match_keys: Vec<MatchKey>,
    /// Most operations in one PATCH (`--max-patch-ops`, default 50).
    pub max_patch_ops: usize,
    /// Roles the tenant grants by default that a mapping never removes (`employee`).
    pub kept_roles: Vec<String>,
    /// Maximum characters per attribute, keyed by attribute name (`userName`, `title`,
    /// `name.givenName`, `emails`, `phoneNumbers`, `roles`, `department`, `division`,
    /// `employeeNumber`, `routingSkills`, `routingLanguages`, ...). Unlisted: no limit.
    pub max_lengths: BTreeMap<String, usize>,
    /// Most routing skills / languages per user (Genesys: 50).
    pub max_list_entries: usize,
    /// Which groups' memberships the import may remove.
    pub managed_groups: GroupScope,
    /// Create a group a row names that the tenant lacks (`--create-groups`, generic
    /// profile) instead of failing the row with `unknown_group`.
    pub create_groups: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            match_keys: vec![MatchKey::ExternalId, MatchKey::UserName],
            max_patch_ops: super::chunk::DEFAULT_MAX_PATCH_OPS,
            kept_roles: vec!["employee".into()],
            max_lengths: BTreeMap::new(),
            max_list_entries: 50,
            managed_groups: GroupScope::All,
            create_groups: false,
        }
    }
}
