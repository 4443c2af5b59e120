//! `scimport import`.

use super::{ExitStatus, Printer};

/// Arguments of `scimport import`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `scimport import`.
pub fn run(_args: Args, _printer: &Printer) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`scimport import` is not built yet")
}
