//! `scimport import`: parse, resolve the flags once into an [`EngineConfig`]
//! (`resolve.rs`), run the [`Engine`] over the input file, print (`report.rs`: the
//! progress bar and the human summary). The run itself is the engine's.

mod apply_plan;
pub(crate) mod report;
mod resolve;
pub(crate) mod signals;

use std::path::PathBuf;

use anyhow::Context;

use super::args::{FormatArg, LookupArg, PreflightArg};
use super::settings::{self, TargetArgs};
use super::{ExitStatus, Printer};
use crate::engine::{Controls, Engine, EngineError, Verdict};

/// Arguments of `scimport import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The HR export: CSV (optionally .csv.gz) or NDJSON; `-` reads stdin. Not needed
    /// with --resume or --retry-failed.
    pub input: Option<PathBuf>,
    /// The mapping file (TOML). Not needed with --resume or --retry-failed.
    #[arg(long, short)]
    pub mapping: Option<PathBuf>,
    /// Input format; detected from the file name when omitted.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV delimiter: comma, semicolon, pipe, tab, or the character itself
    /// (default: detected from the header).
    #[arg(long, value_parser = super::args::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Longest CSV record or NDJSON line read (bytes, or with a suffix: 512KiB,
    /// 1MiB, 2GiB); a longer one is skipped unread and its row fails with
    /// record_too_large.
    #[arg(long, value_name = "BYTES", default_value = "1MiB", value_parser = super::args::parse_bytes)]
    pub max_record_bytes: usize,
    /// Where the tenant is.
    #[command(flatten)]
    pub target: TargetArgs,
    /// How calls are made (pace, concurrency, timeouts, retries).
    #[command(flatten)]
    pub calls: super::args::CallArgs,
    /// Create the groups the input names that the target lacks (POST /Groups), instead
    /// of failing their rows with unknown_group. Only with `--profile generic`:
    /// Genesys SCIM cannot create groups.
    #[arg(long)]
    pub create_groups: bool,
    /// Plan everything, send no write: counts per action and per field, and the
    /// plan in the run directory's plan.parquet, which `--plan RUN_ID` applies.
    #[arg(long)]
    pub dry_run: bool,
    /// How existing users are found: auto picks the cheaper of a prefetch and per-row filters.
    #[arg(long, value_enum, default_value = "auto")]
    pub lookup: LookupArg,
    /// Before the first write, read the target's /schemas, /resourcetypes and
    /// /serviceproviderconfig (3 GETs) and check that it offers every SCIM path the
    /// mapping writes (exists, writable, compatible type); any problem stops the run
    /// with exit 2 before row 1, all listed. auto: skip with a warning when the
    /// target does not serve /schemas; require: that is an error too; off: no check.
    #[arg(long, value_enum, default_value = "auto")]
    pub preflight: PreflightArg,
    /// A directory `scimport schema pull` saved: the pre-flight compares the
    /// target's schemas with it, and breaking drift on a path the mapping writes
    /// (removed, retyped, turned readOnly/immutable, or a newly required attribute
    /// no field writes) stops the run with exit 2 before its first write, every
    /// change listed; other drift is a warning.
    #[arg(long, value_name = "DIR")]
    pub schema_baseline: Option<PathBuf>,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Apply exactly the plan a dry run wrote (its plan.parquet), and nothing else:
    /// no input or mapping on the command line. Each update carries If-Match with
    /// the version the plan saw; a user changed in the tenant since planning (or a
    /// planned create whose user now exists) is left alone: skipped, plan_stale.
    /// Group memberships: only the planned joins and leaves, after the users' own
    /// writes (none for a stale user). A plan altered since it was written is refused (exit 2) before any call.
    /// `latest` is the newest run.
    #[arg(
        long,
        value_name = "RUN_ID",
        conflicts_with_all = ["input", "mapping", "dry_run", "resume", "retry_failed", "format", "delimiter"]
    )]
    pub plan: Option<String>,
    /// Finish a stopped or crashed run: rows done stay done, the rest are reconciled.
    #[arg(long, value_name = "RUN_ID", conflicts_with = "retry_failed")]
    pub resume: Option<String>,
    /// A new run over only the failed and invalid rows of RUN_ID (from its edited
    /// failed.csv if you changed it, else from the original input).
    #[arg(long, value_name = "RUN_ID")]
    pub retry_failed: Option<String>,
    /// With --resume: append to the run's audit log even though it fails
    /// verification (edited, truncated or rewritten); the override and its reason
    /// are recorded in the log.
    #[arg(long, requires = "resume")]
    pub force_resume: bool,
    /// With --resume or --retry-failed: go on although the run recorded another
    /// target address, when the same tenant now answers at a new one (an emulator
    /// restarted on another port, a new proxy). Without it, another address is
    /// refused (exit 2).
    #[arg(long)]
    pub allow_target_change: bool,
    /// Monitoring.
    #[command(flatten)]
    pub metrics: super::args::MetricsArgs,
}

/// Runs `scimport import`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if let Some(id) = args.plan.clone() {
        return apply_plan::run(&args, &id, printer);
    }
    let target = settings::resolve(&args.target)?;
    let embedded = target.is_none();
    // Before anything is created or sent: webhooks without a secret are refused.
    let webhooks = args.calls.webhook.plan(&args.target)?;
    let config = resolve::config(&args, target)?;
    let engine = Engine::try_new(config)?;
    let run = Run {
        args: &args,
        embedded,
        webhooks,
        extras: crate::engine::Extras::default(),
        replan: None,
    };
    // A resumed `--plan` run reads its plan again, not a file of rows.
    if engine.resumed() && apply_plan::is_plan(&engine.input().path) {
        let source = apply_plan::resumed_source(&engine.input().path)?;
        return run.execute(engine, source, printer);
    }
    let source = engine.file_source();
    run.execute(engine, source, printer)
}

/// One import run, its engine resolved: what `execute` needs besides it.
pub(super) struct Run<'a> {
    /// The command line.
    pub args: &'a Args,
    /// Against the embedded emulator.
    pub embedded: bool,
    /// Webhooks to start, when asked for.
    pub webhooks: Option<super::webhook::WebhookPlan>,
    /// What the caller adds to the run.
    pub extras: crate::engine::Extras,
    /// `import --plan`: the command that plans again.
    pub replan: Option<String>,
}

impl Run<'_> {
    /// Runs the engine over `source`, prints the summary, and returns the exit status.
    pub(super) fn execute<S: crate::engine::DesiredSource>(
        self,
        engine: Engine,
        source: S,
        printer: &Printer,
    ) -> anyhow::Result<ExitStatus> {
        let Run {
            args,
            embedded,
            webhooks,
            mut extras,
            replan,
        } = self;
        // Said once the command line is known to be right, not before a usage error.
        if embedded {
            printer.out(
                "using the embedded emulator (no --region or --api-url given): nothing leaves this machine",
            );
        }
        printer.out(&format!(
            "run {}{}",
            engine.run_id(),
            if engine.resumed() { " (resumed)" } else { "" }
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        extras.outbox = {
            let _in_runtime = runtime.enter();
            let start = webhooks.filter(|_| !args.dry_run);
            start.map(super::webhook::WebhookPlan::start).transpose()?
        };
        let progress = report::progress_bar(printer);
        let result = runtime.block_on(async {
            let resume = resume_command(engine.run_id(), &args.runs_dir, &args.target);
            let interrupt = signals::stop_on_signals(printer, resume);
            engine
                .run_with(
                    source,
                    Controls {
                        progress,
                        interrupt,
                    },
                    extras,
                )
                .await
        });
        let report = match result {
            Ok(r) => r,
            Err(e @ EngineError::Closing { .. }) => {
                // Writes may have been sent: a stopped run, resumable, not a usage error.
                printer.error(&e.to_string());
                return Ok(ExitStatus::Stopped);
            }
            Err(e) => return Err(e.into()),
        };
        let next = report::NextSteps {
            resume: (!embedded)
                .then(|| resume_command(&report.dir.id, &args.runs_dir, &args.target)),
            retry_failed: (!embedded)
                .then(|| retry_command(&report.dir.id, &args.runs_dir, &args.target)),
            apply_plan: (!embedded)
                .then(|| apply_command(&report.dir.id, &args.runs_dir, &args.target)),
            replan,
        };
        report::print_summary(printer, &report, &next);
        let resume = next.resume.as_deref();
        super::webhook::print_summary(printer, report.webhooks.as_ref(), resume);
        // The anchor goes last, so a script can take the last line and keep it apart
        // from the run directory.
        if !report.audit_head.is_empty() {
            printer.out_verbatim(&format!("audit head sha256:{}", report.audit_head));
        }
        let status = match report.verdict() {
            Verdict::Success => ExitStatus::Success,
            Verdict::Failure => ExitStatus::Failure,
            Verdict::Stopped => ExitStatus::Stopped,
        };
        args.metrics.write(
            printer,
            &crate::engine::MetricsInput {
                command: "import",
                run: Some(&report),
                extra: &[],
                success: status == ExitStatus::Success && !report.dry_run,
            },
        );
        Ok(status)
    }
}

/// `scimport import <what> <id>`, with the run's target flags and `--runs-dir`
/// when not the default: complete, runnable as printed.
fn next_command(what: &str, id: &str, runs_dir: &std::path::Path, target: &TargetArgs) -> String {
    let mut words = vec![format!("scimport import {what} {id}")];
    words.extend(target.words());
    if runs_dir != std::path::Path::new("runs") {
        words.push(format!(
            "--runs-dir {}",
            crate::model::shell::shell_quote(&runs_dir.display().to_string())
        ));
    }
    words.join(" ")
}

/// The command that runs the failed rows of run `id` again.
fn retry_command(id: &str, runs_dir: &std::path::Path, target: &TargetArgs) -> String {
    next_command("--retry-failed", id, runs_dir, target)
}

/// The command that applies dry run `id`'s plan.
fn apply_command(id: &str, runs_dir: &std::path::Path, target: &TargetArgs) -> String {
    next_command("--plan", id, runs_dir, target)
}

/// The command that continues run `id`.
pub(super) fn resume_command(id: &str, runs_dir: &std::path::Path, target: &TargetArgs) -> String {
    next_command("--resume", id, runs_dir, target)
}
