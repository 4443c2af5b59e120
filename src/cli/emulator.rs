//! `scimport emulator`.

use super::{ExitStatus, Printer};

/// Arguments of `scimport emulator`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `scimport emulator`.
pub fn run(_args: Args, _printer: &Printer) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`scimport emulator` is not built yet")
}
