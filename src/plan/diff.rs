//! The minimal PATCH between a desired user and the tenant's copy: one operation per
//! changed managed attribute, none for equal values, in a fixed order.
//!
//! Owns the comparison rules (what counts as equal) and the PATCH path spellings
//! (reference §4). Does not resolve the manager (the caller passes a desired user whose
//! `manager.value` is already a user id), nor decide the action (see `decide`).
//!
//! Equality rules:
//! - `userName` and email values compare case-insensitively; everything else exactly,
//!   `dateHire` on its date part.
//! - emails, phone numbers and Genesys externalIds compare per `type`/`authority`
//!   (order-insensitive); a missing entry gets `add`, a different one `replace` at
//!   `emails[type eq "work"].value`-style paths. `emails[type eq "other"]` and the
//!   `x-pc:scimv2:v1` externalIds entry are read-only and never touched.
//! - roles compare as a set. The tenant gives every new user the `employee` role, so a
//!   role in `PlanOptions::kept_roles` that the tenant has is kept even when the mapping
//!   does not list it (otherwise every re-run would strip and the tenant re-add it).
//! - routing skills and languages compare as sets by name with proficiency as f64;
//!   when different the whole list is replaced with one op. An empty desired list means
//!   "not managed" (use `clear` to empty it).
//! - `active` is replaced when it differs (a missing tenant value counts as `true`).
//! - `password` is write-only: it is sent on create only, never diffed.
//! - a `clear` path yields `remove` only when the target has a value there; a cleared
//!   email, phone or externalIds entry is removed whole (`remove
//!   phoneNumbers[type eq "mobile"]`), and an entry without a value counts as absent,
//!   so clearing settles in one run on any RFC 7644 server.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::options::PlanOptions;
use crate::mapping::DesiredUser;
use crate::model::{FieldPath, intern};
use crate::scim::model::{
    AUTHORITY_SCIM, ExternalIdEntry, MultiValue, PatchOperation, SCHEMA_GENESYS, User,
};

const P_DEPARTMENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const P_DIVISION: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division";
const P_EMPLOYEE_NUMBER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
const P_DATE_HIRE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dateHire";
/// PATCH path of the manager reference.
pub const P_MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
/// PATCH path of the routing skills list.
pub const P_SKILLS: &str =
    "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills";
/// PATCH path of the routing languages list.
pub const P_LANGUAGES: &str =
    "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingLanguages";

/// One planned change to one attribute, for `--dry-run` and the ledger's `changed_fields`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    /// The SCIM path changed (interned: rows share it, see `ledger::field_path`).
    pub path: FieldPath,
    /// The tenant's value, rendered; `None` when absent.
    pub before: Option<String>,
    /// The new value, rendered; `None` when removed.
    pub after: Option<String>,
}

impl std::fmt::Display for FieldChange {
    /// `path: before -> after`, with `(none)` for an absent value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        write!(
            f,
            "{}: {} -> {}",
            self.path,
            show(&self.before),
            show(&self.after)
        )
    }
}

/// The operations that make the target match, and the same as readable changes
/// (index-aligned: `changes[i]` describes `ops[i]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// Minimal PATCH operations, in a fixed order.
    pub ops: Vec<PatchOperation>,
    /// One readable change per op.
    pub changes: Vec<FieldChange>,
}

impl Diff {
    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(super) fn push(
        &mut self,
        op: PatchOperation,
        before: Option<String>,
        after: Option<String>,
    ) {
        let path = intern(op.path.as_deref().unwrap_or_default());
        self.push_at(path, op, before, after);
    }

    /// Like `push`, with the change recorded under `path` (the mapped path) when the
    /// op's own path differs from it.
    fn push_at(
        &mut self,
        path: FieldPath,
        op: PatchOperation,
        before: Option<String>,
        after: Option<String>,
    ) {
        self.ops.push(op);
        self.changes.push(FieldChange {
            path,
            before,
            after,
        });
    }
}

/// How two scalar values compare.
#[derive(Clone, Copy)]
enum Cmp {
    Exact,
    CaseInsensitive,
    Date,
}

impl Cmp {
    fn eq(self, a: &str, b: &str) -> bool {
        match self {
            Cmp::Exact => a == b,
            Cmp::CaseInsensitive => a.to_lowercase() == b.to_lowercase(),
            Cmp::Date => date_part(a) == date_part(b),
        }
    }
}

fn date_part(s: &str) -> &str {
    s.split('T').next().unwrap_or(s)
}

type Getter = fn(&User) -> Option<&str>;

/// The single-valued string attributes, in op order: (path, getter, comparison).
fn scalars() -> [(&'static str, Getter, Cmp); 7] {
    [
        ("externalId", |u| u.external_id.as_deref(), Cmp::Exact),
        ("userName", |u| u.user_name.as_deref(), Cmp::CaseInsensitive),
        ("displayName", |u| u.display_name.as_deref(), Cmp::Exact),
        (
            "name.givenName",
            |u| u.name.as_ref().and_then(|n| n.given_name.as_deref()),
            Cmp::Exact,
        ),
        (
            "name.familyName",
            |u| u.name.as_ref().and_then(|n| n.family_name.as_deref()),
            Cmp::Exact,
        ),
        (
            "name.formatted",
            |u| u.name.as_ref().and_then(|n| n.formatted.as_deref()),
            Cmp::Exact,
        ),
        ("title", |u| u.title.as_deref(), Cmp::Exact),
    ]
}

/// Enterprise string attributes, in op order (manager is handled apart).
fn enterprise_scalars() -> [(&'static str, Getter, Cmp); 4] {
    [
        (
            P_EMPLOYEE_NUMBER,
            |u| u.enterprise.as_ref()?.employee_number.as_deref(),
            Cmp::Exact,
        ),
        (
            P_DEPARTMENT,
            |u| u.enterprise.as_ref()?.department.as_deref(),
            Cmp::Exact,
        ),
        (
            P_DIVISION,
            |u| u.enterprise.as_ref()?.division.as_deref(),
            Cmp::Exact,
        ),
        (
            P_DATE_HIRE,
            |u| u.enterprise.as_ref()?.date_hire.as_deref(),
            Cmp::Date,
        ),
    ]
}

/// The manager's user id on a user (empty counts as none).
pub fn manager_of(u: &User) -> Option<&str> {
    u.enterprise
        .as_ref()?
        .manager
        .as_ref()
        .map(|m| m.value.as_str())
        .filter(|v| !v.is_empty())
}

/// The typed path for a multi-valued entry: `emails[type eq "work"].value`.
pub fn typed_path(attr: &str, kind: &str) -> String {
    format!("{attr}[type eq \"{kind}\"].value")
}

/// The path of a Genesys externalIds entry: `<URN>:externalIds[authority eq "a"].value`.
pub fn authority_path(authority: &str) -> String {
    format!("{SCHEMA_GENESYS}:externalIds[authority eq \"{authority}\"].value")
}

fn parse_typed<'a>(path: &'a str, attr: &str) -> Option<&'a str> {
    path.strip_prefix(attr)?
        .strip_prefix("[type eq \"")?
        .strip_suffix("\"].value")
}

fn parse_authority(path: &str) -> Option<&str> {
    path.strip_prefix(SCHEMA_GENESYS)?
        .strip_prefix(":externalIds[authority eq \"")?
        .strip_suffix("\"].value")
}

/// A `clear` path the planner does not manage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot clear {path}: not a path the planner manages")]
pub struct UnknownClearPath {
    /// The path as the mapping wrote it.
    pub path: String,
}

/// Checks that every `clear` path is one the planner knows; returns the first unknown.
pub fn check_clear_paths(clear: &[String]) -> Result<(), UnknownClearPath> {
    if clear.is_empty() {
        return Ok(());
    }
    let known: BTreeSet<&str> = scalars()
        .iter()
        .map(|s| s.0)
        .chain(enterprise_scalars().iter().map(|s| s.0))
        .chain(["roles", P_MANAGER, P_SKILLS, P_LANGUAGES])
        .collect();
    for p in clear {
        let ok = known.contains(p.as_str())
            || parse_typed(p, "emails").is_some()
            || parse_typed(p, "phoneNumbers").is_some()
            || parse_authority(p).is_some()
            || super::extension::is_extension_path(p);
        if !ok {
            return Err(UnknownClearPath { path: p.clone() });
        }
    }
    Ok(())
}

fn kind_of(m: &MultiValue) -> String {
    m.kind.as_deref().unwrap_or("work").to_lowercase()
}

/// Entries by lower-cased type; the first of a type wins (the tenant holds one per type).
/// An entry without a value counts as absent: RFC 7644 §3.5.2.2 servers leave one
/// behind (`{"type":"mobile"}`) after `remove phoneNumbers[type eq "mobile"].value`.
fn by_type<'a>(list: impl Iterator<Item = &'a MultiValue>) -> BTreeMap<String, &'a str> {
    let mut out = BTreeMap::new();
    for m in list.filter(|m| !m.value.trim().is_empty()) {
        out.entry(kind_of(m)).or_insert(m.value.as_str());
    }
    out
}

/// A user's emails or phone numbers by type (emails of type other mirror userName and
/// are read-only, so they are never compared).
fn typed_entries<'a>(u: &'a User, attr: &str) -> BTreeMap<String, &'a str> {
    if attr == "emails" {
        by_type(u.emails.iter().filter(|m| kind_of(m) != "other"))
    } else {
        by_type(u.phone_numbers.iter())
    }
}

/// A user's routing skills (`P_SKILLS`) or languages by name.
pub(super) fn prof_entries<'a>(u: &'a User, path: &str) -> BTreeMap<&'a str, f64> {
    u.genesys
        .as_ref()
        .map(|g| {
            proficiencies(if path == P_SKILLS {
                &g.routing_skills
            } else {
                &g.routing_languages
            })
        })
        .unwrap_or_default()
}

fn external_ids(u: &User) -> BTreeMap<&str, &str> {
    let mut out = BTreeMap::new();
    if let Some(g) = &u.genesys {
        for ExternalIdEntry { authority, value } in &g.external_ids {
            if !authority.starts_with(AUTHORITY_SCIM) {
                out.entry(authority.as_str()).or_insert(value.as_str());
            }
        }
    }
    out
}

fn proficiencies(list: &[crate::scim::model::Proficiency]) -> BTreeMap<&str, f64> {
    list.iter()
        .map(|p| (p.name.as_str(), p.proficiency))
        .collect()
}

/// Whether two skill or language lists are equal by [`diff_user`]'s rules.
pub(super) fn same_proficiencies(a: &BTreeMap<&str, f64>, b: &BTreeMap<&str, f64>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && (va - vb).abs() < 1e-9)
}

fn render_prof(m: &BTreeMap<&str, f64>) -> Option<String> {
    if m.is_empty() {
        return None;
    }
    Some(
        m.iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn render_set(s: &BTreeSet<&str>) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.iter().copied().collect::<Vec<_>>().join(", "))
    }
}

/// The minimal PATCH that makes `actual` match `desired` on every managed attribute.
///
/// `desired.user.enterprise.manager.value` must already be the manager's *user id*.
/// Same inputs always give the same ops in the same order: one family of attributes
/// after another, each in a function of its own.
pub fn diff_user(desired: &DesiredUser, actual: &User, opts: &PlanOptions) -> Diff {
    let users = Users {
        want: &desired.user,
        actual,
        clear: desired.clear.iter().map(String::as_str).collect(),
    };
    let mut diff = Diff::default();
    users.active(&mut diff);
    users.scalars(&mut diff, &scalars());
    users.typed(&mut diff, "emails", Cmp::CaseInsensitive);
    users.typed(&mut diff, "phoneNumbers", Cmp::Exact);
    users.roles(&mut diff, &opts.kept_roles);
    users.scalars(&mut diff, &enterprise_scalars());
    users.manager(&mut diff);
    users.proficiencies(&mut diff, P_SKILLS);
    users.proficiencies(&mut diff, P_LANGUAGES);
    users.external_ids(&mut diff);
    super::extension::diff_extensions(users.want, users.actual, &users.clear, &mut diff);
    diff
}

/// The two sides of one diff, and the paths the mapping asks to clear when blank.
struct Users<'a> {
    want: &'a User,
    actual: &'a User,
    clear: BTreeSet<&'a str>,
}

impl Users<'_> {
    fn active(&self, diff: &mut Diff) {
        if let Some(active) = self.want.active {
            let have = self.actual.active.unwrap_or(true);
            if have != active {
                diff.push(
                    PatchOperation::replace("active", Value::Bool(active)),
                    Some(have.to_string()),
                    Some(active.to_string()),
                );
            }
        }
    }

    /// Single-valued attributes: replace when they differ, remove when blank and cleared.
    fn scalars(&self, diff: &mut Diff, list: &[(&'static str, Getter, Cmp)]) {
        for &(path, get, cmp) in list {
            match (get(self.want), get(self.actual)) {
                (Some(w), have) if !have.is_some_and(|h| cmp.eq(w, h)) => diff.push(
                    PatchOperation::replace(path, Value::String(w.to_string())),
                    have.map(str::to_string),
                    Some(w.to_string()),
                ),
                (None, Some(have)) if self.clear.contains(path) => {
                    diff.push(PatchOperation::remove(path), Some(have.to_string()), None)
                }
                _ => {}
            }
        }
    }

    /// `emails` / `phoneNumbers`, one entry per type (the work email, the mobile...).
    fn typed(&self, diff: &mut Diff, attr: &str, cmp: Cmp) {
        let (w, h) = (
            typed_entries(self.want, attr),
            typed_entries(self.actual, attr),
        );
        let cleared: Vec<String> = self
            .clear
            .iter()
            .filter_map(|p| parse_typed(p, attr))
            .map(str::to_lowercase)
            .filter(|k| !(attr == "emails" && k == "other"))
            .collect();
        let kinds: BTreeSet<String> = w.keys().cloned().chain(cleared).collect();
        for kind in kinds {
            let path = typed_path(attr, &kind);
            keyed(
                diff,
                &path,
                w.get(&kind).copied(),
                h.get(&kind).copied(),
                cmp,
            );
        }
    }

    /// Roles as a set; the roles the tenant grants by default (`kept_roles`) stay.
    fn roles(&self, diff: &mut Diff, kept_roles: &[String]) {
        let have: BTreeSet<&str> = self.actual.roles.iter().map(|r| r.value.as_str()).collect();
        if self.want.roles.is_empty() && !self.clear.contains("roles") {
            return;
        }
        let kept = have
            .iter()
            .copied()
            .filter(|r| kept_roles.iter().any(|k| k.eq_ignore_ascii_case(r)));
        let target: BTreeSet<&str> = self
            .want
            .roles
            .iter()
            .map(|r| r.value.as_str())
            .chain(kept)
            .collect();
        if target != have {
            let op = if target.is_empty() {
                PatchOperation::remove("roles")
            } else {
                let v: Vec<Value> = target.iter().map(|r| json!({ "value": r })).collect();
                PatchOperation::replace("roles", Value::Array(v))
            };
            diff.push(op, render_set(&have), render_set(&target));
        }
    }

    fn manager(&self, diff: &mut Diff) {
        match (manager_of(self.want), manager_of(self.actual)) {
            (Some(w), have) if have != Some(w) => diff.push(
                PatchOperation::replace(P_MANAGER, json!({ "value": w })),
                have.map(str::to_string),
                Some(w.to_string()),
            ),
            (None, Some(have)) if self.clear.contains(P_MANAGER) => diff.push(
                PatchOperation::remove(P_MANAGER),
                Some(have.to_string()),
                None,
            ),
            _ => {}
        }
    }

    /// Routing skills or languages: the whole list is replaced when any entry differs.
    fn proficiencies(&self, diff: &mut Diff, path: &'static str) {
        let (w, h) = (
            prof_entries(self.want, path),
            prof_entries(self.actual, path),
        );
        if !w.is_empty() {
            if !same_proficiencies(&w, &h) {
                let v: Vec<Value> = w
                    .iter()
                    .map(|(n, p)| json!({ "name": n, "proficiency": p }))
                    .collect();
                diff.push(
                    PatchOperation::replace(path, Value::Array(v)),
                    render_prof(&h),
                    render_prof(&w),
                );
            }
        } else if !h.is_empty() && self.clear.contains(path) {
            diff.push(PatchOperation::remove(path), render_prof(&h), None);
        }
    }

    /// Genesys `externalIds` by authority (never the one SCIM itself keeps).
    fn external_ids(&self, diff: &mut Diff) {
        let (w, h) = (external_ids(self.want), external_ids(self.actual));
        let cleared = self.clear.iter().filter_map(|p| parse_authority(p));
        let authorities: BTreeSet<&str> = w
            .keys()
            .copied()
            .chain(cleared)
            .filter(|a| !a.starts_with(AUTHORITY_SCIM))
            .collect();
        for a in authorities {
            let path = authority_path(a);
            keyed(
                diff,
                &path,
                w.get(a).copied(),
                h.get(a).copied(),
                Cmp::Exact,
            );
        }
    }
}

/// One entry of a keyed list: add when new, replace when different, remove when
/// only the tenant has it.
fn keyed(diff: &mut Diff, path: &str, want: Option<&str>, have: Option<&str>, cmp: Cmp) {
    match (want, have) {
        (Some(wv), None) => diff.push(
            PatchOperation::add(path, Value::String(wv.to_string())),
            None,
            Some(wv.to_string()),
        ),
        (Some(wv), Some(hv)) if !cmp.eq(wv, hv) => diff.push(
            PatchOperation::replace(path, Value::String(wv.to_string())),
            Some(hv.to_string()),
            Some(wv.to_string()),
        ),
        // The whole entry goes: removing only `.value` leaves `{"type":"mobile"}`
        // behind on an RFC 7644 server (§3.5.2.2), and Genesys needs both
        // `authority` and `value` on an externalIds entry.
        (None, Some(hv)) => diff.push_at(
            intern(path),
            PatchOperation::remove(entry_path(path)),
            Some(hv.to_string()),
            None,
        ),
        _ => {}
    }
}

/// The path of a whole keyed entry: `phoneNumbers[type eq "mobile"].value` ->
/// `phoneNumbers[type eq "mobile"]`.
fn entry_path(path: &str) -> &str {
    path.strip_suffix(".value").unwrap_or(path)
}

/// The value of the single-valued attribute at the canonical `path` (a scalar,
/// the manager's id, an email or phone entry by type, a Genesys externalIds entry
/// by authority), read as [`diff_user`] reads it: a blank entry and the read-only
/// `other` email count as absent. `None` too for a path that is not single-valued.
pub fn value_at<'a>(u: &'a User, path: &str) -> Option<&'a str> {
    let all = scalars().into_iter().chain(enterprise_scalars());
    if let Some((_, get, _)) = all.into_iter().find(|s| s.0 == path) {
        return get(u);
    }
    if path == P_MANAGER {
        return manager_of(u);
    }
    for attr in ["emails", "phoneNumbers"] {
        if let Some(kind) = parse_typed(path, attr) {
            return typed_entries(u, attr).get(&kind.to_lowercase()).copied();
        }
    }
    parse_authority(path).and_then(|a| external_ids(u).get(a).copied())
}

/// Whether two values of the single-valued attribute at `path` are equal by
/// [`diff_user`]'s rules (userName and emails ignore case, dateHire compares its
/// date part, anything else exactly).
pub fn same_value(path: &str, a: &str, b: &str) -> bool {
    let all = scalars().into_iter().chain(enterprise_scalars());
    let cmp = match all.into_iter().find(|s| s.0 == path) {
        Some((_, _, cmp)) => cmp,
        None if parse_typed(path, "emails").is_some() => Cmp::CaseInsensitive,
        None => Cmp::Exact,
    };
    cmp.eq(a, b)
}
