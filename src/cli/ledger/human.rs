//! `ledger summary` for people: the run's summary.json turned into lines a
//! person reads at a glance (durations and rates rounded, calls that add up,
//! the sync's own figures), and its internal fields (hashes, CPU seconds, the
//! writer's timings) left to `--json`.

use serde_json::{Map, Value};

use crate::cli::human::{calls, duration, millis};

/// Lines of `label  text` for the details a person needs, in a fixed order.
pub(super) fn details(d: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut line = |label: &str, text: String| out.push((label.to_string(), text));
    let num = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
    let text = |key: &str| d.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(t) = text("target") {
        line("target", t);
    }
    if let Some(i) = text("input") {
        let m = text("mapping").map_or(String::new(), |m| format!(" (mapping {m})"));
        line("input", format!("{i}{m}"));
    }
    if let Some(s) = d.get("seconds").and_then(Value::as_f64) {
        line("took", duration(s));
    }
    if let Some(done) = d.get("done") {
        let keys = [
            "created",
            "updated",
            "reactivated",
            "deactivated",
            "unchanged",
            "inactive_absent",
            "failed",
            "invalid",
            "pending",
        ];
        line(
            "users",
            keys.iter()
                .map(|k| format!("{k} {}", num(done, k)))
                .collect::<Vec<_>>()
                .join("  "),
        );
    }
    if let Some(w) = d
        .get("warnings")
        .and_then(Value::as_object)
        .filter(|w| !w.is_empty())
    {
        line(
            "warnings",
            w.iter()
                .map(|(k, n)| format!("{k} {}", n.as_u64().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join("  "),
        );
    }
    if let Some(rate) = d.get("success_rate").and_then(Value::as_f64) {
        line(
            "success",
            format!("{:.1}% of rows done or up to date", rate * 100.0),
        );
    }
    if let Some(c) = d.get("calls") {
        let methods: Vec<(&str, u64)> = ["GET", "POST", "PATCH", "PUT", "DELETE"]
            .iter()
            .map(|m| (*m, num(c, &m.to_lowercase())))
            .collect();
        line(
            "calls",
            format!(
                "{}; {} retries, {} answered 429, {} failed",
                calls(&methods, num(c, "token")),
                num(c, "retries"),
                num(c, "status_429"),
                num(c, "failed"),
            ),
        );
        let ms = |k: &str| c.get(k).and_then(Value::as_f64);
        if let (Some(p50), Some(p95), Some(p99)) = (ms("p50_ms"), ms("p95_ms"), ms("p99_ms")) {
            line(
                "latency",
                format!(
                    "p50 {}  p95 {}  p99 {}",
                    millis(p50),
                    millis(p95),
                    millis(p99)
                ),
            );
        }
    }
    if let Some(r) = d.get("calls_per_changed_user").and_then(Value::as_f64) {
        line("per change", format!("{r:.2} calls per changed user"));
    }
    if let Some(l) = text("lookup") {
        line("lookup", l);
    }
    if let Some(p) = d.get("preflight") {
        let status = p.get("status").and_then(Value::as_str).unwrap_or("-");
        let warnings = p
            .get("warnings")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        line(
            "pre-flight",
            format!(
                "{status} ({} calls, {warnings} warning(s))",
                num(p, "calls")
            ),
        );
    }
    if let Some(s) = d.get("sync").filter(|s| s.is_object()) {
        let mode = s.get("mode").and_then(Value::as_str).unwrap_or("-");
        let held = if s.get("deactivations_held") == Some(&Value::Bool(true)) {
            " (held)"
        } else {
            ""
        };
        line(
            "sync",
            format!(
                "{mode}; source {} entries; leavers {}{held}; waiting {}",
                num(s, "source_rows"),
                num(s, "leavers"),
                num(s, "waiting_absent_runs")
            ),
        );
        if let Some(share) = s.get("attributes_matching").and_then(Value::as_f64) {
            line(
                "matching",
                format!(
                    "{:.1}% of {} attributes compared already matched",
                    share * 100.0,
                    num(s, "attributes_compared")
                ),
            );
        }
    }
    if let Some(reason) = text("stopped") {
        line("stopped", reason);
    }
    if let Some(head) = text("audit_head").filter(|h| !h.is_empty()) {
        line(
            "audit",
            format!(
                "{} lines, head sha256:{head}",
                num(&Value::Object(d.clone()), "audit_lines")
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_add_up_and_internal_fields_stay_out() {
        let d: Value = serde_json::json!({
            "calls": {"total": 191, "get": 9, "post": 177, "patch": 5, "put": 0, "token": 1,
                      "retries": 0, "status_429": 0, "failed": 0,
                      "p50_ms": 7.374972820281982, "p95_ms": 29.95, "p99_ms": 35.38},
            "failed_csv_sha256": "16c0", "writer_cpu_seconds": 0.02, "sink_seconds": 0.15,
            "seconds": 0.26,
        });
        let lines = details(d.as_object().unwrap());
        let text: Vec<String> = lines.iter().map(|(l, t)| format!("{l} {t}")).collect();
        assert!(
            text.contains(&"calls 191 (9 GET, 177 POST, 5 PATCH), plus 1 token request; 0 retries, 0 answered 429, 0 failed".to_string()),
            "{text:#?}"
        );
        assert!(
            text.contains(&"latency p50 7.4 ms  p95 30 ms  p99 35 ms".to_string()),
            "{text:#?}"
        );
        let all = text.join("\n");
        for internal in ["sha256", "cpu", "sink"] {
            assert!(!all.contains(internal), "{all}");
        }
    }
}
