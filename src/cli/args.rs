//! Value enums and parsers several subcommands share (`--format`, `--lookup`,
//! `--max-record-bytes`) and their conversions into the library's types, so `clap`
//! derives stay in `cli`.

use crate::apply::lookup::LookupMode;
use crate::engine::PreflightMode;
use crate::source::Format;

/// `--format` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Comma/semicolon/tab/pipe separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl From<FormatArg> for Format {
    fn from(a: FormatArg) -> Format {
        match a {
            FormatArg::Csv => Format::Csv,
            FormatArg::Ndjson => Format::Ndjson,
        }
    }
}

/// `--lookup` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LookupArg {
    /// Whichever costs fewer calls.
    Auto,
    /// Page through the tenant first.
    Prefetch,
    /// One filter query per row.
    Filter,
}

impl From<LookupArg> for LookupMode {
    fn from(a: LookupArg) -> LookupMode {
        match a {
            LookupArg::Auto => LookupMode::Auto,
            LookupArg::Prefetch => LookupMode::Prefetch,
            LookupArg::Filter => LookupMode::Filter,
        }
    }
}

/// `--preflight`: whether the target's schemas are checked before the first write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreflightArg {
    /// Check when the target serves /schemas; warn and go on when it does not.
    Auto,
    /// Check, and stop with exit 2 when the target does not serve /schemas.
    Require,
    /// Send no discovery call and check nothing.
    Off,
}

impl From<PreflightArg> for PreflightMode {
    fn from(a: PreflightArg) -> PreflightMode {
        match a {
            PreflightArg::Auto => PreflightMode::Auto,
            PreflightArg::Require => PreflightMode::Require,
            PreflightArg::Off => PreflightMode::Off,
        }
    }
}

/// Where a run's metrics go (`--metrics-file`), for `import` and `sync`.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsArgs {
    /// Write the run's metrics to PATH when it ends: Prometheus text exposition when
    /// PATH ends in `.prom` (for node_exporter's textfile collector), JSON
    /// otherwise. Rows by outcome and action, calls by method, 429s, retries,
    /// latency quantiles, duration, and scimport_last_success_timestamp_seconds
    /// (kept from the previous file when the run does not succeed, so a failed or
    /// missing nightly run can be alerted on).
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<std::path::PathBuf>,
}

impl MetricsArgs {
    /// Writes the metrics if asked; a failure is printed, not fatal (the run is
    /// over and its ledger written).
    pub fn write(&self, printer: &super::Printer, m: &crate::engine::MetricsInput<'_>) {
        if let Some(path) = &self.metrics_file
            && let Err(e) = crate::engine::write_metrics(path, m)
        {
            printer.error(&e.to_string());
        }
    }
}

/// How a run's calls are made: the flags `import` and `sync` share.
#[derive(Debug, Clone, clap::Args)]
pub struct CallArgs {
    /// Requests per minute for the whole run (default 300, Genesys's default; `off`
    /// for an unlimited emulator or a benchmark). The embedded emulator defaults to off.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<Rate>,
    /// Calls in flight at once (concurrency hides latency; the rate sets the pace).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Most operations in one PATCH; more are sent as successive PATCHes.
    #[arg(long, default_value_t = 50)]
    pub max_patch_ops: usize,
    /// Seconds before a call times out (it is then retried). Also the longest a first
    /// Ctrl-C waits for the calls in flight before the run stops (exit 3); a second
    /// Ctrl-C quits at once (exit 130).
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Attempts per call before the row fails.
    #[arg(long, default_value_t = 6)]
    pub max_attempts: u32,
    /// Webhooks to the HR system.
    #[command(flatten)]
    pub webhook: super::webhook::WebhookArgs,
}

impl CallArgs {
    /// The API façade's options; `tenant` is false for the embedded emulator.
    pub fn api_options(&self, tenant: bool) -> anyhow::Result<crate::apply::api::ApiOptions> {
        Ok(crate::apply::api::ApiOptions {
            pace: pace(self.rate, tenant),
            concurrency: self.concurrency.max(1),
            timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            max_attempts: self.max_attempts.max(1),
            ..crate::apply::api::ApiOptions::default()
        })
    }
}

/// The pace of `--rate` (`off`, or calls per minute); without it, Genesys's default
/// of 300 until the tenant says otherwise, or none for the embedded emulator.
fn pace(rate: Option<Rate>, tenant: bool) -> crate::apply::limiter::Pace {
    match rate {
        Some(Rate(None)) => crate::apply::limiter::Pace::Off,
        Some(Rate(Some(n))) => crate::apply::limiter::Pace::Fixed(n),
        // The embedded emulator has no limit to respect.
        None if !tenant => crate::apply::limiter::Pace::Off,
        // Genesys's default until the tenant's `inin-ratelimit-allowed` says otherwise.
        None => crate::apply::limiter::Pace::Adaptive { start: 300 },
    }
}

/// Runs `f` with an API façade for `target` on a one-off runtime: what the
/// commands that talk to a tenant outside a run (`schema`, `init`, `skills`)
/// share. Calls are paced by `options` and observed by nobody (no run, no audit).
pub(crate) fn with_api<T>(
    target: &crate::scim::target::Target,
    options: crate::apply::api::ApiOptions,
    f: impl AsyncFnOnce(&crate::apply::api::Api) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use anyhow::Context;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let api = crate::apply::api::Api::new(
            target,
            options,
            std::sync::Arc::new(crate::apply::api::NoObserver),
        )
        .context("cannot build the HTTP client")?;
        f(&api).await
    })
}

/// Parses a `--delimiter` value, the same on every command: `comma`, `semicolon`,
/// `pipe`, `tab`, or the character itself (any single ASCII character but a quote,
/// a letter, a digit or a line break).
pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    let named = match s {
        "comma" => Some(b','),
        "semicolon" => Some(b';'),
        "pipe" => Some(b'|'),
        "tab" | "\\t" => Some(b'\t'),
        _ => None,
    };
    if let Some(b) = named {
        return Ok(b);
    }
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None)
            if c.is_ascii()
                && !c.is_ascii_alphanumeric()
                && !matches!(c, '"' | '\'' | '\n' | '\r') =>
        {
            Ok(c as u8)
        }
        _ => Err(format!(
            "`{s}` is not a delimiter: give comma, semicolon, pipe, tab, or one punctuation character"
        )),
    }
}

/// `--rate`, the same on every command: `N` or `N/min` (calls a minute), `N/s`
/// (calls a second), or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub Option<u32>);

/// Parses a `--rate` value (`None` inside: `off`).
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    s.parse::<crate::emulator::RateLimitSpec>()
        .map(|r| Rate(r.0))
        .map_err(|_| {
            format!(
                "`{s}` is not a rate: give calls a minute (300 or 300/min), a second (5/s), or off"
            )
        })
}

/// Parses a byte count: plain bytes (`1048576`) or with a binary suffix (`512KiB`,
/// `1MiB`, `2GiB`; `K`, `M`, `G` mean the same), at least 1.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => {
            return Err(format!(
                "`{s}`: give bytes, e.g. 1048576, 512KiB, 1MiB or 2GiB"
            ));
        }
    };
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}`: give bytes, e.g. 1048576, 512KiB, 1MiB or 2GiB"))?;
    let bytes = n
        .checked_mul(1usize << shift)
        .ok_or_else(|| format!("`{s}` is too large"))?;
    if bytes == 0 {
        return Err("give at least 1 byte".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_19_delimiters_and_rates_have_one_grammar() {
        for (given, want) in [
            ("comma", b','),
            (",", b','),
            ("semicolon", b';'),
            ("pipe", b'|'),
            ("tab", b'\t'),
            ("\t", b'\t'),
            ("~", b'~'),
        ] {
            assert_eq!(parse_delimiter(given), Ok(want), "{given}");
        }
        for bad in ["x", "\"", "ab", "", "é"] {
            assert!(parse_delimiter(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("300"), Ok(Rate(Some(300))));
        assert_eq!(parse_rate("300/min"), Ok(Rate(Some(300))));
        assert_eq!(parse_rate("5/s"), Ok(Rate(Some(300))));
        assert_eq!(parse_rate("off"), Ok(Rate(None)));
        for bad in ["0", "-1", "fast", "3/h"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issue_14_byte_counts_with_suffixes() {
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("1MiB"), Ok(1 << 20));
        assert_eq!(parse_bytes("2gib"), Ok(2 << 30));
        assert_eq!(parse_bytes("3M"), Ok(3 << 20));
        for bad in ["", "0", "1MB", "x", "-1", "1.5MiB", "99999999999999999999G"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }
}
