//! Owns stdout/stderr and quietness so commands never print directly. A closed pipe
//! on stdout is not an error (as in ripgrep): output stops, the exit code stands.
//! Every line has the process's secrets masked by value (`secrets::scrub`) on its way
//! out. Pattern redaction is not applied here: server text is redacted where it
//! becomes an error, and patterns would mangle scimport's own output (a `"token":`
//! counter in a summary).

use std::io::Write;

use crate::secrets::scrub;

/// Where a command's human output goes.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
}

impl Printer {
    /// A printer; `quiet` hides progress and informational lines.
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }
    /// Whether progress bars and chatter are hidden.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }
    /// A result line on stdout (always printed).
    pub fn out(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", scrub(line));
        let _ = out.flush();
    }
    /// A result line on stdout made only by scimport (a hash, an id), printed as is:
    /// it holds no outside text, and must stay exact even if a very short client
    /// secret spells part of it (see `secrets` on short values).
    pub fn out_verbatim(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    /// An informational line on stderr (hidden when quiet).
    pub fn info(&self, line: &str) {
        if !self.quiet {
            eprintln!("{}", scrub(line));
        }
    }
    /// A line on stderr that must be seen even when quiet (a stop under way).
    pub fn notice(&self, line: &str) {
        eprintln!("{line}");
    }
    /// An error line on stderr (always printed).
    pub fn error(&self, line: &str) {
        eprintln!("error: {}", scrub(line));
    }
}
