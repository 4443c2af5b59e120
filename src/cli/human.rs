//! Numbers for people: durations and latencies rounded to what a person reads,
//! and call counts that add up (the token requests said apart). Every printed
//! summary (`import`, `sync`, `ledger summary`) uses these, so they agree.

// Durations and latencies round as the report page rounds them: one place.
pub(crate) use crate::report::format::{duration, millis};

/// Calls by method (`("GET", 9)`...; zero counts left out) and the token
/// requests apart: `191 (9 GET, 177 POST, 5 PATCH), plus 1 token request`.
pub(crate) fn calls(methods: &[(&str, u64)], token: u64) -> String {
    let total: u64 = methods.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = methods
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(m, n)| format!("{n} {m}"))
        .collect();
    let mut s = if parts.is_empty() {
        format!("{total}")
    } else {
        format!("{total} ({})", parts.join(", "))
    };
    match token {
        0 => {}
        1 => s.push_str(", plus 1 token request"),
        n => s.push_str(&format!(", plus {n} token requests")),
    }
    s
}

/// A rate per second, rounded: `1,370,902/s`, `12.5/s`.
pub(crate) fn per_second(r: f64) -> String {
    if !r.is_finite() || r < 0.0 {
        return "-".into();
    }
    if r >= 100.0 {
        let whole = r.round() as u64;
        let digits = whole.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        return format!("{out}/s");
    }
    format!("{r:.1}/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_latencies_are_rounded_for_people() {
        assert_eq!(duration(0.2607), "261 ms");
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(245.2), "4 min 05 s");
        assert_eq!(duration(3725.0), "1 h 02 min");
        assert_eq!(duration(f64::NAN), "-");
        assert_eq!(millis(7.374972820281982), "7.4 ms");
        assert_eq!(millis(29.95), "30 ms");
    }

    #[test]
    fn calls_add_up_with_the_token_apart() {
        let m = [("GET", 9), ("POST", 177), ("PATCH", 5), ("PUT", 0)];
        assert_eq!(
            calls(&m, 1),
            "191 (9 GET, 177 POST, 5 PATCH), plus 1 token request"
        );
        assert_eq!(calls(&[("GET", 0)], 0), "0");
        assert_eq!(
            calls(&[("PATCH", 3)], 2),
            "3 (3 PATCH), plus 2 token requests"
        );
    }

    #[test]
    fn rates_are_rounded_with_thousands_separators() {
        assert_eq!(per_second(1_370_901.755_7), "1,370,902/s");
        assert_eq!(per_second(999.6), "1,000/s");
        assert_eq!(per_second(12.345), "12.3/s");
        assert_eq!(per_second(100.0), "100/s");
    }
}
