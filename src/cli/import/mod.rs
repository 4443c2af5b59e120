//! `scimport import`: one run from an HR export to the tenant, with its run
//! directory (ledger, audit log, journal, summary, failed rows). Resolves the
//! options once (`resolve.rs`), then hands the rows to `apply::run` and reports
//! (`report.rs`: summary, failed.csv, progress bar).

mod report;
mod resolve;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::args::{FormatArg, LookupArg};
use super::settings::{self, Target, TargetArgs};
use super::{ExitStatus, Printer};
use crate::apply::api::{Api, ApiOptions, ApiStats};
use crate::apply::limiter::Pace;
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
    /// Most requests per minute for the whole run (`off` for an unlimited emulator or
    /// a benchmark). Default: 300 (Genesys's default) until the tenant's rate-limit
    /// headers say its limit, then just below that limit, up or down; an explicit
    /// rate is only ever lowered. The embedded emulator defaults to off.
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
    pub lookup: LookupArg,
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
    let pace = match args.rate.as_deref() {
        Some("off") => Pace::Off,
        Some(n) => Pace::Fixed(n.parse::<u32>().ok().filter(|n| *n > 0).with_context(|| {
            format!("--rate {n:?}: give requests per minute (a positive integer) or off")
        })?),
        None if emulator.is_some() => Pace::Off,
        // Genesys's default until the tenant's `inin-ratelimit-allowed` says otherwise.
        None => Pace::Adaptive { start: 300 },
    };

    // The rows: parsed, mapped and validated on all cores, in row order, on a
    // thread of their own; the header and row count come back first.
    let (tx, rx) = mpsc::channel(2);
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
        pace,
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
        lookup: args.lookup.into(),
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
    let closed = match sink.close(&dir.journal_path(), &dir.ledger_path()).await {
        Ok(c) => c,
        Err(e) => {
            // Writes may have been sent: a stopped run, resumable, not a usage error.
            printer.error(&format!("run {} stopped: {e}", dir.id));
            return Ok(ExitStatus::Stopped);
        }
    };
    if let Some(e) = &closed.error {
        report.stopped.get_or_insert_with(|| e.clone());
    }
    let ledger_summary = closed.summary;
    let rows = match closed.verdicts {
        Some(v) => v,
        None => ledger::read_verdicts(&dir.ledger_path())?,
    };
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
    details.insert("lookup_calls".into(), json!(report.lookup_calls));
    details.insert("deferred_managers".into(), json!(report.deferred_managers));
    details.insert("group_patches".into(), json!(report.group_patches));
    details.insert("calls".into(), calls_json(&stats));
    details.insert(
        "calls_per_changed_user".into(),
        json!(done.calls_per_changed(&stats)),
    );
    details.insert("audit_lines".into(), json!(closed.audit_lines));
    // Time the run lost to the ledger/journal and audit writer, and the writer's CPU.
    details.insert("sink_seconds".into(), json!(closed.lost_seconds));
    details.insert(
        "writer_cpu_seconds".into(),
        json!(closed.writer_cpu_seconds),
    );
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

use report::{Done, calls_json, print_summary, progress_bar, write_failed_csv};
use resolve::{discard_new_run, resolve};
