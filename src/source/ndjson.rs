//! Parsing NDJSON: one JSON object per line. Column names come from the first
//! object's keys, in file order; each line's values are read by those names
//! (strings as they are, numbers and booleans as their literal text, `1.10` and
//! `12345678901234567890123` included, `null` or a missing key as blank, arrays
//! joined with `;`). A line that is not a JSON object, or that gives
//! a column's key twice, is `bad_json`,
//! an error of that row. Blank lines are not rows.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Header, RawRow};
use crate::model::ErrorKind;

/// The keys of the JSON object on `line`, in order; `None` if it is not an object.
pub fn header_from_line(line: &[u8]) -> Option<Vec<String>> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys = Vec::new();
            while let Some((k, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                keys.push(k);
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    let keys = (&mut de).deserialize_map(Keys).ok()?;
    de.end().ok()?;
    Some(keys)
}

/// Calls `each` once per non-blank line of `data`, in order.
pub fn parse_block(data: &[u8], header: &Header, mut each: impl FnMut(RawRow<'_>)) {
    // One string per column, reused line after line.
    let mut fields: Vec<String> = vec![String::new(); header.len()];
    for line in data.split(|&b| b == b'\n') {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        match parse_line(line, header, &mut fields) {
            Ok(()) => {
                let strs: Vec<&str> = fields.iter().map(String::as_str).collect();
                each(RawRow::Ok(&strs));
            }
            Err((kind, problem, fix)) => each(RawRow::Bad {
                fields: vec![String::new(); header.len()],
                kind,
                problem,
                fix,
            }),
        }
    }
}

type LineError = (ErrorKind, String, &'static str);

/// Reads one line into `out` (one string per header column, each emptied
/// first): the object is read in one go, each value written straight into its
/// column's string; keys not in the header are skipped.
fn parse_line(line: &[u8], header: &Header, out: &mut [String]) -> Result<(), LineError> {
    let text = std::str::from_utf8(line).map_err(|_| {
        (
            ErrorKind::BadUtf8,
            "the line is not valid UTF-8".to_string(),
            "save the export as UTF-8",
        )
    })?;
    let mut needs_raw = false;
    let mut read = read_object(text, header, out, false, &mut needs_raw);
    if read.is_ok() && needs_raw {
        // A value that is not an integer, string, boolean or null (a number a
        // float would rewrite, an array, an object): read the line again, each
        // value from its text as written. Lines of strings and integers, the
        // usual export, are read once.
        read = read_object(text, header, out, true, &mut needs_raw);
    }
    read.map_err(|e| {
        (
            ErrorKind::BadJson,
            format!(
                "the line is not a JSON object ({e}): {}",
                shorten(text.trim(), 60)
            ),
            "write one complete JSON object per line",
        )
    })
}

/// One pass over the line's object (see [`Row`]); each column emptied first.
fn read_object(
    text: &str,
    header: &Header,
    out: &mut [String],
    raw: bool,
    needs_raw: &mut bool,
) -> Result<(), serde_json::Error> {
    out.iter_mut().for_each(String::clear);
    let mut de = serde_json::Deserializer::from_str(text);
    (&mut de)
        .deserialize_map(Row {
            header,
            out,
            raw,
            needs_raw,
        })
        .and_then(|()| de.end())
}

/// Visits a line's object, writing values into their columns: with `raw`, each
/// value from its JSON text ([`raw_text`]); without, through [`Text`], which
/// sets `needs_raw` when a value's text cannot be rebuilt from what serde hands
/// it.
struct Row<'h, 'o> {
    header: &'h Header,
    out: &'o mut [String],
    raw: bool,
    needs_raw: &'o mut bool,
}

impl<'de> Visitor<'de> for Row<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // A key given twice on a line is refused, not guessed at (issue 14).
        let Row {
            header,
            out,
            raw,
            needs_raw,
        } = self;
        let mut seen = vec![false; out.len()];
        while let Some(column) = map.next_key_seed(Column(header))? {
            if let Some(i) = column
                && let Some(s) = seen.get_mut(i)
            {
                if *s {
                    let name = header.names().get(i).map_or("", String::as_str);
                    return Err(serde::de::Error::custom(format!(
                        "the key \"{name}\" is given twice; keep one"
                    )));
                }
                *s = true;
            }
            match column.and_then(|i| out.get_mut(i)) {
                Some(slot) if raw => {
                    slot.clear();
                    let text: &'de RawValue = map.next_value()?;
                    raw_text(text.get(), slot).map_err(serde::de::Error::custom)?;
                }
                Some(slot) => {
                    slot.clear();
                    map.next_value_seed(Text {
                        out: slot,
                        needs_raw: &mut *needs_raw,
                    })?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key, as the index of its header column (`None`: not a column).
struct Column<'h>(&'h Header);

impl<'de> DeserializeSeed<'de> for Column<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Column<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, k: &str) -> Result<Self::Value, E> {
        Ok(self.0.index_of(k))
    }
}

/// A value written as column text into `out` (see the module docs), in the pass
/// that reads values as serde hands them: strings, integers (whose decimal text
/// is the literal: JSON has no leading zeros or `+`), booleans and null. A float
/// (`1.10`, `1e3`, `-0`, an integer past 64 bits), an array or an object only
/// sets `needs_raw`: their text is read in the raw pass.
struct Text<'s> {
    out: &'s mut String,
    needs_raw: &'s mut bool,
}

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.out.push_str(v);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        use std::fmt::Write;
        let _ = write!(self.out, "{v}");
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        use std::fmt::Write;
        let _ = write!(self.out, "{v}");
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        *self.needs_raw = true;
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        *self.needs_raw = true;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        *self.needs_raw = true;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// Writes a value as column text into `out` (see the module docs) from its
/// JSON text as written: a string unescaped, `null` blank, a number or boolean
/// exactly as in the file (`1.10` stays `1.10`, `12345678901234567890123` is
/// not rounded: issue 14), an array's items joined with `;`, an object as compact
/// JSON.
fn raw_text(raw: &str, out: &mut String) -> Result<(), serde_json::Error> {
    match raw.as_bytes().first() {
        Some(b'"') => {
            if memchr::memchr(b'\\', raw.as_bytes()).is_none() {
                // No escapes: the text between the quotes is the string.
                out.push_str(raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""));
            } else {
                out.push_str(&serde_json::from_str::<String>(raw)?);
            }
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(raw)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(';');
                }
                raw_text(item.get(), out)?;
            }
        }
        Some(b'{') => out.push_str(&value_text(&serde_json::from_str::<Value>(raw)?)),
        _ if raw == "null" => {}
        // Numbers, true and false: their text as written.
        _ => out.push_str(raw),
    }
    Ok(())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The line reader as it was (a whole map of values, then a look-up per
    // column), kept as the reference the streaming one must agree with.
    fn reference_parse_line(
        line: &[u8],
        header: &Header,
        out: &mut Vec<String>,
    ) -> Result<(), LineError> {
        let text = std::str::from_utf8(line).map_err(|_| {
            (
                ErrorKind::BadUtf8,
                "the line is not valid UTF-8".to_string(),
                "save the export as UTF-8",
            )
        })?;
        let obj: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| {
            (
                ErrorKind::BadJson,
                format!(
                    "the line is not a JSON object ({e}): {}",
                    shorten(text.trim(), 60)
                ),
                "write one complete JSON object per line",
            )
        })?;
        // A header column given twice on the line is refused (issue 14).
        let keys = header_from_line(line).unwrap_or_default();
        if header
            .names()
            .iter()
            .any(|n| keys.iter().filter(|k| *k == n).count() > 1)
        {
            return Err((
                ErrorKind::BadJson,
                "a key is given twice".into(),
                "keep one",
            ));
        }
        for name in header.names() {
            out.push(match obj.get(name) {
                None | Some(Value::Null) => String::new(),
                Some(v) => value_text(v),
            });
        }
        Ok(())
    }

    /// What a reader made of a line: the column texts, or the error's kind.
    type Read = Result<Vec<String>, ErrorKind>;

    fn both(line: &str, header: &Header) -> (Read, Read) {
        let mut new = vec![String::from("stale"); header.len()];
        let new = parse_line(line.as_bytes(), header, &mut new)
            .map(|()| new)
            .map_err(|e| e.0);
        let mut old = Vec::new();
        let old = reference_parse_line(line.as_bytes(), header, &mut old)
            .map(|()| old)
            .map_err(|e| e.0);
        (new, old)
    }

    proptest::proptest! {
        /// The same column texts, or the same kind of error, as the reference.
        #[test]
        fn agrees_with_the_reference(
            pairs in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["a", "b", "c", "z", "\\u0061"]),
                    proptest::sample::select(vec![
                        "\"x\"", "\"\\u00e9\\n\"", "3", "-2", "1.5", "18446744073709551615",
                        "true", "null", "[\"p\",2,null,[\"q\"]]", "{\"k\":[1,{\"m\":null}]}", "[]", "\"\"",
                    ]),
                ),
                0..6,
            ),
            tail in proptest::sample::select(vec!["", " ", " x", ",", "}"]),
        ) {
            let header = Header::new(vec!["a".into(), "b".into(), "c".into()]);
            let body: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let line = format!("{{{}}}{tail}", body.join(","));
            let (new, old) = both(&line, &header);
            proptest::prop_assert_eq!(new, old, "{}", line);
        }
    }

    #[test]
    fn not_an_object_is_bad_json_as_before() {
        let header = Header::new(vec!["a".into()]);
        for line in ["[1]", "5", "\"a\"", "{\"a\":1", "{\"a\" 1}", "{\"a\":1}}"] {
            let (new, old) = both(line, &header);
            assert_eq!(new, Err(ErrorKind::BadJson), "{line}");
            assert_eq!(old, Err(ErrorKind::BadJson), "{line}");
        }
    }

    #[test]
    fn issue_14_a_column_key_given_twice_is_a_row_error() {
        let header = Header::new(vec!["a".into(), "b".into()]);
        let mut out = vec![String::new(); 2];
        let err = parse_line(br#"{"a":1,"b":2,"a":3}"#, &header, &mut out).unwrap_err();
        assert_eq!(err.0, ErrorKind::BadJson);
        assert!(err.1.contains("\"a\" is given twice"), "{}", err.1);
        // Keys outside the header are skipped, given twice or not.
        parse_line(br#"{"a":1,"z":2,"z":3}"#, &header, &mut out).expect("z is no column");
    }

    /// Numbers are read as written, never through a float (issue 14); the
    /// proptest above keeps to numbers whose float form is the same text.
    #[test]
    fn issue_14_scalars_are_their_literal_text() {
        let header = Header::new(vec!["a".into()]);
        for (json, text) in [
            ("12345678901234567890123", "12345678901234567890123"),
            ("18446744073709551616", "18446744073709551616"),
            ("18446744073709551617", "18446744073709551617"),
            ("1.10", "1.10"),
            ("1e3", "1e3"),
            ("-0", "-0"),
            ("-1.5E-7", "-1.5E-7"),
            ("true", "true"),
            ("false", "false"),
            ("null", ""),
            ("\"1.10\"", "1.10"),
            ("\"a\\\"b\\u00e9\"", "a\"bé"),
            ("[1.10, 2e3, null, [\"x\", 007.5]]", ""),
            ("[1.10, 2e3, null, [\"x\", 7.50]]", "1.10;2e3;;x;7.50"),
            ("  1.10  ", "1.10"),
        ] {
            let line = format!("{{\"a\": {json}}}");
            let mut out = vec![String::new()];
            match parse_line(line.as_bytes(), &header, &mut out) {
                Ok(()) => assert_eq!(out[0], text, "{line}"),
                // 007.5 is not JSON: the line is bad, as before.
                Err(e) => assert!(text.is_empty() && e.0 == ErrorKind::BadJson, "{line}"),
            }
        }
    }

    #[test]
    fn keys_in_file_order() {
        assert_eq!(
            header_from_line(br#"{"z":1,"a":{"x":2},"m":null}"#),
            Some(vec!["z".into(), "a".into(), "m".into()])
        );
        assert_eq!(header_from_line(b"[1,2]"), None);
        assert_eq!(header_from_line(b"{\"a\":1} x"), None);
    }

    #[test]
    fn values_as_text_and_bad_lines() {
        let h = Header::new(vec!["a".into(), "b".into(), "c".into()]);
        let data = b"{\"a\":\"x\",\"b\":3,\"c\":[\"p\",\"q\"]}\n\n{oops\n{\"a\":null,\"b\":true}\n";
        let mut out = Vec::new();
        parse_block(data, &h, |r| match r {
            RawRow::Ok(f) => out.push(Ok(f.join("|"))),
            RawRow::Bad { kind, .. } => out.push(Err(kind)),
        });
        assert_eq!(
            out,
            vec![
                Ok("x|3|p;q".into()),
                Err(ErrorKind::BadJson),
                Ok("|true|".into())
            ]
        );
    }
}
