//! [`RunMeta`]: what a run was started with, stored as the journal's first line so a
//! resume can check it continues the same work. Secrets never get in: arguments and
//! the target URL are redacted.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::redact;

/// A run's identity and inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    /// The run id.
    pub run_id: String,
    /// The input file.
    pub input: PathBuf,
    /// SHA-256 (hex) of the input file, so a resume refuses a changed input.
    pub input_sha256: String,
    /// The mapping file.
    pub mapping: PathBuf,
    /// The API base URL (no credentials), or `embedded` for the in-process emulator.
    pub target: String,
    /// Whether this is a dry run.
    pub dry_run: bool,
    /// When the run started.
    pub created_at: DateTime<Utc>,
    /// The command line, redacted (see [`redact_args`]).
    pub args: Vec<String>,
    /// The input column holding row numbers (a fed-back failed.csv), if any.
    #[serde(default)]
    pub row_column: Option<String>,
    /// The rows this run covers, when it covers only some (`--retry-failed`).
    #[serde(default)]
    pub only_rows: Option<Vec<u64>>,
}

impl RunMeta {
    /// SHA-256 (hex) of a file's bytes, for [`RunMeta::input_sha256`].
    pub fn hash_input(path: &std::path::Path) -> std::io::Result<String> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// The same meta with `args` and `target` redacted (applied by `Journal::create`).
    pub fn redacted(&self) -> RunMeta {
        RunMeta {
            target: redact(&self.target).into_owned(),
            args: redact_args(self.args.iter().cloned()),
            ..self.clone()
        }
    }
}

/// Words that make a flag's value secret.
const SECRET_WORDS: [&str; 11] = [
    "secret",
    "token",
    "password",
    "passwd",
    "pass",
    "key",
    "apikey",
    "credential",
    "credentials",
    "auth",
    "authorization",
];
/// Last words that make a flag's value not secret even so (`--token-ttl 60`).
const HARMLESS_LAST: [&str; 5] = ["ttl", "file", "path", "url", "dir"];

fn is_secret_flag(flag: &str) -> bool {
    let name = flag.trim_start_matches('-').to_ascii_lowercase();
    let words: Vec<&str> = name.split(['-', '_']).collect();
    words.iter().any(|w| SECRET_WORDS.contains(w))
        && !words.last().is_some_and(|w| HARMLESS_LAST.contains(w))
}

/// Redacts a command line: the value of any secret-looking flag (`--client-secret X`,
/// `--token=X`) becomes `***`, and free-text secrets (`Bearer`, URL passwords,
/// `client_secret=`) are hidden in every argument.
pub fn redact_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            hide_next = false;
            if !arg.starts_with('-') {
                out.push("***".to_string());
                continue;
            }
        }
        if arg.starts_with('-') && arg != "-" && arg != "--" {
            if let Some((flag, _)) = arg.split_once('=') {
                if is_secret_flag(flag) {
                    out.push(format!("{flag}=***"));
                    continue;
                }
            } else if is_secret_flag(&arg) {
                hide_next = true;
            }
        }
        out.push(redact(&arg).into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn hash_input_is_sha256_hex() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("in.csv");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(
            RunMeta::hash_input(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secret_flags_and_values_are_hidden() {
        let got = redact_args(s(&[
            "scimport",
            "import",
            "hr.csv",
            "--client-secret",
            "S1",
            "--token=S2",
            "--api-url",
            "https://u:S3@api.example.com",
            "--token-ttl",
            "60",
            "--password",
            "--dry-run",
            "--api-key",
            "S4",
        ]));
        assert_eq!(
            got,
            s(&[
                "scimport",
                "import",
                "hr.csv",
                "--client-secret",
                "***",
                "--token=***",
                "--api-url",
                "https://u:***@api.example.com",
                "--token-ttl",
                "60",
                "--password",
                "--dry-run",
                "--api-key",
                "***",
            ])
        );
        for secret in ["S1", "S2", "S3", "S4"] {
            assert!(!got.concat().contains(secret), "{secret} leaked");
        }
    }
}
