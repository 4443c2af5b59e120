//! Issue 19: the command line an admin trusts at 2 a.m., point by point, over the
//! real binary.

use std::process::Command;

use crate::common::show;

/// Item 13: a usage error prints the error and nothing else (no "using the
/// embedded emulator" first) and leaves no run directory behind.
#[test]
fn issue_19_a_usage_error_says_only_what_is_wrong_and_leaves_no_run_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let cases: [&[&str]; 4] = [
        &[],
        &["fixtures/hr_export.csv"],
        &[
            "fixtures/hr_export.csv",
            "--mapping",
            "fixtures/mapping.toml",
            "--rate",
            "0",
        ],
        &["missing.csv", "--mapping", "fixtures/mapping.toml"],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
            .arg("import")
            .args(args)
            .arg("--runs-dir")
            .arg(&runs)
            .env_remove("GENESYS_REGION")
            .env_remove("GENESYS_API_URL")
            .output()
            .expect("run scimport");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert!(out.stdout.is_empty(), "{args:?}: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error: "),
            "{args:?}: {}",
            show(&out)
        );
        assert!(!runs.exists(), "{args:?} left {}", runs.display());
    }
}
