//! The command the report prints to verify the audit log against its head. (The
//! retry command is `ledger::runs::RunInfo::retry_command`, the one place that
//! builds it from the run's recorded command line.)
//!
//! Builds text only; runs nothing.

use std::path::Path;

use crate::model::shell::shell_quote;

/// `--runs-dir DIR` when `runs_dir` is not the default `runs`.
fn runs_dir_words(runs_dir: &Path) -> Vec<String> {
    if runs_dir == Path::new("runs") {
        Vec::new()
    } else {
        vec![format!(
            "--runs-dir {}",
            shell_quote(&runs_dir.display().to_string())
        )]
    }
}

/// `scimport audit verify <id>`, with `--expect-head` when the head is known.
pub fn verify_command(id: &str, runs_dir: &Path, head: Option<&str>) -> String {
    let mut words = vec![format!("scimport audit verify {}", shell_quote(id))];
    words.extend(runs_dir_words(runs_dir));
    if let Some(h) = head.filter(|h| !h.is_empty()) {
        words.push(format!("--expect-head {}", shell_quote(h)));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verify_command_names_the_head() {
        assert_eq!(
            verify_command("r1", Path::new("runs"), Some("ab12")),
            "scimport audit verify r1 --expect-head ab12"
        );
        assert_eq!(
            verify_command("r1", Path::new("d"), None),
            "scimport audit verify r1 --runs-dir d"
        );
    }
}
