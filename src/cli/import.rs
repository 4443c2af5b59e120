//! `scimport import`: one run from an HR export to the tenant, with its run
//! directory (ledger, audit log, journal, summary, failed rows). Resolves the
//! options once, then hands the rows to `apply::run`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::settings::{self, Target, TargetArgs};
use super::{ExitStatus, Printer};
use crate::apply::api::{Api, ApiOptions, ApiStats};
use crate::apply::lookup::LookupMode;
use crate::apply::run::{self, RunOptions, RunReport};
use crate::apply::sink::RunSink;
use crate::audit::AuditLog;
use crate::journal::{Journal, RunMeta};
use crate::ledger::failed_csv::FailedCsvWriter;
use crate::ledger::{self, Outcome, RunDir, RunSummary};
use crate::mapping::Mapping;
use crate::plan::PlanOptions;
use crate::source::{Format, InputSpec};
use crate::validate::{self, PrepareOptions};

/// Arguments of `scimport import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The HR export: CSV (optionally .csv.gz) or NDJSON; `-` reads stdin. Not needed
    /// with --resume or --retry-failed.
    pub input: Option<PathBuf>,
    /// The mapping file (TOML). Not needed with --resume or --retry-failed.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Input format; detected from the file name when omitted.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV delimiter; detected when omitted.
    #[arg(long)]
    pub delimiter: Option<char>,
    /// Where the tenant is.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Requests per minute for the whole run (default 300, Genesys's default; `off`
    /// for an unlimited emulator or a benchmark). The embedded emulator defaults to off.
    #[arg(long)]
    pub rate: Option<String>,
    /// Calls in flight at once (concurrency hides latency; the rate sets the pace).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Most operations in one PATCH; more are sent as successive PATCHes.
    #[arg(long, default_value_t = 50)]
    pub max_patch_ops: usize,
    /// Seconds before a call times out (it is then retried).
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Attempts per call before the row fails.
    #[arg(long, default_value_t = 6)]
    pub max_attempts: u32,
    /// Plan everything, send no write: counts per action and each row's changes.
    #[arg(long)]
    pub dry_run: bool,
    /// How existing users are found: auto picks the cheaper of a prefetch and per-row filters.
    #[arg(long, value_enum, default_value = "auto")]
    pub lookup: LookupMode,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Finish a stopped or crashed run: rows done stay done, the rest are reconciled.
    #[arg(long, value_name = "RUN_ID", conflicts_with = "retry_failed")]
    pub resume: Option<String>,
    /// A new run over only the failed and invalid rows of RUN_ID (from its edited
    /// failed.csv if you changed it, else from the original input).
    #[arg(long, value_name = "RUN_ID")]
    pub retry_failed: Option<String>,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Comma/semicolon/tab/pipe separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

/// Everything a run needs, resolved once.
struct Resolved {
    dir: RunDir,
    input: InputSpec,
    mapping_path: PathBuf,
    only_rows: Option<HashSet<u64>>,
    journal: Journal,
    audit: AuditLog,
    done_rows: std::collections::HashMap<u64, crate::ledger::LedgerRow>,
    in_flight: std::collections::HashMap<u64, crate::ledger::Action>,
    resumed: bool,
}

impl Resolved {
    /// Removes the directory of a new run that could not start (configuration error):
    /// nothing was sent, so nothing needs keeping.
    fn discard(&self) {
        if !self.resumed {
            let _ = std::fs::remove_dir_all(&self.dir.root);
        }
    }
}

/// Runs `scimport import`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let target = settings::resolve(&args.target)?;
    if target.is_none() {
        printer.out(
            "using the embedded emulator (no --region or --api-url given): nothing leaves this machine",
        );
        if args.resume.is_some() {
            bail!(
                "--resume needs the tenant the run was against (--region or --api-url); the embedded emulator keeps no state between runs"
            );
        }
    }
    // A mapping given on the command line is checked before anything is created.
    if let Some(m) = &args.mapping {
        Mapping::load(m).with_context(|| format!("mapping {}", m.display()))?;
    }
    let resolved = resolve(&args, target.as_ref())?;
    let mapping = match Mapping::load(&resolved.mapping_path) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            resolved.discard();
            return Err(anyhow::Error::new(e)
                .context(format!("mapping {}", resolved.mapping_path.display())));
        }
    };
    let run_id = resolved.dir.id.clone();
    printer.out(&format!(
        "run {run_id}{}",
        if resolved.resumed { " (resumed)" } else { "" }
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let status = runtime.block_on(run_async(args, target, resolved, mapping, printer))?;
    Ok(status)
}

fn resolve(args: &Args, target: Option<&Target>) -> anyhow::Result<Resolved> {
    let format = args.format.map(|f| match f {
        FormatArg::Csv => Format::Csv,
        FormatArg::Ndjson => Format::Ndjson,
    });
    let delimiter = match args.delimiter {
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => bail!("--delimiter {c:?} is not a single ASCII character"),
        None => None,
    };
    let target_name = target
        .map(|t| t.api_url.clone())
        .unwrap_or_else(|| "embedded-emulator".into());
    if let Some(id) = &args.resume {
        let dir = RunDir::open(&args.runs_dir, id)?;
        let (journal, state) = Journal::open(&dir.journal_path())?;
        if state.meta.target != target_name {
            bail!(
                "run {} was against {}, not {target_name}; give the same --region/--api-url to resume it",
                dir.id,
                state.meta.target
            );
        }
        if state.meta.dry_run {
            bail!(
                "run {} was a dry run: nothing to resume (run it again)",
                dir.id
            );
        }
        let input_path = args.input.clone().unwrap_or(state.meta.input.clone());
        let now = journal_input_hash(&input_path);
        if !state.meta.input_sha256.is_empty() && !now.is_empty() && now != state.meta.input_sha256
        {
            bail!(
                "{} changed since run {} started; resuming would mix two exports. Start a new run instead",
                input_path.display(),
                dir.id
            );
        }
        let audit = AuditLog::open_append(&dir.audit_path())?;
        let in_flight = state
            .in_flight
            .iter()
            .map(|(row, i)| (*row, i.action))
            .collect();
        let done_rows = state
            .done
            .iter()
            .filter(|(_, r)| r.outcome != Outcome::Pending)
            .map(|(row, r)| (*row, r.clone()))
            .collect();
        let input = InputSpec {
            path: args.input.clone().unwrap_or(state.meta.input.clone()),
            format,
            delimiter,
            row_column: state.meta.row_column.clone(),
        };
        let only_rows = state
            .meta
            .only_rows
            .clone()
            .map(|v| v.into_iter().collect());
        return Ok(Resolved {
            mapping_path: args.mapping.clone().unwrap_or(state.meta.mapping.clone()),
            dir,
            input,
            only_rows,
            journal,
            audit,
            done_rows,
            in_flight,
            resumed: true,
        });
    }
    let (input, mapping_path, only_rows) = if let Some(prev) = &args.retry_failed {
        retry_source(args, prev, format, delimiter)?
    } else {
        let Some(input) = args.input.clone() else {
            bail!("give the HR export to import (or --resume RUN_ID / --retry-failed RUN_ID)");
        };
        let Some(mapping) = args.mapping.clone() else {
            bail!("give --mapping FILE (scimport init writes a starter one)");
        };
        (
            InputSpec {
                path: input,
                format,
                delimiter,
                row_column: None,
            },
            mapping,
            None,
        )
    };
    if input.path != Path::new("-") && !input.path.exists() {
        bail!("input {} does not exist", input.path.display());
    }
    let dir = RunDir::create(&args.runs_dir).with_context(|| {
        format!(
            "cannot create a run directory under {}",
            args.runs_dir.display()
        )
    })?;
    let meta = RunMeta {
        run_id: dir.id.clone(),
        input: input.path.clone(),
        input_sha256: journal_input_hash(&input.path),
        mapping: mapping_path.clone(),
        target: target_name,
        dry_run: args.dry_run,
        created_at: chrono::Utc::now(),
        args: std::env::args().collect(),
        row_column: input.row_column.clone(),
        only_rows: only_rows.as_ref().map(|s: &HashSet<u64>| {
            let mut v: Vec<u64> = s.iter().copied().collect();
            v.sort_unstable();
            v
        }),
    };
    let journal = Journal::create(&dir.journal_path(), &meta)?;
    let mut audit = AuditLog::create(&dir.audit_path(), &dir.id)?;
    if args.dry_run {
        // A dry run writes nothing to the tenant, so nothing needs the log on disk line
        // by line; a buffered log keeps a million-row plan cheap.
        audit.set_flush_policy(crate::audit::FlushPolicy::Buffered(256 * 1024));
    }
    Ok(Resolved {
        dir,
        input,
        mapping_path,
        only_rows,
        journal,
        audit,
        done_rows: Default::default(),
        in_flight: Default::default(),
        resumed: false,
    })
}

/// Removes the directory of a new run that failed before its first row.
fn discard_new_run(dir: &RunDir, resumed: bool) {
    if !resumed {
        let _ = std::fs::remove_dir_all(&dir.root);
    }
}

fn journal_input_hash(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    if path == Path::new("-") {
        return String::new();
    }
    match std::fs::read(path) {
        Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
        Err(_) => String::new(),
    }
}

/// Where a --retry-failed run reads its rows: the previous run's failed.csv if the
/// user edited it (its hash differs from the one recorded), else the original input
/// restricted to the failed rows.
fn retry_source(
    args: &Args,
    prev: &str,
    format: Option<Format>,
    delimiter: Option<u8>,
) -> anyhow::Result<(InputSpec, PathBuf, Option<HashSet<u64>>)> {
    let dir = RunDir::open(&args.runs_dir, prev)?;
    let summary = RunSummary::read(&dir.summary_path()).with_context(|| {
        format!(
            "run {} has no summary.json (did it finish? try --resume)",
            dir.id
        )
    })?;
    let rows = ledger::read_ledger(&dir.ledger_path())?;
    let failed: HashSet<u64> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Invalid))
        .map(|r| r.row)
        .collect();
    if failed.is_empty() {
        bail!("run {} has no failed or invalid rows to retry", dir.id);
    }
    let original_input = summary
        .details
        .get("input")
        .and_then(|v| v.as_str())
        .map(PathBuf::from);
    let mapping = args
        .mapping
        .clone()
        .or_else(|| {
            summary
                .details
                .get("mapping")
                .and_then(|v| v.as_str())
                .map(PathBuf::from)
        })
        .context("give --mapping FILE")?;
    let recorded = summary
        .details
        .get("failed_csv_sha256")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let failed_csv = dir.failed_path();
    let edited = failed_csv.exists() && journal_input_hash(&failed_csv) != recorded;
    if edited || original_input.as_ref().is_none_or(|p| !p.exists()) {
        if !failed_csv.exists() {
            bail!(
                "run {} has neither its input nor failed.csv any more",
                dir.id
            );
        }
        let spec = InputSpec {
            path: failed_csv,
            format: Some(Format::Csv),
            delimiter: Some(b','),
            row_column: Some("row".into()),
        };
        return Ok((spec, mapping, Some(failed)));
    }
    let spec = InputSpec {
        path: args
            .input
            .clone()
            .or(original_input)
            .context("the original input is unknown")?,
        format,
        delimiter,
        row_column: None,
    };
    Ok((spec, mapping, Some(failed)))
}

async fn run_async(
    args: Args,
    target: Option<Target>,
    resolved: Resolved,
    mapping: Arc<Mapping>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let Resolved {
        dir,
        input,
        only_rows,
        journal,
        audit,
        done_rows,
        in_flight,
        mapping_path,
        resumed,
    } = resolved;
    // The tenant: the one given, or an embedded emulator.
    let (emulator, target) = match target {
        Some(t) => (None, t),
        None => {
            let handle = crate::emulator::spawn(crate::emulator::EmulatorConfig {
                rate_limit_per_minute: None,
                ..Default::default()
            })
            .await
            .context("cannot start the embedded emulator")?;
            let t = Target::emulator(&handle.url(), handle.client_id(), handle.client_secret());
            (Some(handle), t)
        }
    };
    let rate = match args.rate.as_deref() {
        Some("off") => None,
        Some(n) => Some(n.parse::<u32>().ok().filter(|n| *n > 0).with_context(|| {
            format!("--rate {n:?}: give requests per minute (a positive integer) or off")
        })?),
        None if emulator.is_some() => None,
        None => Some(300),
    };

    // The rows: parsed, mapped and validated on all cores, in row order, on a
    // thread of their own; the header and row count come back first.
    let (tx, rx) = mpsc::channel(4);
    let (head_tx, head_rx) = tokio::sync::oneshot::channel();
    let reader = {
        let mapping = mapping.clone();
        let input = input.clone();
        let only_rows = only_rows.clone();
        std::thread::spawn(move || {
            let opts = PrepareOptions {
                only_rows,
                ..PrepareOptions::default()
            };
            let prep = match validate::prepare(&input, &mapping, opts) {
                Ok(p) => p,
                Err(e) => {
                    let _ = head_tx.send(Err(e.to_string()));
                    return None;
                }
            };
            let _ = head_tx.send(Ok((prep.header().names().to_vec(), prep.total_rows())));
            for chunk in prep {
                match chunk {
                    Ok(c) => {
                        if tx.blocking_send(c).is_err() {
                            return None;
                        }
                    }
                    Err(e) => return Some(e.to_string()),
                }
            }
            None
        })
    };
    let (header, total_rows) = match head_rx.await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            discard_new_run(&dir, resumed);
            bail!("{e}")
        }
        Err(_) => {
            discard_new_run(&dir, resumed);
            bail!("the input reader stopped before reading the header")
        }
    };
    let expected_rows = Some(only_rows.as_ref().map_or(total_rows, |s| s.len() as u64));
    let progress = progress_bar(printer, expected_rows);
    let sink = Arc::new(if args.dry_run {
        journal.close()?;
        RunSink::direct(&dir.id, &dir.ledger_path(), audit, progress)?
    } else {
        RunSink::journaled(&dir.id, journal, audit, progress)
    });
    let api_opts = ApiOptions {
        rate_per_min: rate,
        concurrency: args.concurrency.max(1),
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        max_attempts: args.max_attempts.max(1),
        ..ApiOptions::default()
    };
    let api = Api::new(&target, api_opts, sink.clone()).context("cannot build the HTTP client")?;

    let (int_tx, int_rx) = watch::channel(false);
    tokio::spawn(async move {
        if wait_for_signal().await {
            let _ = int_tx.send(true);
        }
    });
    let opts = RunOptions {
        dry_run: args.dry_run,
        lookup: args.lookup,
        concurrency: args.concurrency.max(1),
        plan: PlanOptions {
            max_patch_ops: args.max_patch_ops.max(1),
            match_keys: mapping.keys().to_vec(),
            ..PlanOptions::default()
        },
        done_rows,
        in_flight,
        expected_rows,
    };
    let plan_path = args.dry_run.then(|| dir.root.join("plan.jsonl"));
    let mapping_for_failed = mapping.clone();
    let mut report = run::run(
        api.clone(),
        sink.clone(),
        mapping,
        rx,
        opts,
        plan_path,
        int_rx,
    )
    .await;
    if let Some(e) = reader.join().ok().flatten() {
        report
            .stopped
            .get_or_insert(format!("the input could not be read to the end: {e}"));
    }
    let stats = api.stats();
    drop(api);
    let sink =
        Arc::try_unwrap(sink).map_err(|_| anyhow::anyhow!("the run's sink is still in use"))?;
    let closed = sink
        .close(&dir.journal_path(), &dir.ledger_path())
        .map_err(|e| anyhow::anyhow!(e))?;
    let ledger_summary = closed.summary;
    let rows = ledger::read_ledger(&dir.ledger_path())?;
    let failed_sha = write_failed_csv(&dir, &input, &mapping_for_failed, &header, &rows, printer)?;
    let mut summary = RunSummary::new(&dir.id, &ledger_summary);
    let done = Done::count(&rows);
    let details = &mut summary.details;
    details.insert("input".into(), json!(input.path));
    details.insert("mapping".into(), json!(mapping_path));
    details.insert(
        "target".into(),
        json!(if emulator.is_some() {
            "embedded-emulator".to_string()
        } else {
            target.api_url.clone()
        }),
    );
    details.insert("dry_run".into(), json!(args.dry_run));
    details.insert("done".into(), serde_json::to_value(&done)?);
    details.insert("lookup".into(), json!(report.lookup));
    details.insert("calls".into(), calls_json(&stats));
    details.insert(
        "calls_per_changed_user".into(),
        json!(done.calls_per_changed(&stats)),
    );
    details.insert("audit_lines".into(), json!(closed.audit_lines));
    details.insert("sink_seconds".into(), json!(closed.busy_seconds));
    details.insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
    details.insert("stopped".into(), json!(report.stopped));
    details.insert("failed_csv_sha256".into(), json!(failed_sha));
    summary.write(&dir.summary_path())?;

    print_summary(printer, &dir, &summary, &done, &report, &stats);
    if let Some(h) = emulator {
        h.shutdown().await;
    }
    let n = |o: Outcome| ledger_summary.outcome(o);
    Ok(if report.stopped.is_some() || n(Outcome::Pending) > 0 {
        ExitStatus::Stopped
    } else if n(Outcome::Failed) + n(Outcome::Invalid) > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Waits for Ctrl-C or SIGTERM; true when one arrived.
async fn wait_for_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return tokio::signal::ctrl_c().await.is_ok();
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.is_ok(),
            _ = term.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

/// failed.csv: the original columns of every failed or invalid row plus `row`,
/// `error_kind` and `error`. Returns its SHA-256 so a later --retry-failed can tell
/// whether the user edited it.
fn write_failed_csv(
    dir: &RunDir,
    input: &InputSpec,
    mapping: &Mapping,
    header: &[String],
    rows: &[crate::ledger::LedgerRow],
    printer: &Printer,
) -> anyhow::Result<String> {
    let failed: std::collections::HashMap<u64, (String, String)> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Invalid))
        .map(|r| {
            let kind = r.error_kind.clone().unwrap_or_default();
            (r.row, (kind, r.error.clone().unwrap_or_default()))
        })
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
    Ok(journal_input_hash(&dir.failed_path()))
}

fn progress_bar(printer: &Printer, total: Option<u64>) -> indicatif::ProgressBar {
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
    bar
}

/// What the run did, counted from the ledger: succeeded rows per action.
#[derive(Debug, Default, serde::Serialize)]
struct Done {
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
    fn count(rows: &[crate::ledger::LedgerRow]) -> Done {
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
    fn calls_per_changed(&self, stats: &ApiStats) -> Option<f64> {
        (self.changed() > 0).then(|| stats.api_calls() as f64 / self.changed() as f64)
    }
}

fn calls_json(stats: &ApiStats) -> serde_json::Value {
    let mut v = serde_json::to_value(stats).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("total".into(), json!(stats.api_calls()));
        m.insert("writes".into(), json!(stats.writes()));
    }
    v
}

fn print_summary(
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
