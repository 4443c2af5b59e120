//! Numbers for people on the page: durations and latencies rounded to what a
//! person reads (the same roundings `import` prints). Owns no I/O.

/// A latency in ms for people: one decimal below 10 ms, none above.
pub fn millis(ms: f64) -> String {
    if !ms.is_finite() {
        "-".into()
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// A duration for people: `261 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`.
pub fn duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    if s < 1.0 {
        return format!("{:.0} ms", s * 1000.0);
    }
    if s < 60.0 {
        return format!("{s:.1} s");
    }
    let whole = s.round() as u64;
    if whole < 3600 {
        return format!("{} min {:02} s", whole / 60, whole % 60);
    }
    format!("{} h {:02} min", whole / 3600, (whole % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_read_durations_and_latencies_rounded() {
        assert_eq!(duration(0.2607), "261 ms");
        assert_eq!(duration(245.2), "4 min 05 s");
        assert_eq!(millis(7.37), "7.4 ms");
        assert_eq!(millis(29.95), "30 ms");
        assert_eq!(millis(12_345.0), "12.3 s");
    }
}
