//! A sync killed with SIGKILL in the middle of its writes, then `--resume`d (issue
//! 16): nothing duplicated, every row ends once, and the state learns every user
//! the tenant acknowledged, so the next incremental run has nothing to send.

use std::time::{Duration, Instant};

use scimport::emulator::{EmulatorConfig, LatencyRange};

use super::{Bench, csv, people, runs_in, tally};

/// Outcomes the run's journal holds so far.
fn outcomes(journal: &std::path::Path) -> usize {
    std::fs::read_to_string(journal)
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"t\":\"outcome\""))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_killed_sync_resumes_without_duplicates_and_leaves_a_complete_state() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.latency_ms = Some(LatencyRange { min: 2, max: 6 });
    let b = Bench::with(cfg).await;
    let staff = people(400);
    b.source(&csv(&staff));
    let source = b.dir.path().join("hr.csv").display().to_string();

    let run = tokio::task::block_in_place(|| {
        let mut child = b
            .command(&["--source", &source], &[], &["--concurrency", "4"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "the sync ended before it was killed"
            );
            let run = runs_in(&b.runs()).into_iter().next();
            if let Some(r) = &run
                && outcomes(&r.join("journal.jsonl")) >= 60
            {
                child.kill().expect("kill -9");
                let _ = child.wait();
                break r.clone();
            }
            assert!(Instant::now() < deadline, "no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let id = run.file_name().expect("id").to_string_lossy().to_string();
    let done_before = outcomes(&run.join("journal.jsonl"));
    assert!(done_before < 400, "killed mid-run: {done_before}");

    let r = b.sync(&["--resume", &id]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(r.run.as_deref(), None, "the same run, no new one");
    let rows = scimport::ledger::read_ledger(&run.join("ledger.parquet")).expect("ledger");
    assert_eq!(rows.len(), 400, "{:?}", tally(&rows));
    assert_eq!(b.tenant().len(), 400, "no duplicates");
    let created = b.emu.users().len();
    assert_eq!(created, 400, "no user created twice");

    // The state knows everyone, those done before the kill included.
    b.reset_requests();
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(b.requests().is_empty(), "calls sent: {:?}", b.requests());
}
