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

/// Planned rows a dry run prints (the full plan is in its file).
const PREVIEW: usize = 10;

/// A plan line (JSON) as one line for people: `row 5 update E100005
/// (jo@example.com): title "Agent" -> "Team Lead"; 1 more field`.
fn preview_line(json: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.chars().take(200).collect();
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "(none)".to_string(),
        serde_json::Value::String(s) => format!("{:?}", shorten(s)),
        other => shorten(&other.to_string()),
    };
    let row = v["row"].as_u64().map_or("-".into(), |r| r.to_string());
    let action = v["action"].as_str().unwrap_or("?");
    let who = match (v["external_id"].as_str(), v["user_name"].as_str()) {
        (Some(x), Some(u)) => format!("{x} ({u})"),
        (Some(x), None) => x.to_string(),
        (None, Some(u)) => u.to_string(),
        (None, None) => String::new(),
    };
    let changes = v["changes"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let what = if action == "create" {
        format!("{} fields", changes.len())
    } else {
        let mut parts: Vec<String> = changes
            .iter()
            .take(2)
            .map(|c| {
                format!(
                    "{} {} -> {}",
                    c["path"].as_str().unwrap_or("?"),
                    text(&c["before"]),
                    text(&c["after"])
                )
            })
            .collect();
        if changes.len() > 2 {
            parts.push(format!("{} more field(s)", changes.len() - 2));
        }
        parts.join("; ")
    };
    format!("row {row} {action} {who}: {what}")
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(39).collect();
    out.push('…');
    out
}

/// The commands a summary offers as next steps.
pub(crate) struct NextSteps {
    /// Continues a stopped run (`None`: it cannot be, the embedded emulator kept
    /// nothing).
    pub resume: Option<String>,
    /// Runs the failed rows again (`None`: likewise).
    pub retry_failed: Option<String>,
}

/// Prints the run's summary: the dry run's plan preview, counts, calls, latency,
/// and where to look next.
pub(crate) fn print_summary(printer: &Printer, report: &RunReport, next: &NextSteps) {
    for note in &report.notes {
        printer.info(note);
    }
    let shown = report.plan_preview.len().min(PREVIEW);
    for line in &report.plan_preview[..shown] {
        printer.out(&preview_line(line));
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
        let more = report.actions.values().sum::<u64>().saturating_sub(
            report.actions.get("skip").copied().unwrap_or(0)
                + report.actions.get("none").copied().unwrap_or(0),
        );
        printer.out(&format!(
            "full plan ({} planned rows shown above of {more}): {}",
            report.plan_preview.len().min(PREVIEW),
            dir.root.join("plan.jsonl").display()
        ));
    } else {
        printer.out(&format!(
            "rows {}: created {}, updated {}, unchanged {}, reactivated {}, deactivated {}, failed {}, invalid {}, pending {}{}",
            report.rows, done.created, done.updated, done.unchanged, done.reactivated, done.deactivated,
            done.failed, done.invalid, done.pending,
            if done.inactive_absent > 0 {
                format!("; inactive in the source and not in the tenant (not created): {}", done.inactive_absent)
            } else {
                String::new()
            }
        ));
    }
    for (kind, n) in &report.warnings {
        let what = if kind == "manager_unresolved" {
            "written without their manager, which is not in the tenant (terminated, invalid or absent in the source); a later run links it once the manager exists"
        } else {
            "with a warning"
        };
        printer.out(&format!(
            "warnings: {n} {kind}: users {what} (the ledger's warning column names each)"
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
        match &next.resume {
            Some(cmd) => printer.out(&format!("resume with: {cmd}")),
            None => printer
                .out("the embedded emulator kept nothing of this run: run the same import again"),
        }
    }
    if done.failed + done.invalid > 0 {
        match &next.retry_failed {
            Some(cmd) => printer.out(&format!(
                "failed rows: {} (fix them there, then: {cmd})",
                dir.failed_path().display()
            )),
            None => printer.out(&format!(
                "failed rows: {} (the embedded emulator kept nothing of this run: fix the rows in the input and import it again)",
                dir.failed_path().display()
            )),
        }
    }
    printer.out(&format!("ledger: {}", dir.ledger_path().display()));
    printer.out(&format!("run {}", dir.id));
}

#[cfg(test)]
mod tests {
    use super::preview_line;

    #[test]
    fn plan_lines_read_as_one_line_each() {
        let create = r#"{"row":1,"action":"create","external_id":"E1","user_name":"a@b.com","scim_id":null,"changes":[{"path":"userName","before":null,"after":"a@b.com"},{"path":"title","before":null,"after":"Agent"}]}"#;
        assert_eq!(preview_line(create), "row 1 create E1 (a@b.com): 2 fields");
        let update = r#"{"row":5,"action":"update","external_id":"E5","user_name":null,"changes":[{"path":"title","before":"Agent","after":"Team Lead"},{"path":"active","before":true,"after":false},{"path":"x","before":1,"after":2}]}"#;
        assert_eq!(
            preview_line(update),
            r#"row 5 update E5: title "Agent" -> "Team Lead"; active true -> false; 1 more field(s)"#
        );
    }
}
