//! Issue 14, the smaller items: NDJSON numbers read as their literal text, a 201
//! whose body cannot be read resolved by a lookup and adopted, and mapping values
//! checked at load. Real binary, real emulator (behind a small proxy the test
//! starts where the server must misbehave).

use std::path::Path;

use scimport::emulator::{EmulatorConfig, spawn};

use crate::import::import;

fn show(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const SMALL_MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]
[[field]]
path = "externalId"
column = "employee_id"
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "name"
[[field]]
path = "title"
column = "title"
"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_ndjson_numbers_reach_the_tenant_as_written() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mapping = write(tmp.path(), "m.toml", SMALL_MAPPING);
    // Two ids a float cannot tell apart, and titles a float would rewrite.
    let input = write(
        tmp.path(),
        "hr.ndjson",
        concat!(
            r#"{"employee_id": 18446744073709551616, "email": "a@example.com", "name": "A", "title": 1.10}"#,
            "\n",
            r#"{"employee_id": 18446744073709551617, "email": "b@example.com", "name": "B", "title": 1e3}"#,
            "\n",
            r#"{"employee_id": 12345678901234567890123, "email": "c@example.com", "name": "C", "title": -0}"#,
            "\n",
        ),
    );
    let out = import(
        &emu,
        &runs,
        &[
            input.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let mut got: Vec<(String, String)> = emu
        .users()
        .into_iter()
        .map(|u| {
            (
                u.user.external_id.clone().unwrap_or_default(),
                u.user.title.clone().unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("12345678901234567890123".to_string(), "-0".to_string()),
            ("18446744073709551616".to_string(), "1.10".to_string()),
            ("18446744073709551617".to_string(), "1e3".to_string()),
        ]
    );
}

/// A mapping with bad values of several kinds (issue 14).
const BAD_MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]
date_formats = ["%Y-%m-%d", "%Q"]
[[field]]
path = "externalId"
column = "employee_id"
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "name"
[[field]]
path = "groups"
column = "groups"
split = ""
[[field]]
path = "active"
column = "status"
table = { Active = "true", active = "true" }
[[field]]
path = "title"
column = "title"
replace = [{ pattern = "", with = "-" }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_bad_mapping_values_exit_2_listing_every_problem() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let mapping = write(tmp.path(), "m.toml", BAD_MAPPING);
    let input = write(
        tmp.path(),
        "hr.csv",
        "employee_id,email,name,groups,status,title\nE1,a@example.com,A,G,active,T\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .arg("validate")
        .arg(&input)
        .arg("--mapping")
        .arg(&mapping)
        .output()
        .expect("run validate");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "date_formats: \"%Q\" has an unknown or incomplete % directive",
        "field #4 (`groups`): `split` is empty",
        "field #5 (`active`): table keys \"Active\" and \"active\" differ only in case",
        "field #6 (`title`): replace #1 has an empty pattern",
    ] {
        assert!(err.contains(want), "{want}\n{}", show(&out));
    }

    // import refuses it before reading a row or calling the tenant.
    let runs = tmp.path().join("runs");
    let out = import(
        &emu,
        &runs,
        &[
            input.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`split` is empty"),
        "{}",
        show(&out)
    );
    assert!(emu.users().is_empty());
}
