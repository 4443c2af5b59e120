//! Mapping one record: a [`Bound`] mapping (column names resolved to indices once
//! per input) turns a row's fields into a [`DesiredUser`] plus the transform errors
//! of that row (every one, never stopping at the first). Builds only the `User`
//! struct: no JSON on this path.

use std::borrow::Cow;

use super::template::Template;
use super::transform::{self, Value};
use super::{DesiredUser, Field, Mapping, Pool, Shape, Source, Target};
use crate::model::ErrorKind;
use crate::model::RowError;
use crate::scim::model::{
    EnterpriseUser, ExternalIdEntry, GenesysUser, ManagerRef, MultiValue, Name, Proficiency,
    RoleRef, SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER, User,
};
use crate::source::{Header, Record};

/// A row-column cell that is not a positive integer (the cell as written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a row number")]
pub struct BadRowNumber(pub String);

/// A mapping bound to one input's header.
#[derive(Debug, Clone)]
pub struct Bound<'m> {
    mapping: &'m Mapping,
    sources: Vec<BoundSource>,
    row_column: Option<usize>,
    /// The index of the mapping's `anchor` column.
    anchor: Option<usize>,
    columns: usize,
    /// Whether [`Bound::map`] fills `DesiredUser::source_hash` (the ledger needs it;
    /// `validate` does not).
    source_hash: bool,
}

#[derive(Debug, Clone)]
enum BoundSource {
    Col(usize),
    Tpl(Template<usize>),
    Const,
}

impl<'m> Bound<'m> {
    /// Binds; `Err` lists every missing column (with the header's names).
    pub fn try_new(
        mapping: &'m Mapping,
        header: &Header,
        row_column: Option<&str>,
    ) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut sources = Vec::with_capacity(mapping.fields.len());
        for f in &mapping.fields {
            match &f.source {
                Source::Column(c) => match header.index_of(c) {
                    Some(i) => sources.push(BoundSource::Col(i)),
                    None => {
                        problems.push(format!(
                            "column `{c}` (for `{}`) is not in the input",
                            f.path
                        ));
                        sources.push(BoundSource::Const);
                    }
                },
                Source::Template(t) => match t.bind(|n| header.index_of(n)) {
                    Ok(b) => sources.push(BoundSource::Tpl(b)),
                    Err(missing) => {
                        for c in missing {
                            problems.push(format!(
                                "column `{c}` (in the template for `{}`) is not in the input",
                                f.path
                            ));
                        }
                        sources.push(BoundSource::Const);
                    }
                },
                Source::Const(_) => sources.push(BoundSource::Const),
            }
        }
        let anchor = match mapping.anchor_column() {
            Some(a) => match header.index_of(a) {
                Some(i) => Some(i),
                None => {
                    problems.push(format!("column `{a}` (for `anchor`) is not in the input"));
                    None
                }
            },
            None => None,
        };
        let row_col = match row_column {
            Some(rc) => match header.index_of(rc) {
                Some(i) => Some(i),
                None => {
                    problems.push(format!("row column `{rc}` is not in the input"));
                    None
                }
            },
            None => None,
        };
        if !problems.is_empty() {
            problems.push(format!(
                "the input's columns are: {}",
                header.names().join(", ")
            ));
            return Err(problems);
        }
        Ok(Self {
            mapping,
            sources,
            row_column: row_col,
            anchor,
            columns: header.len(),
            source_hash: true,
        })
    }

    /// Leaves `DesiredUser::source_hash` empty (for callers that never write a
    /// ledger, such as `validate`): hashing every field is a noticeable share of
    /// mapping a row.
    pub fn without_source_hash(mut self) -> Self {
        self.source_hash = false;
        self
    }

    /// The mapping.
    pub fn mapping(&self) -> &'m Mapping {
        self.mapping
    }

    /// The header's width.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The row number from the row column, when one is configured and the cell is
    /// not blank: `Some(Err)` when the cell is not a positive integer.
    pub fn row_number(&self, fields: &[&str]) -> Option<Result<u64, BadRowNumber>> {
        let i = self.row_column?;
        let v = fields.get(i).map_or("", |s| s.trim());
        if v.is_empty() {
            // A row added by hand to a fed-back file: number it by position.
            return None;
        }
        Some(match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(BadRowNumber(v.to_string())),
        })
    }

    #[inline]
    fn raw<'a>(&'a self, i: usize, fields: &[&'a str]) -> Cow<'a, str> {
        match &self.sources[i] {
            BoundSource::Col(c) => Cow::Borrowed(fields.get(*c).copied().unwrap_or("")),
            BoundSource::Tpl(t) => t.render(fields),
            BoundSource::Const => match &self.mapping.fields[i].source {
                Source::Const(v) => Cow::Borrowed(v.as_str()),
                _ => Cow::Borrowed(""),
            },
        }
    }

    /// Whether field `i` comes from a template (rendered into a buffer that the
    /// next template reuses).
    #[inline]
    pub(crate) fn is_template(&self, i: usize) -> bool {
        matches!(self.sources[i], BoundSource::Tpl(_))
    }

    /// For a field from a template: whether a referenced column is not blank
    /// ([`Template::any_filled`]); `None` for other sources.
    #[inline]
    pub(crate) fn template_filled(&self, i: usize, fields: &[&str]) -> Option<bool> {
        match &self.sources[i] {
            BoundSource::Tpl(t) => Some(t.any_filled(fields)),
            _ => None,
        }
    }

    /// The raw value of field `i` ([`Bound::raw`]), a template rendered into `buf`
    /// instead of a new string.
    #[inline]
    pub(crate) fn raw_with<'s>(
        &'s self,
        i: usize,
        fields: &[&'s str],
        buf: &'s mut String,
    ) -> &'s str {
        match &self.sources[i] {
            BoundSource::Col(c) => fields.get(*c).copied().unwrap_or(""),
            BoundSource::Tpl(t) => {
                t.render_into(fields, buf);
                buf.as_str()
            }
            BoundSource::Const => match &self.mapping.fields[i].source {
                Source::Const(v) => v.as_str(),
                _ => "",
            },
        }
    }

    /// Maps a row: the desired user and every transform error of the row.
    pub fn map(&self, row: u64, fields: &[&str]) -> (DesiredUser, Vec<RowError>) {
        let mut du = DesiredUser::default();
        let mut errors = Vec::new();
        self.map_into(row, fields, &mut du, &mut errors, &mut Pool::default());
        (du, errors)
    }

    /// [`Bound::map`] into `du`, which must be empty (`DesiredUser::default()`, or
    /// emptied by [`Pool::clear`]), taking strings from `pool`; transform errors are
    /// added to `errors`. A caller that drops most users (`validate`) maps every row
    /// into the same `du` and clears it between rows, so a clean row allocates
    /// next to nothing.
    pub fn map_into(
        &self,
        row: u64,
        fields: &[&str],
        du: &mut DesiredUser,
        errors: &mut Vec<RowError>,
        pool: &mut Pool,
    ) {
        du.row = row;
        let DesiredUser {
            user,
            groups,
            clear,
            ..
        } = du;
        for (i, f) in self.mapping.fields.iter().enumerate() {
            let list = matches!(f.target.shape(), Shape::List | Shape::Proficiencies);
            let value = match transform::apply(f, self.raw(i, fields), list) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(row_error(row, f, e));
                    continue;
                }
            };
            match value {
                Value::Ignore => {}
                Value::Clear => {
                    if f.target == Target::Groups {
                        *groups = Some(Vec::new());
                    } else {
                        clear.push(pool.string(&f.path));
                    }
                }
                Value::Text(t) => {
                    if let Err(e) = set_text(user, f, t, pool) {
                        errors.push(row_error(row, f, e));
                    }
                }
                Value::List(items) => {
                    let mut out = Out {
                        user,
                        groups,
                        errors,
                        pool,
                    };
                    set_list(&mut out, f, &items, row)
                }
            }
        }
        if let Some(g) = &user.genesys {
            // One rule of a unioned list was blank with `clear`, another gave
            // items: the items are the list.
            let given = |path: &str| {
                (path.ends_with(":routingSkills") && !g.routing_skills.is_empty())
                    || (path.ends_with(":routingLanguages") && !g.routing_languages.is_empty())
            };
            clear.retain(|p| !given(p));
        }
        if let Some(a) = self.anchor {
            let cell = fields.get(a).map_or("", |s| s.trim());
            du.anchor = (!cell.is_empty()).then(|| pool.string(cell));
        }
        user.schemas.push(pool.string(SCHEMA_USER));
        let clears = |urn: &str| clear.iter().any(|p| p.starts_with(urn));
        if user.enterprise.is_some() || clears(SCHEMA_ENTERPRISE) {
            user.schemas.push(pool.string(SCHEMA_ENTERPRISE));
        }
        if user.genesys.is_some() || clears(SCHEMA_GENESYS) {
            user.schemas.push(pool.string(SCHEMA_GENESYS));
        }
        if self.source_hash {
            du.source_hash = source_hash(fields);
        }
    }
}

/// Maps one record with a mapping (binding the header on each call; for many
/// rows, [`Mapping::bind`] once and call [`Bound::map`]). Transform errors only;
/// `validate::check_record` adds the validation rules.
pub fn map_record(
    m: &Mapping,
    header: &Header,
    rec: &Record,
) -> Result<DesiredUser, Vec<RowError>> {
    let bound = m.bind(header, None).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| RowError {
                row: rec.row,
                column: None,
                path: None,
                value: None,
                kind: ErrorKind::Config,
                problem: p,
                fix: "fix the mapping file or the input's header".into(),
            })
            .collect::<Vec<_>>()
    })?;
    let fields: Vec<&str> = rec.fields.iter().map(String::as_str).collect();
    let (du, errors) = bound.map(rec.row, &fields);
    if errors.is_empty() {
        Ok(du)
    } else {
        Err(errors)
    }
}

fn row_error(row: u64, f: &Field, e: transform::TransformError) -> RowError {
    RowError {
        row,
        column: (!f.label.is_empty()).then(|| f.label.clone()),
        path: Some(f.path.clone()),
        value: Some(transform::shorten(&e.value, 60)),
        kind: e.kind,
        problem: transform::shorten_values_in(e.problem, &e.value),
        fix: e.fix,
    }
}

/// The `max_length` check of a field's value (also used by `validate::judge`).
#[inline]
pub(crate) fn too_long(f: &Field, v: &str) -> Result<(), transform::TransformError> {
    match f.max_length {
        // A string of at most `max` bytes has at most `max` characters.
        Some(max) if v.len() > max => count_chars(max, v),
        _ => Ok(()),
    }
}

#[cold]
fn count_chars(max: usize, v: &str) -> Result<(), transform::TransformError> {
    let n = v.chars().count();
    if n <= max {
        return Ok(());
    }
    Err(transform::TransformError {
        kind: ErrorKind::TooLong,
        problem: format!("{n} characters is more than the maximum {max}"),
        fix: format!("shorten it to {max} characters"),
        value: v.to_string(),
    })
}

fn set_text(
    user: &mut User,
    f: &Field,
    t: Cow<'_, str>,
    pool: &mut Pool,
) -> Result<(), transform::TransformError> {
    too_long(f, &t)?;
    match &f.target {
        Target::ExternalId => user.external_id = Some(pool.own(t)),
        Target::UserName => user.user_name = Some(pool.own(t)),
        Target::DisplayName => user.display_name = Some(pool.own(t)),
        Target::Title => user.title = Some(pool.own(t)),
        Target::GivenName => {
            user.name.get_or_insert_with(Name::default).given_name = Some(pool.own(t))
        }
        Target::FamilyName => {
            user.name.get_or_insert_with(Name::default).family_name = Some(pool.own(t))
        }
        Target::Formatted => {
            user.name.get_or_insert_with(Name::default).formatted = Some(pool.own(t))
        }
        Target::Active => user.active = Some(transform::parse_bool(&t)?),
        Target::Email(kind) => user.emails.push(MultiValue {
            value: pool.own(t),
            kind: Some(pool.string(kind)),
            primary: f.primary,
        }),
        Target::Phone(kind) => {
            let value = super::phone::normalize_phone(&t, f.country).map_err(|why| {
                transform::TransformError {
                    kind: ErrorKind::InvalidPhone,
                    problem: format!("`{t}` {why}"),
                    fix: "write the number as +<country code><number>, e.g. +14155550123".into(),
                    value: t.to_string(),
                }
            })?;
            user.phone_numbers.push(MultiValue {
                value,
                kind: Some(pool.string(kind)),
                primary: f.primary,
            });
        }
        Target::Department => ent(user).department = Some(pool.own(t)),
        Target::Division => ent(user).division = Some(pool.own(t)),
        Target::EmployeeNumber => ent(user).employee_number = Some(pool.own(t)),
        Target::Manager => {
            ent(user).manager = Some(ManagerRef {
                value: pool.own(t),
                reference: None,
                display_name: None,
            })
        }
        Target::DateHire => {
            ent(user).date_hire = Some(transform::parse_date_with(
                &t,
                &f.date_formats,
                &f.date_items,
            )?)
        }
        Target::GenesysExternalId(authority) => {
            let entry = ExternalIdEntry {
                authority: pool.string(authority),
                value: pool.own(t),
            };
            genesys(user, pool).external_ids.push(entry)
        }
        Target::Extension { urn, attr, kind } => {
            let value = super::target::extension_value(*kind, &t)?;
            user.extensions.set(urn, attr, value)
        }
        // Lists arrive as Value::List.
        Target::Roles | Target::Groups | Target::RoutingSkills | Target::RoutingLanguages => {}
    }
    Ok(())
}

/// Where [`set_list`] writes.
struct Out<'o> {
    user: &'o mut User,
    groups: &'o mut Option<Vec<String>>,
    errors: &'o mut Vec<RowError>,
    pool: &'o mut Pool,
}

fn set_list(out: &mut Out<'_>, f: &Field, items: &[Cow<'_, str>], row: u64) {
    let Out {
        user,
        groups,
        errors,
        pool,
    } = out;
    let ok = |i: &str, errors: &mut Vec<RowError>| match too_long(f, i) {
        Ok(()) => true,
        Err(e) => {
            errors.push(row_error(row, f, e));
            false
        }
    };
    match &f.target {
        Target::Roles => {
            user.roles.clear();
            for i in items {
                if ok(i, errors) {
                    user.roles.push(RoleRef {
                        value: pool.string(i),
                    });
                }
            }
        }
        Target::Groups => {
            let mut gs = pool.groups();
            for i in items {
                if ok(i, errors) {
                    gs.push(pool.string(i));
                }
            }
            **groups = Some(gs);
        }
        Target::RoutingSkills | Target::RoutingLanguages => {
            let g = genesys(user, pool);
            let list = if f.target == Target::RoutingSkills {
                &mut g.routing_skills
            } else {
                &mut g.routing_languages
            };
            // Entries of earlier rules of the same path: a name this rule gives
            // again keeps the higher proficiency (a name twice in one rule is
            // still `duplicate_item`).
            let earlier = list.len();
            for item in items {
                let parsed = transform::parse_proficiency(
                    item,
                    &f.proficiency_separator,
                    f.default_proficiency,
                )
                .and_then(|(name, p)| too_long(f, name).map(|()| (name, p)));
                match parsed {
                    Ok((name, proficiency)) => {
                        match list[..earlier].iter_mut().find(|p| p.name == name) {
                            Some(p) => p.proficiency = p.proficiency.max(proficiency),
                            None => list.push(Proficiency {
                                name: pool.string(name),
                                proficiency,
                            }),
                        }
                    }
                    Err(e) => errors.push(row_error(row, f, e)),
                }
            }
        }
        _ => {}
    }
}

fn ent(user: &mut User) -> &mut EnterpriseUser {
    user.enterprise.get_or_insert_with(EnterpriseUser::default)
}

fn genesys<'u>(user: &'u mut User, pool: &mut Pool) -> &'u mut GenesysUser {
    user.genesys.get_or_insert_with(|| pool.genesys())
}

/// A stable 128-bit hash of a row's fields (not cryptographic; the same fields
/// give the same hash on every machine), as 32 hex digits: XXH3-128 (seed 0) of
/// each field's UTF-8 length (8 bytes, little-endian) followed by its bytes. The
/// length prefix keeps field boundaries: `["a", "bc"]` and `["ab", "c"]` differ.
pub fn source_hash(fields: &[&str]) -> String {
    let mut h = twox_hash::XxHash3_128::new();
    for f in fields {
        h.write(&(f.len() as u64).to_le_bytes());
        h.write(f.as_bytes());
    }
    format!("{:032x}", h.finish_128())
}

/// A stable 64-bit hash of a string (for in-file duplicate detection): XXH3-64
/// (seed 0) of its UTF-8 bytes.
pub fn hash64(s: &str) -> u64 {
    twox_hash::XxHash3_64::oneshot(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_field_sensitive() {
        let h = source_hash(&["a", "bc"]);
        assert_eq!(h.len(), 32);
        assert_eq!(h, source_hash(&["a", "bc"]));
        assert_ne!(h, source_hash(&["ab", "c"]));
        assert_ne!(h, source_hash(&["a", "bc", ""]));
        assert_ne!(h, source_hash(&["a", "bd"]));
        assert_ne!(source_hash(&["abcdefghij"]), source_hash(&["abcdefghik"]));
    }

    /// Pinned to values computed outside Rust, by the reference C library
    /// (libxxhash 0.8.1, `XXH3_128bits` and `XXH3_64bits` called from Python
    /// over the framed bytes), so a change of the function or of the framing
    /// (which would make every row look changed to the next run) is a
    /// conscious decision.
    #[test]
    fn hashes_are_the_published_xxh3() {
        // The xxHash test vectors for empty input.
        assert_eq!(source_hash(&[]), "99aa06d3014798d86001c324468d497f");
        assert_eq!(hash64(""), 0x2d06_8005_38d3_94c2);
        assert_eq!(
            source_hash(&["a", "bc"]),
            "f310f4d71be93bc46456c91685adede6"
        );
        assert_eq!(
            source_hash(&["ab", "c"]),
            "f2eda2708bcfd51cc05c0ee4c9f60440"
        );
        assert_eq!(
            source_hash(&[
                "E100001",
                "Ada",
                "Lovelace",
                "ada@example.com",
                "(415) 555-0123"
            ]),
            "fedc36f06a531ed98ef23f726453cf83"
        );
        assert_eq!(hash64("alice@example.com"), 0x76eb_8955_12bf_35ff);
    }
}
