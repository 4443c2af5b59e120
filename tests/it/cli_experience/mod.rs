//! Issue 19: the command line an admin trusts at 2 a.m., point by point, over the
//! real binary (the numbers in each test's name and doc).

mod failures;
mod flags;
mod managers;
mod next_steps;
mod summaries;

pub use crate::common::show;

/// `scimport ARGS` with no target in the environment: the embedded emulator.
pub fn embedded(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(args)
        .env_remove("GENESYS_REGION")
        .env_remove("GENESYS_API_URL")
        .output()
        .expect("run scimport")
}
