//! The page: turns a run's [`ReportData`] into one self-contained HTML file with
//! the minijinja template `templates/report.html` (auto-escaping on: every string
//! from the run is escaped; only the charts' SVG, which plotters escapes itself,
//! goes in as markup).
//!
//! Owns the view model (what the template shows, formatted for people) and the
//! rendering; the numbers come from `gather`, the drawings from `charts`.

use serde::Serialize;

use super::charts::{self, BAD, BLUE, Bar, GOOD, NEUTRAL, WARN};
use super::commands;
use super::error::ReportError;
use super::format::{duration, millis};
use super::gather::ReportData;
use super::histogram::LatencyHistogram;
use super::ledger_scan::{Example, KindCount};
use super::timeline::Timeline;
use crate::ledger::runs::RunState;
use crate::model::{Action, Outcome};

/// The template, compiled in.
const TEMPLATE: &str = include_str!("../../templates/report.html");
/// Changed fields listed for a dry run (the most changed first).
const FIELDS_SHOWN: usize = 60;

/// A label and a count, for a table row.
#[derive(Debug, Clone, Serialize)]
struct Count {
    name: String,
    count: u64,
}

/// An error or warning kind with its examples.
#[derive(Debug, Clone, Serialize)]
struct Kind {
    kind: String,
    count: u64,
    retryable: u64,
    examples: Vec<Example>,
}

/// The sync section.
#[derive(Debug, Clone, Serialize)]
struct SyncView {
    mode: String,
    leavers: u64,
    held: bool,
    held_reason: Option<String>,
    guard_held_rows: u64,
    waiting: u64,
    anchor_changed: u64,
    edits_found: u64,
    attributes_matching: Option<String>,
}

/// What the template shows.
#[derive(Debug, Clone, Serialize)]
struct View {
    run_id: String,
    kind: String,
    state: &'static str,
    finished: bool,
    started: Option<String>,
    target: Option<String>,
    input: Option<String>,
    mapping: Option<String>,
    stopped: Option<String>,
    notes: Vec<String>,
    rows: u64,
    outcomes: Vec<Count>,
    actions: Vec<Count>,
    outcomes_from: &'static str,
    duration: String,
    calls: u64,
    calls_per_changed_user: String,
    rate_kept: String,
    budget: String,
    throttled: u64,
    pauses: u64,
    p50: String,
    p95: String,
    p99: String,
    errors: Vec<Kind>,
    skipped: Vec<Kind>,
    retryable: u64,
    retry_command: Option<String>,
    retry_hint: String,
    failed_csv: String,
    warnings: Vec<Kind>,
    dry_run: bool,
    fields: Vec<Count>,
    fields_total: u64,
    sync: Option<SyncView>,
    audit_head: Option<String>,
    audit_sealed: bool,
    verify_command: String,
    generated_at: String,
}

fn outcome_color(o: &str) -> plotters::style::RGBColor {
    match o {
        "succeeded" => GOOD,
        "failed" => BAD,
        "invalid" => WARN,
        "pending" => BLUE,
        _ => NEUTRAL,
    }
}

fn kinds(m: &std::collections::BTreeMap<String, KindCount>) -> Vec<Kind> {
    let mut v: Vec<Kind> = m
        .iter()
        .map(|(k, c)| Kind {
            kind: k.clone(),
            count: c.count,
            retryable: c.retryable,
            examples: c.examples.clone(),
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
    v
}

/// Builds the view model and the charts' SVG.
fn view(d: &ReportData) -> Result<(View, [String; 4]), ReportError> {
    let s = d.summary.as_ref();
    let empty_timeline = Timeline::new();
    let empty_latency = LatencyHistogram::new();
    let (timeline, latency) = d
        .audit
        .as_ref()
        .map_or((&empty_timeline, &empty_latency), |a| {
            (&a.timeline, &a.latency)
        });
    // Outcomes: the ledger's own counts; without a ledger, the audit's decisions.
    let decisions = d.audit.as_ref().map(|a| a.decisions()).unwrap_or_default();
    let (outcomes, actions, outcomes_from): (Vec<Count>, Vec<Count>, _) = match &d.ledger {
        Some(l) => (
            Outcome::ALL
                .iter()
                .map(|o| Count {
                    name: o.as_str().into(),
                    count: l.outcomes.get(o.as_str()).copied().unwrap_or(0),
                })
                .collect(),
            Action::ALL
                .iter()
                .map(|a| Count {
                    name: a.as_str().into(),
                    count: l.actions.get(a.as_str()).copied().unwrap_or(0),
                })
                .collect(),
            "ledger",
        ),
        None => (
            Outcome::ALL
                .iter()
                .map(|o| Count {
                    name: o.as_str().into(),
                    count: decisions.get(o.as_str()).copied().unwrap_or(0),
                })
                .collect(),
            Vec::new(),
            "audit",
        ),
    };
    let rows = d
        .ledger
        .as_ref()
        .map_or_else(|| outcomes.iter().map(|c| c.count).sum(), |l| l.rows);
    let seconds = s.and_then(|s| s.seconds).or_else(|| {
        let a = d.audit.as_ref()?;
        Some((a.last? - a.first?).num_milliseconds() as f64 / 1000.0)
    });
    let calls = d
        .audit
        .as_ref()
        .map(|a| a.calls)
        .or_else(|| s.and_then(|s| s.calls.total))
        .unwrap_or(0);
    let minutes = seconds.unwrap_or(0.0) / 60.0;
    let rate_kept = if minutes > 0.0 && calls > 0 {
        format!("{:.0} calls/min", calls as f64 / minutes)
    } else {
        "-".into()
    };
    let budget = s.and_then(|s| s.calls.current_rate);
    let changed: u64 = s.map_or(0, |s| {
        ["created", "updated", "reactivated", "deactivated"]
            .iter()
            .filter_map(|k| s.done.get(*k))
            .sum()
    });
    let per_changed = s
        .and_then(|s| s.calls_per_changed_user)
        .or_else(|| (changed > 0).then(|| calls as f64 / changed as f64));
    // A kind with a failed or invalid row is an error; the others only say why
    // rows were skipped (`inactive_absent`, `guard_held`, `plan_stale`...).
    let (errors, skipped): (Vec<Kind>, Vec<Kind>) = d
        .ledger
        .as_ref()
        .map(|l| kinds(&l.errors))
        .unwrap_or_default()
        .into_iter()
        .partition(|k| k.retryable > 0);
    let retryable = errors.iter().map(|k| k.retryable).sum();
    let mut fields: Vec<Count> = d
        .ledger
        .as_ref()
        .map(|l| {
            l.fields
                .iter()
                .map(|(k, n)| Count {
                    name: k.clone(),
                    count: *n,
                })
                .collect()
        })
        .unwrap_or_default();
    fields.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    let fields_total = fields.iter().map(|f| f.count).sum();
    fields.truncate(FIELDS_SHOWN);
    let dry_run = s.map_or(d.info.dry_run, |s| s.dry_run);
    let kind_count = |k: &str| {
        d.ledger
            .as_ref()
            .and_then(|l| l.errors.get(k))
            .map_or(0, |c| c.count)
    };
    let sync = s.and_then(|s| s.sync.as_ref()).map(|y| SyncView {
        mode: y.mode.clone().unwrap_or_else(|| "-".into()),
        leavers: y.leavers.unwrap_or(0),
        held: y.deactivations_held.unwrap_or(false),
        held_reason: y.held_reason.clone(),
        guard_held_rows: kind_count("guard_held"),
        waiting: y.waiting_absent_runs.unwrap_or(0),
        anchor_changed: y.anchor_changed.unwrap_or(0),
        edits_found: kind_count("target_edited"),
        attributes_matching: y.attributes_matching.map(|m| format!("{:.1}%", m * 100.0)),
    });
    let audit_head = s
        .and_then(|s| s.audit_head.clone())
        .filter(|h| !h.is_empty() && d.info.state == RunState::Finished)
        .or_else(|| d.audit.as_ref().and_then(|a| a.head.clone()));
    let audit_sealed = d.audit.as_ref().is_some_and(|a| a.sealed);
    let kind = match (d.info.command.as_deref(), dry_run) {
        (Some(c), true) => format!("{c} (dry run)"),
        (Some(c), false) => c.to_string(),
        (None, true) => "dry run".into(),
        (None, false) => "run".into(),
    };
    let pct = |q| latency.quantile(q).map_or_else(|| "-".into(), millis);
    let v = View {
        run_id: d.info.id.clone(),
        kind,
        state: d.info.state.as_str(),
        finished: d.info.state == RunState::Finished,
        started: d.info.started.as_deref().map(|t| {
            chrono::DateTime::parse_from_rfc3339(t).map_or_else(
                |_| t.to_string(),
                |t| {
                    t.with_timezone(&chrono::Utc)
                        .format("%Y-%m-%d %H:%M:%S UTC")
                        .to_string()
                },
            )
        }),
        target: s.and_then(|s| s.target.clone()).or(d.info.target.clone()),
        input: s.and_then(|s| s.input.clone()),
        mapping: s.and_then(|s| s.mapping.clone()),
        stopped: s.and_then(|s| s.stopped.clone()),
        notes: d.notes.clone(),
        rows,
        outcomes_from,
        duration: seconds.map_or_else(|| "-".into(), duration),
        calls,
        calls_per_changed_user: per_changed.map_or_else(|| "-".into(), |c| format!("{c:.2}")),
        rate_kept,
        budget: budget.map_or_else(|| "unlimited".into(), |b| format!("{b} calls/min")),
        throttled: d.audit.as_ref().map_or(0, |a| a.throttled),
        pauses: s
            .and_then(|s| s.calls.pauses)
            .or(d.audit.as_ref().map(|a| a.pauses))
            .unwrap_or(0),
        p50: pct(0.5),
        p95: pct(0.95),
        p99: pct(0.99),
        // A dry run sent nothing: its rows are fixed and planned again, not retried.
        retry_command: (retryable > 0 && !dry_run)
            .then(|| d.info.retry_command())
            .flatten(),
        retry_hint: if dry_run {
            "A dry run sent nothing: fix the rows in the source and plan again.".into()
        } else if d.info.target.as_deref() == Some("embedded-emulator") {
            "The embedded emulator kept nothing of this run: fix the rows in the input and \
             import it again."
                .into()
        } else {
            "The run's command line is unknown (no journal): fix the rows and run it again.".into()
        },
        retryable,
        errors,
        skipped,
        failed_csv: d.info.dir.join("failed.csv").display().to_string(),
        warnings: d
            .ledger
            .as_ref()
            .map(|l| kinds(&l.warnings))
            .unwrap_or_default(),
        dry_run,
        fields,
        fields_total,
        sync,
        verify_command: commands::verify_command(&d.info.id, &d.runs_dir, audit_head.as_deref()),
        audit_head,
        audit_sealed,
        generated_at: chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        outcomes,
        actions,
    };
    let bars = |counts: &[Count], color: &dyn Fn(&str) -> plotters::style::RGBColor| {
        counts
            .iter()
            .map(|c| Bar {
                label: c.name.clone(),
                count: c.count,
                color: color(&c.name),
            })
            .collect::<Vec<_>>()
    };
    let svgs = [
        charts::bar_chart("Outcomes", &bars(&v.outcomes, &outcome_color))?,
        charts::bar_chart("Actions", &bars(&v.actions, &|_| BLUE))?,
        charts::rate_chart(timeline, budget)?,
        charts::latency_chart(latency)?,
    ];
    Ok((v, svgs))
}

/// Renders the report page of `data`.
pub fn render(data: &ReportData) -> Result<String, ReportError> {
    let (v, [outcomes, actions, rate, latency]) = view(data)?;
    let template = |source| ReportError::Template { source };
    let mut env = minijinja::Environment::new();
    // `.html`: auto-escaping on for every value but the charts.
    env.add_template("report.html", TEMPLATE)
        .map_err(template)?;
    let page = env.get_template("report.html").map_err(template)?;
    let svg = minijinja::Value::from_safe_string;
    page.render(minijinja::context! {
        r => minijinja::Value::from(minijinja::value::Serde(&v)),
        outcomes_svg => svg(outcomes),
        actions_svg => svg(actions),
        rate_svg => svg(rate),
        latency_svg => svg(latency),
    })
    .map_err(template)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::runs::RunInfo;
    use crate::report::ledger_scan::{LedgerStats, RowView};

    const EVIL: &str = "<script>alert(1)</script>";

    /// A run whose every free text is hostile markup.
    fn hostile() -> ReportData {
        let mut ledger = LedgerStats::new();
        let error = format!("column {EVIL} ({EVIL}): `{EVIL}` is bad; fix: {EVIL}");
        let warning = format!("{EVIL}: {EVIL}");
        ledger.add(&RowView {
            row: Some(7),
            user_name: Some(EVIL),
            external_id: None,
            action: Action::Update,
            outcome: Outcome::Failed,
            error_kind: Some(EVIL),
            error: Some(&error),
            warning: Some(&warning),
        });
        ledger.add_field(EVIL);
        let summary: super::super::summary::SummaryView = serde_json::from_value(
            serde_json::json!({"dry_run": true, "input": EVIL, "mapping": EVIL,
                "stopped": EVIL, "target": EVIL, "audit_head": EVIL,
                "sync": {"mode": EVIL, "held_reason": EVIL, "deactivations_held": true}}),
        )
        .unwrap();
        ReportData {
            info: RunInfo {
                id: EVIL.into(),
                dir: EVIL.into(),
                started: Some(EVIL.into()),
                command: Some(EVIL.into()),
                dry_run: true,
                target: Some(EVIL.into()),
                args: vec![EVIL.into(), "--api-url".into(), EVIL.into()],
                rows: None,
                outcomes: Default::default(),
                state: RunState::Finished,
            },
            runs_dir: EVIL.into(),
            summary: Some(summary),
            ledger: Some(ledger),
            audit: None,
            notes: vec![EVIL.into()],
        }
    }

    #[test]
    fn every_string_from_the_run_is_escaped() {
        let html = render(&hostile()).unwrap();
        assert!(
            !html.contains("<script"),
            "a <script> made it into the page"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        // The escaped value shows up where each text goes: the example row, the
        // field table, the notes, the sync section.
        assert!(html.matches("&lt;script&gt;").count() > 10);
    }
}
