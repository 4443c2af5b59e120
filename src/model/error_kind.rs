//! [`ErrorKind`]: why a row did not succeed, one enum for row errors (reading,
//! mapping, validation), planning conflicts and failed calls.
//!
//! Its string forms are the ledger's `error_kind` values, the kinds of `failed.csv`
//! and the keys of `summary.json`'s `error_kinds`: an interface analysts query, so a
//! spelling never changes (a test pins them).

use serde::{Deserialize, Serialize};

/// Why a row did not succeed. [`ErrorKind::as_str`] is the ledger spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A record's bytes are not UTF-8. (`bad_utf8`)
    BadUtf8,
    /// A CSV record has more or fewer fields than the header. (`ragged_row`)
    RaggedRow,
    /// An NDJSON line is not a JSON object of scalars. (`bad_json`)
    BadJson,
    /// The row-number column (`--row-column`) holds no valid row number. (`bad_row_number`)
    BadRowNumber,
    /// A CSV record or NDJSON line is longer than `--max-record-bytes`; it is skipped
    /// unread. (`record_too_large`)
    RecordTooLarge,
    /// The mapping cannot be applied to this row (a configuration problem). (`config`)
    Config,
    /// A value is longer than the field's `max_length`. (`too_long`)
    TooLong,
    /// userName, externalId or displayName holds a control character. (`control_character`)
    ControlCharacter,
    /// A transform would produce a value larger than the cap on one value
    /// (`--max-record-bytes`); it is not built. (`value_too_large`)
    ValueTooLarge,
    /// A phone number cannot be read as a number of the default country or E.164. (`invalid_phone`)
    InvalidPhone,
    /// An email address is not valid. (`invalid_email`)
    InvalidEmail,
    /// A value is not one of the accepted true/false spellings. (`invalid_boolean`)
    InvalidBoolean,
    /// A date matches none of the mapping's date formats. (`invalid_date`)
    InvalidDate,
    /// An item of a list value is empty or malformed. (`invalid_list_item`)
    InvalidListItem,
    /// A skill or language proficiency is not a number from 0 to 5. (`invalid_proficiency`)
    InvalidProficiency,
    /// A list holds the same item twice. (`duplicate_item`)
    DuplicateItem,
    /// A required value is blank. (`missing_required`)
    MissingRequired,
    /// More routing languages than Genesys allows per user. (`too_many_languages`)
    TooManyLanguages,
    /// More routing skills than Genesys allows per user. (`too_many_skills`)
    TooManySkills,
    /// A value has no entry in the field's value map. (`unmapped_value`)
    UnmappedValue,
    /// Another row of the input has the same externalId. (`duplicate_external_id`)
    DuplicateExternalId,
    /// Another row of the input has the same userName. (`duplicate_user_name`)
    DuplicateUserName,
    /// The tenant user found by userName has another externalId. (`external_id_mismatch`)
    ExternalIdMismatch,
    /// The row has none of the match keys. (`no_key`)
    NoKey,
    /// The userName belongs to another tenant user. (`user_name_taken`)
    UserNameTaken,
    /// A group named by the row does not exist in the tenant. (`unknown_group`)
    UnknownGroup,
    /// A value exceeds the tenant's length or list limit (never truncated). (`value_too_long`)
    ValueTooLong,
    /// A `clear` path is not one the planner can clear. (`unknown_clear_path`)
    UnknownClearPath,
    /// The manager's externalId matches no user of the tenant or the input. (`manager_not_found`)
    ManagerNotFound,
    /// A group membership change failed. (`group_membership`)
    GroupMembership,
    /// The row conflicts with the tenant (a ledger rebuilt from the journal). (`conflict`)
    Conflict,
    /// The server says a unique attribute is already taken. (`uniqueness`)
    Uniqueness,
    /// The user changed since it was read (If-Match failed). (`version_conflict`)
    VersionConflict,
    /// `sync`: someone edited a managed value in the tenant since scimport last
    /// applied it; the field's `conflict` policy decided what happens (reported,
    /// not a failure of the row by itself). (`target_edited`)
    TargetEdited,
    /// `sync`: the source entry matches a managed user whose recorded anchor (the
    /// immutable identity, e.g. objectGUID) differs, so it is another account; the
    /// user is left as it is (see `--on-anchor-change`). (`anchor_changed`)
    AnchorChanged,
    /// `sync`: a deactivation held back by a safety guard (`--max-deactivate`);
    /// `--allow-mass-deactivation --reason "…"` lets it through. (`guard_held`)
    GuardHeld,
    /// HTTP 401. (`unauthorized`)
    Unauthorized,
    /// HTTP 403: the OAuth client lacks a permission. (`forbidden`)
    Forbidden,
    /// HTTP 404. (`not_found`)
    NotFound,
    /// HTTP 413. (`too_large`)
    TooLarge,
    /// HTTP 429 after every retry. (`rate_limited`)
    RateLimited,
    /// HTTP 5xx after every retry. (`server_error`)
    ServerError,
    /// Another HTTP 4xx: the server rejected the request. (`rejected`)
    Rejected,
    /// No answer in time, after every retry. (`timeout`)
    Timeout,
    /// The connection failed, after every retry. (`connection`)
    Connection,
    /// The circuit breaker is open: calls stopped. (`circuit_open`)
    CircuitOpen,
    /// No token could be obtained. (`auth`)
    Auth,
    /// The server's answer could not be read. (`decode`)
    Decode,
    /// The HTTP client could not be built. (`setup`)
    Setup,
    /// A routing skill the row names is not in the tenant's catalogue (names are
    /// case-sensitive); found before sending. (`unknown_skill`)
    UnknownSkill,
    /// A routing language the row names is not in the tenant's catalogue; found
    /// before sending. (`unknown_language`)
    UnknownLanguage,
    /// A value of a custom extension attribute of type integer or decimal is not a
    /// number. (`invalid_number`)
    InvalidNumber,
    /// Inactive in the source (a leaver, a terminated employee) and not in the
    /// tenant: nothing to create, and not an unchanged user either; the row is
    /// skipped. (`inactive_absent`)
    InactiveAbsent,
    /// `import --plan`: the user changed in the tenant since the plan was made
    /// (another version than the plan saw, or a planned create whose user now
    /// exists); not applied, not retried: plan again. (`plan_stale`)
    PlanStale,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 54] = [
        ErrorKind::BadUtf8,
        ErrorKind::RaggedRow,
        ErrorKind::BadJson,
        ErrorKind::BadRowNumber,
        ErrorKind::RecordTooLarge,
        ErrorKind::Config,
        ErrorKind::TooLong,
        ErrorKind::ControlCharacter,
        ErrorKind::ValueTooLarge,
        ErrorKind::InvalidPhone,
        ErrorKind::InvalidEmail,
        ErrorKind::InvalidBoolean,
        ErrorKind::InvalidDate,
        ErrorKind::InvalidListItem,
        ErrorKind::InvalidProficiency,
        ErrorKind::DuplicateItem,
        ErrorKind::MissingRequired,
        ErrorKind::TooManyLanguages,
        ErrorKind::TooManySkills,
        ErrorKind::UnmappedValue,
        ErrorKind::DuplicateExternalId,
        ErrorKind::DuplicateUserName,
        ErrorKind::ExternalIdMismatch,
        ErrorKind::NoKey,
        ErrorKind::UserNameTaken,
        ErrorKind::UnknownGroup,
        ErrorKind::ValueTooLong,
        ErrorKind::UnknownClearPath,
        ErrorKind::ManagerNotFound,
        ErrorKind::GroupMembership,
        ErrorKind::Conflict,
        ErrorKind::Uniqueness,
        ErrorKind::VersionConflict,
        ErrorKind::TargetEdited,
        ErrorKind::AnchorChanged,
        ErrorKind::GuardHeld,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::TooLarge,
        ErrorKind::RateLimited,
        ErrorKind::ServerError,
        ErrorKind::Rejected,
        ErrorKind::Timeout,
        ErrorKind::Connection,
        ErrorKind::CircuitOpen,
        ErrorKind::Auth,
        ErrorKind::Decode,
        ErrorKind::Setup,
        ErrorKind::UnknownSkill,
        ErrorKind::UnknownLanguage,
        ErrorKind::InvalidNumber,
        ErrorKind::InactiveAbsent,
        ErrorKind::PlanStale,
    ];

    /// The ledger spelling (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadUtf8 => "bad_utf8",
            ErrorKind::RaggedRow => "ragged_row",
            ErrorKind::BadJson => "bad_json",
            ErrorKind::BadRowNumber => "bad_row_number",
            ErrorKind::RecordTooLarge => "record_too_large",
            ErrorKind::Config => "config",
            ErrorKind::TooLong => "too_long",
            ErrorKind::ControlCharacter => "control_character",
            ErrorKind::ValueTooLarge => "value_too_large",
            ErrorKind::InvalidPhone => "invalid_phone",
            ErrorKind::InvalidEmail => "invalid_email",
            ErrorKind::InvalidBoolean => "invalid_boolean",
            ErrorKind::InvalidDate => "invalid_date",
            ErrorKind::InvalidListItem => "invalid_list_item",
            ErrorKind::InvalidProficiency => "invalid_proficiency",
            ErrorKind::DuplicateItem => "duplicate_item",
            ErrorKind::MissingRequired => "missing_required",
            ErrorKind::TooManyLanguages => "too_many_languages",
            ErrorKind::TooManySkills => "too_many_skills",
            ErrorKind::UnmappedValue => "unmapped_value",
            ErrorKind::DuplicateExternalId => "duplicate_external_id",
            ErrorKind::DuplicateUserName => "duplicate_user_name",
            ErrorKind::ExternalIdMismatch => "external_id_mismatch",
            ErrorKind::NoKey => "no_key",
            ErrorKind::UserNameTaken => "user_name_taken",
            ErrorKind::UnknownGroup => "unknown_group",
            ErrorKind::ValueTooLong => "value_too_long",
            ErrorKind::UnknownClearPath => "unknown_clear_path",
            ErrorKind::ManagerNotFound => "manager_not_found",
            ErrorKind::GroupMembership => "group_membership",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Uniqueness => "uniqueness",
            ErrorKind::VersionConflict => "version_conflict",
            ErrorKind::TargetEdited => "target_edited",
            ErrorKind::AnchorChanged => "anchor_changed",
            ErrorKind::GuardHeld => "guard_held",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::CircuitOpen => "circuit_open",
            ErrorKind::Auth => "auth",
            ErrorKind::Decode => "decode",
            ErrorKind::Setup => "setup",
            ErrorKind::UnknownSkill => "unknown_skill",
            ErrorKind::UnknownLanguage => "unknown_language",
            ErrorKind::InvalidNumber => "invalid_number",
            ErrorKind::InactiveAbsent => "inactive_absent",
            ErrorKind::PlanStale => "plan_stale",
        }
    }

    /// Parses the ledger spelling.
    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_the_ledgers_and_round_trip() {
        let pinned = [
            "bad_utf8",
            "ragged_row",
            "bad_json",
            "bad_row_number",
            "record_too_large",
            "config",
            "too_long",
            "control_character",
            "value_too_large",
            "invalid_phone",
            "invalid_email",
            "invalid_boolean",
            "invalid_date",
            "invalid_list_item",
            "invalid_proficiency",
            "duplicate_item",
            "missing_required",
            "too_many_languages",
            "too_many_skills",
            "unmapped_value",
            "duplicate_external_id",
            "duplicate_user_name",
            "external_id_mismatch",
            "no_key",
            "user_name_taken",
            "unknown_group",
            "value_too_long",
            "unknown_clear_path",
            "manager_not_found",
            "group_membership",
            "conflict",
            "uniqueness",
            "version_conflict",
            "target_edited",
            "anchor_changed",
            "guard_held",
            "unauthorized",
            "forbidden",
            "not_found",
            "too_large",
            "rate_limited",
            "server_error",
            "rejected",
            "timeout",
            "connection",
            "circuit_open",
            "auth",
            "decode",
            "setup",
            "unknown_skill",
            "unknown_language",
            "invalid_number",
            "inactive_absent",
            "plan_stale",
        ];
        let got: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(got, pinned);
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).expect("a unit variant serialises");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(ErrorKind::parse("nope"), None);
    }
}
