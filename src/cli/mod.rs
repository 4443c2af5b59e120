//! The command line: clap types, one file per subcommand, and the single place
//! where results become exit codes (`exit.rs`). `anyhow` lives only here.

pub mod args;
pub mod audit;
pub mod emulator;
pub mod exit;
pub(crate) mod human;
pub mod import;
pub mod init;
pub mod ledger;
pub mod logging;
pub mod printer;
pub mod report;
pub mod runs;
pub mod schema;
pub mod settings;
pub mod skills;
pub mod sync;
pub mod validate;
pub mod webhook;

use clap::{ArgAction, Parser, Subcommand};

pub use exit::ExitStatus;
pub use printer::Printer;

/// Make Genesys Cloud's users match an HR source, over SCIM 2.0.
#[derive(Debug, Parser)]
#[command(name = "scimport", version, about, propagate_version = true)]
pub struct Cli {
    /// Print less: no progress bars, only results and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log more on stderr: `-v` adds info lines, `-vv` debug lines (warnings are
    /// always shown). `RUST_LOG`, when set, replaces this.
    #[arg(long, short, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import an HR export into a tenant (creates, updates, reactivates; never deletes).
    #[command(after_help = command_help(IMPORT_PROFILES, IMPORT_EXITS))]
    Import(Box<import::Args>),
    /// Keep a tenant equal to a full HR export or a directory (LDAP, Active
    /// Directory): creates, updates, reactivates, and deactivates the managed users
    /// the source no longer has, behind guards.
    #[command(after_help = command_help("", SYNC_EXITS))]
    Sync(Box<sync::Args>),
    /// Parse, map and validate an HR export without sending anything.
    Validate(validate::Args),
    /// Write a commented starter mapping file, guessing from an input's header.
    Init(init::Args),
    /// Read a run's result ledger.
    #[command(subcommand)]
    Ledger(ledger::Command),
    /// List the runs, newest first: id, start, command, target, rows, state
    /// (finished, stopped, crashed, running) and outcomes. `latest` names the
    /// newest run wherever a run id is taken.
    Runs(runs::Args),
    /// Check a run's audit log.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Save the target's schemas as a baseline, report drift from it, and deploy
    /// custom extension schemas where the target allows it.
    #[command(subcommand)]
    Schema(schema::Command),
    /// Run a Genesys-compatible SCIM server in memory, for tests and first runs.
    #[command(after_help = EMULATOR_PROFILES)]
    Emulator(emulator::Args),
    /// Check that a run's routing skills and languages landed on its users.
    #[command(subcommand)]
    Skills(skills::Command),
    /// Check a webhook delivery the way a receiver would.
    #[command(subcommand)]
    Webhook(webhook::Command),
    /// Write a run's report.html: one self-contained page (outcomes, pace against
    /// the tenant's budget, latency, errors with the command that retries them,
    /// the audit head) and print its path. `latest` names the newest run.
    Report(report::Args),
}

/// `scimport import --help`: the two target profiles.
const IMPORT_PROFILES: &str = "\
Profiles (--profile):
  genesys (default)  Genesys Cloud or `scimport emulator`. --region, or --api-url (the
                     API host; SCIM is under /api/v2/scim/v2) and --login-url (tokens at
                     /oauth/token). Credentials: GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET.
  generic            Any RFC 7644 server. --api-url is the SCIM base URL itself (the one
                     /Users hangs under). Auth: a static bearer token in
                     SCIMPORT_BEARER_TOKEN (environment, .env or --config; never a flag),
                     or OAuth client credentials (GENESYS_CLIENT_ID/SECRET) at
                     --token-url. Endpoints come from /ResourceTypes; lookups use only
                     `userName eq` and `externalId eq`; map core (and enterprise)
                     attributes only (fixtures/generic-mapping.toml). Groups a row names
                     that the server lacks fail the row unless --create-groups is given.
";

/// The environment `import` and `sync` read (also from `.env`, or a `--config FILE`).
const ENVIRONMENT: &str = "\
Environment (also read from ./.env; a --config FILE takes them as client_id,
client_secret, region, api_url, login_url, bearer_token, webhook_secret, ldap_bind_dn,
ldap_password):
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  the OAuth client (Client Credentials grant)
  GENESYS_REGION                            the region, as --region
  GENESYS_API_URL, GENESYS_LOGIN_URL        the hosts, as --api-url / --login-url
  SCIMPORT_BEARER_TOKEN                     a static token (--profile generic)
  SCIMPORT_WEBHOOK_SECRET                   whsec_<base64>, for --webhook-url
  SCIMPORT_LDAP_BIND_DN, SCIMPORT_LDAP_PASSWORD  the directory bind (sync)
Secrets are never flags, and never printed.
";

/// `scimport import`'s exit codes.
const IMPORT_EXITS: &str = "\
Exit codes:
  0  every row done or already up to date (warnings, e.g. manager_unresolved, included)
  1  some rows failed or were invalid (failed.csv lists them; --retry-failed reruns them)
  2  usage or configuration, refused credentials, pre-flight or drift: nothing was sent
  3  stopped (breaker, Ctrl-C, SIGTERM): resume with --resume RUN_ID
  130  a second Ctrl-C quit at once: resume with --resume RUN_ID
";

/// `scimport sync`'s exit codes.
const SYNC_EXITS: &str = "\
Exit codes:
  0  the tenant matches the source
  1  some rows failed or were invalid
  2  usage or configuration, refused credentials, pre-flight or drift: nothing was sent
  3  stopped: finish with the same command and --resume RUN_ID
  4  a guard refused the source or held deactivations (see the printed command)
";

/// A command's `--help` epilogue: `extra`, then the environment, the exit codes
/// and the regions `--region` knows.
fn command_help(extra: &str, exits: &str) -> String {
    let regions = crate::scim::target::region_names().join(", ");
    let mut wrapped = String::new();
    let mut line = String::from(" ");
    for name in regions.split(", ") {
        if line.len() + name.len() + 2 > 86 {
            wrapped.push_str(&line);
            wrapped.push('\n');
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(name);
    }
    wrapped.push_str(&line);
    format!("{extra}\n{ENVIRONMENT}\n{exits}\nRegions (--region or GENESYS_REGION):\n{wrapped}\n")
}

/// `scimport emulator --help`: how each profile reaches the emulator.
const EMULATOR_PROFILES: &str = "\
Reaching the emulator (listening on http://127.0.0.1:PORT):
  --profile genesys (default)  scimport import --api-url http://127.0.0.1:PORT
                               with GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET set to the
                               emulator's client.
  --profile generic            scimport import --profile generic
                               --api-url http://127.0.0.1:PORT/api/v2/scim/v2
                               --token-url http://127.0.0.1:PORT/oauth/token
                               (the same client credentials). The emulator behaves like
                               Genesys either way: it cannot create groups.
";

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> ExitStatus {
    logging::install(cli.verbose);
    let printer = Printer::new(cli.quiet);
    let result = match cli.command {
        Command::Import(args) => import::run(*args, &printer),
        Command::Sync(args) => sync::run(*args, &printer),
        Command::Validate(args) => validate::run(args, &printer),
        Command::Init(args) => init::run(args, &printer),
        Command::Ledger(cmd) => ledger::run(cmd, &printer),
        Command::Runs(args) => runs::run(args, &printer),
        Command::Audit(cmd) => audit::run(cmd, &printer),
        Command::Schema(cmd) => schema::run(cmd, &printer),
        Command::Emulator(args) => emulator::run(args, &printer),
        Command::Skills(cmd) => skills::run(cmd, &printer),
        Command::Webhook(cmd) => webhook::run(cmd, &printer),
        Command::Report(args) => report::run(args, &printer),
    };
    exit::from_result(result, &printer)
}
