//! Group memberships in one batched pass after the users exist: fetches the tenant's
//! groups, asks `plan::groups` what each group must gain and lose, sends those
//! PATCHes (re-reading a group on a version conflict; splitting a PATCH refused for
//! one member so the others land, see `apply::bisect`), and revises the ledger rows
//! whose memberships changed or failed.
//!
//! Decides nothing itself: which members to add or remove, and the PATCH bodies
//! (escaped member paths, chunking), come from `plan::groups`. Recomputed from the
//! tenant each run, so a resumed or repeated run converges without duplicates.
//!
//! `import --plan` sends a saved plan's joins and leaves instead (`planned`):
//! the same PATCHes, retries and verdicts, but only the changes planned.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::apply::api::{Api, ApiError};
use crate::apply::bisect::Bisection;
use crate::apply::execute::Revisions;
use crate::apply::lookup::fetch_all_groups;
use crate::ledger::LedgerRow;
use crate::model::{ErrorKind, Outcome};
use crate::plan::{
    DesiredMembers, GroupChange, MemberWant, MembershipChange, PlanOptions, chunk_members,
    patch_members,
};
use crate::scim::client::etag_from_version;
use crate::scim::model::Group;

mod planned;
pub use planned::PlannedPass;

/// Version conflicts tolerated per group before it fails.
const MAX_VERSION_RETRIES: u32 = 3;

/// Desired memberships collected during the main pass.
#[derive(Debug, Default)]
pub struct GroupPass {
    wants: Vec<MemberWant>,
    /// The ledger row of each want, by position.
    rows: Vec<LedgerRow>,
    /// A saved plan's membership changes.
    planned: PlannedPass,
}

impl GroupPass {
    /// Records that the user `user_id` (of ledger row `led`) should belong to exactly
    /// the groups `names` among the groups this input manages.
    pub fn want(&mut self, user_id: String, names: Vec<String>, led: LedgerRow) {
        self.wants.push(MemberWant {
            user_id,
            groups: names,
        });
        self.rows.push(led);
    }

    /// Records a saved plan's membership changes of the user `user_id` (of ledger
    /// row `led`): exactly these are sent, nothing is reconciled.
    pub fn planned(&mut self, user_id: String, changes: &[MembershipChange], led: LedgerRow) {
        self.planned.add(user_id, changes, led);
    }

    /// Fetches the tenant's groups and sends the membership changes (a saved
    /// plan's first); returns the number of group PATCH calls. Changed and failed
    /// rows go to `revised`.
    pub async fn apply(
        mut self,
        api: &Api,
        opts: &PlanOptions,
        revised: &mut Revisions,
    ) -> Result<u64, ApiError> {
        if self.wants.is_empty() && self.planned.is_empty() {
            return Ok(0);
        }
        let groups = fetch_all_groups(api, &mut 0).await?;
        let planned = std::mem::take(&mut self.planned);
        let mut patches = planned.apply_to(api, &groups, opts, revised).await?;
        if !self.wants.is_empty() {
            patches += self.apply_to(api, groups, opts, revised).await?;
        }
        Ok(patches)
    }

    /// Sends the changes that make `groups` (as just read from the tenant) hold what
    /// the input wants; returns the number of group PATCH calls. An error that stops
    /// the run is returned; any other fails the rows of the group it hit.
    pub async fn apply_to(
        self,
        api: &Api,
        groups: Vec<Group>,
        opts: &PlanOptions,
        revised: &mut Revisions,
    ) -> Result<u64, ApiError> {
        let desired = DesiredMembers::resolve(&self.wants, &groups, &opts.managed_groups);
        let mut verdicts = Verdicts::new(self.wants.iter().map(|w| w.user_id.as_str()));
        for (i, unknown) in &desired.unknown {
            verdicts.fail_row(*i, unknown_message(&unknown.0));
        }
        let mut patches = 0;
        let change_for = |g: &Group| desired.change_for(g);
        for group in groups {
            let sent = sync_group(api, &change_for, group, opts.max_patch_ops, &mut patches).await;
            verdicts.settle(sent)?;
        }
        verdicts.revise(&self.rows, revised);
        Ok(patches)
    }
}

/// A group's change that was sent, with the members the tenant refused (each with
/// its refusal); the others landed.
type Sent = (GroupChange, Vec<(String, ApiError)>);

/// Brings one group to what `change_for` asks of it (given the group as the
/// tenant holds it), re-reading it after a version conflict. `Ok(Some(sent))`
/// when a change was sent, `Ok(None)` when there was none; on failure, the change
/// attempted and why.
async fn sync_group(
    api: &Api,
    change_for: &(dyn Fn(&Group) -> Option<GroupChange> + Sync),
    mut group: Group,
    max_ops: usize,
    patches: &mut u64,
) -> Result<Option<Sent>, (GroupChange, ApiError)> {
    let mut tries = 0;
    loop {
        let Some(change) = change_for(&group) else {
            return Ok(None);
        };
        let version = group.meta.as_ref().and_then(|m| m.version.as_deref());
        match send_change(api, &change, version, max_ops, patches).await {
            Ok(refused) => return Ok(Some((change, refused))),
            Err(e) if e.is_version_conflict() && tries < MAX_VERSION_RETRIES => {
                tries += 1;
                // Someone else changed the group: plan again from what it holds now.
                match api.get_group(None, &change.group_id).await {
                    Ok(fresh) => group = fresh.value,
                    Err(e) => return Err((change, e)),
                }
            }
            Err(e) => return Err((change, e)),
        }
    }
}

/// Sends one group's change as its PATCHes, chaining If-Match from `version`. A PATCH
/// refused with a 4xx that may concern one member is split and retried (see
/// `apply::bisect`, which bounds the calls) so the other members land; returns the
/// members refused on their own, each with its error. Any other error is returned.
async fn send_change(
    api: &Api,
    change: &GroupChange,
    version: Option<&str>,
    max_ops: usize,
    patches: &mut u64,
) -> Result<Vec<(String, ApiError)>, ApiError> {
    let mut etag = version.map(etag_from_version);
    let mut search = Bisection::new(patch_members(change, max_ops));
    let mut refused = Vec::new();
    while let Some(batch) = search.next_batch() {
        let part = change.part(batch);
        let mut outcome = Ok(());
        for ops in chunk_members(&part, max_ops) {
            *patches += 1;
            match api
                .patch_group(None, &change.group_id, ops, etag.as_deref())
                .await
            {
                Ok(done) => etag = done.etag,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        match outcome {
            Ok(()) => {}
            Err(e) if e.may_be_member_refusal() => {
                if let Some((_, user)) = search.refused() {
                    refused.push((user, e));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(refused)
}

fn refused_message(group: &str, e: &ApiError) -> String {
    format!(
        "the tenant refused this user's membership change in group {group:?} ({e}); \
         the group's other members were applied; check the user in Genesys, then run \
         --retry-failed"
    )
}

fn unknown_message(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let (noun, verb) = if names.len() == 1 {
        ("group", "does")
    } else {
        ("groups", "do")
    };
    format!(
        "{noun} {} {verb} not exist in the tenant; create it in Genesys or fix the groups column",
        quoted.join(", ")
    )
}

/// What happened to each want's row: memberships changed, or failed and why.
struct Verdicts {
    /// Want positions of each user id (a user may come from several rows).
    positions: HashMap<String, Vec<usize>>,
    changed: BTreeSet<usize>,
    failed: BTreeMap<usize, String>,
}

impl Verdicts {
    /// Verdicts for rows of these users, by position.
    fn new<'a>(users: impl Iterator<Item = &'a str>) -> Self {
        let mut positions: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, u) in users.enumerate() {
            positions.entry(u.to_string()).or_default().push(i);
        }
        Self {
            positions,
            changed: BTreeSet::new(),
            failed: BTreeMap::new(),
        }
    }

    /// Takes in one group's result: the rows it changed, the members refused, or
    /// the rows of a change that failed. An error that stops the run is returned.
    fn settle(
        &mut self,
        sent: Result<Option<Sent>, (GroupChange, ApiError)>,
    ) -> Result<(), ApiError> {
        match sent {
            Ok(None) => {}
            Ok(Some((change, refused))) => {
                self.changed(&change);
                for (user, e) in refused {
                    self.fail_user(&user, &refused_message(&change.group_name, &e));
                }
            }
            Err((_, e)) if e.stops_run() => return Err(e),
            Err((change, e)) => {
                let why = format!("group {:?}: {e}", change.group_name);
                self.failed(&change, &why);
            }
        }
        Ok(())
    }

    fn fail_row(&mut self, i: usize, why: String) {
        self.failed.insert(i, why);
    }

    /// Positions of the rows whose users `change` adds or removes.
    fn touched(&self, change: &GroupChange) -> Vec<usize> {
        change
            .add
            .iter()
            .chain(&change.remove)
            .filter_map(|u| self.positions.get(u))
            .flatten()
            .copied()
            .collect()
    }

    fn changed(&mut self, change: &GroupChange) {
        self.changed.extend(self.touched(change));
    }

    /// Fails the rows of one user whose membership the tenant refused.
    fn fail_user(&mut self, user: &str, why: &str) {
        let rows = self.positions.get(user).cloned().unwrap_or_default();
        for i in rows {
            self.fail_row(i, why.to_string());
        }
    }

    fn failed(&mut self, change: &GroupChange, why: &str) {
        for i in self.touched(change) {
            self.fail_row(i, why.to_string());
        }
    }

    /// Revises the ledger rows with a verdict, each from its latest state in
    /// `revised` so that an earlier pass's verdict is kept. A failure wins over a
    /// change.
    fn revise(self, rows: &[LedgerRow], revised: &mut Revisions) {
        for (i, led) in rows.iter().enumerate() {
            let failed = self.failed.get(&i);
            if failed.is_none() && !self.changed.contains(&i) {
                continue;
            }
            let mut l = revised.remove(&led.row).unwrap_or_else(|| led.clone());
            match failed {
                Some(err) => {
                    l.outcome = Outcome::Failed;
                    l.error_kind = Some(ErrorKind::GroupMembership);
                    l.error = Some(err.clone());
                }
                None => {
                    if !l.changed_fields.iter().any(|f| f == "groups") {
                        l.changed_fields.push("groups".into());
                    }
                    if l.outcome == Outcome::Skipped {
                        l.outcome = Outcome::Succeeded;
                        l.action = crate::model::Action::Update;
                    }
                }
            }
            l.finished_at = chrono::Utc::now();
            revised.insert(l.row, l);
        }
    }
}
