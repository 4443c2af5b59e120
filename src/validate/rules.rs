//! The rules a mapped user must pass (Genesys + RFC 7643): userName required and a
//! valid email; displayName required; the work email valid; phone numbers E.164 or
//! tel-URI; at most 50 skills and 50 languages, proficiency 0 to 5, no name twice;
//! no control character (U+0000–U+001F, U+007F) in userName, externalId, displayName.
//! Transform-level checks (dates, phone normalisation, tables, lengths) already
//! happened in `mapping`; a path that failed there is not judged again.

use super::RowError;
use super::email::check_email;
use crate::mapping::phone::is_valid_phone;
use crate::mapping::{DesiredUser, Mapping, Target, map_record};
use crate::model::ErrorKind;
use crate::scim::model::Proficiency;
use crate::source::{Header, Record};

type ErrFn<'a> = dyn Fn(&Target, Option<&str>, ErrorKind, String, &str) -> RowError + 'a;

/// Most routing skills / languages a Genesys user can have.
pub const MAX_PROFICIENCIES: usize = 50;

/// Maps and judges one record: the user, or every problem of the row.
pub fn check_record(
    m: &Mapping,
    header: &Header,
    rec: &Record,
) -> Result<DesiredUser, Vec<RowError>> {
    let (du, mut errors) = match map_record(m, header, rec) {
        Ok(du) => (du, Vec::new()),
        Err(errors) if errors.iter().any(|e| e.kind == ErrorKind::Config) => return Err(errors),
        Err(errors) => {
            // Judge what did map, so the row's problems all show at once.
            let bound = m.bind(header, None).map_err(|_| errors.clone())?;
            let fields: Vec<&str> = rec.fields.iter().map(String::as_str).collect();
            let (du, _) = bound.map(rec.row, &fields);
            (du, errors)
        }
    };
    check(m, &du, &mut errors);
    if errors.is_empty() {
        Ok(du)
    } else {
        Err(errors)
    }
}

/// Adds the rule violations of `du` to `errors` (which holds the row's transform
/// errors; their paths are not judged again).
pub fn check(m: &Mapping, du: &DesiredUser, errors: &mut Vec<RowError>) {
    let row = du.row;
    // Most rows have no errors: then nothing failed and no path is built.
    let failed = |errors: &Vec<RowError>, path: &dyn Fn() -> String| {
        !errors.is_empty() && {
            let p = path();
            errors.iter().any(|e| e.path.as_deref() == Some(p.as_str()))
        }
    };
    let err = |t: &Target, value: Option<&str>, kind: ErrorKind, problem: String, fix: &str| {
        let f = m.field(t);
        RowError {
            row,
            column: f.map(|f| f.label.clone()).filter(|l| !l.is_empty()),
            path: Some(t.path()),
            value: value.map(|v| crate::mapping::transform::shorten(v, 60)),
            kind,
            problem: match value {
                Some(v) => crate::mapping::transform::shorten_values_in(problem, v),
                None => problem,
            },
            fix: fix.to_string(),
        }
    };
    let user = &du.user;
    if !failed(errors, &|| "userName".to_string()) {
        match user.user_name.as_deref() {
            None => errors.push(err(
                &Target::UserName,
                None,
                ErrorKind::MissingRequired,
                "userName is blank".into(),
                "give every user an email address for userName",
            )),
            // A control character is named as such, not as a bad address.
            Some(u) if has_control(u) => errors.push(control_error(&Target::UserName, u, &err)),
            Some(u) => {
                if let Err(why) = check_email(u) {
                    errors.push(err(
                        &Target::UserName,
                        Some(u),
                        ErrorKind::InvalidEmail,
                        format!("userName `{u}` {why}"),
                        "write a plain address like name@example.com",
                    ));
                }
            }
        }
    }
    if !failed(errors, &|| "displayName".to_string())
        && user.display_name.as_deref().is_none_or(str::is_empty)
    {
        errors.push(err(
            &Target::DisplayName,
            None,
            ErrorKind::MissingRequired,
            "displayName is blank".into(),
            "give every user a name (fill the name columns)",
        ));
    }
    for (t, v) in [
        (Target::ExternalId, user.external_id.as_deref()),
        (Target::DisplayName, user.display_name.as_deref()),
    ] {
        if let Some(v) = v.filter(|v| has_control(v))
            && !failed(errors, &|| t.path())
        {
            errors.push(control_error(&t, v, &err));
        }
    }
    let kind = |k: &Option<String>| k.clone().unwrap_or_else(|| "work".into());
    for e in &user.emails {
        let Err(why) = check_email(&e.value) else {
            continue;
        };
        let t = Target::Email(kind(&e.kind));
        if !failed(errors, &|| t.path()) {
            errors.push(err(
                &t,
                Some(&e.value),
                ErrorKind::InvalidEmail,
                format!("`{}` {why}", e.value),
                "write a plain address like name@example.com, or leave it blank",
            ));
        }
    }
    for p in &user.phone_numbers {
        if is_valid_phone(&p.value) {
            continue;
        }
        let t = Target::Phone(kind(&p.kind));
        if !failed(errors, &|| t.path()) {
            errors.push(err(
                &t,
                Some(&p.value),
                ErrorKind::InvalidPhone,
                format!("`{}` is not E.164 or a tel URI", p.value),
                "write the number as +<country code><number>",
            ));
        }
    }
    if let Some(g) = &user.genesys {
        for (list, t, what) in [
            (&g.routing_skills, Target::RoutingSkills, "skills"),
            (&g.routing_languages, Target::RoutingLanguages, "languages"),
        ] {
            check_proficiencies(list, &t, what, errors, &err);
        }
    }
}

/// Whether `s` holds a control character (U+0000–U+001F, U+007F), which
/// userName, externalId and displayName must not carry (issue 14).
pub(crate) fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == 0x7f)
}

/// The `control_character` error of a value, naming the field and the character.
fn control_error(t: &Target, v: &str, err: &ErrFn<'_>) -> RowError {
    let (at, c) = v
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_ascii_control())
        .unwrap_or((0, '\0'));
    let path = t.path();
    err(
        t,
        Some(v),
        ErrorKind::ControlCharacter,
        format!(
            "{path} holds the control character U+{:04X} at character {}",
            u32::from(c),
            at + 1
        ),
        &format!("remove control characters (NUL, tabs, line breaks) from the source of {path}"),
    )
}

fn check_proficiencies(
    list: &[Proficiency],
    t: &Target,
    what: &str,
    errors: &mut Vec<RowError>,
    err: &ErrFn<'_>,
) {
    if list.len() > MAX_PROFICIENCIES {
        errors.push(err(
            t,
            None,
            if what == "skills" {
                ErrorKind::TooManySkills
            } else {
                ErrorKind::TooManyLanguages
            },
            format!(
                "{} {what}; Genesys allows at most {MAX_PROFICIENCIES}",
                list.len()
            ),
            &format!("keep at most {MAX_PROFICIENCIES} {what}"),
        ));
    }
    for (i, p) in list.iter().enumerate() {
        if !(0.0..=5.0).contains(&p.proficiency) {
            errors.push(err(
                t,
                Some(&p.name),
                ErrorKind::InvalidProficiency,
                format!(
                    "proficiency {} of `{}` is not between 0 and 5",
                    p.proficiency, p.name
                ),
                "use a number from 0 to 5",
            ));
        }
        if list[..i].iter().any(|q| q.name == p.name) {
            errors.push(err(
                t,
                Some(&p.name),
                ErrorKind::DuplicateItem,
                format!("`{}` is listed twice", p.name),
                &format!("list each of the {what} once"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping::from_toml_str(
            r#"
[[field]]
path = "externalId"
column = "id"
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "name"
[[field]]
path = "emails.work"
column = "work_email"
[[field]]
path = "genesys.routingSkills"
column = "skills"
default_proficiency = 3
"#,
        )
        .unwrap()
    }

    fn check_row(fields: [&str; 5]) -> Result<DesiredUser, Vec<RowError>> {
        let h = Header::new(
            ["id", "email", "name", "work_email", "skills"]
                .map(String::from)
                .to_vec(),
        );
        let rec = Record {
            row: 4,
            fields: fields.map(String::from).to_vec(),
        };
        check_record(&mapping(), &h, &rec)
    }

    fn kinds(r: Result<DesiredUser, Vec<RowError>>) -> Vec<ErrorKind> {
        r.err().unwrap_or_default().iter().map(|e| e.kind).collect()
    }

    #[test]
    fn valid_row_passes() {
        let du = check_row(["1", " A@B.co ", "A B", "a@b.co", "Sales:4;VIP"]).unwrap();
        assert_eq!(du.user.user_name.as_deref(), Some("a@b.co"));
        assert_eq!(du.user.genesys.unwrap().routing_skills[1].proficiency, 3.0);
    }

    #[test]
    fn required_and_email_rules() {
        assert_eq!(
            kinds(check_row(["1", "", "", "", ""])),
            vec![ErrorKind::MissingRequired, ErrorKind::MissingRequired]
        );
        assert_eq!(
            kinds(check_row(["1", "a@b", "A", "", ""])),
            vec![ErrorKind::InvalidEmail]
        );
        assert_eq!(
            kinds(check_row(["1", "a@b.co", "A", "x y@b.co", ""])),
            vec![ErrorKind::InvalidEmail]
        );
    }

    #[test]
    fn every_problem_of_a_row_at_once() {
        let errs = check_row(["1", "nope", "", "bad@", "Sales:9"]).unwrap_err();
        let k: Vec<ErrorKind> = errs.iter().map(|e| e.kind).collect();
        assert_eq!(
            k,
            vec![
                ErrorKind::InvalidProficiency,
                ErrorKind::InvalidEmail,
                ErrorKind::MissingRequired,
                ErrorKind::InvalidEmail
            ]
        );
        assert!(errs.iter().all(|e| e.row == 4));
        assert_eq!(errs[1].column.as_deref(), Some("email"));
        assert_eq!(errs[1].path.as_deref(), Some("userName"));
        assert_eq!(errs[1].value.as_deref(), Some("nope"));
    }

    #[test]
    fn issue_14_control_characters_in_keys_and_display_name() {
        for (fields, path) in [
            (["1", "a\u{0}b@b.co", "A", "", ""], "userName"),
            (["1\u{7f}2", "a@b.co", "A", "", ""], "externalId"),
            (["1", "a@b.co", "A\u{1b}B", "", ""], "displayName"),
            (["1", "a@b.co", "A\tB", "", ""], "displayName"),
        ] {
            let errs = check_row(fields).unwrap_err();
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(errs[0].kind, ErrorKind::ControlCharacter);
            assert_eq!(errs[0].path.as_deref(), Some(path));
            assert!(errs[0].problem.starts_with(path), "{}", errs[0].problem);
            assert!(errs[0].fix.contains("remove control characters"));
        }
        // Edges are trimmed first; a control character elsewhere is fine.
        assert!(check_row(["1", "a@b.co\n", "A", "", "S\u{1}:1"]).is_ok());
    }

    #[test]
    fn issue_14_values_in_problems_are_shortened() {
        let long = format!("{}@b", "a".repeat(100_000));
        let errs = check_row(["1", &long, "A", "", ""]).unwrap_err();
        assert_eq!(errs[0].kind, ErrorKind::InvalidEmail);
        assert!(errs[0].problem.len() < 200, "{}", errs[0].problem.len());
        assert!(errs[0].problem.contains("a…`"), "{}", errs[0].problem);
    }

    #[test]
    fn skill_limits_and_duplicates() {
        let many: Vec<String> = (0..51).map(|i| format!("S{i}:1")).collect();
        let many = many.join(";");
        assert_eq!(
            kinds(check_row(["1", "a@b.co", "A", "", &many])),
            vec![ErrorKind::TooManySkills]
        );
        assert_eq!(
            kinds(check_row(["1", "a@b.co", "A", "", "Sales:1;Sales:2"])),
            vec![ErrorKind::DuplicateItem]
        );
        let fifty: Vec<String> = (0..50).map(|i| format!("S{i}:1")).collect();
        assert!(check_row(["1", "a@b.co", "A", "", &fifty.join(";")]).is_ok());
    }
}
