use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::ledger::{Action, Outcome, intern, read_ledger};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};

const URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:";

fn row(n: u64) -> LedgerRow {
    let mut changed_fields: Vec<String> = match n % 4 {
        0 => vec![],
        1 => vec!["title".into(), format!("{URN}department"), "groups".into()],
        2 => vec![format!("{URN}division"), "title".into()],
        // Paths that appear once.
        _ => vec![format!("{URN}custom{n}"), format!("{URN}department")],
    };
    if n.is_multiple_of(97) {
        changed_fields.push("y".repeat(5000));
    }
    let mut r = LedgerRow::without_call(
        n,
        Some(format!("E{n}")),
        None,
        Action::ALL[n as usize % 6],
        Outcome::ALL[n as usize % 5],
        format!("{n:x}"),
    );
    // Interned paths (as the planner makes them) on even rows, owned ones (as read
    // back from a file) on odd rows.
    r.changed_fields = changed_fields
        .into_iter()
        .map(|f| {
            if n.is_multiple_of(2) {
                intern(&f)
            } else {
                f.into()
            }
        })
        .collect();
    // The ledger keeps microseconds.
    r.finished_at = chrono::DateTime::from_timestamp_micros(n as i64).unwrap();
    r
}

/// Writes `rows` with `props` and checks our reader (which also checks the pinned
/// schema) gives every row back.
fn write_and_read_back(path: &Path, rows: &[LedgerRow], props: WriterProperties) {
    let mut w = LedgerWriter::with_properties(path, "r", props).unwrap();
    for r in rows {
        w.write(r).unwrap();
    }
    assert_eq!(w.close().unwrap().rows, rows.len() as u64);
    assert_eq!(read_ledger(path).unwrap(), rows);
}

fn reader(path: &Path) -> SerializedFileReader<File> {
    SerializedFileReader::new(File::open(path).unwrap()).unwrap()
}

/// The encodings of the data pages of column `name` in row group 0, as readers see
/// them page by page.
fn page_encodings(path: &Path, name: &str) -> BTreeSet<String> {
    let file = reader(path);
    let leaf = file
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().parts()[0] == name)
        .unwrap();
    file.get_row_group(0)
        .unwrap()
        .get_column_page_reader(leaf)
        .unwrap()
        .map(|page| page.unwrap())
        .filter(|page| !matches!(page, parquet::column::page::Page::DictionaryPage { .. }))
        .map(|page| format!("{:?}", page.encoding()))
        .collect()
}

#[test]
fn round_trip_over_many_batches_with_long_and_one_off_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let n = (BATCH_ROWS * 9 + 5) as u64;
    let rows: Vec<LedgerRow> = (1..=n).map(row).collect();
    let mut w = LedgerWriter::try_new(&path, "20261123T061500Z-3fa2").unwrap();
    for r in &rows {
        w.write(r).unwrap();
    }
    assert_eq!(w.close().unwrap().rows, n);
    assert_eq!(read_ledger(&path).unwrap(), rows);
    let file = File::open(&path).unwrap();
    let mut run_ids = 0;
    for b in ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        let col = b.column_by_name(schema::RUN_ID).unwrap().as_string::<i32>();
        assert!(col.iter().all(|v| v == Some("20261123T061500Z-3fa2")));
        run_ids += col.len();
    }
    assert_eq!(run_ids as u64, n);
}

/// What analysts' tools rely on besides the schema: Snappy everywhere, min/max on
/// exactly the six columns they prune with (and right), dictionaries on the
/// repetitive columns only, and row groups of [`ROW_GROUP_ROWS`] rows.
#[test]
fn statistics_dictionaries_compression_and_row_groups_are_the_ledgers() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let n = (ROW_GROUP_ROWS + 3) as u64;
    let mut w = LedgerWriter::try_new(&path, "r").unwrap();
    for i in 1..=n {
        let mut r = row(i);
        if i.is_multiple_of(10) {
            (r.http_status, r.error_kind) = (Some(409), Some(crate::model::ErrorKind::Conflict));
        }
        w.write(&r).unwrap();
    }
    w.close().unwrap();

    let file = reader(&path);
    let meta = file.metadata();
    let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(groups, [ROW_GROUP_ROWS as i64, 3]);
    let with_stats = BTreeSet::from([
        "row",
        "http_status",
        "attempts",
        "latency_ms",
        "error_kind",
        "finished_at",
    ]);
    let with_dictionary = BTreeSet::from([
        "run_id",
        "action",
        "outcome",
        "http_status",
        "attempts",
        "error_kind",
        "changed_fields",
        "webhook",
        "warning",
    ]);
    let g = meta.row_group(0);
    let mut seen = BTreeMap::new();
    for c in g.columns() {
        let name = c.column_path().parts()[0].clone();
        assert_eq!(c.compression(), Compression::SNAPPY, "{name}");
        assert_eq!(
            c.statistics().is_some(),
            with_stats.contains(name.as_str()),
            "statistics on {name}"
        );
        assert_eq!(
            c.dictionary_page_offset().is_some(),
            with_dictionary.contains(name.as_str()),
            "dictionary on {name}"
        );
        seen.insert(name, c.statistics().cloned());
    }
    assert_eq!(seen.len(), schema::COLUMNS.len());
    let row_stats = seen["row"].as_ref().unwrap();
    assert_eq!(row_stats.min_bytes_opt(), Some(&1u64.to_le_bytes()[..]));
    assert_eq!(
        row_stats.max_bytes_opt(),
        Some(&(ROW_GROUP_ROWS as u64).to_le_bytes()[..])
    );
    let kind = seen["error_kind"].as_ref().unwrap();
    assert_eq!(kind.min_bytes_opt(), Some(&b"conflict"[..]));
    assert_eq!(
        kind.null_count_opt(),
        Some((ROW_GROUP_ROWS - ROW_GROUP_ROWS / 10) as u64)
    );
    // Readers see dictionary indices where there is a dictionary, values elsewhere.
    assert_eq!(
        page_encodings(&path, schema::ACTION),
        BTreeSet::from(["RLE_DICTIONARY".to_string()])
    );
    assert_eq!(
        page_encodings(&path, schema::SOURCE_HASH),
        BTreeSet::from(["PLAIN".to_string()])
    );
}

#[test]
fn finished_row_groups_are_synced_in_the_background() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let mut w = LedgerWriter::try_new(&path, "r1").unwrap();
    w.writeback.as_mut().unwrap().set_every(1);
    for n in 1..=100 {
        w.write(&row(n)).unwrap();
    }
    w.flush_batch().unwrap();
    assert_eq!(w.reported, 0, "no row group has ended yet");
    w.flush_row_group().unwrap();
    assert!(w.reported > 0);
    assert!(w.writeback.take().unwrap().finish() >= 1);
    w.write(&row(101)).unwrap();
    assert_eq!(w.close().unwrap().rows, 101);
    assert_eq!(read_ledger(&path).unwrap().len(), 101);
}

/// A row group the Arrow writer ends by itself (it reached its row limit) is
/// reported too, not only the ones `close` ends.
#[test]
fn row_groups_ended_by_the_row_limit_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let props = properties()
        .set_max_row_group_row_count(Some(BATCH_ROWS))
        .build();
    let mut w = LedgerWriter::with_properties(&path, "r", props).unwrap();
    for n in 1..=(BATCH_ROWS as u64 * 2) {
        w.write(&row(n)).unwrap();
    }
    let after_two_groups = w.reported;
    assert!(after_two_groups > 0);
    w.write(&row(BATCH_ROWS as u64 * 2 + 1)).unwrap();
    w.close().unwrap();
    assert_eq!(reader(&path).metadata().num_row_groups(), 3);
}

/// Rows whose paths come in two shapes (an optional path missing or not), empty
/// lists, and one-off paths.
fn shaped(n: u64) -> Vec<String> {
    let mut v: Vec<String> = ["externalId", "userName", "title"]
        .map(String::from)
        .to_vec();
    if n.is_multiple_of(3) {
        v.insert(2, "phoneNumbers[type eq \"mobile\"].value".into());
    }
    match n % 7 {
        0 => vec![],
        1 => {
            v.push(format!("custom{n}"));
            v
        }
        _ => v,
    }
}

fn shaped_row(n: u64, changed_fields: Vec<String>) -> LedgerRow {
    let mut r = row(n);
    r.changed_fields = changed_fields.into_iter().map(Into::into).collect();
    r
}

#[test]
fn lists_of_two_shapes_empty_lists_and_one_off_paths_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let rows: Vec<LedgerRow> = (1..=5000).map(|n| shaped_row(n, shaped(n))).collect();
    write_and_read_back(&path, &rows, properties().build());
}

/// More distinct path bytes than the dictionary may hold (1 MiB, parquet-rs's
/// default): the row group's later `changed_fields` pages are PLAIN, after pages
/// that used the dictionary, and every row still reads back.
#[test]
fn a_full_dictionary_switches_to_plain_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let rows: Vec<LedgerRow> = (1..=1200)
        .map(|n| {
            let mut v = shaped(n);
            v.push(format!("{n}{}", "x".repeat(4000)));
            shaped_row(n, v)
        })
        .collect();
    write_and_read_back(&path, &rows, properties().build());
    let encodings = page_encodings(&path, schema::CHANGED_FIELDS);
    assert!(encodings.contains("RLE_DICTIONARY"), "{encodings:?}");
    assert!(encodings.contains("PLAIN"), "{encodings:?}");
}

/// The same with a dictionary limit small enough to be reached within the first
/// batch.
#[test]
fn a_small_limit_also_switches_and_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let rows: Vec<LedgerRow> = (1..=3000).map(|n| shaped_row(n, shaped(n))).collect();
    let props = properties()
        .set_column_dictionary_page_size_limit(leaf_path(schema::CHANGED_FIELDS), 64)
        .build();
    write_and_read_back(&path, &rows, props);
    let encodings = page_encodings(&path, schema::CHANGED_FIELDS);
    assert!(encodings.contains("RLE_DICTIONARY"), "{encodings:?}");
    assert!(encodings.contains("PLAIN"), "{encodings:?}");
    // The leaf path names the list's only leaf.
    assert_eq!(leaf_path(schema::CHANGED_FIELDS).parts().len(), 3);
}

/// The flat string columns: optional ones null on some rows, on every row of a whole
/// batch, or holding long values; dictionary ones taking every spelling.
#[test]
fn flat_columns_with_nulls_all_null_batches_and_long_values_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let n = (BATCH_ROWS * 3 + 7) as u64;
    let rows: Vec<LedgerRow> = (1..=n)
        .map(|n| {
            let mut r = shaped_row(n, shaped(n));
            // The second batch: no external id, user name, id or error at all.
            let all_null = (BATCH_ROWS as u64 + 1..=2 * BATCH_ROWS as u64).contains(&n);
            r.external_id = (!all_null && !n.is_multiple_of(5)).then(|| format!("E{n}"));
            r.user_name = (!all_null && n.is_multiple_of(2)).then(|| format!("u{n}@example.com"));
            r.scim_id = (!all_null && n.is_multiple_of(3)).then(|| "x".repeat(n as usize % 300));
            r.error = (!all_null && n.is_multiple_of(7)).then(|| format!("é {n} \"quoted\""));
            r.action = Action::ALL[n as usize % Action::ALL.len()];
            r.outcome = Outcome::ALL[(n as usize / 3) % Outcome::ALL.len()];
            r
        })
        .collect();
    write_and_read_back(&path, &rows, properties().build());
}

#[test]
fn issue_14_an_error_quoting_a_registered_secret_is_masked() {
    let secret = "ledger-unit-secret+/=9";
    crate::secrets::register(crate::secrets::SecretKind::LdapBindPassword, secret);
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("ledger.parquet");
    let mut r = row(1);
    r.error = Some(format!("bind failed: {secret}"));
    let mut w = LedgerWriter::try_new(&p, "r").unwrap();
    w.write(&r).unwrap();
    w.close().unwrap();
    let back = read_ledger(&p).unwrap();
    assert_eq!(back[0].error.as_deref(), Some("bind failed: ***"));
}
