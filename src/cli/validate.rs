//! `scimport validate`.

use super::{ExitStatus, Printer};

/// Arguments of `scimport validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `scimport validate`.
pub fn run(_args: Args, _printer: &Printer) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`scimport validate` is not built yet")
}
