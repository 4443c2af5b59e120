//! Checks the values of a mapping file that parse but cannot work (issue 14): an
//! empty `split` or `proficiency_separator`, date formats chrono cannot read or
//! that cannot give a full date, value-table keys the case-insensitive matching
//! cannot tell apart, an empty regex, `max_length = 0`, a blank `default`, an
//! empty `column`, `unmapped` without a table. Each problem names the field and
//! the fix; every problem is reported at once by [`super::Mapping::try_from_config`].
//! Does not resolve anything (see `resolve_field` in `mod.rs`).

use std::fmt::Write;

use chrono::format::{Item, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};

use super::config::{ConflictPolicy, FieldConfig};
use super::target::{Shape, Target};

/// Problems with one field's values; `at` names the field, `list` says whether it
/// is multi-valued and `proficiencies` whether its items carry a proficiency.
pub(super) fn field_problems(
    fc: &FieldConfig,
    at: &str,
    list: bool,
    proficiencies: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    if fc.column.as_deref().is_some_and(|c| c.trim().is_empty()) {
        problems.push(format!("{at}: `column` is empty; name the source column"));
    }
    if list {
        for (name, sep) in [
            ("split", &fc.split),
            ("proficiency_separator", &fc.proficiency_separator),
        ] {
            if sep.as_deref() == Some("") {
                problems.push(format!(
                    "{at}: `{name}` is empty; give the separator, e.g. {}",
                    if name == "split" { "\";\"" } else { "\":\"" }
                ));
            }
        }
        let split = fc.split.as_deref().unwrap_or(";");
        let prof = fc.proficiency_separator.as_deref().unwrap_or(":");
        if proficiencies && !split.is_empty() && split == prof {
            problems.push(format!(
                "{at}: `split` and `proficiency_separator` are both \"{split}\", so an item \
                 cannot be told from its proficiency; use two different separators"
            ));
        }
    }
    for (i, r) in fc.replace.iter().enumerate() {
        if r.pattern.is_empty() {
            problems.push(format!(
                "{at}: replace #{} has an empty pattern, which matches between every \
                 character; give the text to replace or remove the entry",
                i + 1
            ));
        }
    }
    if let Some(table) = &fc.table {
        problems.extend(table_problems(table.keys().map(String::as_str), at));
    } else if fc.unmapped.is_some() {
        problems.push(format!(
            "{at}: `unmapped` applies only with a `table`; add the table or remove `unmapped`"
        ));
    }
    if fc.max_length == Some(0) {
        problems.push(format!(
            "{at}: max_length = 0 allows no value; give a positive length or remove it"
        ));
    }
    if fc.default.as_deref().is_some_and(|d| d.trim().is_empty()) {
        problems.push(format!(
            "{at}: `default` is blank; give a value, or use blank = \"ignore\" or \"clear\""
        ));
    }
    problems.extend(date_format_problems(
        &fc.date_formats,
        &format!("{at}: date_formats"),
    ));
    problems
}

/// A `conflict` policy the field cannot have: anything but source-wins on a
/// matching key (keys are how users are matched, so the source owns them), and
/// `merge` on a value that is not a list.
pub(super) fn conflict_problems(
    policy: Option<ConflictPolicy>,
    target: &Target,
    at: &str,
) -> Vec<String> {
    let Some(policy) = policy.filter(|p| *p != ConflictPolicy::SourceWins) else {
        return Vec::new();
    };
    if matches!(target, Target::UserName | Target::ExternalId) {
        return vec![format!(
            "{at}: conflict = \"{}\" on `{}`, a matching key: keys are how users are \
             matched, so the source always wins; remove `conflict`",
            policy.as_str(),
            target.path()
        )];
    }
    let list = matches!(target.shape(), Shape::List | Shape::Proficiencies);
    if policy == ConflictPolicy::Merge && !list {
        return vec![format!(
            "{at}: conflict = \"merge\" applies only to lists (roles, groups, routing \
             skills, routing languages); `{}` holds one value, so use \"target-wins\" \
             to keep edits made in the tenant, or \"source-wins\"",
            target.path()
        )];
    }
    Vec::new()
}

/// Table keys that the matching (trimmed, ASCII case-insensitive) cannot tell
/// apart, and blank keys, which never match (a blank cell never reaches the table).
pub(super) fn table_problems<'a>(keys: impl Iterator<Item = &'a str>, at: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for k in keys {
        let t = k.trim();
        if t.is_empty() {
            problems.push(format!(
                "{at}: table key \"{k}\" is blank and never matches; blank cells follow \
                 `blank`/`default`, so remove the key"
            ));
            continue;
        }
        if let Some(first) = seen.iter().find(|s| s.eq_ignore_ascii_case(t)) {
            problems.push(format!(
                "{at}: table keys \"{first}\" and \"{t}\" differ only in case or spaces, \
                 but values are matched case-insensitively after trimming; keep one"
            ));
        } else {
            seen.push(t);
        }
    }
    problems
}

/// Formats chrono cannot read (an unknown or incomplete `%` directive) or that
/// cannot give a full date (year, month and day); `what` prefixes each problem.
pub(super) fn date_format_problems(formats: &[String], what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for f in formats {
        if f.trim().is_empty() {
            problems.push(format!(
                "{what}: a format is empty; remove it or write one such as \"%Y-%m-%d\""
            ));
            continue;
        }
        if StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
            problems.push(format!(
                "{what}: \"{f}\" has an unknown or incomplete % directive; use chrono's \
                 strftime directives (%Y, %m, %d, %b, %y, ...; %% for a literal %)"
            ));
            continue;
        }
        if !gives_full_date(f) {
            problems.push(format!(
                "{what}: \"{f}\" cannot give a full date; it needs the year, the month \
                 and the day (e.g. \"%d/%m/%Y\")"
            ));
        }
    }
    problems
}

/// Whether a date written with `f` reads back as the same date. A format that
/// cannot be written from a date and time (a time zone directive) is given the
/// benefit of the doubt.
fn gives_full_date(f: &str) -> bool {
    let Some(date) = NaiveDate::from_ymd_opt(2001, 2, 3) else {
        return true;
    };
    let Some(at) = date.and_hms_opt(0, 0, 0) else {
        return true;
    };
    let mut text = String::new();
    if write!(text, "{}", NaiveDateTime::format(&at, f)).is_err() {
        return true;
    }
    NaiveDate::parse_from_str(&text, f) == Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats_unknown_or_partial_are_problems() {
        let fmts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ok = fmts(&[
            "%Y-%m-%d",
            "%m/%d/%Y",
            "%d.%m.%Y",
            "%d-%b-%Y",
            "%Y%m%d",
            "%d/%m/%y",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %z",
            "%B %e, %Y",
        ]);
        assert_eq!(date_format_problems(&ok, "d"), Vec::<String>::new());
        for bad in ["%Q-%m-%d", "%Y-%m-%", "%Y-%m-%!"] {
            let p = date_format_problems(&fmts(&[bad]), "date_formats");
            assert_eq!(p.len(), 1, "{bad}: {p:?}");
            assert!(p[0].contains("unknown or incomplete"), "{p:?}");
            assert!(p[0].starts_with("date_formats: "), "{p:?}");
        }
        for partial in ["%Y-%m", "%m/%d", "%H:%M", "literal", " "] {
            let p = date_format_problems(&fmts(&[partial]), "d");
            assert_eq!(p.len(), 1, "{partial}: {p:?}");
        }
    }

    /// A mapping with one of each problem: all are reported at once, each naming
    /// its field (issue 14).
    #[test]
    fn issue_14_every_bad_value_is_reported_at_once() {
        let toml = r#"
keys = ["userName"]
date_formats = ["%Y-%m-%d", "%Q"]
[[field]]
path = "userName"
column = "email"
[[field]]
path = "name.givenName"
column = "first"
default = " "
[[field]]
path = "groups"
column = "groups"
split = ""
[[field]]
path = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills"
column = "skills"
split = ":"
[[field]]
path = "active"
column = "status"
table = { Active = "true", active = "true", terminated = "false" }
[[field]]
path = "title"
column = "title"
replace = [{ pattern = "", with = "x" }]
max_length = 0
unmapped = "keep"
[[field]]
path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dateHire"
column = "hired"
date_formats = ["%Y-%m"]
[[field]]
path = "displayName"
column = "name"
"#;
        let Err(crate::mapping::MappingError::Invalid { problems, .. }) =
            crate::mapping::Mapping::from_toml_str(toml)
        else {
            panic!("the mapping must be refused");
        };
        let want = [
            "date_formats: \"%Q\" has an unknown",
            "field #2 (`name.givenName`): `default` is blank",
            "field #3 (`groups`): `split` is empty",
            "field #4 (`urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills`): `split` and `proficiency_separator` are both \":\"",
            "field #5 (`active`): table keys \"Active\" and \"active\"",
            "field #6 (`title`): replace #1 has an empty pattern",
            "field #6 (`title`): `unmapped` applies only with a `table`",
            "field #6 (`title`): max_length = 0",
            "field #7 (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dateHire`): date_formats: \"%Y-%m\" cannot give a full date",
        ];
        for w in want {
            assert!(
                problems.iter().any(|p| p.starts_with(w)),
                "{w}\nnot in\n{problems:#?}"
            );
        }
        assert_eq!(problems.len(), want.len(), "{problems:#?}");
    }

    #[test]
    fn conflict_merge_only_on_lists_and_never_on_keys() {
        use ConflictPolicy::*;
        let ok = [
            (Some(Merge), Target::Roles),
            (Some(Merge), Target::Groups),
            (Some(Merge), Target::RoutingSkills),
            (Some(Merge), Target::RoutingLanguages),
            (Some(TargetWins), Target::Title),
            (Some(TargetWins), Target::Phone("mobile".into())),
            (Some(TargetWins), Target::Roles),
            (Some(SourceWins), Target::UserName),
            (Some(SourceWins), Target::ExternalId),
            (None, Target::UserName),
            (None, Target::Title),
        ];
        for (p, t) in ok {
            assert_eq!(
                conflict_problems(p, &t, "f"),
                Vec::<String>::new(),
                "{p:?} {t:?}"
            );
        }
        let bad = [
            (Merge, Target::Title, "applies only to lists"),
            (Merge, Target::Email("work".into()), "applies only to lists"),
            (Merge, Target::Active, "applies only to lists"),
            (TargetWins, Target::UserName, "a matching key"),
            (Merge, Target::ExternalId, "a matching key"),
        ];
        for (p, t, why) in bad {
            let got = conflict_problems(Some(p), &t, "f");
            assert_eq!(got.len(), 1, "{p:?} {t:?}");
            assert!(got[0].starts_with("f: ") && got[0].contains(why), "{got:?}");
            assert!(got[0].contains(&t.path()), "names the field: {got:?}");
        }
    }

    #[test]
    fn table_keys_that_clash_case_insensitively_are_problems() {
        let p = table_problems(
            ["Active", "active", "Leave", " LEAVE ", "x"].into_iter(),
            "f",
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("\"Active\" and \"active\""), "{p:?}");
        assert!(p[1].contains("\"Leave\" and \"LEAVE\""), "{p:?}");
        // Non-ASCII case is not folded by the matcher, so not a clash.
        assert!(table_problems(["É", "é"].into_iter(), "f").is_empty());
        let p = table_problems(["", "a"].into_iter(), "f");
        assert!(p[0].contains("blank"), "{p:?}");
    }
}
