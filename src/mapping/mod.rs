//! The mapping file (TOML) and its transforms: turns one source record into the
//! desired SCIM user. Pure; never does I/O and does not judge the result (see `validate`).

use crate::scim::model::User;

/// The SCIM user a mapping asks for, for one source row.
///
/// Attributes set in `user` are managed: the planner makes the target match them.
/// Paths in `clear` were blank with `blank = "clear"`: the planner removes them.
/// Anything else is left as the target has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredUser {
    /// 1-based data row.
    pub row: u64,
    /// The desired attributes (only mapped, non-ignored ones are set).
    pub user: User,
    /// Group display names the user must belong to; `None` when groups are not managed.
    pub groups: Option<Vec<String>>,
    /// SCIM paths to remove from the target (blank cells with `clear` semantics).
    pub clear: Vec<String>,
    /// Hex hash of the source row, stable across runs.
    pub source_hash: String,
}

impl DesiredUser {
    /// The externalId key, if mapped.
    pub fn external_id(&self) -> Option<&str> {
        self.user.external_id.as_deref()
    }
    /// The userName key, if mapped.
    pub fn user_name(&self) -> Option<&str> {
        self.user.user_name.as_deref()
    }
}
