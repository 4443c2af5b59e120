//! The value pipeline of one field: trim → blank semantics → case → regex replace →
//! value table (per item for lists, after splitting) → typed conversion (boolean,
//! date to ISO, phone to E.164, `name:proficiency` items). Borrows where it can
//! (`Cow`) so that a clean value costs no allocation until the user is built.
//!
//! What the case and replace steps produce is capped at [`MAX_VALUE_BYTES`]: a
//! replacement that would grow a value past it stops as soon as it does (the
//! oversized value is never built) and the row gets `value_too_large`.

use std::borrow::Cow;

use chrono::NaiveDate;

use super::Field;
use super::config::{Blank, Unmapped};
use crate::model::ErrorKind;

/// The most bytes one value may have after the case and replace steps (1 MiB).
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// A field's value after the textual steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Blank with `ignore`: leave the target as it is.
    Ignore,
    /// Blank with `clear`: remove the value in the target.
    Clear,
    /// One value.
    Text(Cow<'a, str>),
    /// Several values (lists).
    List(Vec<Cow<'a, str>>),
}

/// Why a value could not be transformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformError {
    /// Stable snake_case kind.
    pub kind: ErrorKind,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
    /// The offending value.
    pub value: String,
}

impl TransformError {
    fn new(kind: ErrorKind, value: &str, problem: String, fix: impl Into<String>) -> Self {
        Self {
            kind,
            problem,
            fix: fix.into(),
            value: value.to_string(),
        }
    }
}

/// Runs the textual steps on a raw value. `list` splits on the field's separator.
pub fn apply<'a>(f: &'a Field, raw: Cow<'a, str>, list: bool) -> Result<Value<'a>, TransformError> {
    if list {
        let mut items: Vec<Cow<'a, str>> = Vec::new();
        list_items(f, raw, &mut |item| items.push(item))?;
        if items.is_empty() {
            return blank(f, list);
        }
        return Ok(Value::List(items));
    }
    let v = if f.trim { trim_cow(raw) } else { raw };
    if v.is_empty() {
        return blank(f, list);
    }
    match lookup(f, steps(f, v)?)? {
        Some(x) if !x.is_empty() => Ok(Value::Text(x)),
        _ => blank(f, list),
    }
}

/// The list steps of [`apply`] without collecting: trims, runs the case and
/// replace steps, splits, looks each item up, and hands every non-blank item to
/// `each` in order. Handing out nothing means the value is blank (the caller
/// applies the blank semantics). The first unmapped item with `unmapped = "error"`
/// stops with its error.
pub fn list_items<'a>(
    f: &'a Field,
    raw: Cow<'a, str>,
    each: &mut dyn FnMut(Cow<'a, str>),
) -> Result<(), TransformError> {
    // The usual list: a cell of the row, trimmed and split on one byte.
    if let Cow::Borrowed(r) = raw
        && let Some(items) = plain_items(f, r)
    {
        items.for_each(|i| each(Cow::Borrowed(i)));
        return Ok(());
    }
    let v = if f.trim { trim_cow(raw) } else { raw };
    if v.is_empty() {
        return Ok(());
    }
    list_items_slow(f, steps(f, v)?, each)
}

/// The items [`list_items`] would hand out, borrowed from `raw`, when the
/// field's list steps come down to trimming and splitting on one byte (no case,
/// no replace, no table); `None` otherwise.
pub fn plain_items<'a>(f: &Field, raw: &'a str) -> Option<impl Iterator<Item = &'a str>> {
    let &[b] = f.split.as_bytes() else {
        return None;
    };
    if f.table.is_some() || f.case.is_some() || !f.replace.is_empty() {
        return None;
    }
    let v = if f.trim { trim_str(raw) } else { raw };
    Some(split_byte(v, b))
}

#[cold]
fn list_items_slow<'a>(
    f: &'a Field,
    v: Cow<'a, str>,
    each: &mut dyn FnMut(Cow<'a, str>),
) -> Result<(), TransformError> {
    split_each(v, &f.split, &mut |item| {
        if let Some(mapped) = lookup(f, item)? {
            // A table value may itself be a list ("Billing:4;Sales:3").
            if f.table.is_some() && mapped.contains(f.split.as_str()) {
                split_each(mapped, &f.split, &mut |i| {
                    each(i);
                    Ok(())
                })?;
            } else if !mapped.is_empty() {
                each(mapped);
            }
        }
        Ok(())
    })
}

/// Blank semantics: ignore, clear, or the default run through the same steps.
fn blank<'a>(f: &'a Field, list: bool) -> Result<Value<'a>, TransformError> {
    match (f.blank, &f.default) {
        (Blank::Clear, _) => Ok(Value::Clear),
        (Blank::Default, Some(d)) if !d.trim().is_empty() => {
            let v = steps(f, trim_cow(Cow::Borrowed(d.as_str())))?;
            if list {
                let items: Vec<Cow<'a, str>> = split_cow(v, &f.split)
                    .into_iter()
                    .map(|i| lookup(f, i).map(|o| o.unwrap_or(Cow::Borrowed(""))))
                    .collect::<Result<_, _>>()?;
                Ok(Value::List(
                    items.into_iter().filter(|i| !i.is_empty()).collect(),
                ))
            } else {
                match lookup(f, v)? {
                    Some(x) if !x.is_empty() => Ok(Value::Text(x)),
                    _ => Ok(Value::Ignore),
                }
            }
        }
        _ => Ok(Value::Ignore),
    }
}

/// Case change and regex replacements.
#[inline]
fn steps<'a>(f: &'a Field, v: Cow<'a, str>) -> Result<Cow<'a, str>, TransformError> {
    if f.case.is_none() && f.replace.is_empty() {
        Ok(v)
    } else {
        case_and_replace(f, v, MAX_VALUE_BYTES)
    }
}

/// Table lookup: `Ok(None)` means "treat as blank".
#[inline]
fn lookup<'a>(f: &'a Field, v: Cow<'a, str>) -> Result<Option<Cow<'a, str>>, TransformError> {
    match &f.table {
        None => Ok(Some(v)),
        Some(table) => lookup_table(f, table, v),
    }
}

fn lookup_table<'a>(
    f: &'a Field,
    table: &'a [(String, String)],
    v: Cow<'a, str>,
) -> Result<Option<Cow<'a, str>>, TransformError> {
    if let Some((_, to)) = table.iter().find(|(k, _)| k.eq_ignore_ascii_case(&v)) {
        return Ok(Some(Cow::Borrowed(to.as_str())));
    }
    match f.unmapped {
        Unmapped::Keep => Ok(Some(v)),
        Unmapped::Blank => Ok(None),
        Unmapped::Error => {
            let known: Vec<&str> = table.iter().map(|(k, _)| k.as_str()).collect();
            Err(TransformError::new(
                ErrorKind::UnmappedValue,
                &v,
                format!("`{v}` is not in the value table"),
                format!(
                    "use one of {} or add it to the field's table",
                    shorten(&known.join(", "), 80)
                ),
            ))
        }
    }
}

/// Whether `s` has nothing to trim: empty, or its first and last bytes are visible
/// ASCII (the usual cell), which skips the Unicode-aware trim.
#[inline]
fn trimmed_already(s: &str) -> bool {
    let visible = |b: u8| b > b' ' && b < 0x7f;
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) => visible(a) && visible(z),
        _ => true,
    }
}

#[inline(always)]
fn trim_cow(v: Cow<'_, str>) -> Cow<'_, str> {
    if trimmed_already(&v) {
        return v;
    }
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => {
            let t = s.trim();
            if t.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(t.to_string())
            }
        }
    }
}

/// Trims, skipping the Unicode-aware trim when there is nothing to trim.
#[inline]
pub fn trim_str(s: &str) -> &str {
    if trimmed_already(s) { s } else { s.trim() }
}

/// The trimmed, non-empty parts of `s` between the ASCII byte `b` (a byte search:
/// `b` never sits inside a multi-byte character, so every cut is a char boundary).
fn split_byte(s: &str, b: u8) -> impl Iterator<Item = &str> {
    let mut from = 0;
    memchr::memchr_iter(b, s.as_bytes())
        .chain(std::iter::once(s.len()))
        .map(move |at| {
            let part = &s[from..at];
            from = at + 1;
            trim_str(part)
        })
        .filter(|i| !i.is_empty())
}

/// The trimmed, non-empty parts of `s` between separators `sep` (a one-byte
/// separator, the usual `;`, splits with a byte search, not a substring searcher).
fn parts<'s>(s: &'s str, sep: &str) -> impl Iterator<Item = &'s str> {
    let byte = (sep.len() == 1).then(|| sep.as_bytes()[0]);
    let by_byte = byte.map(|b| split_byte(s, b));
    let by_str = byte
        .is_none()
        .then(|| s.split(sep).map(trim_str).filter(|i| !i.is_empty()));
    by_byte
        .into_iter()
        .flatten()
        .chain(by_str.into_iter().flatten())
}

/// Hands each part of `v` (see [`parts`]) to `each`, borrowed when `v` is.
fn split_each<'a>(
    v: Cow<'a, str>,
    sep: &str,
    each: &mut dyn FnMut(Cow<'a, str>) -> Result<(), TransformError>,
) -> Result<(), TransformError> {
    match v {
        Cow::Borrowed(s) => parts(s, sep).try_for_each(|i| each(Cow::Borrowed(i))),
        Cow::Owned(s) => parts(&s, sep).try_for_each(|i| each(Cow::Owned(i.to_string()))),
    }
}

fn split_cow<'a>(v: Cow<'a, str>, sep: &str) -> Vec<Cow<'a, str>> {
    let mut out = Vec::new();
    let _ = split_each(v, sep, &mut |i| {
        out.push(i);
        Ok(())
    });
    out
}

/// Parses a boolean: true/false, yes/no, y/n, 1/0, active/inactive.
pub fn parse_bool(v: &str) -> Result<bool, TransformError> {
    let l = trim_str(v);
    for t in ["true", "yes", "y", "1", "active", "enabled"] {
        if l.eq_ignore_ascii_case(t) {
            return Ok(true);
        }
    }
    for t in ["false", "no", "n", "0", "inactive", "disabled"] {
        if l.eq_ignore_ascii_case(t) {
            return Ok(false);
        }
    }
    Err(TransformError::new(
        ErrorKind::InvalidBoolean,
        v,
        format!("`{v}` is not true or false"),
        "write true/false, or map the source values with a table (e.g. active = \"true\")",
    ))
}

/// Parses a date with `formats` (chrono strftime), returning `YYYY-MM-DD`. ISO
/// dates (also with a time part) take a fast path.
pub fn parse_date(v: &str, formats: &[String]) -> Result<String, TransformError> {
    if let Some(d) = iso_date(v) {
        return Ok(d.to_string());
    }
    for fmt in formats {
        if let Ok(d) = NaiveDate::parse_from_str(v, fmt) {
            return Ok(d.format("%Y-%m-%d").to_string());
        }
    }
    Err(invalid_date(v, formats))
}

/// [`parse_date`] with the formats already parsed (`items`, from the mapping): the
/// same results without parsing a format string per row.
pub fn parse_date_with(
    v: &str,
    formats: &[String],
    items: &[Vec<chrono::format::Item<'static>>],
) -> Result<String, TransformError> {
    let mut out = String::new();
    parse_date_into(v, formats, items, &mut out)?;
    Ok(out)
}

/// [`parse_date_with`] writing the ISO date into `out` (emptied first), so a
/// caller that only needs the verdict reuses one buffer.
pub fn parse_date_into(
    v: &str,
    formats: &[String],
    items: &[Vec<chrono::format::Item<'static>>],
    out: &mut String,
) -> Result<(), TransformError> {
    out.clear();
    match parse_any(v, items) {
        Some(Ok(iso)) => out.push_str(iso),
        Some(Err(d)) => {
            use std::fmt::Write;
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        None => return Err(invalid_date(v, formats)),
    }
    Ok(())
}

/// Whether [`parse_date_with`] accepts `v` (without writing the date).
pub fn is_date(v: &str, items: &[Vec<chrono::format::Item<'static>>]) -> bool {
    parse_any(v, items).is_some()
}

/// `v` as a date: `Ok` an ISO date's first ten bytes (the fast path), `Err` a date
/// read with one of the formats, `None` no date.
fn parse_any<'v>(
    v: &'v str,
    items: &[Vec<chrono::format::Item<'static>>],
) -> Option<Result<&'v str, NaiveDate>> {
    if let Some(d) = iso_date(v) {
        return Some(Ok(d));
    }
    items.iter().find_map(|fmt| {
        let mut parsed = chrono::format::Parsed::new();
        chrono::format::parse(&mut parsed, v, fmt.iter()).ok()?;
        parsed.to_naive_date().ok().map(Err)
    })
}

/// `v`'s first ten bytes when they are a valid ISO date (`YYYY-MM-DD`, maybe with a
/// time part after).
fn iso_date(v: &str) -> Option<&str> {
    let b = v.as_bytes();
    let iso_shape = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ');
    let n = |r: std::ops::Range<usize>| v[r].parse::<u32>().unwrap_or(0);
    (iso_shape && NaiveDate::from_ymd_opt(n(0..4) as i32, n(5..7), n(8..10)).is_some())
        .then(|| &v[..10])
}

fn invalid_date(v: &str, formats: &[String]) -> TransformError {
    TransformError::new(
        ErrorKind::InvalidDate,
        v,
        format!("`{v}` is not a date in a known format"),
        format!(
            "write YYYY-MM-DD, or add the format to date_formats (tried {})",
            formats.join(", ")
        ),
    )
}

/// Parses `Name:4` (separator `sep`) into a name and a proficiency 0 to 5.
pub fn parse_proficiency<'i>(
    item: &'i str,
    sep: &str,
    default: Option<f64>,
) -> Result<(&'i str, f64), TransformError> {
    let found = match sep.as_bytes() {
        &[b] => item
            .bytes()
            .rposition(|c| c == b)
            .map(|at| (&item[..at], &item[at + 1..])),
        _ => item.rsplit_once(sep),
    };
    let (name, prof) = match found {
        Some((n, p)) => (trim_str(n), Some(trim_str(p))),
        None => (trim_str(item), None),
    };
    if name.is_empty() {
        return Err(TransformError::new(
            ErrorKind::InvalidListItem,
            item,
            format!("`{item}` has no name"),
            format!("write items as Name{sep}proficiency"),
        ));
    }
    let p = match prof {
        // The usual single digit, without the float parser.
        Some(p) if p.len() == 1 && p.as_bytes()[0].is_ascii_digit() => {
            f64::from(p.as_bytes()[0] - b'0')
        }
        Some(p) => p.parse::<f64>().map_err(|_| {
            TransformError::new(
                ErrorKind::InvalidProficiency,
                item,
                format!("proficiency `{p}` of `{name}` is not a number"),
                "use a number from 0 to 5",
            )
        })?,
        None => default.ok_or_else(|| {
            TransformError::new(
                ErrorKind::InvalidProficiency,
                item,
                format!("`{name}` has no proficiency"),
                format!("write {name}{sep}<0-5>, or set default_proficiency"),
            )
        })?,
    };
    if !(0.0..=5.0).contains(&p) || p.is_nan() {
        return Err(TransformError::new(
            ErrorKind::InvalidProficiency,
            item,
            format!("proficiency {p} of `{name}` is not between 0 and 5"),
            "use a number from 0 to 5",
        ));
    }
    Ok((name, p))
}

/// How many characters of a value an error message quotes (issue 14).
pub const MESSAGE_VALUE_CHARS: usize = 80;

/// `problem` with the values it quotes shortened to [`MESSAGE_VALUE_CHARS`]
/// characters: every copy of `value`, and every `` `quoted` `` span (a part of a
/// value, such as a list item's name).
pub fn shorten_values_in(problem: String, value: &str) -> String {
    let mut out = if value.char_indices().nth(MESSAGE_VALUE_CHARS).is_some() {
        problem.replace(value, &shorten(value, MESSAGE_VALUE_CHARS))
    } else {
        problem
    };
    if out.len() > MESSAGE_VALUE_CHARS {
        let mut parts: Vec<String> = out.split('`').map(String::from).collect();
        // Odd parts are quoted when the backticks pair up.
        if parts.len() % 2 == 1 {
            for q in parts.iter_mut().skip(1).step_by(2) {
                *q = shorten(q, MESSAGE_VALUE_CHARS);
            }
            out = parts.join("`");
        }
    }
    out
}

/// Shortens a value for messages (by characters, with an ellipsis).
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

mod steps;
#[cfg(test)]
mod tests;

use steps::case_and_replace;
#[cfg(test)]
use steps::{has_case_or_non_ascii, replace_capped};
