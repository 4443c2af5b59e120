//! Wall-clock benchmark of the run sinks: Parquet ledger, hash-chained audit log and
//! journal, over N rows (default 1,000,000). Run with `scripts/bench-ledger [N]`.
//!
//! Not a divan bench: each measurement is one full pass over N rows (what a run
//! pays), reported as total time and rows/s.

use std::time::Instant;

// The allocator of the scimport binary (src/main.rs), so the writer thread's costs
// (frees of rows allocated on another thread, fresh batch buffers) are the run's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{DateTime, Utc};
use scimport::apply::sink::RunSink;
use scimport::audit::event::EventRef;
use scimport::audit::{AuditEvent, AuditLog, EventKind, FlushPolicy, verify};
use scimport::journal::{Journal, RunMeta, SyncPolicy};
use scimport::ledger::{
    Action, LedgerRow, LedgerWriter, Outcome, intern, read_ledger, summarize_ledger,
};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:";
const GEN: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:";
static CREATE_FIELDS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    let mut v: Vec<String> = [
        "externalId",
        "userName",
        "displayName",
        "name.givenName",
        "name.familyName",
        "title",
        "emails[type eq \"work\"].value",
        "phoneNumbers[type eq \"work\"].value",
        "roles",
        "groups",
    ]
    .map(String::from)
    .to_vec();
    for f in ["employeeNumber", "department", "division", "dateHire"] {
        v.push(format!("{ENT}{f}"));
    }
    for f in ["routingSkills", "routingLanguages"] {
        v.push(format!("{GEN}{f}"));
    }
    v
});

/// A row as a 1,000,000-row dry run against an empty tenant writes it
/// (`scripts/bench-dry-run`): 95% creates listing 16 or 17 paths (about 565 bytes),
/// no call, no error, skipped. `SCIMPORT_BENCH_NO_CHANGED_FIELDS=1` leaves the
/// lists empty (to see what they cost).
fn dry_row(n: u64) -> LedgerRow {
    let create = !n.is_multiple_of(20);
    let mut changed_fields: Vec<scimport::ledger::FieldPath> = Vec::new();
    // SCIMPORT_BENCH_NO_CHANGED_FIELDS=1: what the ledger costs without the paths.
    static NO_CF: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
        std::env::var_os("SCIMPORT_BENCH_NO_CHANGED_FIELDS").is_some_and(|v| v == "1")
    });
    if create && !*NO_CF {
        // Interned, as the planner makes them.
        changed_fields = CREATE_FIELDS.iter().map(|f| intern(f)).collect();
        if n.is_multiple_of(3) {
            changed_fields.insert(7, intern("phoneNumbers[type eq \"mobile\"].value"));
        }
    }
    let mut r = LedgerRow::without_call(
        n,
        Some(format!("E{:06}", 100_000 + n)),
        Some(format!("first.last.{}@example.com", 100_000 + n)),
        if create { Action::Create } else { Action::Skip },
        Outcome::Skipped,
        format!("{:032x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
    );
    r.changed_fields = changed_fields;
    r.finished_at =
        DateTime::<Utc>::from_timestamp_micros(1_795_000_000_000_000 + n as i64).expect("in range");
    r
}

fn row(n: u64) -> LedgerRow {
    let (action, outcome, status, kind) = match n % 20 {
        0 => (Action::None, Outcome::Invalid, None, Some("invalid_email")),
        1 => (Action::Create, Outcome::Failed, Some(409), Some("conflict")),
        2..=5 => (Action::Update, Outcome::Succeeded, Some(200), None),
        6..=9 => (Action::Skip, Outcome::Skipped, None, None),
        _ => (Action::Create, Outcome::Succeeded, Some(201), None),
    };
    LedgerRow {
        row: n,
        external_id: Some(format!("E{n:07}")),
        user_name: Some(format!("first.last{n}@example.com")),
        action,
        outcome,
        http_status: status,
        scim_id: status.map(|_| format!("5f2c8e0a-1b3d-4c5e-9f70-{n:012}")),
        attempts: u32::from(status.is_some()),
        latency_ms: (n % 300) as f64 * 0.37,
        error_kind: kind.map(|k| scimport::model::ErrorKind::parse(k).expect("a ledger spelling")),
        error: kind.map(|k| format!("{k}: row {n} rejected by the tenant")),
        changed_fields: match action {
            Action::Update => vec!["title".into(), "name.familyName".into()],
            // What a dry run's create lists (16 paths).
            Action::Create => CREATE_FIELDS.iter().map(|f| intern(f)).collect(),
            _ => vec![],
        },
        source_hash: format!("{:064x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        finished_at: DateTime::<Utc>::from_timestamp_micros(1_795_000_000_000_000 + n as i64)
            .expect("in range"),
        warning: None,
        wait_ms: 0.0,
    }
}

/// CPU time of this thread in seconds (Linux; 0 elsewhere). The machine is shared,
/// so wall time includes waiting for a core; CPU time is what the work costs.
fn cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// A started measurement: wall clock and thread CPU time.
struct Clock(Instant, f64);

fn start() -> Clock {
    Clock(Instant::now(), cpu())
}

fn report(what: &str, n: u64, t: Clock, extra: &str) {
    let wall = t.0.elapsed().as_secs_f64();
    let cpu = cpu() - t.1;
    println!(
        "{what:<46} wall {:>8.1} ms  cpu {:>8.1} ms  {:>5.2} us/row (cpu)  {extra}",
        wall * 1e3,
        cpu * 1e3,
        cpu * 1e6 / n as f64
    );
}

fn size(p: &std::path::Path) -> String {
    let b = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // Optional second argument: only run sections whose name contains it
    // (ledger, dry-ledger, audit, sink, journal).
    let only = args.get(1).cloned();
    let want = |section: &str| only.as_deref().is_none_or(|o| section.contains(o));
    let dir = tempfile::tempdir().expect("temp dir");
    let rows: Vec<LedgerRow> = (1..=n).map(row).collect();
    println!(
        "{n} rows; {} logical CPUs",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );

    let ledger = dir.path().join("ledger.parquet");
    if want("dry-ledger") {
        // The ledger alone, rows shaped like a dry run's.
        let dry: Vec<LedgerRow> = (1..=n).map(dry_row).collect();
        let t = start();
        let mut w = LedgerWriter::try_new(&ledger, "20261123T061500Z-3fa2").expect("writer");
        for r in &dry {
            w.write(r).expect("write");
        }
        let s = w.close().expect("close");
        assert_eq!(s.rows, n);
        report(
            "dry-ledger: write + close, dry-run rows",
            n,
            t,
            &size(&ledger),
        );
    }
    if want("ledger") {
        let t = start();
        let mut w = LedgerWriter::try_new(&ledger, "20261123T061500Z-3fa2").expect("writer");
        for r in &rows {
            w.write(r).expect("write");
        }
        let s = w.close().expect("close");
        assert_eq!(s.rows, n);
        report(
            "ledger: write + close (snappy, fsync)",
            n,
            t,
            &size(&ledger),
        );
        let t = start();
        let s2 = summarize_ledger(&ledger).expect("summarize");
        assert_eq!(s2, s);
        report("ledger: summarize (ledger summary)", n, t, "");
        let t = start();
        let back = read_ledger(&ledger).expect("read");
        assert_eq!(back.len() as u64, n);
        report("ledger: read_ledger (all rows)", n, t, "");
        drop(back);
    }

    if want("audit") {
        for (label, policy) in [
            (
                "audit: 1 decision line/row, write per line",
                FlushPolicy::EveryLine,
            ),
            (
                "audit: 1 decision line/row, 64 KiB buffer",
                FlushPolicy::Buffered(64 * 1024),
            ),
        ] {
            let path = dir.path().join("audit.jsonl");
            let _ = std::fs::remove_file(&path);
            let t = start();
            let mut log = AuditLog::create(&path, "20261123T061500Z-3fa2").expect("audit");
            log.set_flush_policy(policy);
            for r in &rows {
                log.append(&AuditEvent::decision(r.row, r.action, r.outcome))
                    .expect("append");
            }
            log.close().expect("close");
            report(label, n, t, &size(&path));
        }
        let path = dir.path().join("audit.jsonl");
        let t = start();
        let v = verify(&path).expect("verify");
        assert!(v.is_intact());
        report("audit: verify", n, t, "");

        // Audit: decision + call line per row (a real run with one write per row).
        let _ = std::fs::remove_file(&path);
        let t = start();
        let mut log = AuditLog::create(&path, "20261123T061500Z-3fa2").expect("audit");
        for r in &rows {
            log.append(&AuditEvent::call(
                Some(r.row),
                "POST",
                "/api/v2/scim/v2/Users",
                r.http_status.map(|s| s as u16),
                r.latency_ms,
                1,
            ))
            .expect("append");
            log.append(&AuditEvent::decision(r.row, r.action, r.outcome))
                .expect("append");
        }
        log.close().expect("close");
        report(
            "audit: call + decision lines/row, per line",
            n,
            t,
            &size(&path),
        );
    }

    if want("audit") {
        // What the sink's writer does per dry-run row: a borrowed decision event
        // (no event built), buffered like a dry run's log.
        let path = dir.path().join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        let t = start();
        let mut log = AuditLog::create(&path, "20261123T061500Z-3fa2").expect("audit");
        log.set_flush_policy(FlushPolicy::Buffered(256 * 1024));
        for r in &rows {
            let mut ev = EventRef::new(EventKind::Decision, r.finished_at);
            ev.row = Some(r.row);
            ev.action = Some(r.action);
            ev.outcome = Some(r.outcome.as_str());
            ev.latency_ms = Some(r.latency_ms);
            ev.detail = r.error.as_deref();
            log.append_ref(&ev).expect("append");
        }
        log.close().expect("close");
        report(
            "audit: sink's decision line/row, borrowed, 256 KiB",
            n,
            t,
            &size(&path),
        );
    }

    if want("sink") {
        // The whole dry-run sink: rows shaped like a dry run's (`dry_row`) announced
        // and finished from this thread, the writer thread writing ledger + audit.
        // `cpu` is this (producer) thread's; the writer's is `writer cpu`. With
        // SCIMPORT_BENCH_DISCARD_SINK=1 (and --features bench-discard-sink) the writer only
        // counts (the bench's B).
        let rows: Vec<LedgerRow> = (1..=n).map(dry_row).collect();
        let path = dir.path().join("audit-sink.jsonl");
        let sink_ledger = dir.path().join("ledger-sink.parquet");
        let mut log = AuditLog::create(&path, "20261123T061500Z-3fa2").expect("audit");
        log.set_flush_policy(FlushPolicy::Buffered(256 * 1024));
        let t = start();
        let sink = RunSink::direct(
            "20261123T061500Z-3fa2",
            &sink_ledger,
            log,
            indicatif::ProgressBar::hidden(),
        )
        .expect("sink");
        // The sink's senders are async (they wait for credits as tasks); one
        // current-thread runtime drives them from this thread, as before.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let closed = rt.block_on(async {
            for r in &rows {
                sink.expect(r.row).await;
                sink.finish(r.clone()).await;
            }
            sink.close(&path, &sink_ledger).await.expect("close")
        });
        assert_eq!(closed.summary.rows, n);
        report(
            "sink: dry-run RunSink, send + close (producer)",
            n,
            t,
            &format!(
                "lost {:.3} s, writer cpu {:.3} s",
                closed.lost_seconds, closed.writer_cpu_seconds
            ),
        );
    }

    if want("journal") {
        let meta = RunMeta {
            run_id: "20261123T061500Z-3fa2".into(),
            input: "hr.csv".into(),
            input_sha256: "0".repeat(64),
            mapping: "mapping.toml".into(),
            target: "embedded".into(),
            dry_run: false,
            created_at: Utc::now(),
            args: vec![],
            row_column: None,
            only_rows: None,
        };
        for (label, policy) in [
            (
                "journal: intent + outcome/row, fsync batched",
                SyncPolicy::default(),
            ),
            (
                "journal: intent + outcome/row, fsync on close",
                SyncPolicy::OnClose,
            ),
        ] {
            let path = dir.path().join("journal.jsonl");
            let _ = std::fs::remove_file(&path);
            let t = start();
            let mut j = Journal::create(&path, &meta).expect("journal");
            j.set_sync_policy(policy);
            for r in &rows {
                j.intent(r.row, r.action, r.external_id.as_deref().unwrap_or(""))
                    .expect("intent");
                j.outcome(r).expect("outcome");
            }
            j.close().expect("close");
            report(label, n, t, &size(&path));
        }
        let path = dir.path().join("journal.jsonl");
        let t = start();
        let st = Journal::replay(&path).expect("replay");
        assert_eq!(st.done.len() as u64, n);
        report("journal: replay", n, t, "");
        let t = start();
        let s3 = scimport::journal::build_ledger_from_journal(&st, Vec::new(), &ledger)
            .expect("rebuild");
        assert_eq!(s3.rows, n);
        report("journal: rebuild ledger from replayed state", n, t, "");
    }
}
