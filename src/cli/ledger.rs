//! `scimport ledger`.

use super::{ExitStatus, Printer};

/// Subcommands of `scimport ledger`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

/// Runs `scimport ledger`.
pub fn run(cmd: Command, _printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cmd {}
}
