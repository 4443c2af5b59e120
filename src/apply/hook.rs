//! [`RowHook`]: what a caller of the engine (a sync) may add to each row's journey
//! without a copy of it: adjust the desired user once the tenant user it matched is
//! known (conflict policies), and hear which users the tenant acknowledged (the
//! sync's state). The engine calls it; it never sends a call itself.

use crate::mapping::DesiredUser;
use crate::model::{Action, FieldPath};
use crate::plan::TenantIndex;
use crate::scim::model::User;

/// A caller's part in each row.
pub trait RowHook: Send + Sync {
    /// Before a row is planned, with the tenant user it matched (`None` when none
    /// matched): may change the desired user. `fresh` is true when that user was
    /// read from the tenant, false when it is the caller's own copy (a sync's
    /// state). Returns a note for the ledger when it found something to report
    /// (`error_kind = target_edited`).
    fn before_plan(
        &self,
        _desired: &mut DesiredUser,
        _tenant: Option<&User>,
        _fresh: bool,
    ) -> Option<String> {
        None
    }

    /// Whether a change planned against the caller's own copy of the user touches
    /// `changed` paths that need the tenant's own value first (a field whose
    /// conflict policy keeps edits made in the tenant): the engine then reads the
    /// user, asks [`RowHook::before_plan`] again with it, and plans again.
    fn wants_fresh(&self, _desired: &DesiredUser, _changed: &[FieldPath]) -> bool {
        false
    }

    /// A row's user as the tenant acknowledged it: after its writes succeeded, or
    /// when it was already equal. `user` is the tenant's user as the run last saw
    /// it (its id and `meta.version`).
    fn acknowledged(&self, _desired: &DesiredUser, _action: Action, _user: &AckUser) {}

    /// The run's writes are over (batched passes included): the tenant as the run
    /// last saw it, for versions that changed after a row was acknowledged (a
    /// manager set in the pass after the creates).
    fn finished(&self, _index: &TenantIndex) {}
}

/// The tenant's user as a hook hears of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckUser {
    /// The user's id.
    pub id: String,
    /// Its `meta.version` (the ETag a next PATCH sends as If-Match), when known.
    pub version: Option<String>,
}
