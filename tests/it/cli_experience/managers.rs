//! Issue 19 item 2: a user whose manager is not in the tenant is created, with a
//! warning, and linked by a later run once the manager exists.

use scimport::emulator::{EmulatorConfig, spawn};

use super::show;
use crate::common::{hr_rows, last_run, write_csv};
use crate::import::{import, summary, users_by_external_id};

/// Issue 19 item 2: a user whose manager is not in the tenant (terminated in the
/// source, so never created) is created, succeeded, with a `manager_unresolved`
/// warning in the ledger and the summary; every run exits 0; once the manager is
/// active in the source, a later run creates it and links the user to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_whose_manager_is_missing_is_created_with_a_warning_and_linked_later() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = hr_rows(12);
    // E000002 is terminated, so it is never created; row 11 names it as manager.
    let active = rows[1].clone();
    rows[1] = rows[1].replacen(",active,", ",terminated,", 1);
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    for _ in 0..2 {
        let out = import(
            &emu,
            &runs,
            &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("warnings: 1 manager_unresolved"),
            "{}",
            show(&out)
        );
        let dir = last_run(&runs);
        let ledger = scimport::ledger::read_ledger(&dir.join("ledger.parquet")).unwrap();
        let r11 = ledger.iter().find(|r| r.row == 11).unwrap();
        // Created the first time, up to date (but for its manager) the second.
        assert!(
            matches!(
                r11.outcome,
                scimport::ledger::Outcome::Succeeded | scimport::ledger::Outcome::Skipped
            ),
            "{r11:?}"
        );
        assert_eq!(r11.error_kind, None, "{r11:?}");
        let warning = r11.warning.as_deref().unwrap_or_default();
        assert!(
            warning.starts_with("manager_unresolved: manager E000002"),
            "{r11:?}"
        );
        assert!(r11.scim_id.is_some(), "the user itself exists");
        let s = summary(&runs);
        assert_eq!(s["warnings"]["manager_unresolved"], 1, "{s}");
        assert_eq!(s["outcomes"]["failed"], 0, "{s}");
    }
    let by = users_by_external_id(&emu);
    assert!(!by.contains_key("E000002"));
    let user = |x: &str| {
        emu.users()
            .into_iter()
            .find(|u| u.user.external_id.as_deref() == Some(x))
            .map(|u| u.user)
    };

    // The manager becomes active: created, and row 11 linked to it.
    rows[1] = active;
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert!(
        s["warnings"].as_object().is_some_and(|w| w.is_empty()),
        "{s}"
    );
    let manager_id = user("E000002")
        .and_then(|u| u.id)
        .expect("the manager exists");
    let linked = user("E000011")
        .expect("row 11's user")
        .enterprise
        .as_ref()
        .and_then(|e| e.manager.as_ref())
        .map(|m| m.value.clone());
    assert_eq!(linked, Some(manager_id));
}

/// Issue 19 item 2: `validate` and the dry run predict the `manager_unresolved`
/// warnings an import then records (same rows), as warnings that leave the exit
/// code alone: on the
/// sample, whose managers E100009 and E100012 have invalid rows, and on a file
/// whose only problem is a terminated manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_predicts_the_rows_an_import_warns_about() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = hr_rows(12);
    rows[1] = rows[1].replacen(",active,", ",terminated,", 1);
    let small = write_csv(tmp.path(), "hr.csv", &rows);
    for (csv, exit) in [
        (std::path::PathBuf::from("fixtures/hr_export.csv"), 1),
        (small, 0),
    ] {
        let csv = csv.to_str().unwrap();
        let out = super::embedded(&[
            "validate",
            csv,
            "-m",
            "fixtures/mapping.toml",
            "--output",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(exit), "{}", show(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let human = super::embedded(&["validate", csv, "-m", "fixtures/mapping.toml"]);
        let text = String::from_utf8_lossy(&human.stdout).to_string();
        let predicted: Vec<u64> = text
            .lines()
            .filter(|l| l.contains("the user is created without its manager"))
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("row ")?
                    .split(':')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();

        let warned_rows = |runs: &std::path::Path| -> Vec<u64> {
            let ledger =
                scimport::ledger::read_ledger(&last_run(runs).join("ledger.parquet")).unwrap();
            ledger
                .iter()
                .filter(|r| {
                    r.warning
                        .as_deref()
                        .is_some_and(|w| w.starts_with("manager_unresolved"))
                })
                .map(|r| r.row)
                .collect()
        };
        // The dry run predicts them too, in its ledger and its summary.
        let out = import(
            &emu,
            &runs,
            &[csv, "--mapping", "fixtures/mapping.toml", "--dry-run"],
        )
        .await;
        assert_eq!(out.status.code(), Some(exit), "{}", show(&out));
        let dry = warned_rows(&runs);
        let dry_summary = summary(&runs);

        let out = import(&emu, &runs, &[csv, "--mapping", "fixtures/mapping.toml"]).await;
        assert_eq!(out.status.code(), Some(exit), "{}", show(&out));
        let warned = warned_rows(&runs);
        assert_eq!(dry, warned, "the dry run predicts the real run's rows");
        assert_eq!(
            dry_summary["warnings"]["manager_unresolved"],
            warned.len(),
            "{dry_summary}"
        );
        assert!(!warned.is_empty());
        assert_eq!(v["warnings"][0]["kind"], "manager_unresolved", "{v}");
        assert_eq!(v["warnings"][0]["count"], warned.len(), "{v}");
        // The human output lists up to 10 of them, the first by row.
        let shown = warned.len().min(10);
        assert_eq!(predicted, warned[..shown].to_vec(), "{text}");
    }
}

/// Issue 19 item 2: validate names the right rows far into a large file (its
/// workers see rows block by block): only row 29,995 names a manager that is in
/// no row.
#[test]
fn validate_names_the_right_row_deep_in_a_large_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = hr_rows(30_000);
    rows[29_994] = rows[29_994].replacen(",E000006,", ",E999999,", 1);
    assert!(rows[29_994].contains(",E999999,"));
    let csv = write_csv(tmp.path(), "big.csv", &rows);
    let out = super::embedded(&[
        "validate",
        csv.to_str().unwrap(),
        "-m",
        "fixtures/mapping.toml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("the user is created without its manager"))
        .collect();
    assert_eq!(warned.len(), 1, "{text}");
    assert!(
        warned[0]
            .trim()
            .starts_with("row 29995: manager E999999 is not in the file"),
        "{text}"
    );
}
