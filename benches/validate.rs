//! Micro-benchmarks of the validate hot path (divan): one row mapped and judged,
//! one block parsed, and the whole pipeline over 10,000 rows next to a bare `csv`
//! parse of the same bytes (the floor). End-to-end figures for a million rows come
//! from scripts/bench-validate.

use std::io::Write;
use std::path::Path;

use scimport::mapping::Mapping;
use scimport::source::{Header, InputSpec};
use scimport::validate::judge::{Judge, Scratch};
use scimport::validate::{PrepareOptions, prepare, rules};

fn main() {
    divan::main();
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn mapping() -> Mapping {
    Mapping::load(&root().join("fixtures/mapping.toml")).expect("fixture mapping")
}

/// The fixture's valid rows repeated with unique ids and emails: `n` rows.
fn rows(n: usize) -> Vec<u8> {
    let text = std::fs::read_to_string(root().join("fixtures/hr_export.csv")).expect("fixture");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let body: Vec<&str> = lines.take(8).collect();
    let mut out = format!("{header}\n").into_bytes();
    for i in 0..n {
        let l = body[i % body.len()];
        let (id, rest) = l.split_once(',').expect("id");
        let at = rest.find('@').expect("email");
        let _ = id;
        writeln!(out, "X{i},{}.{i}{}", &rest[..at], &rest[at..]).expect("write");
    }
    out
}

/// One fixture row's fields (with the header) for the per-row benches.
fn one_row() -> (Header, Vec<String>) {
    let text = String::from_utf8(rows(1)).expect("utf8");
    let mut lines = text.lines();
    let header = Header::new(
        lines
            .next()
            .expect("h")
            .split(',')
            .map(String::from)
            .collect(),
    );
    let line = lines.next().expect("row");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let rec = r.records().next().expect("rec").expect("ok");
    (header, rec.iter().map(String::from).collect())
}

/// `data` in a temporary `.csv` file.
fn temp_csv(data: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(".csv")
        .tempfile()
        .expect("tmp");
    f.write_all(data).expect("write");
    f
}

#[divan::bench]
fn map_and_check_one_row(bencher: divan::Bencher) {
    let m = mapping();
    let (header, row) = one_row();
    let fields: Vec<&str> = row.iter().map(String::as_str).collect();
    let bound = m.bind(&header, None).expect("bind");
    bencher.bench_local(|| {
        let (du, mut errors) = bound.map(1, divan::black_box(&fields));
        rules::check(&m, &du, &mut errors);
        (du, errors)
    });
}

/// The quick verdict `validate` gives a row before (and usually instead of)
/// mapping and judging it in full.
#[divan::bench]
fn quick_verdict_one_row(bencher: divan::Bencher) {
    let m = mapping();
    let (header, row) = one_row();
    let fields: Vec<&str> = row.iter().map(String::as_str).collect();
    let bound = m.bind(&header, None).expect("bind");
    let judge = Judge::new(&bound);
    let mut scratch = Scratch::default();
    bencher.bench_local(|| {
        let keys = judge.judge(divan::black_box(&fields), &mut scratch);
        assert!(keys.is_some());
        keys
    });
}

#[divan::bench]
fn csv_floor_10k(bencher: divan::Bencher) {
    let data = rows(10_000);
    bencher
        .counter(divan::counter::BytesCount::new(data.len()))
        .bench_local(|| {
            let mut rdr = csv::ReaderBuilder::new().from_reader(&data[..]);
            let mut rec = csv::ByteRecord::new();
            let mut n = 0u64;
            while rdr.read_byte_record(&mut rec).expect("read") {
                n += 1;
            }
            n
        });
}

/// Benches `run` over 10,000 rows in a temporary CSV file (bytes counted).
fn over_10k(bencher: divan::Bencher, run: impl Fn(&InputSpec, &Mapping) -> u64) {
    let m = mapping();
    let data = rows(10_000);
    let f = temp_csv(&data);
    let spec = InputSpec::new(f.path());
    bencher
        .counter(divan::counter::BytesCount::new(data.len()))
        .bench_local(|| run(&spec, &m));
}

#[divan::bench]
fn prepare_10k(bencher: divan::Bencher) {
    over_10k(bencher, |spec, m| {
        let opts = PrepareOptions {
            keep_valid_records: false,
            ..PrepareOptions::default()
        };
        let p = prepare(spec, m, opts).expect("prepare");
        let mut valid = 0u64;
        for chunk in p {
            valid += chunk
                .expect("chunk")
                .iter()
                .filter(|p| p.result.is_ok())
                .count() as u64;
        }
        assert_eq!(valid, 10_000);
        valid
    });
}

/// `validate`'s way through 10,000 rows: valid rows counted and dropped where
/// they are judged, one pass (no duplicates in the file).
#[divan::bench]
fn validate_10k(bencher: divan::Bencher) {
    over_10k(bencher, |spec, m| {
        let opts = PrepareOptions {
            keep_valid_records: false,
            source_hash: false,
            drop_valid: true,
            optimistic: true,
            ..PrepareOptions::default()
        };
        let mut p = prepare(spec, m, opts).expect("prepare");
        let mut rows = 0u64;
        while let Some(batch) = p.next_filtered(&|p| p.result.is_err()) {
            for (n, bad) in batch.expect("batch") {
                assert!(bad.is_empty());
                rows += n;
            }
        }
        assert!(p.complete().expect("complete"));
        assert_eq!(rows, 10_000);
        rows
    });
}
