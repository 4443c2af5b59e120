//! Which of a target's breaking schema changes (since a saved baseline) a
//! mapping would run into: the drift that must stop an `import` or `sync
//! --schema-baseline` before its first write.
//!
//! Pure: a [`Mapping`] and a [`Drift`] in, the [`Touch`]es out. A breaking
//! change touches the run when it is on a path a field writes (the attribute,
//! the sub-attribute written, the sub-attribute a value filter selects on, any
//! sub-attribute of an attribute written whole), removes the schema or resource
//! type a field writes into or stops the resource type offering it, or makes a
//! top-level attribute of a schema the mapping writes newly required while no
//! field writes it (every create would then fail). Other breaking drift only
//! warns.

use super::{Mapping, field_name, need};
use crate::scim::model::SCHEMA_GROUP;
use crate::scim::schema::drift::{ChangeKind, Drift};

/// A breaking change the mapping runs into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// The field that writes the path (`[[field]] #N (...)`); `None` for an
    /// attribute that became required and that no field writes.
    pub field: Option<String>,
    /// The change's path, as `scimport schema diff` prints it.
    pub path: String,
    /// The change (`removed`, `type_changed`, ...), with its values.
    pub change: String,
}

impl std::fmt::Display for Touch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {} {}", self.change, self.path),
            None => write!(
                f,
                "{} {}: no field writes it, so every create would fail",
                self.change, self.path
            ),
        }
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn under(path: &str, parent: &str) -> bool {
    path.len() > parent.len() + 1
        && eq(&path[..parent.len()], parent)
        && path.as_bytes()[parent.len()] == b'.'
}

/// The breaking changes of `drift` that `mapping` runs into, in drift order.
pub fn touching(mapping: &Mapping, drift: &Drift) -> Vec<Touch> {
    let written: Vec<_> = mapping
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| (field_name(i, f), need(&f.target)))
        .collect();
    let mut out = Vec::new();
    for c in drift.breaking() {
        let change = match (&c.before, &c.after) {
            (Some(b), Some(a)) => format!("{} ({b} -> {a})", c.kind.as_str()),
            _ => c.kind.as_str().to_string(),
        };
        let mut hit = |field: Option<String>| {
            out.push(Touch {
                field,
                path: c.path.clone(),
                change: change.clone(),
            })
        };
        let by_field = written.iter().find(|(_, n)| {
            let resource = if n.urn == SCHEMA_GROUP {
                "Group"
            } else {
                "User"
            };
            let attr = format!("{}:{}", n.urn, n.attr);
            let subs = [n.sub, n.filter.as_ref().map(|(k, _)| *k)];
            eq(&c.path, n.urn)
                || eq(&c.path, resource)
                || eq(&c.path, &format!("{resource} -> {}", n.urn))
                || eq(&c.path, &attr)
                || subs
                    .iter()
                    .flatten()
                    .any(|s| eq(&c.path, &format!("{attr}.{s}")))
                || (n.sub.is_none() && under(&c.path, &attr))
        });
        if let Some((field, _)) = by_field {
            hit(Some(field.clone()));
            continue;
        }
        // A newly required top-level attribute of a schema the mapping writes.
        if c.kind == ChangeKind::RequiredChanged
            && let Some((urn, attr)) = c.path.rsplit_once(':')
            && !attr.contains('.')
            && urn != SCHEMA_GROUP
            && written.iter().any(|(_, n)| eq(n.urn, urn))
        {
            hit(None);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_USER};
    use crate::scim::schema::drift::Change;

    fn mapping(fields: &[(&str, &str)]) -> Mapping {
        // Every mapping writes userName and displayName (fields #1 and #2).
        let mut text = String::from("keys = [\"userName\"]\n");
        let always = [("userName", "email"), ("displayName", "name")];
        for (path, col) in always.iter().chain(fields) {
            text.push_str(&format!("[[field]]\npath = '{path}'\ncolumn = \"{col}\"\n"));
        }
        Mapping::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn change(path: &str, kind: ChangeKind, before: &str, after: &str) -> Change {
        let v = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Change {
            path: path.into(),
            kind,
            before: v(before),
            after: v(after),
            breaking: true,
        }
    }

    fn drift(changes: Vec<Change>) -> Drift {
        Drift { changes }
    }

    fn paths(t: &[Touch]) -> Vec<&str> {
        t.iter().map(|t| t.path.as_str()).collect()
    }

    #[test]
    fn changes_on_written_paths_touch_and_others_do_not() {
        let m = mapping(&[
            ("title", "title"),
            (r#"emails[type eq "work"].value"#, "email"),
            ("roles", "roles"),
            ("enterprise.department", "dept"),
        ]);
        let core = |a: &str| format!("{SCHEMA_USER}:{a}");
        let d = drift(vec![
            change(&core("title"), ChangeKind::Removed, "", ""),
            change(&core("nickName"), ChangeKind::Removed, "", ""),
            change(
                &core("emails.type"),
                ChangeKind::TypeChanged,
                "string",
                "integer",
            ),
            change(
                &core("emails.display"),
                ChangeKind::MutabilityChanged,
                "readWrite",
                "readOnly",
            ),
            change(
                &core("roles.value"),
                ChangeKind::MutabilityChanged,
                "readWrite",
                "readOnly",
            ),
            change(
                &format!("User -> {SCHEMA_ENTERPRISE}"),
                ChangeKind::Removed,
                "",
                "",
            ),
        ]);
        let t = touching(&m, &d);
        assert_eq!(
            paths(&t),
            [
                core("title").as_str(),
                core("emails.type").as_str(),
                core("roles.value").as_str(),
                format!("User -> {SCHEMA_ENTERPRISE}").as_str(),
            ]
        );
        assert_eq!(t[0].field.as_deref(), Some("[[field]] #3 (title)"));
        assert!(
            t[1].to_string()
                .contains("type_changed (string -> integer)")
        );
    }

    #[test]
    fn a_newly_required_attribute_no_field_writes_touches() {
        let m = mapping(&[("title", "title")]);
        let d = drift(vec![
            change(
                &format!("{SCHEMA_USER}:nickName"),
                ChangeKind::RequiredChanged,
                "false",
                "true",
            ),
            // A sub-attribute of one nobody writes, and a schema nobody writes into.
            change(
                &format!("{SCHEMA_USER}:addresses.country"),
                ChangeKind::RequiredChanged,
                "false",
                "true",
            ),
            change(
                &format!("{SCHEMA_ENTERPRISE}:costCenter"),
                ChangeKind::RequiredChanged,
                "false",
                "true",
            ),
        ]);
        let t = touching(&m, &d);
        assert_eq!(paths(&t), [format!("{SCHEMA_USER}:nickName").as_str()]);
        assert_eq!(t[0].field, None);
        assert!(t[0].to_string().contains("every create would fail"));
    }

    #[test]
    fn non_breaking_changes_never_touch() {
        let m = mapping(&[("title", "title")]);
        let mut c = change(
            &format!("{SCHEMA_USER}:title"),
            ChangeKind::CanonicalValuesChanged,
            "a",
            "b",
        );
        c.breaking = false;
        assert!(touching(&m, &drift(vec![c])).is_empty());
    }
}
