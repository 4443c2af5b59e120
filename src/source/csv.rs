//! Parsing one block of CSV records (see [`super::block`]) with the `csv` crate into
//! borrowed fields, reusing one `ByteRecord`. Invalid UTF-8 and ragged rows become
//! [`RawRow::Bad`], never an abort.

use super::RawRow;

/// Calls `each` once per record of `data`, in order. `columns` is the header's
/// width: a record with another number of fields is `ragged_row`.
pub fn parse_block(data: &[u8], delimiter: u8, columns: usize, mut each: impl FnMut(RawRow<'_>)) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut spare: Vec<&'static str> = Vec::with_capacity(columns);
    // Reading from a slice cannot fail and csv-core accepts any bytes; stop on the
    // (impossible) error rather than loop.
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        let mut strs: Vec<&str> = std::mem::take(&mut spare);
        let mut bad_utf8 = false;
        // One UTF-8 check for the whole record; then every field boundary must be a
        // char boundary (as csv's StringRecord does), else a field split a character.
        match std::str::from_utf8(rec.as_slice()) {
            Ok(all) => {
                for i in 0..rec.len() {
                    let r = rec.range(i).unwrap_or(0..0);
                    match all.get(r) {
                        Some(s) => strs.push(s),
                        None => {
                            bad_utf8 = true;
                            break;
                        }
                    }
                }
            }
            Err(_) => bad_utf8 = true,
        }
        if bad_utf8 {
            let fields = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            each(RawRow::Bad {
                fields,
                kind: "bad_utf8",
                problem: "the row is not valid UTF-8 (invalid bytes shown as \u{FFFD})".into(),
                fix: "save the export as UTF-8",
            });
        } else if strs.len() != columns {
            let fields = strs.iter().map(|s| s.to_string()).collect();
            each(RawRow::Bad {
                fields,
                kind: "ragged_row",
                problem: format!(
                    "the row has {} fields but the header has {columns}",
                    strs.len()
                ),
                fix: "quote values that contain the delimiter, and give every row the \
                      header's number of fields",
            });
        } else {
            each(RawRow::Ok(&strs));
        }
        // `strs` borrows `rec`; keep only its allocation for the next record.
        spare = recycle(strs);
    }
}

/// Empties a vector of borrowed strings so its allocation can be reused with a new
/// lifetime (in-place collect keeps the buffer).
fn recycle<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(data: &[u8], d: u8, cols: usize) -> Vec<Result<Vec<String>, &'static str>> {
        let mut out = Vec::new();
        parse_block(data, d, cols, |r| match r {
            RawRow::Ok(f) => out.push(Ok(f.iter().map(|s| s.to_string()).collect())),
            RawRow::Bad { kind, .. } => out.push(Err(kind)),
        });
        out
    }

    #[test]
    fn parses_quotes_crlf_and_embedded_newlines() {
        let r = rows(b"1,\"a, \"\"b\"\"\nc\"\r\n2,x\r\n", b',', 2);
        assert_eq!(
            r,
            vec![
                Ok(vec!["1".into(), "a, \"b\"\nc".into()]),
                Ok(vec!["2".into(), "x".into()])
            ]
        );
    }

    #[test]
    fn bad_utf8_and_ragged_are_row_errors() {
        let r = rows(b"1,\xff\n2\n3,4,5\n6,7\n", b',', 2);
        assert_eq!(
            r,
            vec![
                Err("bad_utf8"),
                Err("ragged_row"),
                Err("ragged_row"),
                Ok(vec!["6".into(), "7".into()])
            ]
        );
    }

    #[test]
    fn other_delimiters() {
        assert_eq!(
            rows(b"a\tb\n", b'\t', 2),
            vec![Ok(vec!["a".into(), "b".into()])]
        );
        assert_eq!(
            rows(b"a|b\n", b'|', 2),
            vec![Ok(vec!["a".into(), "b".into()])]
        );
        assert_eq!(
            rows(b"a;b\n", b';', 2),
            vec![Ok(vec!["a".into(), "b".into()])]
        );
    }

    #[test]
    fn blank_lines_are_not_rows() {
        assert_eq!(rows(b"\n\na,b\n\n", b',', 2).len(), 1);
    }
}
