//! `scimport audit`.

use super::{ExitStatus, Printer};

/// Subcommands of `scimport audit`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

/// Runs `scimport audit`.
pub fn run(cmd: Command, _printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cmd {}
}
