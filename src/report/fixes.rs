//! What a person does about each error kind, and how a ledger `error` text
//! splits into the field, the value and the fix the report shows.
//!
//! Validation errors already carry their fix (`column C (path): problem; fix:
//! ...`); server-side kinds get theirs from [`fix_for`]. Owns no I/O.

use crate::model::ErrorKind;

/// The longest value an example row shows, in characters.
pub const VALUE_CHARS: usize = 40;

/// What to do about `kind`, in a few words. Exhaustive: a new kind cannot reach
/// the page without one.
pub fn fix_for(kind: ErrorKind) -> &'static str {
    use ErrorKind as K;
    match kind {
        K::ManagerNotFound => "import the manager first (same file, earlier row) or fix manager_id",
        K::UserNameTaken | K::Uniqueness | K::Conflict => {
            "another user already holds this userName or externalId: fix the row, or adopt the existing user"
        }
        K::DuplicateUserName | K::DuplicateExternalId => {
            "give each row its own key, or remove the duplicate row"
        }
        K::UnknownGroup => "create the group in Genesys Cloud, or fix the group name",
        K::GroupMembership => "check the group exists and the client may edit its members",
        K::UnknownSkill | K::UnknownLanguage => {
            "create the skill or language in Genesys Cloud, or fix its name"
        }
        K::VersionConflict => "the user changed meanwhile: run again to re-read it",
        K::PlanStale => "the user changed since the plan: make a new plan (dry run) and review it",
        K::Unauthorized | K::Auth => "check the OAuth client's id, secret and region",
        K::Forbidden => "give the OAuth client the SCIM permissions (directory:user:add/edit)",
        K::RateLimited | K::CircuitOpen | K::ServerError | K::Timeout | K::Connection => {
            "a transient failure of the tenant or the network: retry the failed rows"
        }
        K::Rejected => "the tenant refused the request: read the error, fix the row, retry it",
        K::Decode => {
            "the answer (or the saved plan) could not be read: retry; if it persists, report it"
        }
        K::Setup | K::Config => "fix the configuration the error names, then run again",
        K::NotFound => "the user was deleted meanwhile: run again to create it",
        K::TooLarge | K::ValueTooLong | K::TooLong | K::ValueTooLarge => {
            "shorten the value to the limit Genesys accepts"
        }
        K::ExternalIdMismatch => "the user found has another externalId: fix the key columns",
        K::NoKey => "give the row an externalId or a userName",
        K::MissingRequired => "fill in the required column",
        K::InvalidEmail => "write a plain address like name@example.com",
        K::InvalidPhone => "write the number as +<country code><number>",
        K::InvalidDate => "write the date as YYYY-MM-DD, or add its format to date_formats",
        K::InvalidBoolean => "write true or false (or a value the mapping's table lists)",
        K::InvalidNumber => "write a plain number",
        K::InvalidListItem | K::DuplicateItem => "fix the list: each item once, each well formed",
        K::TooManySkills | K::TooManyLanguages => "keep the list within the limit Genesys accepts",
        K::UnmappedValue => "use a value the mapping's table lists, or add it to the table",
        K::InvalidProficiency => "use a proficiency from 0 to 5",
        K::UnknownClearPath => "fix the mapping: the path to clear is not one the target has",
        K::BadRowNumber => "fix the row-number column: a positive whole number per row",
        K::BadUtf8 | K::RaggedRow | K::BadJson | K::RecordTooLarge | K::ControlCharacter => {
            "fix the export: the record could not be read as written"
        }
        K::InactiveAbsent => "nothing: the row is created once the source marks it active",
        K::GuardHeld => {
            "check the leavers, then sync again with --allow-mass-deactivation --reason \"...\""
        }
        K::TargetEdited => {
            "someone edited this user in Genesys: the field's conflict policy decided; \
             see the mapping's `conflict` key"
        }
        K::AnchorChanged => {
            "the source account was re-created: see --on-anchor-change for what to do"
        }
    }
}

/// One error text, split for a table row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorParts {
    /// The input column and SCIM path (`email (userName)`), when the text names one.
    pub field: Option<String>,
    /// The offending value, shortened to [`VALUE_CHARS`].
    pub value: Option<String>,
    /// The problem, without the field and the fix.
    pub problem: String,
    /// What to do: the text's own fix, else the table's.
    pub fix: Option<String>,
}

/// Splits the first problem of a ledger `error` text (problems are joined by ` | `).
pub fn split_error(kind: &str, text: &str) -> ErrorParts {
    let first = text.split(" | ").next().unwrap_or(text).trim();
    let (field, rest) = match first.strip_prefix("column ") {
        Some(r) => match r.split_once(": ") {
            Some((f, rest)) => (Some(f.to_string()), rest),
            None => (None, first),
        },
        None => (None, first),
    };
    let (problem, fix) = match rest.split_once("; fix: ") {
        Some((p, f)) => (p, Some(f.to_string())),
        None => (rest, None),
    };
    let value = problem
        .split_once('`')
        .and_then(|(_, after)| after.split_once('`'))
        .map(|(v, _)| shorten(v, VALUE_CHARS));
    ErrorParts {
        field: field.map(|f| short_urn(&f)),
        value,
        problem: shorten(problem, 200),
        fix: fix.or_else(|| ErrorKind::parse(kind).map(|k| fix_for(k).to_string())),
    }
}

/// A field label with its SCIM extension URN left out: `skills
/// (urn:...:User:routingSkills)` reads `skills (routingSkills)`.
fn short_urn(field: &str) -> String {
    match field.split_once("(urn:") {
        Some((head, rest)) => match rest.split_once(')') {
            Some((urn, tail)) => {
                let attr = urn.rsplit_once(":User:").map_or(urn, |(_, a)| a);
                format!("{head}({attr}){tail}")
            }
            None => field.to_string(),
        },
        None => field.to_string(),
    }
}

/// `s` cut to `max` characters, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_gives_its_field_value_and_own_fix() {
        let p = split_error(
            "invalid_email",
            "column email (userName): userName `maria.gomez@@example.com` has more than one @; \
             fix: write a plain address like name@example.com | column email (emails): x",
        );
        assert_eq!(p.field.as_deref(), Some("email (userName)"));
        assert_eq!(p.value.as_deref(), Some("maria.gomez@@example.com"));
        assert_eq!(
            p.problem,
            "userName `maria.gomez@@example.com` has more than one @"
        );
        assert_eq!(
            p.fix.as_deref(),
            Some("write a plain address like name@example.com")
        );
    }

    #[test]
    fn extension_urns_are_left_out_of_field_labels() {
        let p = split_error(
            "invalid_proficiency",
            "column skills (urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills): \
             proficiency 7 of `Billing` is not between 0 and 5; fix: use a number from 0 to 5",
        );
        assert_eq!(p.field.as_deref(), Some("skills (routingSkills)"));
        assert_eq!(short_urn("email (userName)"), "email (userName)");
    }

    #[test]
    fn a_server_error_takes_its_fix_from_the_table() {
        let p = split_error(
            "manager_not_found",
            "manager with externalId \"E100009\" does not exist in the tenant",
        );
        assert_eq!(p.field, None);
        assert_eq!(p.value, None);
        assert_eq!(p.fix.as_deref(), Some(fix_for(ErrorKind::ManagerNotFound)));
        assert_eq!(split_error("something_new", "odd").fix, None);
    }

    #[test]
    fn long_values_are_shortened_on_a_character_boundary() {
        let long = format!("column c (p): `{}` is bad", "é".repeat(100));
        let v = split_error("x", &long).value.unwrap();
        assert_eq!(v.chars().count(), VALUE_CHARS + 1);
        assert!(v.ends_with('…'));
        assert_eq!(shorten("short", 10), "short");
    }
}
