//! Issue 15: a blank cell with `blank = "clear"` on `phoneNumbers[type eq "mobile"].value`
//! clears the entry the RFC 7644 way: the client removes the whole entry, and the
//! strict emulator (which, like any RFC server, keeps an entry whose `.value` alone was
//! removed) ends with no mobile entry; the next run sends nothing.

use serde_json::Value;

use scimport::emulator::{EmulatorConfig, spawn};

use crate::common::{hr_rows, last_run, read_json, write_csv};
use crate::import::import;

fn writes(runs: &std::path::Path) -> (u64, u64) {
    let s: Value = read_json(&last_run(runs).join("summary.json"));
    let n = |k: &str| s["calls"][k].as_u64().unwrap_or_else(|| panic!("{k}: {s}"));
    (n("writes"), n("patch"))
}

#[tokio::test]
async fn issue_15_clearing_a_mobile_phone_settles_in_one_run() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = hr_rows(3);
    let with_mobile = rows[0].replacen(",,Agent,", ",+14155550199,Agent,", 1);
    assert_ne!(with_mobile, rows[0], "the fixture row changed shape");
    let cleared = std::mem::replace(&mut rows[0], with_mobile);
    let args = |csv: &std::path::Path| {
        vec![
            csv.to_str().unwrap().to_string(),
            "--mapping".into(),
            "fixtures/mapping.toml".into(),
        ]
    };
    let run = |rows: Vec<String>| {
        let csv = write_csv(tmp.path(), "hr.csv", &rows);
        let emu = &emu;
        let runs = runs.clone();
        async move {
            let a = args(&csv);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let out = import(emu, &runs, &a).await;
            assert_eq!(out.status.code(), Some(0), "{out:?}");
        }
    };
    let mobile = |emu: &scimport::emulator::EmulatorHandle| -> Vec<Value> {
        let u = emu
            .users()
            .into_iter()
            .find(|u| u.user.external_id.as_deref() == Some("E000001"))
            .expect("user E000001");
        u.user
            .phone_numbers
            .iter()
            .filter(|p| p.kind.as_deref() == Some("mobile"))
            .map(|p| serde_json::to_value(p).unwrap())
            .collect()
    };

    run(rows.clone()).await;
    assert_eq!(mobile(&emu).len(), 1);

    rows[0] = cleared;
    run(rows.clone()).await;
    assert_eq!(writes(&runs), (1, 1), "clearing the mobile is one PATCH");
    assert_eq!(mobile(&emu), Vec::<Value>::new(), "no mobile entry is left");

    run(rows).await;
    assert_eq!(writes(&runs), (0, 0), "the next run sends nothing");
}
