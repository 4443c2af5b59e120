//! What a run shows its user: the progress bar while it runs and the summary on
//! stdout when it ends. summary.json and failed.csv are the engine's.

use crate::cli::{Printer, human};
use crate::engine::RunReport;

/// The run's progress bar on stderr, hidden when quiet or not on a terminal; the
/// engine sets its length once the input's row count is known.
pub(crate) fn progress_bar(printer: &Printer) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    if printer.is_quiet() || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "[{elapsed_precise}] {wide_bar} {pos}/{len} rows {rate} eta {eta} | {prefix} | {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "rate",
        |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&crate::cli::human::per_second(s.per_sec()));
        },
    );
    bar.set_style(style);
    // Log lines clear the bar while they are written instead of tearing it.
    crate::cli::logging::attach(&bar);
    bar
}

/// The commands a summary offers as next steps.
pub(crate) struct NextSteps {
    /// Continues a stopped run.
    pub resume: String,
    /// Runs the failed rows again.
    pub retry_failed: String,
}

/// Prints the run's summary: the dry run's plan preview, counts, calls, latency,
/// and where to look next.
pub(crate) fn print_summary(printer: &Printer, report: &RunReport, next: &NextSteps) {
    for note in &report.notes {
        printer.info(note);
    }
    for line in &report.plan_preview {
        printer.out(line);
    }
    let dir = &report.dir;
    let done = &report.done;
    let stats = &report.calls.stats;
    let dry = report.dry_run;
    printer.out("");
    let ended = match (dry, &report.stopped) {
        (_, Some(_)) => "stopped after",
        (true, None) => "planned (dry run, nothing sent) in",
        (false, None) => "finished in",
    };
    printer.out(&format!(
        "run {} {ended} {}",
        dir.id,
        human::duration(report.apply_seconds)
    ));
    if dry {
        let a = |k: &str| report.actions.get(k).copied().unwrap_or(0);
        printer.out(&format!(
            "rows {}: would create {}, update {}, reactivate {}, deactivate {}, leave {} unchanged; {} conflicts, {} invalid",
            report.rows, a("create"), a("update"), a("reactivate"), a("deactivate"), a("skip"),
            done.failed, done.invalid
        ));
        printer.out(&format!(
            "full plan: {}",
            dir.root.join("plan.jsonl").display()
        ));
    } else {
        printer.out(&format!(
            "rows {}: created {}, updated {}, unchanged {}, reactivated {}, deactivated {}, failed {}, invalid {}, pending {}",
            report.rows, done.created, done.updated, done.unchanged, done.reactivated, done.deactivated,
            done.failed, done.invalid, done.pending
        ));
    }
    printer.out(&format!("lookup: {}", report.lookup));
    let methods = [
        ("GET", stats.get),
        ("POST", stats.post),
        ("PATCH", stats.patch),
        ("PUT", stats.put),
    ];
    printer.out(&format!(
        "calls: {}; 429s received {}; retries {}; adopted {}",
        human::calls(&methods, stats.token),
        stats.status_429,
        stats.retries,
        stats.adopted
    ));
    printer.out(&format!(
        "latency per call: p50 {}, p95 {}, p99 {}",
        human::millis(stats.p50_ms),
        human::millis(stats.p95_ms),
        human::millis(stats.p99_ms)
    ));
    if let Some(c) = report.calls_per_changed_user {
        printer.out(&format!("calls per changed user: {c:.2}"));
    }
    if let Some(why) = &report.stopped {
        printer.out(&format!("stopped: {why}"));
        printer.out(&format!("resume with: {}", next.resume));
    }
    if done.failed + done.invalid > 0 {
        printer.out(&format!(
            "failed rows: {} (fix them there, then: {})",
            dir.failed_path().display(),
            next.retry_failed
        ));
    }
    printer.out(&format!("ledger: {}", dir.ledger_path().display()));
    printer.out(&format!("run {}", dir.id));
}
