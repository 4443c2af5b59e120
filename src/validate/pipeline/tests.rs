//! The streaming pipeline end to end over temporary files: one outcome per row in
//! row order whatever the block size, duplicates, `only_rows`, the row column.

use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::model::ErrorKind;

fn mapping() -> Mapping {
    Mapping::from_toml_str(
        "[[field]]\npath=\"externalId\"\ncolumn=\"id\"\n[[field]]\npath=\"userName\"\ncolumn=\"e\"\n[[field]]\npath=\"displayName\"\ncolumn=\"n\"\n",
    )
    .unwrap()
}

fn file(data: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    f
}

fn run(data: &[u8], opts: PrepareOptions) -> Vec<Prepared> {
    let f = file(data);
    let m = mapping();
    let p = prepare(&InputSpec::new(f.path()), &m, opts).unwrap();
    p.flat_map(|c| c.unwrap()).collect()
}

fn small(chunk: usize) -> PrepareOptions {
    PrepareOptions {
        chunk_size: chunk,
        ..PrepareOptions::default()
    }
}

#[test]
fn duplicates_are_flagged_on_both_rows_across_blocks() {
    let mut data = b"id,e,n\n".to_vec();
    for i in 1..=50 {
        let email = if i == 44 {
            "u3@x.com".to_string()
        } else {
            format!("u{i}@x.com")
        };
        let id = if i == 50 {
            "1".to_string()
        } else {
            i.to_string()
        };
        data.extend_from_slice(format!("{id},{email},N {i}\n").as_bytes());
    }
    for chunk in [16, 1 << 20] {
        let out = run(&data, small(chunk));
        assert_eq!(out.len(), 50);
        assert!(
            out.iter()
                .enumerate()
                .all(|(i, p)| p.record.row == i as u64 + 1)
        );
        let bad: Vec<(u64, Vec<ErrorKind>, String)> = out
            .iter()
            .filter_map(|p| {
                p.result.as_ref().err().map(|e| {
                    (
                        p.record.row,
                        e.iter().map(|e| e.kind).collect(),
                        e[0].problem.clone(),
                    )
                })
            })
            .collect();
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert_eq!(bad[0].0, 1);
        assert_eq!(bad[0].1, vec![ErrorKind::DuplicateExternalId]);
        assert!(bad[0].2.contains("row 50"));
        assert_eq!(bad[1].0, 3);
        assert!(bad[1].2.contains("row 44"));
        assert_eq!(bad[2].0, 44);
        assert!(bad[2].2.contains("row 3"));
        assert_eq!(bad[3].0, 50);
        assert!(bad[3].2.contains("row 1"));
        // Invalid rows keep their fields for failed.csv.
        assert_eq!(out[0].record.fields, vec!["1", "u1@x.com", "N 1"]);
    }
}

#[test]
fn only_rows_and_records_of_valid_rows() {
    let data = b"id,e,n\n1,a@x.com,A\n2,bad,B\n3,c@x.com,C\n";
    let opts = PrepareOptions {
        only_rows: Some([2u64, 3].into_iter().collect()),
        keep_valid_records: false,
        ..PrepareOptions::default()
    };
    let out = run(data, opts);
    assert_eq!(
        out.iter().map(|p| p.record.row).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(out[0].record.fields.len(), 3);
    assert!(out[1].result.is_ok());
    assert!(out[1].record.fields.is_empty());
}

#[test]
fn row_column_keeps_original_row_numbers() {
    let data =
        b"id,e,n,row,error_kind,error\n1,a@x.com,A,17,x,y\n2,b@x.com,B,,x,y\n3,c@x.com,C,x1,x,y\n";
    let f = file(data);
    let m = mapping();
    let spec = InputSpec {
        row_column: Some("row".into()),
        ..InputSpec::new(f.path())
    };
    let out: Vec<Prepared> = prepare(&spec, &m, PrepareOptions::default())
        .unwrap()
        .flat_map(|c| c.unwrap())
        .collect();
    assert_eq!(out[0].record.row, 17);
    assert!(out[0].result.is_ok());
    assert_eq!(out[1].record.row, 2);
    assert!(out[1].result.is_ok());
    assert_eq!(out[2].record.row, 3);
    assert_eq!(
        out[2].result.as_ref().unwrap_err()[0].kind,
        ErrorKind::BadRowNumber
    );
}

#[test]
fn missing_columns_are_a_config_error_listing_all() {
    let f = file(b"id,x\n1,2\n");
    let m = mapping();
    let err = prepare(&InputSpec::new(f.path()), &m, PrepareOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("column `e`") && text.contains("column `n`"),
        "{text}"
    );
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            6 => Just(b'a'),
            1 => Just(b'@'),
            3 => Just(b','),
            2 => Just(b'"'),
            3 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(0xffu8),
            1 => any::<u8>(),
        ],
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Arbitrary bytes after a good header: never a panic, and exactly one outcome
    /// per record a sequential csv parse sees, numbered 1..=n in order.
    #[test]
    fn every_row_yields_exactly_one_outcome(data in body(), chunk in 1usize..64) {
        let mut all = b"id,e,n\n".to_vec();
        all.extend_from_slice(&data);
        let want = csv::ReaderBuilder::new().flexible(true).from_reader(&all[..]).byte_records().count();
        let out = run(&all, small(chunk));
        prop_assert_eq!(out.len(), want);
        for (i, p) in out.iter().enumerate() {
            prop_assert_eq!(p.record.row, i as u64 + 1);
            if let Err(errs) = &p.result {
                prop_assert!(!errs.is_empty());
                prop_assert!(errs.iter().all(|e| e.row == p.record.row));
            }
        }
    }
}

/// Validate's way through a file: invalid rows only, valid ones counted; with
/// `optimistic`, one pass unless duplicates send it round again. Returns the rows
/// counted, each invalid row (row, kinds, problems) and the passes made.
fn validate_like(data: &[u8], chunk: usize, optimistic: bool) -> (u64, Vec<String>, usize) {
    let f = file(data);
    let m = mapping();
    let opts = PrepareOptions {
        chunk_size: chunk,
        keep_valid_records: false,
        source_hash: false,
        drop_valid: true,
        optimistic,
        ..PrepareOptions::default()
    };
    let mut p = prepare(&InputSpec::new(f.path()), &m, opts).unwrap();
    let mut passes = 0;
    loop {
        passes += 1;
        let (mut rows, mut bad) = (0, Vec::new());
        while let Some(batch) = p.next_filtered(&|p: &Prepared| p.result.is_err()) {
            for (n, kept) in batch.unwrap() {
                rows += n;
                for k in kept {
                    let errs = k.result.unwrap_err();
                    assert!(errs.iter().all(|e| e.row == k.record.row));
                    let what: Vec<String> = errs
                        .iter()
                        .map(|e| format!("{}: {}", e.kind, e.problem))
                        .collect();
                    bad.push(format!("row {} {:?}", k.record.row, what));
                }
            }
        }
        if p.complete().unwrap() {
            return (rows, bad, passes);
        }
    }
}

#[test]
fn an_optimistic_pass_goes_round_again_only_for_duplicates() {
    let mut data = b"id,e,n\n".to_vec();
    for i in 1..=300 {
        data.extend_from_slice(format!("{i},u{i}@x.com,N {i}\n").as_bytes());
    }
    data.extend_from_slice(b"301,bad,N\n302,u302@x.com,\n");
    let (rows, bad, passes) = validate_like(&data, 64, true);
    assert_eq!((rows, passes), (302, 1));
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].starts_with("row 301 ") && bad[1].starts_with("row 302 "));
    // Row 7 and row 303 share an email: a second pass, with both rows flagged.
    data.extend_from_slice(b"303,u7@x.com,N\n");
    let (rows, bad, passes) = validate_like(&data, 64, true);
    assert_eq!((rows, passes), (303, 2));
    assert_eq!(bad.len(), 4, "{bad:?}");
    assert!(
        bad[0].starts_with("row 7 ") && bad[0].contains("row 303"),
        "{bad:?}"
    );
    assert!(
        bad[3].starts_with("row 303 ") && bad[3].contains("row 7"),
        "{bad:?}"
    );
    assert_eq!(validate_like(&data, 64, false).1, bad);
}

/// Rows from a small alphabet so that ids and emails repeat now and then, with
/// bad cells, quotes, blank lines and ragged rows.
fn rows_body() -> impl Strategy<Value = Vec<u8>> {
    let cell = prop_oneof![
        4 => "[a-c]{1,2}",
        2 => "[a-c]{1,2}@x\\.com",
        1 => Just(String::new()),
        1 => Just("\"q,\nq\"".to_string()),
    ];
    let row = prop_oneof![
        12 => proptest::collection::vec(cell, 3..=3),
        1 => proptest::collection::vec(Just("r".to_string()), 1..=4),
    ];
    proptest::collection::vec(row, 0..60).prop_map(|rows| {
        let mut out = Vec::new();
        for r in rows {
            out.extend_from_slice(r.join(",").as_bytes());
            out.push(b'\n');
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// One optimistic pass (and a second when there are duplicates) gives exactly
    /// what the duplicate pre-pass and one pass give: the same rows counted, the
    /// same invalid rows with the same row numbers and errors, whatever the block
    /// size.
    #[test]
    fn an_optimistic_pass_gives_what_two_passes_give(data in rows_body(), chunk in 1usize..200) {
        let mut all = b"id,e,n\n".to_vec();
        all.extend_from_slice(&data);
        let (rows, bad, _) = validate_like(&all, chunk, true);
        let (rows2, bad2, passes) = validate_like(&all, chunk, false);
        prop_assert_eq!(passes, 1);
        prop_assert_eq!(rows, rows2);
        prop_assert_eq!(bad, bad2);
    }
}

#[test]
fn an_optimistic_preparer_read_as_an_iterator_numbers_rows_like_two_passes() {
    let mut data = b"id,e,n\n".to_vec();
    for i in 1..=200 {
        let e = if i == 150 {
            "bad".to_string()
        } else {
            format!("u{i}@x.com")
        };
        data.extend_from_slice(format!("{i},{e},N {i}\n").as_bytes());
    }
    let rows = |optimistic: bool| -> Vec<(u64, bool)> {
        run(
            &data,
            PrepareOptions {
                optimistic,
                ..small(64)
            },
        )
        .iter()
        .map(|p| (p.record.row, p.result.is_ok()))
        .collect()
    };
    let one = rows(true);
    assert_eq!(one.len(), 200);
    assert_eq!(one, rows(false));
    assert_eq!(one[149], (150, false));
}
