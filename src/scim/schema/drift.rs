//! Schema drift: what changed between two readings of a target's discovery
//! documents (a saved baseline and the live target, or two saved ones), per
//! attribute path, and which changes break a client that writes those paths.
//!
//! Owns the pure comparison only: reading the documents (over HTTP or from files)
//! and printing the result belong to the caller (`scimport schema diff`).
//!
//! Paths are fully qualified (RFC 7644 §3.10): `<schema URN>:<attribute>` and
//! `<schema URN>:<attribute>.<sub-attribute>`; a whole schema is named by its URN,
//! and an extension a resource type stops offering by `<type> -> <URN>`.
//! Breaking: a schema, attribute or offered extension removed; a type or plurality
//! changed; mutability turned `readOnly` or `immutable` from writable; an attribute
//! that became `required`. Everything else (additions, relaxed mutability,
//! `required` dropped, canonical values changed) is reported as non-breaking.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Attribute, Discovery};

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Present now, absent in the baseline.
    Added,
    /// Present in the baseline, absent now.
    Removed,
    /// `type` differs.
    TypeChanged,
    /// `multiValued` differs.
    MultiValuedChanged,
    /// `mutability` differs.
    MutabilityChanged,
    /// `required` differs.
    RequiredChanged,
    /// `canonicalValues` differ.
    CanonicalValuesChanged,
}

impl ChangeKind {
    /// The JSON spelling, also used in text output.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::TypeChanged => "type_changed",
            ChangeKind::MultiValuedChanged => "multi_valued_changed",
            ChangeKind::MutabilityChanged => "mutability_changed",
            ChangeKind::RequiredChanged => "required_changed",
            ChangeKind::CanonicalValuesChanged => "canonical_values_changed",
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The fully qualified path (see the module header).
    pub path: String,
    /// What changed.
    pub kind: ChangeKind,
    /// The baseline's value, when the change is of a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The current value, when the change is of a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Whether a client writing this path may now fail.
    pub breaking: bool,
}

/// Every difference between a baseline and the current documents.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Drift {
    /// The differences, in baseline order (additions after their neighbours).
    pub changes: Vec<Change>,
}

impl Drift {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any change is breaking.
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.breaking)
    }

    /// The breaking changes.
    pub fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.breaking)
    }
}

fn change(path: String, kind: ChangeKind, before: Option<String>, after: Option<String>) -> Change {
    let breaking = match kind {
        ChangeKind::Removed | ChangeKind::TypeChanged | ChangeKind::MultiValuedChanged => true,
        ChangeKind::MutabilityChanged => {
            matches!(after.as_deref(), Some("readOnly") | Some("immutable"))
                && matches!(before.as_deref(), Some("readWrite") | Some("writeOnly"))
        }
        ChangeKind::RequiredChanged => after.as_deref() == Some("true"),
        ChangeKind::Added | ChangeKind::CanonicalValuesChanged => false,
    };
    Change {
        path,
        kind,
        before,
        after,
        breaking,
    }
}

/// Compares `baseline` with `current`.
pub fn diff(baseline: &Discovery, current: &Discovery) -> Drift {
    let mut out = Vec::new();
    for old in &baseline.schemas {
        match current.schema(&old.id) {
            Some(new) => attributes(&old.id, ':', &old.attributes, &new.attributes, &mut out),
            None => out.push(change(old.id.clone(), ChangeKind::Removed, None, None)),
        }
    }
    for new in &current.schemas {
        if baseline.schema(&new.id).is_none() {
            out.push(change(new.id.clone(), ChangeKind::Added, None, None));
        }
    }
    resource_types(baseline, current, &mut out);
    Drift { changes: out }
}

fn find<'a>(list: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    list.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Compares two attribute lists; children are named `<prefix><sep><name>` (`:`
/// after a schema URN, `.` after an attribute).
fn attributes(
    prefix: &str,
    sep: char,
    old: &[Attribute],
    new: &[Attribute],
    out: &mut Vec<Change>,
) {
    let join = |name: &str| format!("{prefix}{sep}{name}");
    for o in old {
        let path = join(&o.name);
        match find(new, &o.name) {
            None => out.push(change(path, ChangeKind::Removed, None, None)),
            Some(n) => attribute(&path, o, n, out),
        }
    }
    for n in new {
        if find(old, &n.name).is_none() {
            out.push(change(join(&n.name), ChangeKind::Added, None, None));
        }
    }
}

fn attribute(path: &str, o: &Attribute, n: &Attribute, out: &mut Vec<Change>) {
    let mut value = |kind, before: String, after: String| {
        if before != after {
            out.push(change(path.to_string(), kind, Some(before), Some(after)));
        }
    };
    value(
        ChangeKind::TypeChanged,
        o.kind.as_str().into(),
        n.kind.as_str().into(),
    );
    value(
        ChangeKind::MultiValuedChanged,
        o.multi_valued.to_string(),
        n.multi_valued.to_string(),
    );
    value(
        ChangeKind::MutabilityChanged,
        o.mutability.as_str().into(),
        n.mutability.as_str().into(),
    );
    value(
        ChangeKind::RequiredChanged,
        o.required.to_string(),
        n.required.to_string(),
    );
    let set = |a: &Attribute| -> BTreeSet<String> { a.canonical_values.iter().cloned().collect() };
    let (os, ns) = (set(o), set(n));
    if os != ns {
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        out.push(change(
            path.to_string(),
            ChangeKind::CanonicalValuesChanged,
            Some(list(&os)),
            Some(list(&ns)),
        ));
    }
    if !o.sub_attributes.is_empty() || !n.sub_attributes.is_empty() {
        attributes(path, '.', &o.sub_attributes, &n.sub_attributes, out);
    }
}

fn resource_types(baseline: &Discovery, current: &Discovery, out: &mut Vec<Change>) {
    let (Some(old), Some(_)) = (&baseline.resource_types, &current.resource_types) else {
        return;
    };
    for rt in old {
        let Some(now) = current.resource_type(&rt.name) else {
            out.push(change(rt.name.clone(), ChangeKind::Removed, None, None));
            continue;
        };
        for ext in &rt.extensions {
            if !now.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
                out.push(change(
                    format!("{} -> {ext}", rt.name),
                    ChangeKind::Removed,
                    None,
                    None,
                ));
            }
        }
        for ext in &now.extensions {
            if !rt.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
                out.push(change(
                    format!("{} -> {ext}", rt.name),
                    ChangeKind::Added,
                    None,
                    None,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
