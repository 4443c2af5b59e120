//! A quick verdict on one row, for `validate`: is the row surely valid, and what
//! are its key hashes? It runs the same value steps as the mapping
//! ([`transform::apply`], [`transform::list_items`]) and the same checks as the
//! rules ([`check_email`], [`phone_ok`], [`transform::parse_bool`],
//! [`transform::is_date`], proficiencies, lengths), but builds no user: values
//! stay borrowed from the row (a template renders into a reused buffer), so a
//! clean row allocates nothing.
//!
//! The verdict is one-sided. [`Judge::judge`] answers `Some(keys)` only when
//! mapping the row ([`crate::mapping::Bound::map_into`]) and judging it
//! ([`super::rules::check`]) would find no problem; anything it is not sure of
//! (a blank required value, a blank list with a default, a repeated skill name,
//! any failed check) answers `None`, and the caller maps and judges the row in full, which names
//! every problem. So the verdict only ever saves work; it never decides an error
//! message. Debug builds check every `Some` against the full path (see
//! `pipeline`), and a property test does so on random rows.

use std::borrow::Cow;

use super::email::check_email;
use super::rules::{MAX_PROFICIENCIES, has_control};
use crate::mapping::phone::phone_ok;
use crate::mapping::record::too_long;
use crate::mapping::template::Part;
use crate::mapping::transform::{self, Value};
use crate::mapping::{Bound, Field, Shape, Source, Target, Unmapped, hash64};

/// The key hashes of a row (externalId, userName), as [`hash64`] of the mapped
/// values; `None` when the key is not set.
pub type KeyHashes = [Option<u64>; 2];

/// Reused buffers of one thread (a template's rendering, the proficiency names
/// seen).
#[derive(Debug, Default)]
pub struct Scratch {
    raw: String,
    names: Vec<u64>,
    /// The address and length of the last email found valid in this row: the
    /// userName and the work email are usually the same cell.
    email_ok: (usize, usize),
}

/// Judges rows against a bound mapping (see the module docs).
#[derive(Debug, Clone)]
pub struct Judge<'b, 'm> {
    bound: &'b Bound<'m>,
    /// Per field: whether any value could make the row invalid or is a key.
    /// Free text without a length limit or a strict table (a title, a
    /// department) cannot, and is not looked at.
    matters: Vec<bool>,
    /// Per field: the value only has to be there (a displayName from a template,
    /// with no length limit and no steps that could change it): a filled column
    /// of the template is enough, without rendering it.
    presence_only: Vec<bool>,
    /// Per field: its path has other rules too (skills, languages: unioned).
    unioned: Vec<bool>,
}

impl<'b, 'm> Judge<'b, 'm> {
    /// A judge for `bound`.
    pub fn new(bound: &'b Bound<'m>) -> Self {
        let fields = bound.mapping().fields();
        let matters = fields.iter().map(matters).collect();
        let presence_only = fields
            .iter()
            .map(|f| {
                f.target == Target::DisplayName
                    && f.max_length.is_none()
                    && f.table.is_none()
                    && f.case.is_none()
                    && f.replace.is_empty()
                    // A control character in the template's own text is refused
                    // in full; the columns' are looked for in `judge`.
                    && !matches!(&f.source, Source::Template(t)
                        if t.parts.iter().any(|p| matches!(p, Part::Lit(l) if has_control(l))))
            })
            .collect();
        let unioned = fields
            .iter()
            .map(|f| fields.iter().filter(|g| g.target == f.target).count() > 1)
            .collect();
        Self {
            bound,
            matters,
            presence_only,
            unioned,
        }
    }

    /// `Some(key hashes)` when the row is surely valid; `None` when unsure (map
    /// and judge it in full). Duplicates within the file are not judged here.
    pub fn judge(&self, fields: &[&str], s: &mut Scratch) -> Option<KeyHashes> {
        let mut keys: KeyHashes = [None, None];
        s.email_ok = (0, 0);
        for (i, f) in self.bound.mapping().fields().iter().enumerate() {
            if !self.matters[i]
                || (self.presence_only[i]
                    && self.bound.template_filled(i, fields) == Some(true)
                    && !fields.iter().any(|v| has_control(v)))
            {
                continue;
            }
            let Scratch {
                raw,
                names,
                email_ok,
            } = &mut *s;
            let v = self.bound.raw_with(i, fields, raw);
            match f.target.shape() {
                // Skills from several rules are unioned: only the full path counts
                // the union against the cap.
                Shape::Proficiencies if self.unioned[i] => return None,
                Shape::List | Shape::Proficiencies => list_ok(f, v, names)?,
                _ => match transform::apply(f, Cow::Borrowed(v), false).ok()? {
                    Value::Text(t) => {
                        // Only bytes that stay put for the whole row may be
                        // remembered: not a buffer reused by the next field.
                        let fixed = matches!(t, Cow::Borrowed(_)) && !self.bound.is_template(i);
                        let mut no_memo = (0, 0);
                        let memo = if fixed { &mut *email_ok } else { &mut no_memo };
                        text_ok(f, &t, memo)?;
                        match f.target {
                            Target::ExternalId => keys[0] = Some(hash64(&t)),
                            Target::UserName => keys[1] = Some(hash64(&t)),
                            _ => {}
                        }
                    }
                    // A required value left unset: judged in full, for its message.
                    _ if matches!(f.target, Target::UserName | Target::DisplayName) => {
                        return None;
                    }
                    Value::Clear | Value::Ignore => {}
                    Value::List(_) => return None,
                },
            }
        }
        Some(keys)
    }

    /// The key hashes alone, as the full path maps them: the externalId and the
    /// userName after their value steps, when within their length limit (a key
    /// the full path refuses is no key). Builds no string for a key that needs
    /// no copy.
    pub fn keys(&self, fields: &[&str], s: &mut Scratch) -> KeyHashes {
        let mut keys: KeyHashes = [None, None];
        for (i, f) in self.bound.mapping().fields().iter().enumerate() {
            let slot = match f.target {
                Target::ExternalId => 0,
                Target::UserName => 1,
                _ => continue,
            };
            let v = self.bound.raw_with(i, fields, &mut s.raw);
            if let Ok(Value::Text(t)) = transform::apply(f, Cow::Borrowed(v), false)
                && too_long(f, &t).is_ok()
            {
                keys[slot] = Some(hash64(&t));
            }
        }
        keys
    }
}

/// Whether a field's value can make a row invalid, or is a key: see
/// [`Judge::matters`]. A blank free-text value is simply left unset or cleared,
/// and its trim and a table that keeps or blanks what it lacks cannot fail
/// (case and replace can: `value_too_large`).
fn matters(f: &Field) -> bool {
    let free_text = matches!(
        f.target,
        Target::GivenName
            | Target::FamilyName
            | Target::Formatted
            | Target::Title
            | Target::Department
            | Target::Division
            | Target::EmployeeNumber
            | Target::Manager
            | Target::GenesysExternalId(_)
    );
    let strict_table = f.table.is_some() && f.unmapped == Unmapped::Error;
    // Case and replace steps can fail too: past the cap on one value (issue 14).
    let steps = f.case.is_some() || !f.replace.is_empty();
    !free_text || f.max_length.is_some() || strict_table || steps
}

/// Whether a scalar value passes what mapping and the rules check for its target.
fn text_ok(f: &Field, t: &str, memo: &mut (usize, usize)) -> Option<()> {
    too_long(f, t).ok()?;
    if matches!(
        f.target,
        Target::UserName | Target::ExternalId | Target::DisplayName
    ) && has_control(t)
    {
        return None;
    }
    let ok = match &f.target {
        Target::UserName | Target::Email(_) => {
            // The same bytes of this row were found valid a moment ago (`memo`
            // only ever holds bytes that do not change during the row).
            let at = (t.as_ptr() as usize, t.len());
            let ok = at == *memo || check_email(t).is_ok();
            if ok {
                *memo = at;
            }
            ok
        }
        Target::DisplayName => !t.is_empty(),
        Target::Active => transform::parse_bool(t).is_ok(),
        Target::DateHire => transform::is_date(t, &f.date_items),
        // What normalising gives is always in its final form (a property test
        // in `phone` holds it to that), which is all the rules ask of a phone.
        Target::Phone(_) => phone_ok(t, f.country),
        _ => true,
    };
    ok.then_some(())
}

/// Whether a list value passes: every item within the length limit; for
/// proficiencies, every item parsed, at most [`MAX_PROFICIENCIES`], no name twice
/// (two equal name hashes count as twice). A blank list is judged in full when it
/// has a default.
fn list_ok(f: &Field, v: &str, names: &mut Vec<u64>) -> Option<()> {
    let proficiencies = f.target.shape() == Shape::Proficiencies;
    if !proficiencies && f.max_length.is_none() && f.table.is_none() && f.default.is_none() {
        // Nothing about a plain list of names can be wrong.
        return Some(());
    }
    names.clear();
    let mut ok = true;
    let mut count = 0usize;
    let mut item_ok = |item: &str, names: &mut Vec<u64>| {
        count += 1;
        if !ok {
            return;
        }
        if !proficiencies {
            ok = too_long(f, item).is_ok();
            return;
        }
        match transform::parse_proficiency(item, &f.proficiency_separator, f.default_proficiency) {
            Ok((name, _)) if too_long(f, name).is_ok() => {
                let h = hash64(name);
                ok = !names.contains(&h);
                names.push(h);
            }
            _ => ok = false,
        }
    };
    match transform::plain_items(f, v) {
        Some(items) => items.for_each(|i| item_ok(i, names)),
        None => transform::list_items(f, Cow::Borrowed(v), &mut |i| item_ok(&i, names)).ok()?,
    }
    let within = !proficiencies || count <= MAX_PROFICIENCIES;
    let blank_default = count == 0 && f.default.is_some();
    (ok && within && !blank_default).then_some(())
}

#[cfg(test)]
mod tests;
