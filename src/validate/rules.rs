//! The rules a mapped user must pass (Genesys + RFC 7643): userName required and a
//! valid email; displayName required; the work email valid; phone numbers E.164 or
//! tel-URI; at most 50 skills and 50 languages, proficiency 0 to 5, no name twice.
//! Transform-level checks (dates, phone normalisation, tables, lengths) already
//! happened in `mapping`; a path that failed there is not judged again.

use super::RowError;
use super::email::check_email;
use super::phone::is_valid_phone;
use crate::mapping::{DesiredUser, Mapping, Target, map_record};
use crate::scim::model::Proficiency;
use crate::source::{Header, Record};

type ErrFn<'a> = dyn Fn(&Target, Option<&str>, &'static str, String, &str) -> RowError + 'a;

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
        Err(errors) if errors.iter().any(|e| e.kind == "config") => return Err(errors),
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
    let failed =
        |errors: &Vec<RowError>, path: &str| errors.iter().any(|e| e.path.as_deref() == Some(path));
    let err = |t: &Target, value: Option<&str>, kind: &'static str, problem: String, fix: &str| {
        let f = m.field(t);
        RowError {
            row,
            column: f.map(|f| f.label.clone()).filter(|l| !l.is_empty()),
            path: Some(t.path()),
            value: value.map(|v| crate::mapping::transform::shorten(v, 60)),
            kind,
            problem,
            fix: fix.to_string(),
        }
    };
    let user = &du.user;
    if !failed(errors, "userName") {
        match user.user_name.as_deref() {
            None => errors.push(err(
                &Target::UserName,
                None,
                "missing_required",
                "userName is blank".into(),
                "give every user an email address for userName",
            )),
            Some(u) => {
                if let Err(why) = check_email(u) {
                    errors.push(err(
                        &Target::UserName,
                        Some(u),
                        "invalid_email",
                        format!("userName `{u}` {why}"),
                        "write a plain address like name@example.com",
                    ));
                }
            }
        }
    }
    if !failed(errors, "displayName") && user.display_name.as_deref().is_none_or(str::is_empty) {
        errors.push(err(
            &Target::DisplayName,
            None,
            "missing_required",
            "displayName is blank".into(),
            "give every user a name (fill the name columns)",
        ));
    }
    for e in &user.emails {
        let t = Target::Email(e.kind.clone().unwrap_or_else(|| "work".into()));
        if failed(errors, &t.path()) {
            continue;
        }
        if let Err(why) = check_email(&e.value) {
            errors.push(err(
                &t,
                Some(&e.value),
                "invalid_email",
                format!("`{}` {why}", e.value),
                "write a plain address like name@example.com, or leave it blank",
            ));
        }
    }
    for p in &user.phone_numbers {
        let t = Target::Phone(p.kind.clone().unwrap_or_else(|| "work".into()));
        if !failed(errors, &t.path()) && !is_valid_phone(&p.value) {
            errors.push(err(
                &t,
                Some(&p.value),
                "invalid_phone",
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
                "too_many_skills"
            } else {
                "too_many_languages"
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
                "invalid_proficiency",
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
                "duplicate_item",
                format!("`{}` is listed twice", p.name),
                &format!("list each of the {what} once"),
            ));
        }
    }
}
