use super::*;
use crate::ledger::writer::LedgerWriter;
use crate::ledger::{Action, LedgerRow, Outcome, read_ledger};

fn row(n: u64, changed_fields: Vec<String>) -> LedgerRow {
    let mut r = LedgerRow::without_call(
        n,
        Some(format!("E{n}")),
        None,
        Action::Create,
        Outcome::Skipped,
        format!("{n:x}"),
    );
    // Interned paths on even rows, owned copies on odd ones: an entry is found by
    // address or by bytes, and both must give the same ids.
    r.changed_fields = changed_fields
        .into_iter()
        .map(|f| {
            if n.is_multiple_of(2) {
                crate::ledger::intern(&f)
            } else {
                f.into()
            }
        })
        .collect();
    // The ledger keeps microseconds.
    r.finished_at = chrono::DateTime::from_timestamp_micros(n as i64).unwrap();
    r
}

/// Rows whose paths come in two shapes (an optional path missing or not), empty
/// lists, and one-off paths: every guess path and the hash index are taken.
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

/// Writes `rows` to a ledger at `path` (dictionary limit `limit`, if given) and
/// checks parquet-rs reads every row back.
fn write_and_read_back(path: &std::path::Path, rows: &[LedgerRow], limit: Option<usize>) {
    let mut w = LedgerWriter::try_new(path, "r").unwrap();
    if let Some(limit) = limit {
        w.set_paths_dict_limit(limit);
    }
    for r in rows {
        w.write(r).unwrap();
    }
    w.close().unwrap();
    assert_eq!(read_ledger(path).unwrap(), rows);
}

#[test]
fn lists_of_two_shapes_empty_lists_and_one_off_paths_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let rows: Vec<LedgerRow> = (1..=5000).map(|n| row(n, shaped(n))).collect();
    write_and_read_back(&path, &rows, None);
}

/// More than DICT_LIMIT bytes of distinct paths: the row group's later pages are
/// PLAIN, after pages that used the dictionary, and every row still reads back.
#[test]
fn a_full_dictionary_switches_to_plain_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let rows: Vec<LedgerRow> = (1..=600)
        .map(|n| {
            let mut v = shaped(n);
            v.push(format!("{n}{}", "x".repeat(4000)));
            row(n, v)
        })
        .collect();
    assert!(rows.len() * 4000 > 2 * DICT_LIMIT);
    write_and_read_back(&path, &rows, None);
    assert_both_encodings(&path);
}

/// The `changed_fields` pages of the first row group use the dictionary, then PLAIN.
fn assert_both_encodings(path: &std::path::Path) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let leaf = crate::ledger::schema::COLUMNS
        .iter()
        .position(|c| *c == crate::ledger::schema::CHANGED_FIELDS)
        .unwrap();
    let rg = file.get_row_group(0).unwrap();
    let encodings: std::collections::BTreeSet<String> = rg
        .get_column_page_reader(leaf)
        .unwrap()
        .map(|page| format!("{:?}", page.unwrap().encoding()))
        .collect();
    assert!(encodings.contains("RLE_DICTIONARY"), "{encodings:?}");
    assert!(encodings.contains("PLAIN"), "{encodings:?}");
}

#[test]
fn a_small_limit_also_switches_and_reads_back() {
    // The column on its own, with a limit small enough to switch mid-batch.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let rows: Vec<LedgerRow> = (1..=300).map(|n| row(n, shaped(n))).collect();
    write_and_read_back(&path, &rows, Some(64));
    assert_both_encodings(&path);
}

/// The flat string columns: optional ones null on some rows, on every row of a whole
/// page, or holding long values; dictionary ones taking every spelling.
#[test]
fn flat_columns_with_nulls_all_null_pages_and_long_values_read_back() {
    use crate::ledger::writer::BATCH_ROWS;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger.parquet");
    let n = (BATCH_ROWS * 3 + 7) as u64;
    let rows: Vec<LedgerRow> = (1..=n)
        .map(|n| {
            let mut r = row(n, shaped(n));
            // The second page: no external id, user name, id or error at all.
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
    write_and_read_back(&path, &rows, None);
}
