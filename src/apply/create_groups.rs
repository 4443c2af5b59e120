//! `--create-groups` (generic profile): before a row is planned, creates the groups
//! it names that the tenant lacks (one POST per group, however many rows name it)
//! and adds them to the tenant index, so planning sees them. Without the flag a
//! missing group stays a row error (`unknown_group`, decided by `plan`).
//!
//! Does not manage memberships (`apply::groups`) and never runs in a dry run.

use parking_lot::RwLock;

use crate::apply::api::{Api, ApiError};
use crate::mapping::DesiredUser;
use crate::plan::TenantIndex;

/// Names `desired` asks for that `index` lacks, in input order, without repeats.
fn missing(desired: &DesiredUser, index: &TenantIndex) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in desired.groups.iter().flatten() {
        let name = name.trim();
        if name.is_empty()
            || index.group_by_name(name).is_some()
            || out.iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            continue;
        }
        out.push(name.to_string());
    }
    out
}

/// Creates the groups `desired` names that the tenant lacks. Rows run
/// concurrently: the check is repeated under the API's group lock, so a group two
/// rows name is created once.
pub async fn ensure_groups(
    api: &Api,
    index: &RwLock<TenantIndex>,
    desired: &DesiredUser,
) -> Result<(), ApiError> {
    if missing(desired, &index.read()).is_empty() {
        return Ok(());
    }
    let _held = api.group_creation().await;
    let names = missing(desired, &index.read());
    for name in names {
        let created = api.create_group(Some(desired.row), &name).await?;
        let mut group = created.value;
        // A server may answer 201 with a sparse body: what we sent still names it.
        if group.display_name.is_none() {
            group.display_name = Some(name.clone());
        }
        index.write().insert_group(group);
    }
    Ok(())
}
