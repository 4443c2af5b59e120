//! What a run shows its user: the progress bar while it runs and the summary on
//! stdout when it ends. summary.json and failed.csv are the engine's.

use crate::apply::plan_file::PlannedUser;
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

/// One planned user as one line for people: `row 5 update E100005
/// (jo@example.com): title "Agent" -> "Team Lead"; 1 more field(s)`, or `row 1
/// create E1 (a@b.com): 12 fields`.
fn preview_line(u: &PlannedUser) -> String {
    let text = |v: &Option<String>| match v {
        None => "(none)".to_string(),
        Some(s) => format!("{:?}", shorten(s)),
    };
    let row = u.row.map_or("-".into(), |r| r.to_string());
    let who = match (&u.external_id, &u.user_name) {
        (Some(x), Some(n)) => format!("{x} ({n})"),
        (Some(x), None) => x.clone(),
        (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    };
    let what = if u.body.is_some() {
        format!("{} fields", u.fields)
    } else {
        let mut parts: Vec<String> = u
            .changes
            .iter()
            .take(2)
            .map(|c| format!("{} {} -> {}", c.path, text(&c.before), text(&c.after)))
            .collect();
        if u.changes.len() > 2 {
            parts.push(format!("{} more field(s)", u.changes.len() - 2));
        }
        parts.join("; ")
    };
    format!("row {row} {} {who}: {what}", u.action.as_str())
}

/// `title: 1,203; department: 87`: the most changed first, at most `max` of them.
fn per_field(fields: &std::collections::BTreeMap<String, u64>, max: usize) -> String {
    let mut v: Vec<(&String, &u64)> = fields.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out: Vec<String> = v
        .iter()
        .take(max)
        .map(|(k, n)| format!("{k}: {}", count(**n)))
        .collect();
    if v.len() > max {
        out.push(format!("{} more field(s)", v.len() - max));
    }
    out.join("; ")
}

/// A count with thousands separators: `1,203`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(39).collect();
    out.push('…');
    out
}

/// A dry run's plan: counts per action and per field, the first users, the file,
/// and how to apply it.
fn print_plan(printer: &Printer, report: &RunReport, next: &NextSteps) {
    let Some(plan) = &report.plan else {
        return;
    };
    for u in &plan.preview {
        printer.out(&preview_line(u));
    }
    let actions: Vec<String> = plan
        .tally
        .actions
        .iter()
        .map(|(k, n)| format!("{k}: {}", count(*n)))
        .collect();
    if actions.is_empty() {
        printer.out("plan: nothing to change");
    } else {
        printer.out(&format!("plan: users per action: {}", actions.join("; ")));
    }
    if !plan.tally.fields.is_empty() {
        printer.out(&format!(
            "plan: changes per field: {}",
            per_field(&plan.tally.fields, 12)
        ));
    }
    printer.out(&format!(
        "plan ({} rows, {} users shown above of {}, sha256:{}): {}",
        count(plan.rows),
        plan.preview.len(),
        count(plan.users),
        plan.sha256,
        plan.path.display()
    ));
    if report.stopped.is_some() {
        return;
    }
    match &next.apply_plan {
        Some(cmd) if plan.users > 0 => {
            printer.out(&format!("review it (the report command below draws its changes per field; DuckDB, pandas or Spark read plan.parquet as is), then apply exactly this plan with: {cmd}"))
        }
        Some(_) => {}
        None if report.target != crate::engine::TargetChoice::Embedded.name() => {}
        None => printer.out(
            "this plan was made against the embedded emulator, which is gone: it cannot be applied; plan against your tenant (--region or --api-url) to get a plan you can apply",
        ),
    }
}

/// The commands a summary offers as next steps.
#[derive(Debug, Default)]
pub(crate) struct NextSteps {
    /// Continues a stopped run (`None`: it cannot be, the embedded emulator kept
    /// nothing).
    pub resume: Option<String>,
    /// Runs the failed rows again (`None`: likewise).
    pub retry_failed: Option<String>,
    /// Applies a dry run's plan (`None`: the embedded emulator is gone).
    pub apply_plan: Option<String>,
    /// Plans again from the same input, mapping and target (`import --plan`).
    pub replan: Option<String>,
}

/// Prints the run's summary: the dry run's plan preview, counts, calls, latency,
/// and where to look next.
pub(crate) fn print_summary(printer: &Printer, report: &RunReport, next: &NextSteps) {
    for note in &report.notes {
        printer.info(note);
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
            "rows {}: would create {}, update {}, reactivate {}, deactivate {}, leave {} unchanged; {} conflicts, {} invalid{}",
            report.rows, a("create"), a("update"), a("reactivate"), a("deactivate"),
            a("skip").saturating_sub(done.inactive_absent),
            done.failed, done.invalid,
            if done.inactive_absent > 0 {
                format!("; inactive in the source and not in the tenant (not created): {}", done.inactive_absent)
            } else {
                String::new()
            }
        ));
        print_plan(printer, report, next);
    } else {
        printer.out(&format!(
            "rows {}: created {}, updated {}, unchanged {}, reactivated {}, deactivated {}, failed {}, invalid {}, pending {}{}{}",
            report.rows, done.created, done.updated, done.unchanged, done.reactivated, done.deactivated,
            done.failed, done.invalid, done.pending,
            if done.plan_stale > 0 {
                format!("; changed in the tenant since planning (plan_stale, not applied): {}", done.plan_stale)
            } else {
                String::new()
            },
            if done.inactive_absent > 0 {
                format!("; inactive in the source and not in the tenant (not created): {}", done.inactive_absent)
            } else {
                String::new()
            }
        ));
    }
    for (kind, n) in &report.warnings {
        let what = match (kind.as_str(), dry) {
            ("manager_unresolved", false) => {
                "written without their manager, which is not in the tenant (terminated, invalid or absent in the source); a later run links it once the manager exists"
            }
            ("manager_unresolved", true) => {
                "a real run would write without their manager, which is not in the tenant and which this run would not create (terminated, invalid or absent in the source); a later run links it once the manager exists"
            }
            (_, false) => "with a warning",
            (_, true) => "a real run would warn about",
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
    if let Some(p) = &report.applied_plan
        && p.stale > 0
    {
        let rows: Vec<String> = p.stale_rows.iter().take(20).map(u64::to_string).collect();
        printer.out(&format!(
            "plan_stale: {} user(s) changed in the tenant since run {} planned them and were left alone (rows {}{}); plan again with: {}",
            p.stale,
            p.run_id,
            rows.join(", "),
            if p.stale > 20 { ", ..." } else { "" },
            next.replan.as_deref().unwrap_or(&p.replan)
        ));
    }
    let runs_dir = dir.root.parent().unwrap_or(std::path::Path::new("runs"));
    let mut page = format!("scimport report {}", dir.id);
    if runs_dir != std::path::Path::new("runs") {
        page.push_str(&format!(
            " --runs-dir {}",
            crate::model::shell::shell_quote(&runs_dir.display().to_string())
        ));
    }
    printer.out(&format!("report: {page} (one HTML page of this run)"));
    printer.out(&format!("ledger: {}", dir.ledger_path().display()));
    printer.out(&format!("run {}", dir.id));
}

#[cfg(test)]
mod tests {
    use super::{per_field, preview_line};
    use crate::apply::plan_file::{PlannedChange, PlannedUser};
    use crate::model::Action;

    #[test]
    fn planned_users_read_as_one_line_each() {
        let create = PlannedUser {
            row: Some(1),
            external_id: Some("E1".into()),
            user_name: Some("a@b.com".into()),
            action: Action::Create,
            scim_id: None,
            version: None,
            body: Some("{}".into()),
            changes: Vec::new(),
            fields: 2,
        };
        assert_eq!(preview_line(&create), "row 1 create E1 (a@b.com): 2 fields");
        let change = |path: &str, before: &str, after: &str| PlannedChange {
            path: path.into(),
            before: Some(before.into()),
            after: Some(after.into()),
            op: None,
        };
        let update = PlannedUser {
            row: Some(5),
            user_name: None,
            external_id: Some("E5".into()),
            action: Action::Update,
            body: None,
            changes: vec![
                change("title", "Agent", "Team Lead"),
                change("active", "true", "false"),
                change("x", "1", "2"),
            ],
            ..create
        };
        assert_eq!(
            preview_line(&update),
            r#"row 5 update E5: title "Agent" -> "Team Lead"; active "true" -> "false"; 1 more field(s)"#
        );
    }

    #[test]
    fn fields_are_counted_most_changed_first() {
        let f = [
            ("department".to_string(), 87),
            ("title".to_string(), 1203),
            ("a".to_string(), 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            per_field(&f, 2),
            "title: 1,203; department: 87; 1 more field(s)"
        );
    }
}
