//! plan.parquet: a dry run's plan as a file people review (DuckDB, pyarrow) and
//! `import --plan` applies exactly.
//!
//! One Parquet row per planned field change of an update, reactivate or
//! deactivate (with the PATCH operation that makes it and the version the plan
//! saw), one row per create (its POST body in `after`), nothing for a row that
//! changes nothing or must not be applied (the ledger keeps those). The footer's
//! key-value metadata records the SHA-256 of the input and of the mapping, the
//! mapping itself, and a SHA-256 of the rows in a canonical form ([`ContentHash`]),
//! so that apply refuses a plan altered after review.
//!
//! `writer` streams rows out in row groups (bounded memory), on a thread of its
//! own during a run (`thread`); `reader` reads the
//! rows back, one planned user at a time, checking the content hash. Deciding
//! what to plan is `plan`'s; sending it is `execute`'s.

mod hash;
mod members;
mod reader;
mod schema;
mod thread;
mod writer;

#[cfg(test)]
mod tests;

pub use hash::ContentHash;
pub use members::{PlannedGroup, PlannedMemberships};
pub use reader::{PlanFile, PlanFileError, PlanReader, verify};
pub use thread::PlanThread;
pub use writer::{PlanOrigin, PlanTally, PlanWriter, PlanWritten};

use crate::model::Action;

/// The file's name in a run directory.
pub const PLAN_FILE: &str = "plan.parquet";

/// Metadata key: the format version of the file.
pub const META_FORMAT: &str = "scimport.plan.format";
/// Metadata key: the run that planned it.
pub const META_RUN_ID: &str = "scimport.plan.run_id";
/// Metadata key: SHA-256 of the rows in canonical form.
pub const META_SHA256: &str = "scimport.plan.sha256";
/// Metadata key: how many rows the file holds.
pub const META_ROWS: &str = "scimport.plan.rows";
/// Metadata key: SHA-256 of the input file when planned (empty for stdin or a fed source).
pub const META_INPUT_SHA256: &str = "scimport.plan.input_sha256";
/// Metadata key: SHA-256 of the mapping file when planned.
pub const META_MAPPING_SHA256: &str = "scimport.plan.mapping_sha256";
/// Metadata key: the mapping file's text as planned (apply matches users by its keys).
pub const META_MAPPING: &str = "scimport.plan.mapping";
/// Metadata key: the input file's path as planned.
pub const META_INPUT: &str = "scimport.plan.input";
/// Metadata key: the mapping file's path as planned.
pub const META_MAPPING_PATH: &str = "scimport.plan.mapping_path";

/// The format version this build writes and reads.
pub const FORMAT_VERSION: &str = "1";

/// One planned change of an existing user: a readable `before`/`after` and the
/// PATCH operation (JSON) that makes it. A group membership change (path
/// `groups`) holds the user's joins and leaves instead ([`PlannedMemberships`]);
/// a manager created by the same plan has no op (set by externalId once it
/// exists, as a normal import does). A create may carry both.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedChange {
    /// The SCIM path changed (`groups` for memberships).
    pub path: String,
    /// The tenant's value when planned, rendered; `None` when absent.
    pub before: Option<String>,
    /// The planned value, rendered; `None` when removed.
    pub after: Option<String>,
    /// The PATCH operation as JSON; for a membership change, the
    /// [`PlannedMemberships`] as JSON; `None` for a deferred manager.
    pub op: Option<String>,
}

/// The path of a group membership change (its op is a [`PlannedMemberships`],
/// sent by the group pass after the users' own writes).
pub const GROUPS_PATH: &str = "groups";

impl PlannedChange {
    /// A group membership change (whose op, if any, is no user PATCH operation).
    pub fn is_membership(&self) -> bool {
        self.path == GROUPS_PATH
    }

    /// A manager the dry run could not resolve yet (created by the same plan):
    /// `after` is the manager's externalId, set once the plan's creates are done.
    pub fn is_deferred_manager(&self) -> bool {
        self.op.is_none()
            && self
                .path
                .strip_prefix(crate::scim::model::SCHEMA_ENTERPRISE)
                .is_some_and(|rest| rest == ":manager")
    }
}

/// Everything planned for one user: what plan.parquet holds for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedUser {
    /// The input row; `None` for a sync's leaver.
    pub row: Option<u64>,
    /// Its externalId.
    pub external_id: Option<String>,
    /// Its userName.
    pub user_name: Option<String>,
    /// Create, update, reactivate or deactivate.
    pub action: Action,
    /// The tenant user's id (not for a create).
    pub scim_id: Option<String>,
    /// The user's `meta.version` the plan saw (If-Match on apply).
    pub version: Option<String>,
    /// A create's POST body (JSON, only the fields it sets).
    pub body: Option<String>,
    /// An update's changes, one per PATCH operation (plus memberships).
    pub changes: Vec<PlannedChange>,
    /// How many fields a create sets (for the printed preview; not stored).
    pub fields: usize,
}

impl PlannedUser {
    /// The user's PATCH operations, in order (parsed from the `op` column; a
    /// membership change is not one).
    pub fn ops(&self) -> Result<Vec<crate::scim::model::PatchOperation>, serde_json::Error> {
        self.changes
            .iter()
            .filter(|c| !c.is_membership())
            .filter_map(|c| c.op.as_deref())
            .map(serde_json::from_str)
            .collect()
    }

    /// Whether the user's changes include group memberships.
    pub fn has_memberships(&self) -> bool {
        self.changes.iter().any(PlannedChange::is_membership)
    }

    /// The user's planned membership changes (`None` when there are none).
    pub fn memberships(&self) -> Result<Option<PlannedMemberships>, serde_json::Error> {
        self.changes
            .iter()
            .find(|c| c.is_membership())
            .map(|c| PlannedMemberships::parse(c.op.as_deref()))
            .transpose()
    }

    /// The externalId of a manager to set once the plan's creates are done.
    pub fn deferred_manager(&self) -> Option<&str> {
        self.changes
            .iter()
            .find(|c| c.is_deferred_manager())
            .and_then(|c| c.after.as_deref())
    }
}
