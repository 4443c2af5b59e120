//! Parsing NDJSON: one JSON object per line. Column names come from the first
//! object's keys, in file order; each line's values are read by those names
//! (strings as they are, numbers and booleans as text, `null` or a missing key as
//! blank, arrays joined with `;`). A line that is not a JSON object is `bad_json`,
//! an error of that row. Blank lines are not rows.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{Header, RawRow};

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
                if !keys.contains(&k) {
                    keys.push(k);
                }
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
    let mut fields: Vec<String> = Vec::with_capacity(header.len());
    for line in data.split(|&b| b == b'\n') {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        fields.clear();
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

type LineError = (&'static str, String, &'static str);

fn parse_line(line: &[u8], header: &Header, out: &mut Vec<String>) -> Result<(), LineError> {
    let text = std::str::from_utf8(line).map_err(|_| {
        (
            "bad_utf8",
            "the line is not valid UTF-8".to_string(),
            "save the export as UTF-8",
        )
    })?;
    let obj: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| {
        (
            "bad_json",
            format!(
                "the line is not a JSON object ({e}): {}",
                shorten(text.trim(), 60)
            ),
            "write one complete JSON object per line",
        )
    })?;
    for name in header.names() {
        out.push(match obj.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(v) => value_text(v),
        });
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
            vec![Ok("x|3|p;q".into()), Err("bad_json"), Ok("|true|".into())]
        );
    }
}
