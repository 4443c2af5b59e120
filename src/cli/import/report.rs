//! What a finished run tells its user: the summary on stdout, summary.json's
//! counters, failed.csv and the progress bar.

use super::*;

/// failed.csv: the original columns of every failed or invalid row plus `row`,
/// `error_kind` and `error`. Returns its SHA-256 so a later --retry-failed can tell
/// whether the user edited it.
pub(super) fn write_failed_csv(
    dir: &RunDir,
    input: &InputSpec,
    mapping: &Mapping,
    header: &[String],
    rows: &[crate::ledger::Verdict],
    printer: &Printer,
) -> anyhow::Result<String> {
    let failed: std::collections::HashMap<u64, (String, String)> = rows
        .iter()
        .filter_map(|r| r.error.clone().map(|e| (r.row, e)))
        .collect();
    let mut writer = FailedCsvWriter::try_new(&dir.failed_path(), header)?;
    if !failed.is_empty() {
        if input.path == Path::new("-") {
            printer.info("failed.csv lists no original columns: the input came from stdin");
        } else {
            let only: HashSet<u64> = failed.keys().copied().collect();
            let opts = PrepareOptions {
                only_rows: Some(only),
                ..PrepareOptions::default()
            };
            let prep =
                validate::prepare(input, mapping, opts).map_err(|e| anyhow::anyhow!("{e}"))?;
            for chunk in prep {
                for p in chunk.map_err(|e| anyhow::anyhow!("{e}"))? {
                    if let Some((kind, err)) = failed.get(&p.record.row) {
                        writer.write(&p.record, kind, err)?;
                    }
                }
            }
        }
    }
    writer.close()?;
    Ok(resolve::file_sha256(&dir.failed_path()))
}

pub(super) fn progress_bar(printer: &Printer, total: Option<u64>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    if printer.is_quiet() || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "[{elapsed_precise}] {wide_bar} {pos}/{len} rows {per_sec} eta {eta} | {prefix} | {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    // Log lines clear the bar while they are written instead of tearing it.
    crate::cli::logging::attach(&bar);
    bar
}

/// What the run did, counted from the ledger: succeeded rows per action.
#[derive(Debug, Default, serde::Serialize)]
pub(super) struct Done {
    created: u64,
    updated: u64,
    reactivated: u64,
    deactivated: u64,
    unchanged: u64,
    failed: u64,
    invalid: u64,
    pending: u64,
}

impl Done {
    pub(super) fn count(rows: &[crate::ledger::Verdict]) -> Done {
        use crate::ledger::Action as A;
        let mut d = Done::default();
        for r in rows {
            match (r.outcome, r.action) {
                (Outcome::Succeeded, A::Create) => d.created += 1,
                (Outcome::Succeeded, A::Update) => d.updated += 1,
                (Outcome::Succeeded, A::Reactivate) => d.reactivated += 1,
                (Outcome::Succeeded, A::Deactivate) => d.deactivated += 1,
                (Outcome::Succeeded, _) | (Outcome::Skipped, _) => d.unchanged += 1,
                (Outcome::Failed, _) => d.failed += 1,
                (Outcome::Invalid, _) => d.invalid += 1,
                (Outcome::Pending, _) => d.pending += 1,
            }
        }
        d
    }
    fn changed(&self) -> u64 {
        self.created + self.updated + self.reactivated + self.deactivated
    }
    pub(super) fn calls_per_changed(&self, stats: &ApiStats) -> Option<f64> {
        (self.changed() > 0).then(|| stats.api_calls() as f64 / self.changed() as f64)
    }
}

pub(super) fn calls_json(stats: &ApiStats) -> serde_json::Value {
    let mut v = serde_json::to_value(stats).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("total".into(), json!(stats.api_calls()));
        m.insert("writes".into(), json!(stats.writes()));
    }
    v
}

pub(super) fn print_summary(
    printer: &Printer,
    dir: &RunDir,
    summary: &RunSummary,
    done: &Done,
    report: &RunReport,
    stats: &ApiStats,
) {
    for line in &report.plan_preview {
        printer.out(line);
    }
    let dry = summary
        .details
        .get("dry_run")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    printer.out("");
    printer.out(&format!(
        "run {} {} in {:.1} s",
        dir.id,
        if dry {
            "planned (dry run, nothing sent)"
        } else {
            "finished"
        },
        report.seconds
    ));
    if dry {
        let a = |k: &str| summary.actions.get(k).copied().unwrap_or(0);
        printer.out(&format!(
            "rows {}: would create {}, update {}, reactivate {}, deactivate {}, leave {} unchanged; {} conflicts, {} invalid",
            summary.rows, a("create"), a("update"), a("reactivate"), a("deactivate"), a("skip"),
            done.failed, done.invalid
        ));
        printer.out(&format!(
            "full plan: {}",
            dir.root.join("plan.jsonl").display()
        ));
    } else {
        printer.out(&format!(
            "rows {}: created {}, updated {}, unchanged {}, reactivated {}, deactivated {}, failed {}, invalid {}, pending {}",
            summary.rows, done.created, done.updated, done.unchanged, done.reactivated, done.deactivated,
            done.failed, done.invalid, done.pending
        ));
    }
    printer.out(&format!("lookup: {}", report.lookup));
    printer.out(&format!(
        "calls: {} ({} GET, {} POST, {} PATCH, {} token); 429s received {}; retries {}; adopted {}",
        stats.api_calls(),
        stats.get,
        stats.post,
        stats.patch,
        stats.token,
        stats.status_429,
        stats.retries,
        stats.adopted
    ));
    printer.out(&format!(
        "latency per call: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        stats.p50_ms, stats.p95_ms, stats.p99_ms
    ));
    if let Some(c) = done.calls_per_changed(stats) {
        printer.out(&format!("calls per changed user: {c:.2}"));
    }
    if let Some(why) = &report.stopped {
        printer.out(&format!("stopped: {why}"));
        printer.out(&format!("resume with: scimport import --resume {}", dir.id));
    }
    if done.failed + done.invalid > 0 {
        printer.out(&format!(
            "failed rows: {} (fix them there, then: scimport import --retry-failed {})",
            dir.failed_path().display(),
            dir.id
        ));
    }
    printer.out(&format!("ledger: {}", dir.ledger_path().display()));
    printer.out(&format!("run {}", dir.id));
}
