//! Parsing one block of CSV records (see [`super::block`]) into borrowed fields.
//! Invalid UTF-8 and ragged rows become [`RawRow::Bad`], never an abort.
//!
//! Most HR exports quote nothing. A block without a single `"` and whose every `\r`
//! ends a line is split on newlines and the delimiter directly, borrowing from the
//! block (`parse_plain`); any other block goes through the `csv` crate, reusing one
//! `ByteRecord`. Both give the same rows for a plain block (a property test checks it
//! against the `csv` crate).

use super::RawRow;
use crate::model::ErrorKind;

/// Calls `each` once per record of `data`, in order. `columns` is the header's
/// width: a record with another number of fields is `ragged_row`.
pub fn parse_block(data: &[u8], delimiter: u8, columns: usize, each: impl FnMut(RawRow<'_>)) {
    if is_plain(data) {
        parse_plain(data, delimiter, columns, each);
    } else {
        parse_quoted(data, delimiter, columns, each);
    }
}

/// No quote anywhere, and every `\r` is part of a `\r\n`.
fn is_plain(data: &[u8]) -> bool {
    memchr::memchr(b'"', data).is_none()
        && memchr::memchr_iter(b'\r', data).all(|i| data.get(i + 1) == Some(&b'\n'))
}

/// A plain block: lines (`\n` or `\r\n`; empty lines are not records), split on the
/// delimiter.
fn parse_plain(data: &[u8], delimiter: u8, columns: usize, mut each: impl FnMut(RawRow<'_>)) {
    let mut strs: Vec<&str> = Vec::with_capacity(columns);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
    for end in ends {
        let line = &data[start..end];
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            let fields = line
                .split(|&b| b == delimiter)
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            each(bad_utf8(fields));
            continue;
        };
        strs.clear();
        // An ASCII delimiter never sits inside a multi-byte character, so every cut
        // is a char boundary.
        let mut from = 0;
        positions(line, delimiter, |at| {
            strs.push(&text[from..at]);
            from = at + 1;
        });
        strs.push(&text[from..]);
        if strs.len() == columns {
            each(RawRow::Ok(&strs));
        } else {
            each(ragged(
                strs.iter().map(|s| s.to_string()).collect(),
                columns,
            ));
        }
    }
}

/// Hands each position of byte `b` in `s` to `f`, in order, looking at eight bytes
/// at a time (cells are short: a search call per cell costs more than this).
#[inline]
fn positions(s: &[u8], b: u8, mut f: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = u64::from_le_bytes([b; 8]);
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        // A byte of `x` is zero exactly where `s` holds `b`; the top bit of each
        // byte of `hits` is set exactly for those (no carry crosses bytes).
        let x = u64::from_le_bytes(word) ^ pattern;
        let mut hits = !(((x & LOW7) + LOW7) | x) & HIGH;
        while hits != 0 {
            f(base + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &x) in chunks.remainder().iter().enumerate() {
        if x == b {
            f(base + i);
        }
    }
}

fn bad_utf8(fields: Vec<String>) -> RawRow<'static> {
    RawRow::Bad {
        fields,
        kind: ErrorKind::BadUtf8,
        problem: "the row is not valid UTF-8 (invalid bytes shown as \u{FFFD})".into(),
        fix: "save the export as UTF-8",
    }
}

fn ragged(fields: Vec<String>, columns: usize) -> RawRow<'static> {
    RawRow::Bad {
        kind: ErrorKind::RaggedRow,
        problem: format!(
            "the row has {} fields but the header has {columns}",
            fields.len()
        ),
        fields,
        fix: "quote values that contain the delimiter, and give every row the \
              header's number of fields",
    }
}

/// Any block, with the `csv` crate.
fn parse_quoted(data: &[u8], delimiter: u8, columns: usize, mut each: impl FnMut(RawRow<'_>)) {
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
        let mut invalid = false;
        // One UTF-8 check for the whole record; then every field boundary must be a
        // char boundary (as csv's StringRecord does), else a field split a character.
        match std::str::from_utf8(rec.as_slice()) {
            Ok(all) => {
                for i in 0..rec.len() {
                    let r = rec.range(i).unwrap_or(0..0);
                    match all.get(r) {
                        Some(s) => strs.push(s),
                        None => {
                            invalid = true;
                            break;
                        }
                    }
                }
            }
            Err(_) => invalid = true,
        }
        if invalid {
            let fields = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            each(bad_utf8(fields));
        } else if strs.len() != columns {
            each(ragged(
                strs.iter().map(|s| s.to_string()).collect(),
                columns,
            ));
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

    fn rows(data: &[u8], d: u8, cols: usize) -> Vec<Result<Vec<String>, ErrorKind>> {
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
                Err(ErrorKind::BadUtf8),
                Err(ErrorKind::RaggedRow),
                Err(ErrorKind::RaggedRow),
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

    type Parser<'p> = &'p dyn Fn(&mut dyn FnMut(RawRow<'_>));

    fn both(data: &[u8], d: u8, cols: usize) -> [Vec<Result<Vec<String>, ErrorKind>>; 2] {
        let collect = |f: Parser<'_>| {
            let mut out = Vec::new();
            f(&mut |r| match r {
                RawRow::Ok(f) => out.push(Ok(f.iter().map(|s| s.to_string()).collect())),
                RawRow::Bad { kind, fields, .. } => {
                    out.push(Err(kind));
                    out.push(Ok(fields));
                }
            });
            out
        };
        [
            collect(&|e| parse_plain(data, d, cols, e)),
            collect(&|e| parse_quoted(data, d, cols, e)),
        ]
    }

    #[test]
    fn plain_blocks_take_the_fast_path_only_when_safe() {
        assert!(is_plain(b"a,b\r\nc,d\n"));
        assert!(!is_plain(b"a,\"b\"\n"));
        assert!(!is_plain(b"a,b\rc,d\n"));
        let [plain, quoted] = both(b"1,x\r\n\r\n\n2,\xff\n3\n4,y", b',', 2);
        assert_eq!(plain, quoted);
        assert_eq!(plain.len(), 6);
    }

    proptest::proptest! {
        /// On any block without quotes or stray carriage returns, the plain splitter
        /// gives exactly the rows the csv crate gives.
        #[test]
        fn plain_splitter_agrees_with_the_csv_crate(
            data in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'b', b' ', b',', b';', b'\n', 0xc3, 0xa9, 0xff]),
                0..80,
            ),
            crlf in proptest::bool::ANY,
            cols in 1usize..4,
        ) {
            let data: Vec<u8> = if crlf {
                data.iter().flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] }).collect()
            } else {
                data
            };
            proptest::prop_assume!(is_plain(&data));
            let [plain, quoted] = both(&data, b',', cols);
            proptest::prop_assert_eq!(plain, quoted);
        }

        /// The eight-bytes-at-a-time search finds what a byte search finds.
        #[test]
        fn positions_agree_with_memchr(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..70),
            b in proptest::sample::select(vec![b',', b';', b'\t', b'|', 0x00, 0x7f, 0x80, 0xff]),
        ) {
            let mut got = Vec::new();
            positions(&data, b, |i| got.push(i));
            let want: Vec<usize> = memchr::memchr_iter(b, &data).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn positions_at_every_place_of_a_word() {
        for b in [b',', 0x00, 0x80, 0xff] {
            for at in 0..17 {
                for fill in [0x00u8, 0x01, 0x7f, 0x80, 0xff, b'a'] {
                    if fill == b {
                        continue;
                    }
                    let mut s = vec![fill; 17];
                    s[at] = b;
                    let mut got = Vec::new();
                    positions(&s, b, |i| got.push(i));
                    assert_eq!(got, vec![at], "byte {b} at {at} among {fill}");
                }
            }
        }
    }
}
