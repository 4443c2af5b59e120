//! `scimport sync`: parse, resolve the flags once into a [`SyncConfig`], run the
//! library's [`sync`](crate::sync::sync), print (`report.rs`). Exit codes: those of
//! import, plus 4 when a guard refused the run or held its deactivations.

mod report;

use std::path::PathBuf;

use anyhow::{Context, bail};

use super::args::{FormatArg, PreflightArg};
use super::import::{report as import_report, signals};
use super::settings::{self, TargetArgs};
use super::{ExitStatus, Printer};
use crate::engine::{Controls, EngineConfig, InputChoice, RunKind, TargetChoice, Verdict};
use crate::source::{Format, InputSpec};
use crate::sync::{AnchorPolicy, DeactivateLimit, Guards, SourceSpec, SyncConfig};

/// `--on-anchor-change` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AnchorArg {
    /// The row fails with anchor_changed; the user is left as it is.
    Refuse,
    /// Keep the Genesys user for the new account (a rehire of the same person).
    Relink,
    /// Deactivate the old user, move its userName aside
    /// (local+replaced-<id8>@domain) and create a new user.
    Replace,
}

/// Arguments of `scimport sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source: a full HR export (CSV or NDJSON) of everyone who should be in the
    /// tenant, or a directory, `ldap://HOST:PORT` or `ldaps://HOST:PORT` (bind as
    /// SCIMPORT_LDAP_BIND_DN with SCIMPORT_LDAP_PASSWORD, from the environment,
    /// .env or --config; anonymous when neither is set).
    #[arg(long, value_name = "FILE|LDAP_URL")]
    pub source: String,
    /// The directory subtree to read (LDAP sources).
    #[arg(long, value_name = "DN")]
    pub base_dn: Option<String>,
    /// Which entries are people (LDAP sources), e.g.
    /// "(&(objectClass=user)(objectCategory=person))" for Active Directory.
    #[arg(long, value_name = "FILTER", default_value = crate::source::ldap::DEFAULT_FILTER)]
    pub ldap_filter: String,
    /// Upgrade an ldap:// connection to TLS with StartTLS.
    #[arg(long)]
    pub starttls: bool,
    /// PEM file of the CA certificates that verify the directory's certificate
    /// (default: the system's). Verification is never off.
    #[arg(long, value_name = "FILE")]
    pub ldap_ca: Option<PathBuf>,
    /// Entries per page of the directory read (RFC 2696 paged results; Active
    /// Directory serves at most 1000).
    #[arg(long, value_name = "N", default_value_t = crate::source::ldap::DEFAULT_PAGE_SIZE)]
    pub page_size: u32,
    /// The mapping file (TOML); `anchor = "COLUMN"` names the source's immutable id.
    #[arg(long, short)]
    pub mapping: PathBuf,
    /// Input format of a file source; detected when omitted.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// CSV delimiter: comma, semicolon, pipe, tab, or the character itself
    /// (default: detected from the header).
    #[arg(long, value_parser = super::args::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Longest CSV record or NDJSON line read (bytes, or 512KiB, 1MiB, 2GiB).
    #[arg(long, value_name = "BYTES", default_value = "1MiB", value_parser = super::args::parse_bytes)]
    pub max_record_bytes: usize,
    /// The sync state of this target (default: one file per target under
    /// <runs-dir>/sync-state/). It remembers every managed user; keep it with the
    /// runs.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Read the tenant and reconcile everything (also finds edits made in Genesys).
    /// The first sync of a target always does; later ones are incremental: calls
    /// only for changed entries, joiners and leavers, no tenant read.
    #[arg(long)]
    pub full: bool,
    /// Plan everything, guards included; send no write and leave the state alone.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse the whole run when the source has more than this percent fewer entries
    /// than at the last good sync.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    pub max_shrink: f64,
    /// Most leavers deactivated in one run: a number, or a percent of the managed
    /// users (`5%`, the default, and never fewer than 10). Beyond it, creates and
    /// updates go ahead and every deactivation is held (exit 4).
    #[arg(long, value_name = "N|PERCENT%")]
    pub max_deactivate: Option<String>,
    /// Let a deactivation beyond --max-deactivate through; needs --reason, which is
    /// written to the audit log.
    #[arg(long, requires = "reason")]
    pub allow_mass_deactivation: bool,
    /// Why the mass deactivation is right (recorded in the audit log).
    #[arg(long, requires = "allow_mass_deactivation")]
    pub reason: Option<String>,
    /// Deactivate a user only once it has been missing from this many complete
    /// syncs in a row.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub absent_runs: u32,
    /// What a re-created source account (same keys, new anchor) does.
    #[arg(long, value_enum, default_value = "refuse")]
    pub on_anchor_change: AnchorArg,
    /// Where the tenant is (a sync needs one that lasts: no embedded emulator).
    #[command(flatten)]
    pub target: TargetArgs,
    /// How calls are made (pace, concurrency, timeouts, retries).
    #[command(flatten)]
    pub calls: super::args::CallArgs,
    /// Check the target's schemas before the first write (auto: on runs that read
    /// the tenant; require: always; off: never).
    #[arg(long, value_enum, default_value = "auto")]
    pub preflight: PreflightArg,
    /// A directory `scimport schema pull` saved: the target's schemas are read
    /// and compared with it on every run (incremental ones included: 3 GETs), and
    /// breaking drift on a path the mapping writes stops the run with exit 2
    /// before its first write, every change listed.
    #[arg(long, value_name = "DIR")]
    pub schema_baseline: Option<PathBuf>,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Finish a stopped or crashed sync run with the same flags: it reads what the
    /// run recorded (the file, or the directory's snapshot) again, rows done stay
    /// done, and the state learns every user the tenant acknowledged.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Monitoring.
    #[command(flatten)]
    pub metrics: super::args::MetricsArgs,
}

/// Runs `scimport sync`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let target = settings::resolve(&args.target)?;
    let Some(target) = target else {
        bail!(
            "sync keeps a tenant equal to its source, so it needs one that lasts: give --region or --api-url (to try it out, start `scimport emulator --port 8080` in another terminal and add --api-url http://127.0.0.1:8080)"
        );
    };
    // Before anything is created or sent: webhooks without a secret are refused.
    let webhooks = args.calls.webhook.plan(&args.target)?;
    let cfg = config(&args, target)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outbox = {
        let _in_runtime = runtime.enter();
        let start = webhooks.filter(|_| !args.dry_run);
        start.map(super::webhook::WebhookPlan::start).transpose()?
    };
    let progress = import_report::progress_bar(printer);
    let again = rerun_command();
    let result = runtime.block_on(async {
        let interrupt = signals::stop_on_signals(printer, again.clone());
        crate::sync::sync_with(
            cfg,
            Controls {
                progress,
                interrupt,
            },
            outbox,
        )
        .await
    })?;
    report::print(printer, &result, &args, &again);
    if let Some(run) = &result.run {
        let resume = format!(
            "{} --resume {}",
            command_line(std::env::args().skip(1), &[("--resume", true)]),
            run.run_id
        );
        super::webhook::print_summary(printer, run.webhooks.as_ref(), Some(&resume));
    }
    let status = status(&result);
    let flag = |b: bool| f64::from(u8::from(b));
    let extra = [
        ("sync_source_rows", result.source_rows as f64),
        ("sync_leavers", result.leavers as f64),
        ("sync_deactivations_held", flag(result.held.is_some())),
        ("sync_refused", flag(result.refused.is_some())),
        ("sync_waiting_absent_runs", result.waiting as f64),
    ];
    // Only when something was compared: an absent gauge, not a false 0 or 1.
    let matching = result.attributes.and_then(|a| a.share());
    let extra: Vec<(&str, f64)> = extra
        .into_iter()
        .chain(matching.map(|s| ("sync_attributes_matching_ratio", s)))
        .collect();
    args.metrics.write(
        printer,
        &crate::engine::MetricsInput {
            command: "sync",
            run: result.run.as_ref(),
            extra: &extra,
            success: status == ExitStatus::Success && !args.dry_run,
        },
    );
    Ok(status)
}

/// The exit status of a sync: stopped (3) over guarded (4) over failed rows (1).
fn status(r: &crate::sync::SyncReport) -> ExitStatus {
    if r.refused.is_some() {
        return ExitStatus::Guarded;
    }
    let verdict = r.run.as_ref().map(|run| run.verdict());
    match verdict {
        Some(Verdict::Stopped) => ExitStatus::Stopped,
        _ if r.held.is_some() => ExitStatus::Guarded,
        Some(Verdict::Failure) => ExitStatus::Failure,
        _ => ExitStatus::Success,
    }
}

/// The sync's configuration for these flags.
fn config(args: &Args, target: crate::scim::target::Target) -> anyhow::Result<SyncConfig> {
    let delimiter = args.delimiter;
    if !(0.0..=100.0).contains(&args.max_shrink) {
        bail!(
            "--max-shrink {}: give a percent from 0 to 100",
            args.max_shrink
        );
    }
    let max_deactivate = match args.max_deactivate.as_deref() {
        None => DeactivateLimit::default(),
        Some(s) => parse_limit(s)?,
    };
    let ldap = args.source.starts_with("ldap://") || args.source.starts_with("ldaps://");
    let source = if ldap {
        let Some(base_dn) = args.base_dn.clone() else {
            bail!(
                "an LDAP source needs --base-dn (the subtree to read, e.g. OU=Staff,DC=corp,DC=example,DC=com)"
            );
        };
        let mut spec = crate::source::ldap::LdapSpec::new(&args.source, base_dn);
        spec.filter = args.ldap_filter.clone();
        spec.starttls = args.starttls;
        spec.ca_file = args.ldap_ca.clone();
        spec.page_size = args.page_size;
        spec.bind = settings::ldap_credentials(&args.target, &settings::Sources::from_process())?
            .map(|c| crate::source::ldap::LdapBind {
                dn: c.dn,
                password: c.password,
            });
        SourceSpec::Ldap(spec)
    } else {
        if args.source == "-" {
            bail!(
                "sync reads its source twice (a survey for the guards, then the run): give a file, not stdin"
            );
        }
        for (flag, given) in [
            ("--base-dn", args.base_dn.is_some()),
            ("--starttls", args.starttls),
            ("--ldap-ca", args.ldap_ca.is_some()),
        ] {
            if given {
                bail!("{flag} is for LDAP sources (--source ldap://... or ldaps://...)");
            }
        }
        let mut spec = InputSpec::new(&args.source);
        spec.format = args.format.map(Format::from);
        spec.delimiter = delimiter;
        SourceSpec::File(spec)
    };
    let generic = target.profile == crate::scim::target::Profile::Generic;
    let mut engine = EngineConfig::new(
        TargetChoice::Tenant(target),
        args.runs_dir.clone(),
        InputChoice::File {
            path: None,
            format: None,
            delimiter: None,
        },
        args.mapping.clone(),
    );
    engine.api = args.calls.api_options(true)?;
    let concurrency = engine.api.concurrency;
    engine.kind = match &args.resume {
        Some(id) => RunKind::Resume(id.clone()),
        None => RunKind::New,
    };
    engine.max_record_bytes = args.max_record_bytes;
    engine.dry_run = args.dry_run;
    engine.concurrency = concurrency;
    engine.max_patch_ops = args.calls.max_patch_ops.max(1);
    engine.args = std::env::args().collect();
    engine.preflight = args.preflight.into();
    engine.schema_baseline = args.schema_baseline.clone();
    engine.discovery = crate::engine::DiscoveryPaths::for_profile(if generic {
        crate::scim::target::Profile::Generic
    } else {
        crate::scim::target::Profile::Genesys
    });
    Ok(SyncConfig {
        engine,
        source,
        state: args.state.clone(),
        full: args.full,
        guards: Guards {
            max_shrink: args.max_shrink,
            max_deactivate,
            allow_mass: args
                .allow_mass_deactivation
                .then(|| args.reason.clone().unwrap_or_default()),
            absent_runs: args.absent_runs.max(1),
        },
        anchors: match args.on_anchor_change {
            AnchorArg::Refuse => AnchorPolicy::Refuse,
            AnchorArg::Relink => AnchorPolicy::Relink,
            AnchorArg::Replace => AnchorPolicy::Replace,
        },
    })
}

/// `--max-deactivate`: `N` or `N%`.
fn parse_limit(s: &str) -> anyhow::Result<DeactivateLimit> {
    let bad = || format!("--max-deactivate {s:?}: give a number of users (50) or a percent (5%)");
    match s.trim().strip_suffix('%') {
        Some(p) => {
            let p: f64 = p
                .trim()
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=100.0).contains(p))
                .with_context(bad)?;
            Ok(DeactivateLimit::Percent(p))
        }
        None => Ok(DeactivateLimit::Count(
            s.trim().parse().ok().with_context(bad)?,
        )),
    }
}

/// This very command line, quoted for a POSIX shell: running it again continues a
/// stopped sync (an incremental run redoes only what is not done).
fn rerun_command() -> String {
    command_line(std::env::args().skip(1), &[])
}

/// `scimport` and `args`, quoted for a POSIX shell, leaving out the flags in
/// `drop` (each with whether it takes a value).
pub(super) fn command_line(args: impl Iterator<Item = String>, drop: &[(&str, bool)]) -> String {
    let mut out = vec!["scimport".to_string()];
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        let flag = a.split('=').next().unwrap_or(&a);
        match drop.iter().find(|(d, _)| *d == flag) {
            Some((_, true)) if !a.contains('=') => {
                args.next();
            }
            Some(_) => {}
            None => out.push(shell_quote(&a)),
        }
    }
    out.join(" ")
}

pub(crate) use crate::model::shell::shell_quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_deactivation_limits_parse_as_counts_or_percents() {
        assert_eq!(parse_limit("50").unwrap(), DeactivateLimit::Count(50));
        assert_eq!(parse_limit("2.5%").unwrap(), DeactivateLimit::Percent(2.5));
        for bad in ["", "x", "-1", "150%", "5 users"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issue_16_a_printed_command_leaves_out_the_flags_it_adds_again() {
        let args = [
            "sync",
            "--source",
            "hr.csv",
            "--allow-mass-deactivation",
            "--reason",
            "site closed",
            "--max-shrink=50",
        ]
        .map(String::from);
        let drop = [("--allow-mass-deactivation", false), ("--reason", true)];
        assert_eq!(
            command_line(args.clone().into_iter(), &drop),
            "scimport sync --source hr.csv --max-shrink=50"
        );
        assert_eq!(
            command_line(args.into_iter(), &[]),
            "scimport sync --source hr.csv --allow-mass-deactivation --reason 'site closed' --max-shrink=50"
        );
    }
}
