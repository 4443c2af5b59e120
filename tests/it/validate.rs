//! `scimport validate` and `scimport init` through the real binary: exit codes,
//! the summary, the error CSV, and every input shape the reader must take.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

use crate::common::fixture;

const HEADER: &str = "employee_id,first_name,last_name,email,work_phone,mobile_phone,title,department,division,manager_id,hire_date,status,location,skills,languages,roles,groups";

/// Rows of fixtures/hr_export.csv that carry bad data (see scripts/gen-hr-export).
const BAD_ROWS: [u64; 13] = [9, 12, 27, 41, 55, 68, 83, 97, 110, 124, 138, 139, 152];

fn scimport() -> Command {
    Command::cargo_bin("scimport").expect("binary")
}

fn validate(input: &Path) -> Command {
    let mut c = scimport();
    c.arg("validate")
        .arg(input)
        .arg("--mapping")
        .arg(fixture("mapping.toml"));
    c
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Two clean rows in the fixture's header.
fn clean_rows() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "E1",
            "Ana",
            "Lima",
            "ana@example.com",
            "(415) 555-0123",
            "",
            "Agent",
            "Support",
            "EMEA",
            "",
            "2023-04-17",
            "active",
            "Lisbon",
            "Billing:4",
            "English:5",
            "employee",
            "Support Team",
        ],
        vec![
            "E2",
            "Ben",
            "Ek",
            "Ben@Example.com",
            "+44 20 7946 0958",
            "",
            "Agent",
            "Sales",
            "Home",
            "E1",
            "04/17/2023",
            "leave",
            "",
            "Sales:3;VIP:2",
            "English:5",
            "employee;Agent",
            "Sales Team;Tier 1",
        ],
    ]
}

fn csv_text(delim: &str, eol: &str) -> String {
    let mut s = HEADER.replace(',', delim);
    s.push_str(eol);
    for r in clean_rows() {
        let cells: Vec<String> = r
            .iter()
            .map(|c| {
                if c.contains(delim) {
                    format!("\"{c}\"")
                } else {
                    c.to_string()
                }
            })
            .collect();
        s.push_str(&cells.join(delim));
        s.push_str(eol);
    }
    s
}

fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

fn json_summary(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

#[test]
fn fixture_has_13_invalid_rows_and_the_error_csv_feeds_back() {
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.csv");
    validate(&fixture("hr_export.csv"))
        .arg("--errors")
        .arg(&errors)
        .assert()
        .code(1)
        .stdout(contains("200 rows, 187 valid, 13 invalid"))
        .stdout(contains("invalid_email"));
    let (h, rows) = read_csv(&errors);
    let mut want_h: Vec<String> = HEADER.split(',').map(String::from).collect();
    want_h.extend(["row", "error_kind", "error"].map(String::from));
    assert_eq!(h, want_h);
    let got_rows: Vec<u64> = rows.iter().map(|r| r[17].parse().unwrap()).collect();
    assert_eq!(got_rows, BAD_ROWS);
    let by_row = |n: u64| rows.iter().find(|r| r[17] == n.to_string()).unwrap();
    assert_eq!(by_row(9)[18], "duplicate_user_name");
    assert!(by_row(9)[19].contains("row 68"));
    assert!(by_row(68)[19].contains("row 9"));
    assert_eq!(by_row(83)[18], "invalid_proficiency");
    assert_eq!(by_row(55)[18], "invalid_date");
    assert!(by_row(55)[19].contains("column hire_date"));
    assert_eq!(
        by_row(12)[3],
        "maria.gomez@@example.com",
        "original value kept"
    );

    // Fed back with the row column: the same rows, with their original numbers.
    let again = dir.path().join("again.csv");
    let out = validate(&errors)
        .args(["--row-column", "row", "--output", "json", "--errors"])
        .arg(&again)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let s = json_summary(&out);
    assert_eq!(s["rows"], 13);
    assert_eq!(s["invalid"], 13);
    let (h2, rows2) = read_csv(&again);
    assert_eq!(h2, want_h, "row/error columns are replaced, not repeated");
    let rows2: Vec<u64> = rows2.iter().map(|r| r[17].parse().unwrap()).collect();
    assert_eq!(rows2, BAD_ROWS);
}

#[test]
fn json_output_counts_kinds() {
    let out = validate(&fixture("hr_export.ndjson"))
        .args(["--output", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let s = json_summary(&out);
    assert_eq!(
        (
            s["rows"].as_u64(),
            s["valid"].as_u64(),
            s["invalid"].as_u64()
        ),
        (Some(200), Some(187), Some(13))
    );
    let kinds = s["error_kinds"].as_array().unwrap();
    assert_eq!(kinds[0]["kind"], "invalid_email");
    assert_eq!(kinds[0]["count"], 4);
    let total: u64 = kinds.iter().map(|k| k["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 15);
}

#[test]
fn all_valid_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ok.csv", csv_text(",", "\n").as_bytes());
    validate(&p)
        .assert()
        .code(0)
        .stdout(contains("2 rows, 2 valid, 0 invalid"));
}

#[test]
fn bom_crlf_and_every_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    for (i, d) in [",", ";", "\t", "|"].iter().enumerate() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(csv_text(d, "\r\n").as_bytes());
        let p = write(dir.path(), &format!("in{i}.csv"), &bytes);
        validate(&p)
            .assert()
            .code(0)
            .stdout(contains("2 rows, 2 valid"));
    }
    // An explicit delimiter wins over detection.
    let p = write(dir.path(), "semi.txt", csv_text(";", "\n").as_bytes());
    validate(&p).args(["--delimiter", ";"]).assert().code(0);
    validate(&p)
        .args(["--delimiter", "pipe"])
        .assert()
        .code(2)
        .stderr(contains("not in the input"));
}

#[test]
fn gzip_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(fixture("hr_export.csv")).unwrap())
        .unwrap();
    let gz = write(dir.path(), "hr.csv.gz", &enc.finish().unwrap());
    validate(&gz)
        .assert()
        .code(1)
        .stdout(contains("200 rows, 187 valid, 13 invalid"));
    validate(Path::new("-"))
        .write_stdin(std::fs::read(fixture("hr_export.csv")).unwrap())
        .assert()
        .code(1)
        .stdout(contains("200 rows, 187 valid, 13 invalid"));
    validate(Path::new("-"))
        .args(["--format", "ndjson"])
        .write_stdin(std::fs::read(fixture("hr_export.ndjson")).unwrap())
        .assert()
        .code(1)
        .stdout(contains("200 rows, 187 valid, 13 invalid"));
}

#[test]
fn malformed_rows_are_row_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = csv_text(",", "\n");
    text.push_str("E3,Short,Row\n");
    text.push_str(
        &csv_text(",", "\n")
            .lines()
            .nth(1)
            .unwrap()
            .replace("E1", "E4")
            .replace("ana@", "ana4@"),
    );
    text.push('\n');
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"E5,J\xF6rg,Bad,j@example.com,,,,,,,,active,,,,,\n");
    // A quoted line break in free text (a title) is data; in displayName it would be
    // a control character (issue 14).
    bytes.extend_from_slice(b"E6,Multi,Name,m@example.com,,,\"Line\nTitle\",,,,,active,,,,,\n");
    let p = write(dir.path(), "bad.csv", &bytes);
    let errors = dir.path().join("e.csv");
    validate(&p)
        .arg("--errors")
        .arg(&errors)
        .assert()
        .code(1)
        .stdout(contains("6 rows, 4 valid, 2 invalid"));
    let (_, rows) = read_csv(&errors);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0][17].as_str(), rows[0][18].as_str()),
        ("3", "ragged_row")
    );
    assert_eq!(
        (rows[1][17].as_str(), rows[1][18].as_str()),
        ("5", "bad_utf8")
    );
    assert!(rows[1][1].contains('\u{FFFD}'));
}

#[test]
fn ndjson_bad_line_is_one_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = std::fs::read_to_string(fixture("hr_export.ndjson"))
        .unwrap()
        .lines()
        .take(3)
        .map(String::from)
        .collect();
    let text = format!(
        "{}\n{{\"employee_id\": \"E9\", oops\n{}\n\n{}\n",
        lines[0], lines[1], lines[2]
    );
    let p = write(dir.path(), "in.ndjson", text.as_bytes());
    let out = validate(&p)
        .args(["--output", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let s = json_summary(&out);
    assert_eq!(
        (s["rows"].as_u64(), s["invalid"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(s["error_kinds"][0]["kind"], "bad_json");
}

#[test]
fn config_errors_exit_2_listing_everything() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "m.toml",
        b"[[field]]\npath = \"nickName\"\ncolumn = \"x\"\n[[field]]\npath = \"userName\"\ncolumn = \"email\"\n[[field]]\npath = \"displayName\"\ncolumn = \"name\"\n[[field]]\npath = \"externalId\"\ncolumn = \"employee_id\"\n",
    );
    scimport()
        .arg("validate")
        .arg(fixture("hr_export.csv"))
        .arg("--mapping")
        .arg(&m)
        .assert()
        .code(2)
        .stderr(contains("nickName"));
    let m2 = write(
        dir.path(),
        "m2.toml",
        b"[[field]]\npath = \"userName\"\ncolumn = \"mail\"\n[[field]]\npath = \"displayName\"\ntemplate = \"{given} {sn}\"\n[[field]]\npath = \"externalId\"\ncolumn = \"employee_id\"\n",
    );
    scimport()
        .arg("validate")
        .arg(fixture("hr_export.csv"))
        .arg("--mapping")
        .arg(&m2)
        .assert()
        .code(2)
        .stderr(contains("column `mail`"))
        .stderr(contains("column `given`"))
        .stderr(contains("column `sn`"));
    scimport()
        .args(["validate", "/nonexistent.csv", "--mapping"])
        .arg(fixture("mapping.toml"))
        .assert()
        .code(2);
    let empty = write(dir.path(), "empty.csv", b"");
    validate(&empty).assert().code(2).stderr(contains("header"));
}

#[test]
fn init_from_the_fixture_writes_a_working_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("mapping.toml");
    scimport()
        .args(["init", "--from"])
        .arg(fixture("hr_export.csv"))
        .arg("--output")
        .arg(&m)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&m).unwrap();
    assert!(text.contains("template = \"{first_name} {last_name}\""));
    scimport()
        .arg("validate")
        .arg(fixture("hr_export.csv"))
        .arg("--mapping")
        .arg(&m)
        .assert()
        .code(1)
        .stdout(contains("200 rows, 187 valid, 13 invalid"));
    // No silent overwrite.
    scimport()
        .args(["init", "--output"])
        .arg(&m)
        .assert()
        .code(2)
        .stderr(contains("--force"));
    scimport()
        .args(["init", "--force", "--output"])
        .arg(&m)
        .assert()
        .code(0);
    scimport()
        .args(["init", "--output", "-"])
        .assert()
        .code(0)
        .stdout(contains("[[field]]"));
}

/// 10,000 clean rows, each its own employee_id and email, except that row
/// `dup_of.1` repeats row `dup_of.0`'s email.
fn many_rows(dup_of: (usize, usize)) -> String {
    let mut s = format!("{HEADER}\n");
    for i in 1..=10_000usize {
        let mut r: Vec<String> = clean_rows()[0].iter().map(|c| c.to_string()).collect();
        let n = if i == dup_of.1 { dup_of.0 } else { i };
        r[0] = format!("E{i}");
        r[3] = format!("user{n}@example.com");
        s.push_str(&r.join(","));
        s.push('\n');
    }
    s
}

#[test]
fn duplicates_far_apart_are_found_with_a_tiny_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "big.csv", many_rows((3, 9_990)).as_bytes());
    let errors = dir.path().join("errors.csv");
    // 4 KiB of pairs (256) for 20,000 pairs: the pass spills dozens of runs.
    validate(&p)
        .env("SCIMPORT_DUP_MEMORY_BYTES", "4096")
        .env("TMPDIR", dir.path())
        .arg("--errors")
        .arg(&errors)
        .assert()
        .code(1)
        .stdout(contains("10000 rows, 9998 valid, 2 invalid"));
    let (_, rows) = read_csv(&errors);
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[17].as_str(), r[18].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("3", "duplicate_user_name"),
            ("9990", "duplicate_user_name")
        ]
    );
    assert!(rows[0][19].contains("also on row 9990"), "{}", rows[0][19]);
    assert!(rows[1][19].contains("also on row 3"), "{}", rows[1][19]);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
}

#[test]
fn an_unusable_temp_dir_for_the_duplicate_pass_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "big.csv", many_rows((3, 9_990)).as_bytes());
    validate(&p)
        .env("SCIMPORT_DUP_MEMORY_BYTES", "4096")
        .env("TMPDIR", dir.path().join("missing"))
        .assert()
        .code(2)
        .stderr(contains(
            "duplicate detection cannot use a temporary file in",
        ))
        .stderr(contains("set TMPDIR"));
}

#[test]
fn issue_14_duplicate_header_names_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "{HEADER},email\n{}",
        &csv_text(",", "\n")[HEADER.len() + 1..]
    );
    let p = write(dir.path(), "dup.csv", csv.as_bytes());
    validate(&p)
        .assert()
        .code(2)
        .stderr(contains("\"email\" more than once"));
    let p = write(
        dir.path(),
        "dup.ndjson",
        br#"{"employee_id":"E1","email":"a@example.com","email":"b@example.com"}
"#,
    );
    validate(&p)
        .assert()
        .code(2)
        .stderr(contains("\"email\" more than once"));
}
