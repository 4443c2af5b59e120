//! A run's metrics for monitoring (`--metrics-file`): JSON, or the Prometheus text
//! exposition format when the path ends in `.prom` (for node_exporter's textfile
//! collector). Written atomically, so a collector never reads half a file.
//!
//! Every value describes the last run, so they are gauges (a file rewritten each
//! run is not a monotonic counter). `scimport_last_success_timestamp_seconds` is
//! carried over from the previous file when this run did not succeed, so an alert
//! on its age fires when nightly runs fail or stop happening. Computing the run is
//! the engine's; this module only renders it.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::report::{RunReport, Verdict};

/// What a metrics file describes: a finished run (or none, for a sync refused
/// before it started one) and what its caller adds.
#[derive(Debug, Clone, Copy)]
pub struct MetricsInput<'a> {
    /// `import` or `sync` (the `command` label).
    pub command: &'a str,
    /// The run, when there was one.
    pub run: Option<&'a RunReport>,
    /// Extra gauges of the caller (e.g. `sync_leavers`), without the `scimport_`
    /// prefix.
    pub extra: &'a [(&'a str, f64)],
    /// Whether the caller counts the run a success (a sync whose deactivations a
    /// guard held is not, even if every row went well).
    pub success: bool,
}

/// Why a metrics file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the metrics file {}: {source}", path.display())]
pub struct MetricsError {
    path: std::path::PathBuf,
    #[source]
    source: std::io::Error,
}

/// Writes the metrics of `m` to `path` (Prometheus text when it ends in `.prom`,
/// JSON otherwise), keeping the last success time of an earlier file.
pub fn write_metrics(path: &Path, m: &MetricsInput<'_>) -> Result<(), MetricsError> {
    let prom = path.extension().is_some_and(|e| e == "prom");
    let now = chrono::Utc::now().timestamp() as f64;
    let last_success = if m.success {
        Some(now)
    } else {
        previous_success(path, m.command, prom)
    };
    let text = if prom {
        prometheus(m, now, last_success)
    } else {
        let mut v = json_value(m, now, last_success);
        if let Value::Object(o) = &mut v {
            o.insert("format".into(), json!("scimport-metrics-1"));
        }
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    };
    let io = |source| MetricsError {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension()
            .and_then(|e| e.to_str())
            .unwrap_or("metrics")
    ));
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The samples, as (name, labels, value), in output order.
fn samples(m: &MetricsInput<'_>, now: f64, last_success: Option<f64>) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut push = |name: &str, labels: Vec<(&'static str, String)>, value: f64| {
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        })
    };
    push("run_timestamp_seconds", vec![], now);
    push("run_success", vec![], f64::from(u8::from(m.success)));
    if let Some(t) = last_success {
        push("last_success_timestamp_seconds", vec![], t);
    }
    if let Some(r) = m.run {
        push("run_duration_seconds", vec![], r.seconds);
        push(
            "run_stopped",
            vec![],
            f64::from(u8::from(r.verdict() == Verdict::Stopped)),
        );
        for (outcome, n) in &r.outcomes {
            push("run_rows", vec![("outcome", outcome.clone())], *n as f64);
        }
        for (action, n) in &r.actions {
            push("run_actions", vec![("action", action.clone())], *n as f64);
        }
        for (kind, n) in &r.error_kinds {
            push("run_errors", vec![("kind", kind.clone())], *n as f64);
        }
        if let Some(rate) = r.success_rate() {
            push("run_success_ratio", vec![], rate);
        }
        let s = &r.calls.stats;
        for (method, n) in [
            ("GET", s.get),
            ("POST", s.post),
            ("PATCH", s.patch),
            ("PUT", s.put),
        ] {
            push("run_calls", vec![("method", method.to_string())], n as f64);
        }
        push("run_token_requests", vec![], s.token as f64);
        push("run_failed_calls", vec![], s.failed as f64);
        push("run_rate_limited_responses", vec![], s.status_429 as f64);
        push("run_retries", vec![], s.retries as f64);
        for (q, ms) in [("0.5", s.p50_ms), ("0.95", s.p95_ms), ("0.99", s.p99_ms)] {
            push(
                "run_call_latency_seconds",
                vec![("quantile", q.to_string())],
                ms / 1000.0,
            );
        }
    }
    for (name, v) in m.extra {
        push(name, vec![], *v);
    }
    out
}

struct Sample {
    name: String,
    labels: Vec<(&'static str, String)>,
    value: f64,
}

/// HELP texts, by name.
fn help(name: &str) -> &'static str {
    match name {
        "run_timestamp_seconds" => "When the last run ended (Unix seconds).",
        "run_success" => "1 when the last run succeeded (every row done, no guard held), else 0.",
        "last_success_timestamp_seconds" => {
            "When a run last succeeded (Unix seconds); alert on its age."
        }
        "run_duration_seconds" => "Wall time of the last run.",
        "run_stopped" => "1 when the last run stopped early (resumable), else 0.",
        "run_rows" => "Rows of the last run by outcome.",
        "run_actions" => "Rows of the last run by action.",
        "run_errors" => "Rows of the last run by error kind.",
        "run_success_ratio" => {
            "Share of the last run's rows that succeeded or were already up to date."
        }
        "run_calls" => "API calls of the last run by HTTP method (every attempt).",
        "run_token_requests" => "Token requests of the last run.",
        "run_failed_calls" => "API calls of the last run that ended in an error.",
        "run_rate_limited_responses" => "429 responses the last run received.",
        "run_retries" => "Retries the last run made.",
        "run_call_latency_seconds" => "Latency quantiles of one API attempt in the last run.",
        "sync_source_rows" => "Entries the last sync's source held.",
        "sync_leavers" => "Managed users the last sync found missing from its source.",
        "sync_deactivations_held" => "1 when a guard held the last sync's deactivations, else 0.",
        "sync_refused" => "1 when a guard refused the last sync before any write, else 0.",
        "sync_waiting_absent_runs" => "Missing users the last sync waits on (--absent-runs).",
        "sync_attributes_matching_ratio" => {
            "Share of compared attributes the last sync found already matching the source."
        }
        _ => "A figure of the last run.",
    }
}

fn prometheus(m: &MetricsInput<'_>, now: f64, last_success: Option<f64>) -> String {
    let mut out = String::new();
    let mut seen: Vec<String> = Vec::new();
    for s in samples(m, now, last_success) {
        let name = format!("scimport_{}", s.name);
        if !seen.contains(&name) {
            let _ = writeln!(out, "# HELP {name} {}", help(&s.name));
            let _ = writeln!(out, "# TYPE {name} gauge");
            seen.push(name.clone());
        }
        let mut labels = vec![format!("command=\"{}\"", escape(m.command))];
        labels.extend(
            s.labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v))),
        );
        let _ = writeln!(out, "{name}{{{}}} {}", labels.join(","), number(s.value));
    }
    out
}

fn json_value(m: &MetricsInput<'_>, now: f64, last_success: Option<f64>) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("command".into(), json!(m.command));
    for s in samples(m, now, last_success) {
        if s.labels.is_empty() {
            o.insert(s.name, json!(s.value));
        } else {
            let entry = o.entry(s.name).or_insert_with(|| json!({}));
            let key = s
                .labels
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(",");
            entry[key] = json!(s.value);
        }
    }
    Value::Object(o)
}

/// A label value escaped for the text format.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value: integers without a fraction, others as Rust prints them.
fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

/// The last success time an earlier file of this command recorded.
fn previous_success(path: &Path, command: &str, prom: bool) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    if prom {
        let prefix = format!(
            "scimport_last_success_timestamp_seconds{{command=\"{}\"}} ",
            escape(command)
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
    } else {
        let v: Value = serde_json::from_str(&text).ok()?;
        (v["command"] == command)
            .then(|| v["last_success_timestamp_seconds"].as_f64())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_17_label_values_and_numbers_are_written_as_the_format_wants() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::NAN), "NaN");
    }

    #[test]
    fn issue_17_a_failed_run_keeps_the_last_success_time() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["m.prom", "m.json"] {
            let path = dir.path().join(name);
            let ok = MetricsInput {
                command: "sync",
                run: None,
                extra: &[],
                success: true,
            };
            write_metrics(&path, &ok).unwrap();
            let first = previous_success(&path, "sync", name.ends_with(".prom")).unwrap();
            let failed = MetricsInput {
                success: false,
                ..ok
            };
            write_metrics(&path, &failed).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                previous_success(&path, "sync", name.ends_with(".prom")),
                Some(first),
                "{text}"
            );
            assert!(text.contains("run_success"), "{text}");
            assert_eq!(
                previous_success(&path, "import", name.ends_with(".prom")),
                None
            );
        }
    }
}
