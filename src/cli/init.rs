//! `scimport init`.

use super::{ExitStatus, Printer};

/// Arguments of `scimport init`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `scimport init`.
pub fn run(_args: Args, _printer: &Printer) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`scimport init` is not built yet")
}
