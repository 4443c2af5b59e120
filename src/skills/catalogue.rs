//! The tenant's routing catalogue (skill and language names) and the two checks
//! made against it before anything is sent: every name the mapping file itself
//! can produce ([`Catalogue::check_mapping`]: `table` values, constants and
//! defaults; the pre-flight stops the run on any), and the names of each row
//! ([`Catalogue::check_user`]: names that come straight from a column; the row
//! fails with `unknown_skill` / `unknown_language`). Pure: reading the catalogue
//! is the pre-flight's (`engine`).

use std::collections::BTreeSet;
use std::fmt;

use super::suggest::closest;
use crate::mapping::{DesiredUser, Field, Mapping, Source, Target, transform};
use crate::model::{ErrorKind, RowError};

/// A skill or a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A routing skill (`routingSkills`).
    Skill,
    /// A routing language (`routingLanguages`).
    Language,
}

impl Kind {
    /// `skill` or `language` (the spelling of `skills-verify.parquet`'s `kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Skill => "skill",
            Kind::Language => "language",
        }
    }

    /// The mapping target of this kind.
    pub fn target(self) -> Target {
        match self {
            Kind::Skill => Target::RoutingSkills,
            Kind::Language => Target::RoutingLanguages,
        }
    }

    /// The kind a target writes, if it writes skills or languages.
    pub fn of(target: &Target) -> Option<Kind> {
        match target {
            Target::RoutingSkills => Some(Kind::Skill),
            Target::RoutingLanguages => Some(Kind::Language),
            _ => None,
        }
    }

    fn error_kind(self) -> ErrorKind {
        match self {
            Kind::Skill => ErrorKind::UnknownSkill,
            Kind::Language => ErrorKind::UnknownLanguage,
        }
    }
}

/// The tenant's skill and language names (case-sensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    /// Skill names.
    pub skills: BTreeSet<String>,
    /// Language names; `None` when the target does not list its languages
    /// (languages are then not checked).
    pub languages: Option<BTreeSet<String>>,
}

/// A name the mapping file produces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MappingName {
    /// Skill or language.
    pub kind: Kind,
    /// The name as the file writes it.
    pub name: String,
    /// The mapping field: `[[field]] #N (column or template)`.
    pub field: String,
}

/// A name the tenant does not know, with the closest names it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// Skill or language.
    pub kind: Kind,
    /// The unknown name.
    pub name: String,
    /// Where it comes from (mapping fields).
    pub fields: Vec<String>,
    /// The closest existing names (case-insensitive match first).
    pub suggestions: Vec<String>,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` ({}) is not in the tenant's catalogue (names are case-sensitive); {}",
            self.kind.as_str(),
            self.name,
            self.fields.join(", "),
            hint(self.kind, &self.suggestions)
        )
    }
}

fn hint(kind: Kind, suggestions: &[String]) -> String {
    let create = format!("or create the {} in Genesys first", kind.as_str());
    if suggestions.is_empty() {
        return format!("fix: use an existing {}, {create}", kind.as_str());
    }
    let quoted: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
    format!(
        "did you mean {}? (fix the name, {create})",
        quoted.join(" or ")
    )
}

/// Every skill and language name the mapping file itself can produce: the
/// values of the `table`s, constants (`value`) and `default`s of fields writing
/// `routingSkills` / `routingLanguages`. Names that come from a column as they
/// are (no table, or `unmapped = "keep"`) are not known before the rows.
pub fn mapping_names(mapping: &Mapping) -> Vec<MappingName> {
    let mut out = Vec::new();
    for (i, f) in mapping.fields().iter().enumerate() {
        let Some(kind) = Kind::of(&f.target) else {
            continue;
        };
        let field = if f.label.is_empty() {
            format!("[[field]] #{}", i + 1)
        } else {
            format!("[[field]] #{} ({})", i + 1, f.label)
        };
        let mut texts: Vec<&str> = Vec::new();
        if let Source::Const(v) = &f.source {
            texts.push(v);
        }
        texts.extend(f.table.iter().flatten().map(|(_, v)| v.as_str()));
        texts.extend(f.default.as_deref());
        for text in texts {
            for name in names_in(f, text) {
                out.push(MappingName {
                    kind,
                    name,
                    field: field.clone(),
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The names in a list value as the field writes it (`Billing:4;Sales:3`);
/// malformed items are left to the row's own checks.
fn names_in(f: &Field, text: &str) -> Vec<String> {
    text.split(f.split.as_str())
        .filter(|i| !i.trim().is_empty())
        .filter_map(|i| {
            transform::parse_proficiency(i, &f.proficiency_separator, Some(0.0))
                .ok()
                .map(|(n, _)| n.to_string())
        })
        .collect()
}

impl Catalogue {
    /// The names of `kind`, when the catalogue lists them.
    pub fn names(&self, kind: Kind) -> Option<&BTreeSet<String>> {
        match kind {
            Kind::Skill => Some(&self.skills),
            Kind::Language => self.languages.as_ref(),
        }
    }

    /// Whether `name` is a known `kind` (true when the kind is not listed).
    pub fn knows(&self, kind: Kind, name: &str) -> bool {
        self.names(kind).is_none_or(|n| n.contains(name))
    }

    /// Every name of the mapping file the tenant does not know, each once with
    /// every field that produces it and the closest existing names.
    pub fn check_mapping(&self, mapping: &Mapping) -> Vec<Unknown> {
        let mut out: Vec<Unknown> = Vec::new();
        for n in mapping_names(mapping) {
            if self.knows(n.kind, &n.name) {
                continue;
            }
            match out
                .iter_mut()
                .find(|u| u.kind == n.kind && u.name == n.name)
            {
                Some(u) => u.fields.push(n.field),
                None => out.push(Unknown {
                    suggestions: self.suggest(n.kind, &n.name),
                    kind: n.kind,
                    name: n.name,
                    fields: vec![n.field],
                }),
            }
        }
        out
    }

    /// The closest known names of `kind` to `name`.
    pub fn suggest(&self, kind: Kind, name: &str) -> Vec<String> {
        self.names(kind)
            .map(|n| closest(name, n.iter().map(String::as_str)))
            .unwrap_or_default()
    }

    /// The row's errors for every skill and language it names that the tenant
    /// does not know (`unknown_skill`, `unknown_language`), each with a fix.
    pub fn check_user(&self, du: &DesiredUser) -> Vec<RowError> {
        let Some(g) = &du.user.genesys else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        for (kind, list) in [
            (Kind::Skill, &g.routing_skills),
            (Kind::Language, &g.routing_languages),
        ] {
            for p in list.iter().filter(|p| !self.knows(kind, &p.name)) {
                let suggestions = self.suggest(kind, &p.name);
                errors.push(RowError {
                    row: du.row,
                    column: None,
                    path: Some(kind.target().path()),
                    value: Some(p.name.clone()),
                    kind: kind.error_kind(),
                    problem: format!(
                        "{} `{}` is not in the tenant's catalogue (names are case-sensitive)",
                        kind.as_str(),
                        p.name
                    ),
                    fix: hint(kind, &suggestions),
                });
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests;
