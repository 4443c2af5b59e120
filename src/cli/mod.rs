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
    #[command(after_help = IMPORT_PROFILES)]
    Import(Box<import::Args>),
    /// Keep a tenant equal to a full HR export or a directory (LDAP, Active
    /// Directory): creates, updates, reactivates, and deactivates the managed users
    /// the source no longer has, behind guards.
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
    };
    exit::from_result(result, &printer)
}
