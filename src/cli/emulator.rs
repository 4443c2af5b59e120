//! `scimport emulator`: runs the Genesys-compatible SCIM server until Ctrl-C or
//! SIGTERM. Prints `listening on http://127.0.0.1:PORT` on stdout once ready, and the
//! generated credentials when none were given (for local use only).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::{ExitStatus, Printer};
use crate::emulator::config::parse_probability;
use crate::emulator::config::{ErrorShape, UnknownAttributes};
use crate::emulator::{EmulatorConfig, LargePages, LatencyRange, RateLimitSpec, VersionConflict};

/// Arguments of `scimport emulator` (boxed: the flags are many, and the
/// `Command` enum stays small).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flags.
    #[command(flatten)]
    pub flags: Box<Flags>,
}

/// The flags of `scimport emulator`.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// OAuth client id to accept (random when omitted, printed at start).
    #[arg(long, env = "SCIMPORT_EMULATOR_CLIENT_ID")]
    pub client_id: Option<String>,
    /// OAuth client secret to accept (random when omitted, printed at start).
    #[arg(long, env = "SCIMPORT_EMULATOR_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Lifetime of issued tokens in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub token_ttl: u64,
    /// Requests per OAuth client: `N/min`, `N/s` or `off`.
    #[arg(long, default_value = "300/min")]
    pub rate_limit: RateLimitSpec,
    /// Probability (0..1) of a random 500/502/503 on an API request.
    #[arg(long, default_value = "0", value_parser = parse_probability)]
    pub fail_rate: f64,
    /// Probability (0..1) that an API request's connection is closed unanswered.
    #[arg(long, default_value = "0", value_parser = parse_probability)]
    pub drop_rate: f64,
    /// Added latency per API request: `MIN..MAX` milliseconds.
    #[arg(long)]
    pub latency_ms: Option<LatencyRange>,
    /// Seed making every random choice deterministic.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Accept the whole RFC 7644 filter grammar, not only Genesys's `eq` forms.
    #[arg(long)]
    pub lenient_filters: bool,
    /// A list page above 25 without `attributes`/`excludedAttributes`: `refuse`
    /// answers 429 `too.many.requests` (Genesys warns such pages may), `allow` serves
    /// it. Pages above `filter.maxResults` (200) are always a 400 `tooMany`.
    #[arg(long, default_value = "refuse", value_name = "refuse|allow")]
    pub large_pages: LargePages,
    /// Withdraw PERMISSION (e.g. `directory:user:add`, `routing:skill:assign`) from the
    /// emulator's OAuth client; a call that needs it gets 403 `missing.permissions`.
    /// Repeatable. The tenant file's `clients` grants are applied first.
    #[arg(long, value_name = "PERMISSION", value_parser = known_permission)]
    pub deny: Vec<String>,
    /// Status for an If-Match mismatch: 400 (invalidVers), 409 or 412.
    #[arg(long, default_value = "400")]
    pub version_conflict: VersionConflict,
    /// A user body with an attribute or schema URN a Genesys user lacks (core
    /// `name`, `addresses`, a custom extension...): `reject` answers 400
    /// invalidSyntax naming it; `ignore` drops it unstored.
    #[arg(long, default_value = "reject")]
    pub unknown_attributes: UnknownAttributes,
    /// Body of 400 answers: `platform` (the ErrorBody the Genesys spec declares,
    /// scimType in messageParams) or `scim` (RFC 7644 Error). A 400 invalidVers is
    /// always a SCIM error.
    #[arg(long, default_value = "platform")]
    pub error_shape: ErrorShape,
    /// Tenant catalogue file (JSON: skills, languages, roles, groups, divisions, and
    /// optionally `clients`: OAuth client id -> the permissions it holds).
    #[arg(long)]
    pub tenant: Option<PathBuf>,
    /// Serve this file's Schema resources (a ListResponse or a JSON array) at
    /// /schemas instead of the built-in ones, e.g. to test `scimport schema diff`.
    /// Only the documents change: users are still handled as Genesys does.
    #[arg(long, value_name = "FILE")]
    pub schemas: Option<PathBuf>,
    /// Accept custom extension schemas: `POST /schemas` (what `scimport schema
    /// extend` sends) deploys one (at most 10; 409 for a URN that exists, 400
    /// invalidValue for an invalid one), lists it in the User resource type and
    /// stores its attributes on users (type, readOnly and canonicalValues
    /// enforced). Off by default, as on Genesys, whose schemas are read-only
    /// (POST /schemas answers 405). --state saves deployed extensions too.
    #[arg(long)]
    pub schema_extensions: bool,
    /// Create N deterministic, realistic users at start.
    #[arg(long, default_value_t = 0)]
    pub seed_users: u64,
    /// Load the tenant from FILE at start (if it exists) and save it there on shutdown.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Largest accepted request body in bytes (413 above it).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds a connection may take to send a request head (also the idle limit of
    /// a kept-alive connection; slower ones are closed), and then its body (408).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Most connections served at once; more wait in the listen backlog until one
    /// closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Seconds requests in flight may take to finish on shutdown before `--state` is
    /// saved (connections still open then are cut, unanswered).
    #[arg(long, default_value_t = 10)]
    pub drain_timeout: u64,
    /// Fault injection: SCIM writes accept and echo routing skill NAME (and SCIM
    /// reads show it), but the platform API's view of the user's skills
    /// (`GET /api/v2/users/{id}/routingskills`) never holds it, as when a skill
    /// assignment did not take. For testing `scimport skills verify`. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub drop_skill: Vec<String>,
}

impl Args {
    /// The emulator configuration these flags describe.
    pub fn config(&self) -> EmulatorConfig {
        self.flags.config()
    }
}

impl Flags {
    /// The emulator configuration these flags describe.
    pub fn config(&self) -> EmulatorConfig {
        let mut cfg = EmulatorConfig::default();
        if let (Some(id), Some(secret)) = (&self.client_id, &self.client_secret) {
            cfg.client_id = id.clone();
            cfg.client_secret = secret.clone();
            cfg.generated_credentials = false;
        } else if let Some(id) = &self.client_id {
            cfg.client_id = id.clone();
        }
        cfg.listen = self.listen;
        cfg.token_ttl_secs = self.token_ttl;
        cfg.rate_limit_per_minute = self.rate_limit.0;
        cfg.fail_rate = self.fail_rate;
        cfg.drop_rate = self.drop_rate;
        cfg.latency_ms = self.latency_ms;
        cfg.seed = self.seed;
        cfg.lenient_filters = self.lenient_filters;
        cfg.large_pages = self.large_pages;
        cfg.deny = self.deny.clone();
        cfg.version_conflict = self.version_conflict;
        cfg.unknown_attributes = self.unknown_attributes;
        cfg.error_shape = self.error_shape;
        cfg.tenant = self.tenant.clone();
        cfg.schemas = self.schemas.clone();
        cfg.schema_extensions = self.schema_extensions;
        cfg.seed_users = self.seed_users;
        cfg.state = self.state.clone();
        cfg.max_body_bytes = self.max_body_bytes;
        cfg.header_read_timeout = Duration::from_secs(self.header_read_timeout);
        cfg.max_connections = usize::try_from(self.max_connections).unwrap_or(usize::MAX);
        cfg.drop_skill = self.drop_skill.clone();
        cfg.drain_timeout = Duration::from_secs(self.drain_timeout);
        cfg
    }
}

/// Runs `scimport emulator` until Ctrl-C or SIGTERM.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let cfg = args.config();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let existed = cfg.state.as_ref().is_some_and(|p| p.exists());
        let handle = crate::emulator::spawn(cfg.clone())
            .await
            .context("cannot start the emulator")?;
        if cfg.generated_credentials {
            printer.info(&format!(
                "generated credentials (local use only): client id {} secret {}",
                handle.client_id(),
                handle.client_secret()
            ));
        }
        printer.out(&format!("listening on {}", handle.url()));
        if let Some(path) = &cfg.state {
            if existed {
                printer.out(&format!(
                    "state: loaded {} users from {}",
                    handle.users().len(),
                    path.display()
                ));
            } else {
                printer.out(&format!(
                    "state: {} does not exist yet; the tenant is written there when the emulator stops",
                    path.display()
                ));
            }
        }
        wait_for_signal().await;
        printer.info("stopping: no new connections; finishing the requests in flight");
        let state = cfg.state.clone();
        match handle.stop().await {
            Ok(Some(users)) => printer.out(&format!(
                "state: saved {users} users to {} (restart with the same --state to keep them; a new port is the same tenant: resume with --allow-target-change)",
                state.as_deref().unwrap_or(std::path::Path::new("?")).display()
            )),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "emulator state not saved");
                return Ok(ExitStatus::Failure);
            }
        }
        Ok(ExitStatus::Success)
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `--deny`'s value: one of the permissions the emulator checks (a misspelt one
/// would silently deny nothing).
fn known_permission(s: &str) -> Result<String, String> {
    let p = s.trim();
    if crate::emulator::permissions::KNOWN.contains(&p) {
        Ok(p.to_string())
    } else {
        Err(format!(
            "the emulator checks no permission named {p:?}; known: {}",
            crate::emulator::permissions::KNOWN.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};
    use crate::emulator::LargePages;

    #[test]
    fn deny_repeats_and_large_pages_parses() {
        let cli = Cli::try_parse_from([
            "scimport",
            "emulator",
            "--deny",
            "directory:user:add",
            "--deny",
            "routing:skill:assign",
            "--large-pages",
            "allow",
        ])
        .unwrap();
        let Command::Emulator(args) = cli.command else {
            panic!("not the emulator command");
        };
        let cfg = args.config();
        assert_eq!(cfg.deny, ["directory:user:add", "routing:skill:assign"]);
        assert_eq!(cfg.large_pages, LargePages::Allow);
        let cli = Cli::try_parse_from(["scimport", "emulator"]).unwrap();
        let Command::Emulator(args) = cli.command else {
            panic!("not the emulator command");
        };
        assert_eq!(args.config().large_pages, LargePages::Refuse);
        assert!(Cli::try_parse_from(["scimport", "emulator", "--large-pages", "yes"]).is_err());
        let Err(err) = Cli::try_parse_from(["scimport", "emulator", "--deny", "directory:usr:add"])
        else {
            panic!("a misspelt permission is refused");
        };
        assert!(err.to_string().contains("directory:user:add"), "{err}");
    }
}
