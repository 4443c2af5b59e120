//! The streaming pipeline end to end over temporary files: one outcome per row in
//! row order whatever the block size, duplicates, `only_rows`, the row column.

use std::io::Write;

use proptest::prelude::*;

use super::*;

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
        let bad: Vec<(u64, Vec<&str>, String)> = out
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
        assert_eq!(bad[0].1, vec!["duplicate_external_id"]);
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
        "bad_row_number"
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
