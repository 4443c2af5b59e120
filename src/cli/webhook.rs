//! The webhook flags `import` and `sync` share (resolved once, before any call,
//! into a [`WebhookPlan`]), the summary lines, and `scimport webhook verify`.
//! Events, signing, delivery and verification are `crate::webhook`'s.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::settings::{self, Sources, TargetArgs};
use super::{ExitStatus, Printer};
use crate::apply::sink::{Outbox, OutboxCounts};
use crate::webhook::{DeliveryOptions, ENV_WEBHOOK_SECRET, WebhookOutbox, WebhookSecret};

/// Webhook flags, flattened into the flags `import` and `sync` share.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Post a Standard Webhooks event for each user outcome (user.created,
    /// user.updated, user.reactivated, user.deactivated, user.failed; rows that
    /// change nothing send none) to URL (https, or http to loopback; config file:
    /// webhook_url). Signed with SCIMPORT_WEBHOOK_SECRET (whsec_<base64>, from the
    /// environment, .env or the config file's webhook_secret; never a flag).
    /// Delivered at least once through the run's journal; a delivery that finally
    /// fails is recorded in the ledger (column webhook) and the audit log and
    /// never fails the row.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Events per delivery: more than 1 sends batches, each one
    /// {"type":"user.batch","timestamp":..,"data":{"events":[..]}}.
    #[arg(long, value_name = "N", default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub webhook_batch: u32,
    /// Without SCIMPORT_WEBHOOK_SECRET, send deliveries unsigned (no
    /// webhook-signature header) instead of refusing to start. Receivers cannot
    /// tell them from forgeries: for trials only. A secret, when set, still signs.
    #[arg(long)]
    pub webhook_unsigned: bool,
    /// Attempts per delivery before it is recorded as failed.
    #[arg(long, value_name = "N", default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_attempts: u32,
    /// Milliseconds before the first retry of a delivery; each next retry waits
    /// twice as long (with jitter), up to 60 times this. Retry-After on a 429 or
    /// 5xx is honoured.
    #[arg(long, value_name = "MS", default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub webhook_backoff_ms: u64,
    /// Seconds the end of a run waits for its deliveries; those still unfinished
    /// stay pending in the journal, and `--resume` sends them (same ids).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub webhook_drain_timeout: u64,
}

/// Webhooks as resolved: where, signed with what, how.
pub struct WebhookPlan {
    url: String,
    secret: Option<WebhookSecret>,
    batch: usize,
    opts: DeliveryOptions,
}

impl WebhookArgs {
    /// Resolves the flags with the config file, `.env` and the environment:
    /// `None` when no URL is set. Refuses (exit 2, before any call) a URL without a
    /// secret unless `--webhook-unsigned`, and a secret that is not whsec_<base64>.
    pub fn plan(&self, target: &TargetArgs) -> anyhow::Result<Option<WebhookPlan>> {
        let found = settings::webhook::webhook_settings(target, &Sources::from_process())?;
        let Some(url) = self.webhook_url.clone().or(found.url) else {
            return Ok(None);
        };
        crate::webhook::deliver::check_url(&url)?;
        let secret = match found.secret {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => bail!("{ENV_WEBHOOK_SECRET}: {e}"),
            None if self.webhook_unsigned => None,
            None => bail!(
                "webhooks need a signing secret: set {ENV_WEBHOOK_SECRET} to whsec_<base64> (in the environment, a .env file, or the --config file as webhook_secret; never on the command line), for example whsec_$(openssl rand -base64 32), and give the same secret to the receiver; or pass --webhook-unsigned to send unsigned deliveries"
            ),
        };
        Ok(Some(WebhookPlan {
            url,
            secret,
            batch: self.webhook_batch as usize,
            opts: DeliveryOptions {
                attempts: self.webhook_attempts,
                backoff: Duration::from_millis(self.webhook_backoff_ms),
                drain_timeout: Duration::from_secs(self.webhook_drain_timeout),
                ..DeliveryOptions::default()
            },
        }))
    }
}

impl WebhookPlan {
    /// Starts the delivery task; call inside the tokio runtime.
    pub fn start(self) -> anyhow::Result<Arc<dyn Outbox>> {
        let outbox = WebhookOutbox::start(&self.url, self.secret, self.batch, self.opts)?;
        Ok(Arc::new(outbox))
    }
}

/// The summary's webhook line, and what to do about deliveries left pending:
/// `resume` is the command that sends them (`None` when the run cannot be resumed,
/// as with the embedded emulator).
pub fn print_summary(printer: &Printer, counts: Option<&OutboxCounts>, resume: Option<&str>) {
    let Some(c) = counts else {
        return;
    };
    printer.out(&format!(
        "webhooks: {} sent, {} delivered, {} failed, {} pending",
        c.sent, c.delivered, c.failed, c.pending
    ));
    if c.pending == 0 {
        return;
    }
    let (n, them) = match c.pending {
        1 => ("1 webhook delivery is".to_string(), "it"),
        n => (format!("{n} webhook deliveries are"), "them"),
    };
    match resume {
        Some(cmd) => printer.out(&format!(
            "{n} not acknowledged yet: run `{cmd}` (with the same --webhook-url) to send {them} again"
        )),
        None => printer.out(&format!(
            "{n} not acknowledged yet, and a run against the embedded emulator cannot be resumed to send {them} again"
        )),
    }
}

/// `scimport webhook ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a delivery the way a Standard Webhooks receiver would: the
    /// webhook-id, webhook-timestamp and webhook-signature headers, a timestamp
    /// within 5 minutes of now (either way), and a v1 signature of
    /// `<id>.<timestamp>.<body>` made with the secret. Reads --headers and --body,
    /// or else a raw HTTP request (request line, headers, blank line, body) on
    /// stdin. Prints `ok <id>` (exit 0) or `invalid: <why>` (exit 1); exit 2 on a
    /// usage error.
    Verify(VerifyArgs),
}

/// Arguments of `scimport webhook verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The environment variable holding the secret (whsec_<base64>).
    #[arg(long, value_name = "NAME")]
    pub secret_env: String,
    /// The delivery's headers: `Name: value` lines or a JSON object.
    #[arg(long, value_name = "FILE", requires = "body")]
    pub headers: Option<PathBuf>,
    /// The delivery's raw body, byte for byte.
    #[arg(long, value_name = "FILE", requires = "headers")]
    pub body: Option<PathBuf>,
}

/// Runs `scimport webhook ...`.
pub fn run(cmd: Command, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let Command::Verify(args) = cmd;
    let raw = std::env::var(&args.secret_env)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .with_context(|| format!("--secret-env {}: that variable is not set", args.secret_env))?;
    crate::secrets::register(crate::secrets::SecretKind::WebhookSecret, raw.trim());
    let secret =
        WebhookSecret::parse(&raw).with_context(|| format!("--secret-env {}", args.secret_env))?;
    let (headers, body) = match (&args.headers, &args.body) {
        (Some(h), Some(b)) => {
            let text = std::fs::read_to_string(h)
                .with_context(|| format!("cannot read {}", h.display()))?;
            let body = std::fs::read(b).with_context(|| format!("cannot read {}", b.display()))?;
            let headers = crate::webhook::verify::parse_headers(&text)
                .with_context(|| format!("{}", h.display()))?;
            (headers, body)
        }
        _ => {
            let mut raw = Vec::new();
            std::io::stdin()
                .read_to_end(&mut raw)
                .context("cannot read the request on stdin")?;
            crate::webhook::verify::parse_request(&raw).context("stdin")?
        }
    };
    let now = chrono::Utc::now().timestamp();
    match crate::webhook::verify::verify(&secret, &headers, &body, now) {
        Ok(id) => {
            printer.out_verbatim(&format!("ok {id}"));
            Ok(ExitStatus::Success)
        }
        Err(why) => {
            printer.out_verbatim(&format!("invalid: {why}"));
            Ok(ExitStatus::Failure)
        }
    }
}
