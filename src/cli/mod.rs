//! The command line: clap types, one file per subcommand, and the single place
//! where results become exit codes (`exit.rs`). `anyhow` lives only here.

pub mod args;
pub mod audit;
pub mod emulator;
pub mod exit;
pub mod import;
pub mod init;
pub mod ledger;
pub mod logging;
pub mod printer;
pub mod settings;
pub mod validate;

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
    Import(Box<import::Args>),
    /// Parse, map and validate an HR export without sending anything.
    Validate(validate::Args),
    /// Write a commented starter mapping file, guessing from an input's header.
    Init(init::Args),
    /// Read a run's result ledger.
    #[command(subcommand)]
    Ledger(ledger::Command),
    /// Check a run's audit log.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Run a Genesys-compatible SCIM server in memory, for tests and first runs.
    Emulator(emulator::Args),
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> ExitStatus {
    logging::install(cli.verbose);
    let printer = Printer::new(cli.quiet);
    let result = match cli.command {
        Command::Import(args) => import::run(*args, &printer),
        Command::Validate(args) => validate::run(args, &printer),
        Command::Init(args) => init::run(args, &printer),
        Command::Ledger(cmd) => ledger::run(cmd, &printer),
        Command::Audit(cmd) => audit::run(cmd, &printer),
        Command::Emulator(args) => emulator::run(args, &printer),
    };
    exit::from_result(result, &printer)
}
