//! What a sync decides before its run starts, from the survey of the source and
//! the state: whether the source may be trusted at all (empty, cut short, shrunk:
//! the whole run is refused), which rows' source accounts were re-created (anchor
//! changed), who left (and whether the deactivation guard holds them), and the
//! tenant as the state knows it (the index an incremental run plans against,
//! with no tenant read). Pure: no I/O, no calls.

use std::collections::{HashMap, HashSet};

use crate::mapping::DesiredUser;
use crate::model::{Action, Directive, ErrorKind, FIRST_LEAVER_ROW, Outcome};
use crate::plan::TenantIndex;
use crate::scim::model::{Meta, User};

use super::state::{Entry, State};
use super::survey::Survey;

/// What a re-created source account does (`--on-anchor-change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnchorPolicy {
    /// The row fails with `anchor_changed`; the user is left as it is.
    #[default]
    Refuse,
    /// The tenant user is kept for the new account (a rehire of the same person).
    Relink,
    /// The old user is deactivated and its keys moved aside; a new user is created.
    Replace,
}

/// How many leavers may be deactivated in one run (`--max-deactivate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeactivateLimit {
    /// At most this many.
    Count(u64),
    /// At most this share of the managed users (percent), never fewer than 10.
    Percent(f64),
}

impl Default for DeactivateLimit {
    fn default() -> Self {
        DeactivateLimit::Percent(5.0)
    }
}

impl DeactivateLimit {
    /// The number allowed out of `managed` users.
    pub fn allowed(self, managed: u64) -> u64 {
        match self {
            DeactivateLimit::Count(n) => n,
            DeactivateLimit::Percent(p) => ((managed as f64 * p / 100.0).floor() as u64).max(10),
        }
    }
}

/// The safety settings of a sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Guards {
    /// Refuse when the source shrank by more than this percent since the last good
    /// sync (`--max-shrink`, default 10).
    pub max_shrink: f64,
    /// Hold deactivations beyond this (`--max-deactivate`).
    pub max_deactivate: DeactivateLimit,
    /// Let a mass deactivation through, with the reason recorded
    /// (`--allow-mass-deactivation --reason`).
    pub allow_mass: Option<String>,
    /// Deactivate only users missing from this many complete runs in a row
    /// (`--absent-runs`, default 1).
    pub absent_runs: u32,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            max_shrink: 10.0,
            max_deactivate: DeactivateLimit::default(),
            allow_mass: None,
            absent_runs: 1,
        }
    }
}

/// Why a whole sync is refused before any write.
pub fn refusal(survey: &Survey, state: &State, guards: &Guards) -> Option<String> {
    if let Some(why) = &survey.incomplete {
        return Some(format!("the source read did not finish: {why}"));
    }
    if survey.count() == 0 {
        return Some(
            "the source is empty: a sync that saw nobody would deactivate everyone".into(),
        );
    }
    if survey.valid == 0 {
        return Some(format!(
            "none of the source's {} rows is valid: fix the mapping or the export (`scimport validate` lists the problems)",
            survey.count()
        ));
    }
    if let Some(before) = state.last_good_count.filter(|b| *b > 0) {
        let now = survey.count();
        if now < before {
            let fell = (before - now) as f64 * 100.0 / before as f64;
            if fell > guards.max_shrink {
                return Some(format!(
                    "the source has {now} entries, {fell:.1}% fewer than the {before} of the last good sync (more than --max-shrink {}%): check the export; if the drop is real, run again with --max-shrink {}",
                    guards.max_shrink,
                    fell.ceil()
                ));
            }
        }
    }
    None
}

/// What the run does beyond planning each row as usual.
#[derive(Debug, Default)]
pub struct Decisions {
    /// Rows the sync settled or retires first, by row.
    pub directives: HashMap<u64, Directive>,
    /// Rows whose source account was re-created (whatever the policy did).
    pub anchor_changed: u64,
    /// The leavers' rows (deactivations, or held ones), in key order.
    pub leavers: Vec<DesiredUser>,
    /// The state's keys of those leavers, in the same order.
    pub leaver_keys: Vec<String>,
    /// Managed users missing from this run but not yet for `--absent-runs` runs.
    pub waiting: Vec<String>,
    /// Why the deactivations are held, when they are.
    pub held: Option<String>,
    /// The DN of each entry to its externalId (LDAP managers).
    pub dn_to_external_id: HashMap<String, String>,
    /// Manager chains that loop (reported, not followed).
    pub manager_cycles: Vec<String>,
}

/// Decides anchors, leavers and the guard from the survey and the state.
pub fn decide(survey: &Survey, state: &State, guards: &Guards, anchors: AnchorPolicy) -> Decisions {
    let mut d = Decisions::default();
    let seen: HashSet<&str> = survey
        .rows
        .iter()
        .filter_map(|r| r.key.as_deref())
        .collect();
    for r in &survey.rows {
        if let (Some(dn), Some(x)) = (&r.dn, &r.external_id) {
            d.dn_to_external_id
                .insert(dn.to_ascii_lowercase(), x.clone());
        }
        let (Some(key), Some(anchor)) = (&r.key, &r.anchor) else {
            continue;
        };
        let Some(e) = state.entries.get(key) else {
            continue;
        };
        let Some(was) = e.anchor.as_deref().filter(|a| *a != anchor) else {
            continue;
        };
        d.anchor_changed += u64::from(r.valid);
        match anchors {
            AnchorPolicy::Refuse => {
                d.directives.insert(
                    r.row,
                    Directive::Settle {
                        action: Action::None,
                        outcome: Outcome::Failed,
                        kind: ErrorKind::AnchorChanged,
                        reason: format!(
                            "the source account was re-created: its anchor is {anchor}, but tenant user {} was synced from {was}; left as it is. The same person again (a rehire): --on-anchor-change relink; someone else: --on-anchor-change replace",
                            e.id
                        ),
                        scim_id: Some(e.id.clone()),
                    },
                );
            }
            AnchorPolicy::Relink => {}
            AnchorPolicy::Replace => {
                let old = applied_user(e);
                let tag = tombstone_tag(&e.id);
                d.directives.insert(
                    r.row,
                    Directive::Retire {
                        id: e.id.clone(),
                        version: e.version.clone(),
                        user_name: tombstone_user_name(
                            old.user_name.as_deref().unwrap_or(&e.id),
                            &tag,
                        ),
                        external_id: old.external_id.map(|x| format!("{x}~{tag}")),
                    },
                );
            }
        }
    }
    d.manager_cycles = manager_cycles(survey, &d.dn_to_external_id);
    let mut missing: Vec<&Entry> = state
        .entries
        .values()
        .filter(|e| e.active && !seen.contains(e.key.as_str()))
        .collect();
    missing.sort_by(|a, b| a.key.cmp(&b.key));
    let managed = state.entries.values().filter(|e| e.active).count() as u64;
    let mut leaving = Vec::new();
    for e in missing {
        if e.absent + 1 >= guards.absent_runs.max(1) {
            leaving.push(e);
        } else {
            d.waiting.push(e.key.clone());
        }
    }
    let allowed = guards.max_deactivate.allowed(managed);
    if guards.allow_mass.is_none() {
        if leaving.len() as u64 > allowed {
            d.held = Some(format!(
                "{} managed users are missing from the source, more than --max-deactivate allows ({allowed} of {managed}); none was deactivated. If they really left, run again with --allow-mass-deactivation --reason \"...\"",
                leaving.len()
            ));
        } else if survey.unkeyed > 0 && !leaving.is_empty() {
            d.held = Some(format!(
                "{} source rows could not be read well enough to know whose they are, so the {} users missing from the source may be among them; none was deactivated. Fix those rows (see failed.csv), or run again with --allow-mass-deactivation --reason \"...\"",
                survey.unkeyed,
                leaving.len()
            ));
        }
    }
    for (i, e) in leaving.into_iter().enumerate() {
        d.leavers.push(leaver_row(
            FIRST_LEAVER_ROW + i as u64,
            e,
            d.held.as_deref(),
        ));
        d.leaver_keys.push(e.key.clone());
    }
    d
}

/// The desired user of a leaver: its keys, inactive; settled as held when the
/// guard holds it.
fn leaver_row(row: u64, e: &Entry, held: Option<&str>) -> DesiredUser {
    let old = applied_user(e);
    let mut user = User {
        external_id: old.external_id,
        user_name: old.user_name,
        active: Some(false),
        ..User::default()
    };
    if user.external_id.is_none() && user.user_name.is_none() {
        user.user_name = e.key.strip_prefix("userName:").map(str::to_string);
    }
    DesiredUser {
        row,
        user,
        source_hash: e.hash.clone(),
        anchor: e.anchor.clone(),
        directive: held.map(|why| {
            Box::new(Directive::Settle {
                action: Action::Deactivate,
                outcome: Outcome::Skipped,
                kind: ErrorKind::GuardHeld,
                reason: why.to_string(),
                scim_id: Some(e.id.clone()),
            })
        }),
        ..DesiredUser::default()
    }
}

/// The user an entry last applied (empty when the state's copy cannot be read).
pub fn applied_user(e: &Entry) -> User {
    serde_json::from_str(e.applied.get()).unwrap_or_default()
}

/// `replaced-` and the first 8 characters of the retired user's id.
fn tombstone_tag(id: &str) -> String {
    let short: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    format!("replaced-{short}")
}

/// The userName a retired user gets: `local+replaced-xxxxxxxx@domain`, so that it
/// stays an email address and its original userName is free for the new user.
fn tombstone_user_name(user_name: &str, tag: &str) -> String {
    match user_name.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{tag}@{domain}"),
        None => format!("{user_name}+{tag}"),
    }
}

/// Managers that loop back on themselves (A's manager is B, B's is A), as
/// `a -> b -> a` chains of externalIds, each reported once.
fn manager_cycles(survey: &Survey, dns: &HashMap<String, String>) -> Vec<String> {
    let mut next: HashMap<&str, String> = HashMap::new();
    for r in &survey.rows {
        let (Some(x), Some(m)) = (&r.external_id, &r.manager) else {
            continue;
        };
        let m = dns
            .get(&m.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| m.clone());
        next.insert(x.as_str(), m);
    }
    let mut reported: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut starts: Vec<&str> = next.keys().copied().collect();
    starts.sort();
    for start in starts {
        let mut path = vec![start.to_string()];
        let mut cur = start.to_string();
        while let Some(m) = next.get(cur.as_str()) {
            if let Some(at) = path.iter().position(|p| p == m) {
                let cycle = &path[at..];
                if cycle.len() > 1 && cycle.iter().all(|c| reported.insert(c.clone())) {
                    let mut shown = cycle.to_vec();
                    shown.push(m.clone());
                    out.push(shown.join(" -> "));
                }
                break;
            }
            if path.len() > 10_000 {
                break;
            }
            path.push(m.clone());
            cur = m.clone();
        }
    }
    out
}

/// The tenant as the state knows it: each managed user as last applied, with its
/// id, version and whether it is active; managers given as ids, as the tenant has
/// them.
pub fn known_index(state: &State) -> TenantIndex {
    let mut ids_by_external: HashMap<String, String> = HashMap::new();
    let mut users = Vec::with_capacity(state.entries.len());
    for e in state.entries.values() {
        let mut u = applied_user(e);
        if let Some(x) = &u.external_id {
            ids_by_external.insert(x.clone(), e.id.clone());
        }
        u.id = Some(e.id.clone());
        u.active = Some(e.active);
        u.meta = Some(Meta {
            version: e.version.clone(),
            ..Meta::default()
        });
        u.schemas.clear();
        users.push(u);
    }
    let mut index = TenantIndex::new();
    for mut u in users {
        if let Some(m) = u.enterprise.as_mut().and_then(|e| e.manager.as_mut())
            && let Some(id) = ids_by_external.get(&m.value)
        {
            m.value = id.clone();
        }
        index.insert_user(u);
    }
    index
}
