//! The quick verdict against the full path (map + rules): never `Some` for a row
//! the full path refuses, always the same key hashes, and `Some` for the clean
//! rows it exists for.

use proptest::prelude::*;

use super::*;
use crate::mapping::Mapping;
use crate::source::Header;
use crate::validate::rules;

/// The fixture's header (the example `init` writes).
const HEADER: [&str; 17] = crate::mapping::EXAMPLE_HEADER;

fn fixture_mapping() -> Mapping {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mapping.toml");
    Mapping::load(std::path::Path::new(path)).unwrap()
}

/// A mapping that uses every option the judge must respect: lengths, tables with
/// `unmapped = "error"`, defaults, case, regex replace, a table that expands to a
/// list, two-byte separators, a Genesys external id, a template with literals.
fn rich_mapping() -> Mapping {
    Mapping::from_toml_str(
        r#"
[[field]]
path = "externalId"
column = "employee_id"
max_length = 7
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
template = "{last_name}, {first_name}"
max_length = 12
[[field]]
path = "name.givenName"
column = "first_name"
blank = "default"
default = "Unknown"
case = "upper"
[[field]]
path = "title"
column = "title"
replace = [{ pattern = "\\s+", with = " " }]
blank = "default"
default = "Agent"
[[field]]
path = "active"
column = "status"
table = { active = "true", leave = "yes", terminated = "false" }
unmapped = "error"
[[field]]
path = 'phoneNumbers[type eq "work"].value'
column = "work_phone"
country = "GB"
[[field]]
path = 'emails[type eq "work"].value'
column = "manager_id"
[[field]]
path = "enterprise.dateHire"
column = "hire_date"
date_formats = ["%d.%m.%Y"]
[[field]]
path = "genesys.routingSkills"
column = "department"
table = { Sales = "Sales:3;VIP", Claims = "Claims:9" }
default_proficiency = 2
blank = "default"
default = "Intake:1"
[[field]]
path = "genesys.routingLanguages"
column = "languages"
split = "||"
proficiency_separator = "="
[[field]]
path = "roles"
column = "roles"
max_length = 8
[[field]]
path = "groups"
column = "groups"
blank = "clear"
[[field]]
path = 'genesys.externalIds[authority eq "hr"].value'
column = "location"
[[field]]
path = "enterprise.division"
column = "location"
table = { Remote = "Home", Home = "Home", Austin = "North America" }
unmapped = "error"
[[field]]
path = "enterprise.manager"
column = "manager_id"
max_length = 5
"#,
    )
    .unwrap()
}

/// Emails from templates: both render into the same reused buffer.
fn template_mapping() -> Mapping {
    Mapping::from_toml_str(
        r#"
[[field]]
path = "userName"
template = "{first_name}@example.com"
[[field]]
path = "displayName"
column = "title"
[[field]]
path = 'emails[type eq "work"].value'
template = "{last_name}@example.com"
[[field]]
path = "externalId"
column = "employee_id"
"#,
    )
    .unwrap()
}

/// Values that exercise every step and check, per column.
fn column_values(col: &str) -> Vec<&'static str> {
    let mut v = vec![
        "",
        " ",
        "x",
        "  padded  ",
        "Ünïcode",
        "\u{a0}nbsp\u{a0}",
        "a;b;;c",
        "nul\u{0}in",
        "esc\u{1b}",
        "del\u{7f}x",
        "\ttab edge\n",
    ];
    v.extend(match col {
        "employee_id" | "manager_id" => {
            vec![
                "E100001",
                "E1",
                "e100001",
                "E10000123",
                "a@b.co",
                "A@B.CO ",
                "E 1",
            ]
        }
        "email" => vec![
            "ana.lima@example.com",
            "Ana.Lima@Example.COM",
            " ana@example.com ",
            "ana@example",
            "ana@@example.com",
            "ana lima@example.com",
            "ÄNA@example.com",
            "ana@exa_mple.com",
            ".ana@example.com",
            "ana@example.c0m",
        ],
        "first_name" | "last_name" => {
            vec![
                "Ana",
                "Lima",
                "Maria-José",
                "  ",
                "Bartholomew",
                "l;m",
                "A.B",
                "ana",
            ]
        }
        "work_phone" | "mobile_phone" => vec![
            "+14155550123",
            "(415) 555-0123",
            "415.555.0123",
            "020 7946 0958",
            "555-0100 x12",
            "tel:+14155550123;ext=1",
            "tel:abc",
            "+0123",
            "12",
            "+1 (415) 555-0123 ext. 9",
            "00441234567890",
            "1-415-555-0123",
            "phone",
        ],
        "hire_date" => vec![
            "2020-02-29",
            "2021-02-29",
            "02/03/2020",
            "03.02.2020",
            "2020-01-01T10:00:00",
            "20200101",
            "31-Jan-2020",
            "yesterday",
            "2020-13-01",
        ],
        "status" => vec![
            "active",
            "Leave",
            "TERMINATED",
            "retired",
            "true",
            "0",
            "yes",
        ],
        "department" => vec!["Sales", "sales", "Claims", "Billing:4", "Retention"],
        "skills" => vec![
            "Billing:4;Sales:3",
            "Billing:4;Billing:2",
            "Sales",
            "Sales:6",
            "Sales:2.5",
            ":3",
            "Sales:x",
            "A:1;B:2;C:3;D:4;E:5",
            "Sales: 3 ; VIP :1",
        ],
        "languages" => vec![
            "English:5;Spanish:3",
            "English=5||Spanish=3",
            "English=5||English=1",
            "French=7",
            "English",
            "English:5",
        ],
        "roles" | "groups" => vec![
            "employee;Agent",
            "employee; Supervisor ;Admin",
            "VeryLongRoleName",
            "Tier 1",
            ";;",
            "a;a",
        ],
        _ => vec!["Remote", "Team Lead", "Home", "Billing   Lead"],
    });
    v
}

fn long_list(n: usize) -> String {
    (0..n)
        .map(|i| format!("S{i}:1"))
        .collect::<Vec<_>>()
        .join(";")
}

fn header() -> Header {
    Header::new(HEADER.iter().map(|s| s.to_string()).collect())
}

/// The full path's verdict: no problem, and its key hashes.
fn full(bound: &Bound<'_>, fields: &[&str]) -> (bool, KeyHashes) {
    let (du, mut errors) = bound.map(1, fields);
    rules::check(bound.mapping(), &du, &mut errors);
    let keys = [du.external_id().map(hash64), du.user_name().map(hash64)];
    (errors.is_empty(), keys)
}

/// Clean values of each column (valid for both mappings), so that a row with one
/// or two tricky cells is often otherwise valid and the verdict is put to the test.
fn clean_values(col: &str) -> Vec<&'static str> {
    match col {
        "employee_id" => vec!["E1", "E100001", "E2"],
        "first_name" => vec!["Ana", "Bo"],
        "last_name" => vec!["Lima", "Wu"],
        "email" => vec!["ana@example.com", "bo.wu@example.co.uk"],
        "work_phone" | "mobile_phone" => vec!["+14155550123", "+442079460958", ""],
        "title" => vec!["Agent", ""],
        "department" => vec!["Sales", "Claims", "Billing"],
        "manager_id" => vec!["", "boss@example.com"],
        "hire_date" => vec!["2020-01-31", ""],
        "status" => vec!["active", "terminated"],
        "skills" => vec!["Sales:3;VIP:5", "Billing:1", ""],
        "languages" => vec!["English:5", ""],
        "roles" => vec!["employee", "Agent;Admin"],
        "groups" => vec!["Tier 1", ""],
        _ => vec!["Remote", "Home"],
    }
}

fn row_strategy() -> impl Strategy<Value = Vec<String>> {
    let cols: Vec<BoxedStrategy<String>> = HEADER
        .iter()
        .map(|c| {
            let clean: Vec<String> = clean_values(c).into_iter().map(String::from).collect();
            let mut tricky: Vec<String> = column_values(c).into_iter().map(String::from).collect();
            if *c == "skills" || *c == "languages" {
                tricky.push(long_list(50));
                tricky.push(long_list(51));
            }
            prop_oneof![
                17 => prop::sample::select(clean),
                2 => prop::sample::select(tricky),
                1 => "[ -~\u{a0}é;:=|@.+()0-9\u{0}\t\u{1f}\u{7f}]{0,12}",
            ]
            .boxed()
        })
        .collect();
    cols
}

fn agrees(m: &Mapping, row: &[String]) -> Result<(), TestCaseError> {
    let bound = m.bind(&header(), None).unwrap();
    let judge = Judge::new(&bound);
    let fields: Vec<&str> = row.iter().map(String::as_str).collect();
    let mut s = Scratch::default();
    let (valid, keys) = full(&bound, &fields);
    if let Some(k) = judge.judge(&fields, &mut s) {
        prop_assert!(valid, "judged valid, but the full path refuses {row:?}");
        prop_assert_eq!(k, keys);
    }
    prop_assert_eq!(judge.keys(&fields, &mut s), keys);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_passed_row_is_valid_in_full_with_the_same_keys(row in row_strategy()) {
        agrees(&fixture_mapping(), &row)?;
        agrees(&rich_mapping(), &row)?;
        agrees(&template_mapping(), &row)?;
    }
}

#[test]
fn every_row_of_the_fixture_agrees_and_clean_rows_pass() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/hr_export.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let m = fixture_mapping();
    let bound = m.bind(&header(), None).unwrap();
    let judge = Judge::new(&bound);
    let mut s = Scratch::default();
    let (mut passed, mut valid) = (0, 0);
    for row in &rows {
        agrees(&m, row).unwrap();
        let fields: Vec<&str> = row.iter().map(String::as_str).collect();
        valid += usize::from(full(&bound, &fields).0);
        passed += usize::from(judge.judge(&fields, &mut s).is_some());
    }
    // The verdict only saves work if it passes the clean rows: the fixture's valid
    // rows with messy but fixable cells (padding, national phone numbers, US dates,
    // upper-case emails) must pass too.
    assert!(valid > 150, "{valid}");
    assert_eq!(
        passed, valid,
        "valid rows the quick verdict sent to the full path"
    );
}

#[test]
fn each_check_refuses_what_the_rules_refuse() {
    let m = fixture_mapping();
    let bound = m.bind(&header(), None).unwrap();
    let judge = Judge::new(&bound);
    let clean = [
        "E1",
        "Ana",
        "Lima",
        "ana@example.com",
        "(415) 555-0123",
        "+14155550123",
        "Agent",
        "Sales",
        "Home",
        "",
        "2020-01-31",
        "active",
        "Remote",
        "Sales:3;VIP:5",
        "English:5",
        "employee",
        "Tier 1",
    ];
    let mut s = Scratch::default();
    assert!(judge.judge(&clean, &mut s).is_some());
    for (col, bad) in [
        (3, "ana@example"),
        (3, ""),
        (1, ""),
        (4, "12"),
        (10, "2020-02-30"),
        (11, "retired"),
        (13, "Sales:3;Sales:4"),
        (13, "Sales:6"),
        (14, "English"),
        (13, long_list(51).leak()),
        // issue 14: control characters in externalId, displayName, userName.
        (0, "E\u{0}1"),
        (1, "A\u{1b}na"),
        (3, "ana\u{7f}@example.com"),
    ] {
        let mut row = clean;
        row[col] = bad;
        if col == 1 {
            row[2] = "";
        }
        assert!(
            judge.judge(&row, &mut s).is_none(),
            "{} = {bad:?}",
            HEADER[col]
        );
        assert!(!full(&bound, &row).0, "{} = {bad:?}", HEADER[col]);
    }
}

#[test]
fn an_email_rendered_into_the_reused_buffer_is_checked_again() {
    // Both emails render into one buffer, to the same length: the second must
    // not pass as "the same bytes" as the first.
    let m = template_mapping();
    let bound = m.bind(&header(), None).unwrap();
    let judge = Judge::new(&bound);
    let mut row = [""; 17];
    (row[0], row[1], row[2], row[6]) = ("E1", "ana", "l;m", "Agent");
    assert!(!full(&bound, &row).0);
    assert!(judge.judge(&row, &mut Scratch::default()).is_none());
    row[2] = "lim";
    assert!(judge.judge(&row, &mut Scratch::default()).is_some());
}
