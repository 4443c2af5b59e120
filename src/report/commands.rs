//! The commands the report prints for the next step: retrying the failed rows
//! (with the run's own target flags, as `import` prints its hints) and verifying
//! the audit log against its head.
//!
//! Builds text only, from the run's recorded command line (the journal's meta,
//! already redacted; secrets are never flags); runs nothing.

use std::path::Path;

use crate::ledger::runs::RunInfo;
use crate::model::shell::shell_quote;

/// The flags that say which tenant a run talked to (`TargetArgs`), each taking a
/// value.
const TARGET_FLAGS: [&str; 6] = [
    "--profile",
    "--region",
    "--api-url",
    "--login-url",
    "--token-url",
    "--config",
];

/// The target flags of a recorded command line, as `--flag value` words, in the
/// order `TargetArgs::words` prints them.
pub fn target_words(args: &[String]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let Some(rank) = TARGET_FLAGS.iter().position(|f| *f == flag) else {
            continue;
        };
        let value = match value {
            Some(v) => v,
            None => match it.next() {
                Some(v) => v.clone(),
                None => continue,
            },
        };
        found.retain(|(r, _)| *r != rank);
        found.push((rank, format!("{flag} {}", shell_quote(&value))));
    }
    found.sort_by_key(|(r, _)| *r);
    found.into_iter().map(|(_, w)| w).collect()
}

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

/// `scimport import --retry-failed <id>` with the run's target flags, or `None`
/// for a dry run, a sync (which retries by running again) or a run against the
/// embedded emulator (which keeps no tenant to retry against).
pub fn retry_command(info: &RunInfo, runs_dir: &Path) -> Option<String> {
    if info.dry_run
        || info.command.as_deref() == Some("sync")
        || info.target.as_deref() == Some("embedded-emulator")
    {
        return None;
    }
    let mut words = vec![format!(
        "scimport import --retry-failed {}",
        shell_quote(&info.id)
    )];
    words.extend(target_words(&info.args));
    words.extend(runs_dir_words(runs_dir));
    Some(words.join(" "))
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

    fn info(args: &[&str], target: &str, dry_run: bool) -> RunInfo {
        RunInfo {
            id: "20261206T000000.000Z-abcd".into(),
            dir: "runs/x".into(),
            started: None,
            command: Some("import".into()),
            dry_run,
            target: Some(target.into()),
            args: args.iter().map(|s| s.to_string()).collect(),
            rows: None,
            outcomes: Default::default(),
            state: crate::ledger::runs::RunState::Finished,
        }
    }

    #[test]
    fn the_retry_command_keeps_the_target_flags_in_their_usual_order() {
        let i = info(
            &[
                "scimport",
                "import",
                "my hr.csv",
                "--mapping",
                "m.toml",
                "--login-url=http://127.0.0.1:9",
                "--api-url",
                "http://127.0.0.1:9",
                "--profile",
                "genesys",
                "--rate",
                "off",
            ],
            "http://127.0.0.1:9",
            false,
        );
        assert_eq!(
            retry_command(&i, Path::new("runs")).as_deref(),
            Some(
                "scimport import --retry-failed 20261206T000000.000Z-abcd --profile genesys \
                 --api-url http://127.0.0.1:9 --login-url http://127.0.0.1:9"
            )
        );
        assert!(
            retry_command(&i, Path::new("/tmp/my runs"))
                .unwrap()
                .ends_with("--runs-dir '/tmp/my runs'")
        );
    }

    #[test]
    fn no_retry_for_dry_runs_or_the_embedded_emulator() {
        assert_eq!(
            retry_command(&info(&[], "https://api.x", true), Path::new("runs")),
            None
        );
        assert_eq!(
            retry_command(&info(&[], "embedded-emulator", false), Path::new("runs")),
            None
        );
    }

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
