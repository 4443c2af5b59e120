//! Tests of the block reader: cuts, header reading, and linear-time scanning.

use super::super::RawRow as RawRowRef;
use super::*;

fn blocks(data: &[u8], block_bytes: usize) -> (Header, Vec<Vec<u8>>) {
    let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let mut br = BlockReader::try_new(rdr, "t", None, None, None, block_bytes, usize::MAX).unwrap();
    let header = br.header().clone();
    let out = br.by_ref().map(|b| b.unwrap().data).collect();
    (header, out)
}

#[test]
fn detects_delimiters() {
    assert_eq!(detect_delimiter(b"a,b,c\n"), b',');
    assert_eq!(detect_delimiter(b"a;b;c\n"), b';');
    assert_eq!(detect_delimiter(b"a\tb\tc\n"), b'\t');
    assert_eq!(detect_delimiter(b"a|b|c\n"), b'|');
    assert_eq!(detect_delimiter(b"\"a;x\",b,c\n"), b',');
    assert_eq!(detect_delimiter(b"single\n"), b',');
}

#[test]
fn strips_bom_and_reads_header() {
    let (h, b) = blocks(b"\xEF\xBB\xBFid;name\r\n1;a\r\n", 4);
    assert_eq!(h.names(), ["id", "name"]);
    assert_eq!(b.concat(), b"1;a\r\n");
}

#[test]
fn cuts_only_outside_quotes() {
    let data = b"h1,h2\n1,\"a\nb\"\n2,\"x\"\"\ny\"\n3,z\n";
    let (_, b) = blocks(data, 1);
    assert_eq!(
        b,
        vec![
            b"1,\"a\nb\"\n".to_vec(),
            b"2,\"x\"\"\ny\"\n".to_vec(),
            b"3,z\n".to_vec()
        ]
    );
}

#[test]
fn stray_quote_mid_field_is_literal() {
    let data = b"h1,h2\n1,ab\"c\n2,d\n";
    let (_, b) = blocks(data, 1);
    assert_eq!(b, vec![b"1,ab\"c\n".to_vec(), b"2,d\n".to_vec()]);
}

#[test]
fn empty_input_is_a_header_error() {
    let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(Vec::new()));
    let err = BlockReader::try_new(rdr, "t", None, None, None, 10, 1 << 20).unwrap_err();
    assert!(matches!(err, SourceError::Header { .. }));
}

#[test]
fn ndjson_is_sniffed_and_header_kept_in_data() {
    let data = b"\n{\"b\":1,\"a\":2}\n{\"a\":3}\n";
    let (h, b) = blocks(data, 1 << 20);
    assert_eq!(h.names(), ["b", "a"]);
    assert_eq!(b.concat(), data.to_vec());
}

/// A reader over `data` with default-size blocks and no record limit.
fn reader(data: Vec<u8>) -> BlockReader {
    let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data));
    BlockReader::try_new(rdr, "t", None, None, None, DEFAULT_BLOCK_BYTES, usize::MAX).unwrap()
}

/// Reads every block; returns the scanned-bytes count and the blocks.
fn drain(mut br: BlockReader) -> (u64, Vec<Vec<u8>>) {
    let out = br.by_ref().map(|b| b.unwrap().data).collect();
    (br.scanned(), out)
}

const LONG: usize = 8 << 20;

#[test]
fn issue_14_ndjson_long_line_after_short_one_is_scanned_once() {
    let long = "x".repeat(LONG);
    let data = format!(
        "{{\"id\":\"1\",\"v\":\"a\"}}\n{{\"id\":\"2\",\"v\":\"{long}\"}}\n{{\"id\":\"3\",\"v\":\"c\"}}\n"
    );
    let total = data.len() as u64;
    let br = reader(data.clone().into_bytes());
    let header = br.header().clone();
    let (scanned, blocks) = drain(br);
    // A rescan after every 64 KiB read looks at ~N²/128Ki bytes (~512 MiB here).
    assert!(scanned <= 3 * total, "scanned {scanned} bytes of {total}");
    assert_eq!(blocks.concat(), data.into_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for b in &blocks {
        super::super::ndjson::parse_block(b, &header, |raw| match raw {
            RawRowRef::Ok(f) => rows.push(f.iter().map(|s| s.to_string()).collect()),
            RawRowRef::Bad { problem, .. } => panic!("{problem}"),
        });
    }
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], ["1", "a"]);
    assert_eq!(rows[1][0], "2");
    assert!(rows[1][1] == long, "the long value reads back exactly");
    assert_eq!(rows[2], ["3", "c"], "the row after the long one is row 3");
}

#[test]
fn issue_14_ndjson_long_first_line_is_scanned_once() {
    let long = "y".repeat(LONG);
    let data = format!("{{\"v\":\"{long}\"}}\n{{\"v\":\"b\"}}\n");
    let total = data.len() as u64;
    let (scanned, blocks) = drain(reader(data.clone().into_bytes()));
    assert!(scanned <= 3 * total, "scanned {scanned} bytes of {total}");
    assert_eq!(blocks.concat(), data.into_bytes());
}

#[test]
fn issue_14_csv_long_lines_are_scanned_once() {
    // A long header line, then a short row, then a long row.
    let long = "z".repeat(LONG);
    let data = format!("id,{long}\n1,a\n2,\"{long}\"\n3,c\n");
    let total = data.len() as u64;
    let br = reader(data.clone().into_bytes());
    assert_eq!(br.header().names()[1], long);
    let (scanned, blocks) = drain(br);
    assert!(scanned <= 3 * total, "scanned {scanned} bytes of {total}");
    let body = blocks.concat();
    assert_eq!(sequential(data.as_bytes(), b','), sequential_body(&body));
}

/// Records of a header-less CSV body.
fn sequential_body(body: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    r.byte_records()
        .map(|rec| rec.unwrap().iter().map(|f| f.to_vec()).collect())
        .collect()
}

/// Records of `data` as a sequential csv parse sees them (after the header).
fn sequential(data: &[u8], delim: u8) -> Vec<Vec<Vec<u8>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delim)
        .from_reader(data);
    r.byte_records()
        .map(|rec| rec.unwrap().iter().map(|f| f.to_vec()).collect())
        .collect()
}

fn alphabet() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    proptest::collection::vec(
        prop_oneof![
            4 => Just(b'a'),
            2 => Just(b','),
            2 => Just(b'"'),
            2 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(b';'),
            1 => Just(b' '),
            1 => Just(0xffu8),
            1 => Just(0xc3u8),
            1 => any::<u8>(),
        ],
        0..300,
    )
}

proptest::proptest! {
    /// Cutting into blocks never panics and never changes the records: every
    /// block parsed alone gives exactly what one sequential parse gives.
    #[test]
    fn blocks_parse_like_one_sequential_parse(data in alphabet(), block in 1usize..40) {
        let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.clone()));
        let Ok(mut br) = BlockReader::try_new(rdr, "t", Some(Format::Csv), None, None, block, usize::MAX) else {
            return Ok(());
        };
        let delim = br.delimiter();
        let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
        for b in br.by_ref() {
            let b = b.unwrap();
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delim)
                .from_reader(&b.data[..]);
            for rec in r.byte_records() {
                got.push(rec.unwrap().iter().map(|f| f.to_vec()).collect());
            }
        }
        proptest::prop_assert_eq!(got, sequential(&data, delim));
    }
}

#[test]
fn issue_14_duplicate_header_names_are_refused_naming_them() {
    for data in [
        &b"id,mail,id,name,mail,\n1,a,2,b,c,\n"[..],
        &b"{\"id\":1,\"mail\":\"a\",\"id\":2,\"name\":\"b\",\"mail\":\"c\"}\n"[..],
    ] {
        let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
        let err = BlockReader::try_new(rdr, "t", None, None, None, 10, 1 << 20).unwrap_err();
        let SourceError::Header { problem, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(
            problem.contains("\"id\", \"mail\" more than once"),
            "{problem}"
        );
    }
}

/// Reads every block of `data` with blocks of `block` bytes and records of at most
/// `max`: the records parsed from the blocks (a skipped one as its size), and the
/// most bytes the reader buffered.
/// A record's fields, or the size of a skipped record.
type Row = Result<Vec<Vec<u8>>, u64>;

fn limited(data: &[u8], block: usize, max: usize) -> (Vec<Row>, usize) {
    let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let mut br = BlockReader::try_new(rdr, "t", None, None, None, block, max).unwrap();
    let delim = br.delimiter();
    let format = br.format();
    let mut got = Vec::new();
    for b in br.by_ref() {
        let b = b.unwrap();
        if let Some(t) = b.too_large {
            assert!(b.data.is_empty());
            assert_eq!(t.limit, max);
            got.push(Err(t.bytes));
            continue;
        }
        match format {
            Format::Csv => {
                let mut r = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .delimiter(delim)
                    .from_reader(&b.data[..]);
                for rec in r.byte_records() {
                    got.push(Ok(rec.unwrap().iter().map(|f| f.to_vec()).collect()));
                }
            }
            Format::Ndjson => {
                for line in b.data.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
                    got.push(Ok(vec![line.to_vec()]));
                }
            }
        }
    }
    (got, br.peak())
}

#[test]
fn issue_14_csv_quoted_multiline_record_too_large_is_skipped_streaming() {
    // A quoted field with line breaks, commas, escaped quotes and CRs: 8 MiB.
    let chunk = "ab,\n\"\"c\r\n";
    let big = chunk.repeat((8 << 20) / chunk.len());
    let data = format!("id,v\n1,a\n2,\"{big}\"\n3,c\r\n4,\"d\ne\"\n");
    let (got, peak) = limited(data.as_bytes(), 4096, 1 << 20);
    let rec = |a: &str, b: &str| Ok(vec![a.as_bytes().to_vec(), b.as_bytes().to_vec()]);
    assert_eq!(got.len(), 4, "one row per record");
    assert_eq!(got[0], rec("1", "a"));
    assert_eq!(
        got[1],
        Err(big.len() as u64 + 4),
        "2,\"...\" skipped, its size told"
    );
    assert_eq!(got[2], rec("3", "c"));
    assert_eq!(got[3], rec("4", "d\ne"));
    assert!(peak < (1 << 20) + 256 * 1024, "buffered {peak} bytes");
}

#[test]
fn issue_14_ndjson_line_too_large_is_skipped_streaming() {
    let long = "x".repeat(8 << 20);
    let data = format!("{{\"v\":\"a\"}}\n{{\"v\":\"{long}\"}}\n{{\"v\":\"c\"}}\n");
    let (got, peak) = limited(data.as_bytes(), DEFAULT_BLOCK_BYTES, 1 << 20);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], Ok(vec![b"{\"v\":\"a\"}".to_vec()]));
    assert_eq!(got[1], Err(long.len() as u64 + 8));
    assert_eq!(got[2], Ok(vec![b"{\"v\":\"c\"}".to_vec()]));
    assert!(peak < (1 << 20) + 256 * 1024, "buffered {peak} bytes");
}

#[test]
fn issue_14_small_limit_skips_complete_records_inside_a_block() {
    // Records already whole in the buffer, longer than the limit, between short ones;
    // a lone CR ends a record too (so a CR-only file is not one huge record).
    let data = b"id,v\n1,a\n2,bbbbbbbbbbbbbbbb\n3,c\r4,dddddddddddddddddd\r5,e\n";
    let (got, _) = limited(data, DEFAULT_BLOCK_BYTES, 8);
    let kinds: Vec<_> = got
        .iter()
        .map(|r| r.as_ref().map(|f| f[0].clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            Ok(b"1".to_vec()),
            Err(&18),
            Ok(b"3".to_vec()),
            Err(&20),
            Ok(b"5".to_vec())
        ]
    );
    // Exactly the limit is kept.
    let (got, _) = limited(b"id\n12345678\n", DEFAULT_BLOCK_BYTES, 8);
    assert_eq!(got, vec![Ok(vec![b"12345678".to_vec()])]);
    let (got, _) = limited(b"id\n123456789\n", DEFAULT_BLOCK_BYTES, 8);
    assert_eq!(got, vec![Err(9)]);
}

proptest::proptest! {
    /// With any limit, every record still comes out exactly once: as itself, or as
    /// one skipped record; and a record kept is one the sequential parse has.
    #[test]
    fn issue_14_every_record_is_one_row_whatever_the_limit(
        data in alphabet(),
        block in 1usize..40,
        max in 1usize..30,
    ) {
        let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.clone()));
        // The header may be longer than the limit: it is read without one here.
        let Ok(mut br) = BlockReader::try_new(rdr, "t", Some(Format::Csv), None, None, block, usize::MAX) else {
            return Ok(());
        };
        br.max_record = max;
        let delim = br.delimiter();
        let mut got: Vec<Option<Vec<Vec<u8>>>> = Vec::new();
        for b in br.by_ref() {
            let b = b.unwrap();
            if b.too_large.is_some() {
                got.push(None);
                continue;
            }
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delim)
                .from_reader(&b.data[..]);
            for rec in r.byte_records() {
                got.push(Some(rec.unwrap().iter().map(|f| f.to_vec()).collect()));
            }
        }
        let want = sequential(&data, delim);
        proptest::prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            if let Some(g) = g {
                proptest::prop_assert_eq!(g, w);
            }
        }
    }
}

#[test]
fn issue_14_a_header_longer_than_the_limit_is_an_error_read_no_further() {
    for data in [
        format!("id,{}\n1,a\n", "v".repeat(5000)),
        format!("{{\"id\":\"{}\"}}\n", "v".repeat(5000)),
        format!("not json {}\n{{\"id\":\"1\"}}\n", "v".repeat(5000)),
    ] {
        let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.into_bytes()));
        let err = BlockReader::try_new(rdr, "t", None, None, None, 64, 1000).unwrap_err();
        assert!(
            err.to_string()
                .contains("longer than 1000 bytes (--max-record-bytes)"),
            "{err}"
        );
    }
    // At the limit, it is read.
    let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(b"id,v\n1,a\n".to_vec()));
    assert!(BlockReader::try_new(rdr, "t", None, None, None, 64, 4).is_ok());
}
