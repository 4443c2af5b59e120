//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under fixtures/.
pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(name)
}

/// The Python with pyarrow and duckdb that scripts/test prepares.
pub fn python() -> String {
    std::env::var("SCIMPORT_PYTHON")
        .unwrap_or_else(|_| root().join("target/pyenv/bin/python").display().to_string())
}
