//! The mapping file as written (TOML, serde): every field below is user
//! documentation too. [`super::Mapping`] is the resolved, checked form built from it
//! once; the hot loop never sees these structs. See docs/mapping.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole mapping file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Format version of this file; only `1` exists.
    #[serde(default = "default_version")]
    pub version: u32,
    /// The keys that match a row to an existing user, tried in order:
    /// `"externalId"`, `"userName"`. Default: both, externalId first.
    #[serde(default = "default_keys")]
    pub keys: Vec<String>,
    /// ISO 3166 country (e.g. `"US"`, `"GB"`) whose calling code completes phone
    /// numbers written without `+`. Default `"US"`.
    #[serde(default = "default_country")]
    pub default_country: String,
    /// Date formats (chrono strftime syntax) tried in order for date attributes
    /// (`dateHire`). Default: `%Y-%m-%d`, `%m/%d/%Y`, `%d.%m.%Y`, `%Y/%m/%d`,
    /// `%d-%b-%Y`, `%Y%m%d`.
    #[serde(default)]
    pub date_formats: Vec<String>,
    /// The source column holding the immutable identity of a source entry (for
    /// Active Directory `"objectGUID"`), which `sync` records per managed user to
    /// tell a re-created account from the one it last synced. Never sent to the
    /// tenant. Optional; when set, the input must have the column.
    #[serde(default)]
    pub anchor: Option<String>,
    /// One entry per SCIM attribute to manage (`[[field]]` tables).
    #[serde(default, rename = "field")]
    pub fields: Vec<FieldConfig>,
}

fn default_version() -> u32 {
    1
}
fn default_keys() -> Vec<String> {
    vec!["externalId".into(), "userName".into()]
}
fn default_country() -> String {
    "US".into()
}

/// How one SCIM attribute gets its value.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The SCIM attribute: `userName`, `displayName`, `name.givenName`,
    /// `emails[type eq "work"].value` (or `emails.work`), `phoneNumbers.mobile`,
    /// `enterprise.department`, `genesys.routingSkills`, ... (see docs/mapping.md).
    pub path: String,
    /// The source column holding the value.
    #[serde(default)]
    pub column: Option<String>,
    /// A template such as `"{first_name} {last_name}"` (`{{` and `}}` for braces).
    #[serde(default)]
    pub template: Option<String>,
    /// A constant value for every row.
    #[serde(default)]
    pub value: Option<String>,
    /// Trim surrounding whitespace (default `true`).
    #[serde(default)]
    pub trim: Option<bool>,
    /// Change case: `"lower"` or `"upper"`. `userName` is always lower-cased.
    #[serde(default)]
    pub case: Option<Case>,
    /// Regex replacements applied in order, e.g. `{ pattern = "^0+", with = "" }`.
    #[serde(default)]
    pub replace: Vec<ReplaceConfig>,
    /// A value table: source value → target value, matched case-insensitively after
    /// trim/case/replace. For lists, each item is looked up; a value may expand to a
    /// list (`Support = "Billing:4;Technical Support:3"`). Keys that differ only in
    /// ASCII case or surrounding spaces are refused as ambiguous.
    #[serde(default)]
    pub table: Option<BTreeMap<String, String>>,
    /// What a value missing from `table` does: `"error"` (default), `"keep"` (use
    /// it as is) or `"blank"` (treat as blank).
    #[serde(default)]
    pub unmapped: Option<Unmapped>,
    /// Separator between items of multi-valued attributes (roles, groups, skills,
    /// languages). Default `";"`; must not be empty.
    #[serde(default)]
    pub split: Option<String>,
    /// Separator between a skill/language name and its proficiency (`Billing:4`).
    /// Default `":"`.
    #[serde(default)]
    pub proficiency_separator: Option<String>,
    /// Proficiency for items written without one. Default: an item without a
    /// proficiency is an error.
    #[serde(default)]
    pub default_proficiency: Option<f64>,
    /// Date formats for this attribute, overriding the file-level `date_formats`.
    #[serde(default)]
    pub date_formats: Vec<String>,
    /// Country for phone numbers without `+`, overriding `default_country`.
    #[serde(default)]
    pub country: Option<String>,
    /// What a blank value means: `"ignore"` (default: leave the target as it is),
    /// `"clear"` (remove the value in the target) or `"default"` (use `default`).
    #[serde(default)]
    pub blank: Option<Blank>,
    /// The value used when the source is blank (implies `blank = "default"`).
    #[serde(default)]
    pub default: Option<String>,
    /// Maximum length in characters of the final value (per item for lists).
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Mark the email/phone entry as primary.
    #[serde(default)]
    pub primary: Option<bool>,
    /// Who wins when the tenant's value was edited since `sync` last applied it:
    /// `"source-wins"` (default), `"target-wins"` or `"merge"` (lists only).
    #[serde(default)]
    pub conflict: Option<ConflictPolicy>,
    /// The type of a custom extension attribute (`urn:...:attr` paths only):
    /// `"string"` (default), `"boolean"`, `"integer"`, `"decimal"` or `"dateTime"`.
    #[serde(default, rename = "type")]
    pub kind: Option<super::target::ExtKind>,
}

/// Who wins when someone edited a value in the tenant since `sync` last applied
/// it (a three-way comparison of source, state and tenant; see
/// `plan::reconcile_fields`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// The source's value is applied; an edit in the tenant is overwritten (and
    /// reported).
    #[default]
    SourceWins,
    /// A value edited in the tenant is kept; the source's value goes through only
    /// while nobody edited the tenant's.
    TargetWins,
    /// Lists: the source's items plus the items added in the tenant.
    Merge,
}

impl ConflictPolicy {
    /// The spelling in the mapping file (`source-wins`, `target-wins`, `merge`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::SourceWins => "source-wins",
            ConflictPolicy::TargetWins => "target-wins",
            ConflictPolicy::Merge => "merge",
        }
    }
}

/// Case change.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    /// Lower-case.
    Lower,
    /// Upper-case.
    Upper,
}

/// One regex replacement.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReplaceConfig {
    /// The regex (Rust `regex` syntax).
    pub pattern: String,
    /// The replacement; `$1` refers to a capture group.
    #[serde(default)]
    pub with: String,
}

/// What a value missing from a table does.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    /// The row is invalid (`unmapped_value`).
    Error,
    /// Use the value as it is.
    Keep,
    /// Treat as blank.
    Blank,
}

/// Blank semantics.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Blank {
    /// Leave the target's value as it is.
    Ignore,
    /// Remove the target's value.
    Clear,
    /// Use the field's `default`.
    Default,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply() {
        let c: MappingConfig =
            toml::from_str("[[field]]\npath = \"userName\"\ncolumn = \"email\"\n").unwrap();
        assert_eq!(c.keys, vec!["externalId", "userName"]);
        assert_eq!(c.default_country, "US");
        assert_eq!(c.fields.len(), 1);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<MappingConfig>("[[field]]\npath = \"x\"\ncolum = \"e\"\n")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert!(toml::from_str::<MappingConfig>("keyz = []\n").is_err());
    }

    #[test]
    fn anchor_and_conflict_parse_in_kebab_case() {
        let c: MappingConfig = toml::from_str(
            "anchor = \"objectGUID\"\n[[field]]\npath = \"roles\"\ncolumn = \"r\"\nconflict = \"merge\"\n\
             [[field]]\npath = \"title\"\ncolumn = \"t\"\nconflict = \"target-wins\"\n\
             [[field]]\npath = \"displayName\"\ncolumn = \"d\"\nconflict = \"source-wins\"\n",
        )
        .unwrap();
        assert_eq!(c.anchor.as_deref(), Some("objectGUID"));
        let got: Vec<_> = c.fields.iter().map(|f| f.conflict).collect();
        use ConflictPolicy::*;
        assert_eq!(got, vec![Some(Merge), Some(TargetWins), Some(SourceWins)]);
        for p in [SourceWins, TargetWins, Merge] {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        let err = toml::from_str::<MappingConfig>(
            "[[field]]\npath = \"title\"\ncolumn = \"t\"\nconflict = \"target_wins\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
        assert_eq!(
            toml::from_str::<MappingConfig>("").unwrap().anchor,
            None,
            "the anchor is optional"
        );
    }
}
