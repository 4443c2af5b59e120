//! Tests of the resolved mapping: config problems listed at once, binding, and
//! golden rows from the fixtures to the exact SCIM JSON.

use super::*;
use crate::model::ErrorKind;
use crate::source::{Header, Record};

fn fixture_mapping() -> Mapping {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mapping.toml");
    Mapping::load(&path).unwrap()
}

fn fixture_header() -> Header {
    Header::new(
        "employee_id,first_name,last_name,email,work_phone,mobile_phone,title,department,division,manager_id,hire_date,status,location,skills,languages,roles,groups"
            .split(',')
            .map(String::from)
            .collect(),
    )
}

fn rec(row: u64, line: &str) -> Record {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let fields = r
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    Record { row, fields }
}

#[test]
fn every_problem_is_listed_at_once() {
    let text = r#"
keys = ["externalId", "email"]
default_country = "XX"
[[field]]
path = "nickName"
column = "a"
[[field]]
path = "title"
column = "t"
template = "{x}"
[[field]]
path = "title"
column = "t2"
[[field]]
path = "displayName"
template = "{first"
[[field]]
path = "emails.work"
column = "e"
replace = [{ pattern = "(", with = "" }]
[[field]]
path = "title"
value = "x"
blank = "default"
"#;
    let MappingError::Invalid { problems, .. } = Mapping::from_toml_str(text).unwrap_err() else {
        panic!("not Invalid");
    };
    let all = problems.join("\n");
    for needle in [
        "`XX` is not a known country",
        "`nickName` is not a SCIM user attribute",
        "exactly one of `column`, `template` or `value`",
        "unclosed",
        "replace pattern",
        "needs a `default`",
        "`email` is not a matching key",
        "`externalId` is a key but no [[field]] maps it",
        "`userName` is required",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn syntax_errors_name_the_line() {
    let e = Mapping::from_toml_str(
        "[[field]]\npath = \"userName\"\ncolumn = \"email\"\nblank = \"sometimes\"\n",
    )
    .unwrap_err();
    assert!(matches!(e, MappingError::Syntax { .. }));
    assert!(e.to_string().contains("line 4"), "{e}");
}

#[test]
fn keys_and_groups() {
    let m = fixture_mapping();
    assert_eq!(m.keys(), [MatchKey::ExternalId, MatchKey::UserName]);
    assert!(m.manages_groups());
    assert!(m.columns().contains(&"first_name"));
}

#[test]
fn binding_lists_every_missing_column() {
    let m = fixture_mapping();
    let h = Header::new(vec!["employee_id".into(), "email".into()]);
    let problems = m.bind(&h, Some("row")).unwrap_err();
    let all = problems.join("\n");
    for c in [
        "first_name",
        "last_name",
        "work_phone",
        "skills",
        "groups",
        "row column `row`",
    ] {
        assert!(all.contains(c), "missing {c} in {all}");
    }
    assert!(all.contains("the input's columns are: employee_id, email"));
}

#[test]
fn golden_full_row() {
    let m = fixture_mapping();
    let r = rec(
        3,
        "E100003,Ana,Lima, Ana.Lima@Example.com ,(415) 555-0123,+44 20 7946 0958 x12,Senior Agent,Support,EMEA,E100001,04/17/2023,leave,Lisbon,Billing:4;Technical Support:3,English:5;Portuguese:4,employee;Agent,Support Team;Tier 1",
    );
    let du = map_record(&m, &fixture_header(), &r).unwrap();
    assert_eq!(du.row, 3);
    assert_eq!(
        du.groups,
        Some(vec!["Support Team".to_string(), "Tier 1".to_string()])
    );
    assert!(du.clear.is_empty());
    assert_eq!(du.source_hash.len(), 32);
    let json = serde_json::to_value(&du.user).unwrap();
    let want = serde_json::json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"
        ],
        "externalId": "E100003",
        "userName": "ana.lima@example.com",
        "displayName": "Ana Lima",
        "title": "Senior Agent",
        "active": true,
        "emails": [{"value": "ana.lima@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [
            {"value": "+14155550123", "type": "work"},
            {"value": "tel:+442079460958;ext=12", "type": "mobile"}
        ],
        "roles": [{"value": "employee"}, {"value": "Agent"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "E100003",
            "department": "Support",
            "division": "EMEA",
            "manager": {"value": "E100001"},
            "dateHire": "2023-04-17"
        },
        "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User": {
            "routingSkills": [
                {"name": "Billing", "proficiency": 4.0},
                {"name": "Technical Support", "proficiency": 3.0}
            ],
            "routingLanguages": [
                {"name": "English", "proficiency": 5.0},
                {"name": "Portuguese", "proficiency": 4.0}
            ]
        }
    });
    assert_eq!(
        json,
        want,
        "{}",
        serde_json::to_string_pretty(&json).unwrap()
    );
}

#[test]
fn golden_blanks_clear_and_default() {
    let m = fixture_mapping();
    let r = rec(
        7,
        "E100007,Bo,Ek,bo.ek@example.com,,,,,,,2020-01-02,terminated,,,,employee,",
    );
    let du = map_record(&m, &fixture_header(), &r).unwrap();
    let e = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let g = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";
    assert_eq!(
        du.clear,
        vec![
            "phoneNumbers[type eq \"work\"].value".to_string(),
            "phoneNumbers[type eq \"mobile\"].value".to_string(),
            "title".to_string(),
            format!("{e}:department"),
            format!("{e}:manager"),
            format!("{g}:routingSkills"),
            format!("{g}:routingLanguages"),
        ]
    );
    // Blank groups with blank = "ignore" (the default): memberships left alone.
    assert_eq!(du.groups, None);
    let json = serde_json::to_value(&du.user).unwrap();
    assert_eq!(json["active"], false);
    assert_eq!(json[e]["division"], "Home");
    assert_eq!(json["schemas"].as_array().unwrap().len(), 3);
}

#[test]
fn groups_blank_clear_means_no_memberships() {
    let m = Mapping::from_toml_str(
        "[[field]]\npath=\"userName\"\ncolumn=\"e\"\n[[field]]\npath=\"displayName\"\ncolumn=\"e\"\n[[field]]\npath=\"externalId\"\ncolumn=\"e\"\n[[field]]\npath=\"groups\"\ncolumn=\"g\"\nblank=\"clear\"\n",
    )
    .unwrap();
    let h = Header::new(vec!["e".into(), "g".into()]);
    let du = map_record(
        &m,
        &h,
        &Record {
            row: 1,
            fields: vec!["a@b.co".into(), " ".into()],
        },
    )
    .unwrap();
    assert_eq!(du.groups, Some(vec![]));
    assert!(du.clear.is_empty());
}

#[test]
fn transform_errors_are_all_reported() {
    let m = fixture_mapping();
    let r = rec(
        9,
        "E9,A,B,a@b.co,12ab,+1,T,D,Home,,someday,retired,,Billing:9,English,employee,",
    );
    let errs = map_record(&m, &fixture_header(), &r).unwrap_err();
    let kinds: Vec<ErrorKind> = errs.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ErrorKind::InvalidPhone,
            ErrorKind::InvalidPhone,
            ErrorKind::UnmappedValue,
            ErrorKind::InvalidDate,
            ErrorKind::InvalidProficiency,
            ErrorKind::InvalidProficiency
        ]
    );
    assert!(
        errs.iter()
            .all(|e| e.row == 9 && e.column.is_some() && e.path.is_some())
    );
    assert_eq!(errs[3].column.as_deref(), Some("hire_date"));
    assert_eq!(errs[3].value.as_deref(), Some("someday"));
}

#[test]
fn template_and_genesys_external_ids() {
    let m = Mapping::from_toml_str(
        r#"
keys = ["userName"]
[[field]]
path = "userName"
template = "{first}.{last}@example.com"
[[field]]
path = "displayName"
template = "{first} {last}"
max_length = 8
[[field]]
path = 'urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq "microsoftteams"].value'
column = "teams"
"#,
    )
    .unwrap();
    let h = Header::new(vec!["first".into(), "last".into(), "teams".into()]);
    let du = map_record(
        &m,
        &h,
        &Record {
            row: 1,
            fields: vec!["Ana".into(), "Lima".into(), "t-1".into()],
        },
    )
    .unwrap();
    assert_eq!(du.user.user_name.as_deref(), Some("ana.lima@example.com"));
    let g = du.user.genesys.unwrap();
    assert_eq!(g.external_ids[0].authority, "microsoftteams");
    assert_eq!(g.external_ids[0].value, "t-1");
    let errs = map_record(
        &m,
        &h,
        &Record {
            row: 2,
            fields: vec!["Anabela".into(), "Lima".into(), "".into()],
        },
    )
    .unwrap_err();
    assert_eq!(errs[0].kind, ErrorKind::TooLong);
}

#[test]
fn mapping_into_a_reused_user_gives_what_a_fresh_map_gives() {
    // Every fixture row (dirty ones included) mapped into one user that is cleared
    // between rows, against a fresh `map` of the same row: nothing may leak across.
    let m = fixture_mapping();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hr_export.csv");
    let mut rdr = csv::Reader::from_path(path).expect("fixture");
    let header = Header::new(rdr.headers().expect("h").iter().map(String::from).collect());
    let bound = m.bind(&header, None).expect("bind");
    let (mut du, mut pool) = (DesiredUser::default(), Pool::default());
    let mut rows = 0;
    for (i, r) in rdr.records().enumerate() {
        let r = r.expect("row");
        let fields: Vec<&str> = r.iter().collect();
        let (want, want_errors) = bound.map(i as u64 + 1, &fields);
        let mut errors = Vec::new();
        bound.map_into(i as u64 + 1, &fields, &mut du, &mut errors, &mut pool);
        assert_eq!(du, want, "row {}", i + 1);
        assert_eq!(errors, want_errors, "row {}", i + 1);
        pool.clear(&mut du);
        assert_eq!(du, DesiredUser::default());
        rows += 1;
    }
    assert!(rows >= 200);
}

const ANCHORED: &str = r#"
anchor = "objectGUID"
keys = ["externalId", "userName"]
[[field]]
path = "externalId"
column = "employeeID"
[[field]]
path = "userName"
column = "mail"
[[field]]
path = "displayName"
column = "cn"
[[field]]
path = "title"
column = "title"
conflict = "target-wins"
[[field]]
path = "roles"
column = "roles"
conflict = "merge"
[[field]]
path = "enterprise.department"
column = "department"
"#;

fn anchored_header() -> Header {
    Header::new(
        [
            "objectGUID",
            "employeeID",
            "mail",
            "cn",
            "title",
            "roles",
            "department",
        ]
        .map(String::from)
        .to_vec(),
    )
}

#[test]
fn the_anchor_is_the_trimmed_cell_and_never_part_of_the_user() {
    let m = Mapping::from_toml_str(ANCHORED).unwrap();
    assert_eq!(m.anchor_column(), Some("objectGUID"));
    assert!(m.columns().contains(&"objectGUID"));
    let bound = m.bind(&anchored_header(), None).unwrap();
    let guid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    let (du, errors) = bound.map(
        1,
        &[
            &format!("  {guid} "),
            "E1",
            "ana@example.com",
            "Ana",
            "Agent",
            "employee",
            "Sales",
        ],
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(du.anchor.as_deref(), Some(guid));
    let json = serde_json::to_string(&du.user).unwrap();
    assert!(!json.contains(guid), "the anchor is not sent: {json}");
    let (du, _) = bound.map(2, &["  ", "E2", "bo@example.com", "Bo", "", "", ""]);
    assert_eq!(du.anchor, None, "a blank anchor is None");
    // Without `anchor`, no anchor.
    let m = fixture_mapping();
    assert_eq!(m.anchor_column(), None);
    let r = rec(1, "E1,A,B,a@b.co,,,,,,,2020-01-02,active,,,,employee,");
    assert_eq!(map_record(&m, &fixture_header(), &r).unwrap().anchor, None);
}

#[test]
fn a_missing_anchor_column_is_listed_with_every_other_missing_column() {
    let m = Mapping::from_toml_str(ANCHORED).unwrap();
    let h = Header::new(vec!["employeeID".into(), "mail".into()]);
    let problems = m.bind(&h, None).unwrap_err();
    let all = problems.join("\n");
    for c in [
        "column `objectGUID` (for `anchor`) is not in the input",
        "column `cn`",
        "column `department`",
        "the input's columns are: employeeID, mail",
    ] {
        assert!(all.contains(c), "missing {c:?} in\n{all}");
    }
}

#[test]
fn an_anchor_survives_reuse_of_a_cleared_user() {
    let m = Mapping::from_toml_str(ANCHORED).unwrap();
    let bound = m.bind(&anchored_header(), None).unwrap();
    let (mut du, mut pool, mut errors) = (DesiredUser::default(), Pool::default(), Vec::new());
    for (row, cell) in [(1, "g-1"), (2, ""), (3, "g-3")] {
        let fields = [cell, "E", "a@b.co", "A", "", "", ""];
        bound.map_into(row, &fields, &mut du, &mut errors, &mut pool);
        assert_eq!(du, bound.map(row, &fields).0, "row {row}");
        pool.clear(&mut du);
    }
}

#[test]
fn conflict_policies_name_every_mapped_path_as_the_planner_spells_it() {
    let m = Mapping::from_toml_str(ANCHORED).unwrap();
    use ConflictPolicy::*;
    let want = vec![
        ("externalId".to_string(), SourceWins),
        ("userName".to_string(), SourceWins),
        ("displayName".to_string(), SourceWins),
        ("title".to_string(), TargetWins),
        ("roles".to_string(), Merge),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".to_string(),
            SourceWins,
        ),
    ];
    assert_eq!(m.conflict_policies(), want);
}

#[test]
fn bad_conflicts_and_a_blank_anchor_are_listed_at_once() {
    let text = r#"
anchor = " "
[[field]]
path = "userName"
column = "mail"
conflict = "target-wins"
[[field]]
path = "externalId"
column = "id"
conflict = "merge"
[[field]]
path = "displayName"
column = "cn"
conflict = "merge"
[[field]]
path = "phoneNumbers.mobile"
column = "mobile"
conflict = "merge"
[[field]]
path = "groups"
column = "groups"
conflict = "merge"
"#;
    let MappingError::Invalid { problems, .. } = Mapping::from_toml_str(text).unwrap_err() else {
        panic!("not Invalid");
    };
    let want = [
        "field #1 (`userName`): conflict = \"target-wins\" on `userName`, a matching key",
        "field #2 (`externalId`): conflict = \"merge\" on `externalId`, a matching key",
        "field #3 (`displayName`): conflict = \"merge\" applies only to lists",
        "field #4 (`phoneNumbers.mobile`): conflict = \"merge\" applies only to lists",
        "anchor: the column name is empty",
    ];
    for w in want {
        assert!(
            problems.iter().any(|p| p.starts_with(w)),
            "{w}\nnot in\n{problems:#?}"
        );
    }
    assert_eq!(problems.len(), want.len(), "{problems:#?}");
}
