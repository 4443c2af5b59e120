//! Issue 19: one grammar per flag (8), help that documents the environment, exit
//! codes and regions, and tested examples (15).

use std::process::Command;

use super::{embedded, show};

/// Item 8: one grammar per flag on every command: `--delimiter tab` (and the
/// character itself), `--rate 300/min`, `-m` for the mapping.
#[test]
fn issue_19_flags_have_one_grammar_on_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = crate::common::HR_HEADER.replace(',', "\t");
    for r in crate::common::hr_rows(12) {
        text.push('\n');
        text.push_str(&r.replace(',', "\t"));
    }
    text.push('\n');
    let tsv = tmp.path().join("hr.tsv");
    std::fs::write(&tsv, text).unwrap();
    let runs = tmp.path().join("runs");
    let scim = embedded;
    let tsv = tsv.to_str().unwrap();
    let runs = runs.to_str().unwrap();
    for delimiter in ["tab", "\t"] {
        let out = scim(&[
            "validate",
            tsv,
            "-m",
            "fixtures/mapping.toml",
            "--delimiter",
            delimiter,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "validate {delimiter:?}: {}",
            show(&out)
        );
        let out = scim(&[
            "import",
            tsv,
            "-m",
            "fixtures/mapping.toml",
            "--delimiter",
            delimiter,
            "--rate",
            "300/min",
            "--dry-run",
            "--runs-dir",
            runs,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "import {delimiter:?}: {}",
            show(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("rows 12:"),
            "{}",
            show(&out)
        );
    }
    for rate in ["300", "5/s", "off"] {
        let out = scim(&[
            "import",
            tsv,
            "-m",
            "fixtures/mapping.toml",
            "--rate",
            rate,
            "--dry-run",
            "--runs-dir",
            runs,
        ]);
        assert_eq!(out.status.code(), Some(0), "--rate {rate}: {}", show(&out));
    }
    let out = scim(&[
        "import",
        tsv,
        "-m",
        "fixtures/mapping.toml",
        "--rate",
        "fast",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("5/s"),
        "{}",
        show(&out)
    );
    let help = scim(&["sync", "--help"]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("-m, --mapping"),
        "{}",
        show(&help)
    );
}

/// Item 15: `--help` names the environment variables, the exit codes and the
/// regions.
#[test]
fn issue_19_help_names_the_environment_exit_codes_and_regions() {
    for (cmd, exit4) in [("import", false), ("sync", true)] {
        let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
            .args([cmd, "--help"])
            .output()
            .expect("run scimport");
        let text = String::from_utf8_lossy(&out.stdout);
        for want in [
            "GENESYS_CLIENT_ID",
            "GENESYS_CLIENT_SECRET",
            "GENESYS_REGION",
            "GENESYS_API_URL",
            "Exit codes:",
            "eu-west-1",
            "ap-southeast-2",
        ] {
            assert!(text.contains(want), "{cmd} --help lacks {want}:\n{text}");
        }
        assert_eq!(text.contains("  4  a guard"), exit4, "{text}");
    }
}

/// Item 15: the shipped example mapping fits its example HRIS report (headers
/// with spaces, US dates, statuses as words), and imports it.
#[test]
fn issue_19_the_example_hris_mapping_validates_and_imports_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let run = embedded;
    let (csv, mapping) = (
        "examples/hris-report/export.csv",
        "examples/hris-report/mapping.toml",
    );
    let out = run(&["validate", csv, "-m", mapping]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 valid"),
        "{}",
        show(&out)
    );
    let runs = tmp.path().join("runs");
    let out = run(&[
        "import",
        csv,
        "-m",
        mapping,
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = crate::common::read_json(&crate::common::last_run(&runs).join("summary.json"));
    // Four created (one on leave), the terminated one never created.
    assert_eq!(s["done"]["created"], 4, "{s}");
    assert_eq!(s["done"]["inactive_absent"], 1, "{s}");
}
