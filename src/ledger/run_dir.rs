//! The run directory `runs/<run-id>/`: the id format and the names of the files in it.

use std::path::{Path, PathBuf};

use rand::Rng;

use super::LedgerError;

/// File name of the Parquet ledger.
pub const LEDGER_FILE: &str = "ledger.parquet";
/// File name of the audit log.
pub const AUDIT_FILE: &str = "audit.jsonl";
/// File name of the run summary.
pub const SUMMARY_FILE: &str = "summary.json";
/// File name of the failed rows, ready to fix and feed back.
pub const FAILED_FILE: &str = "failed.csv";
/// File name of the write-ahead journal.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// The run id that names the newest run under a runs directory.
pub const LATEST: &str = "latest";

/// One run's directory, `runs/<run-id>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The directory.
    pub root: PathBuf,
    /// The run id (the directory's name).
    pub id: String,
}

impl RunDir {
    /// Creates a new run directory under `runs_dir` (created if missing) with a fresh,
    /// sortable id such as `20261123T061500.123Z-3fa2` (UTC time to the millisecond,
    /// then 4 random hex digits).
    pub fn create(runs_dir: &Path) -> std::io::Result<RunDir> {
        std::fs::create_dir_all(runs_dir)?;
        let mut rng = rand::rng();
        loop {
            let id = format!(
                "{}-{:04x}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
                rng.random::<u16>()
            );
            let root = runs_dir.join(&id);
            match std::fs::create_dir(&root) {
                Ok(()) => return Ok(RunDir { root, id }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens an existing run: `id_or_path` is a run id under `runs_dir`, `latest`
    /// (the newest run there), a path to a run directory, or a path to a file inside
    /// one (its parent is the run).
    pub fn open(runs_dir: &Path, id_or_path: &str) -> Result<RunDir, LedgerError> {
        if id_or_path == LATEST && !runs_dir.join(LATEST).exists() {
            return run_dirs(runs_dir)
                .into_iter()
                .next()
                .ok_or_else(|| LedgerError::NoRun {
                    id: LATEST.to_string(),
                    looked_at: runs_dir.to_path_buf(),
                });
        }
        let given = Path::new(id_or_path);
        let candidates = [runs_dir.join(id_or_path), given.to_path_buf()];
        for c in candidates {
            if c.is_dir() {
                return Ok(Self::at(c));
            }
            if c.is_file()
                && let Some(parent) = c.parent()
            {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                return Ok(Self::at(parent.to_path_buf()));
            }
        }
        Err(LedgerError::NoRun {
            id: id_or_path.to_string(),
            looked_at: runs_dir.join(id_or_path),
        })
    }

    /// Resolves a command's `<run-id|path>` argument to a file of the run: a path to a
    /// file is used as is; a run id or directory gives its `name` file.
    pub fn resolve_file(
        runs_dir: &Path,
        id_or_path: &str,
        name: &str,
    ) -> Result<(RunDir, PathBuf), LedgerError> {
        let given = Path::new(id_or_path);
        let run = RunDir::open(runs_dir, id_or_path)?;
        if given.is_file() && !runs_dir.join(id_or_path).is_dir() {
            return Ok((run, given.to_path_buf()));
        }
        let file = run.root.join(name);
        Ok((run, file))
    }

    /// A run directory at `root` (not checked); the id is its last component.
    pub fn at(root: PathBuf) -> RunDir {
        let id = root
            .canonicalize()
            .ok()
            .as_deref()
            .unwrap_or(&root)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        RunDir { root, id }
    }

    /// `ledger.parquet`.
    pub fn ledger_path(&self) -> PathBuf {
        self.root.join(LEDGER_FILE)
    }
    /// `audit.jsonl`.
    pub fn audit_path(&self) -> PathBuf {
        self.root.join(AUDIT_FILE)
    }
    /// `summary.json`.
    pub fn summary_path(&self) -> PathBuf {
        self.root.join(SUMMARY_FILE)
    }
    /// `failed.csv`.
    pub fn failed_path(&self) -> PathBuf {
        self.root.join(FAILED_FILE)
    }
    /// `journal.jsonl`.
    pub fn journal_path(&self) -> PathBuf {
        self.root.join(JOURNAL_FILE)
    }
}

/// Whether `name` looks like a run id (`20261123T061500.123Z-3fa2`).
pub fn is_run_id(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 20 && b[..8].iter().all(u8::is_ascii_digit) && b[8] == b'T' && name.contains('Z')
}

/// The run directories under `runs_dir`, newest first (ids sort by time).
pub fn run_dirs(runs_dir: &Path) -> Vec<RunDir> {
    let mut out: Vec<RunDir> = std::fs::read_dir(runs_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| {
                    let id = e.file_name().to_str()?.to_string();
                    is_run_id(&id).then(|| RunDir { root: e.path(), id })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| b.id.cmp(&a.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_told_from_other_directories() {
        assert!(is_run_id("20261206T054019.882Z-2214"));
        for not in ["sync-state", ".snapshots", "latest", "2026"] {
            assert!(!is_run_id(not), "{not}");
        }
    }

    #[test]
    fn create_makes_distinct_sortable_ids_and_open_finds_them() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path().join("runs");
        let a = RunDir::create(&runs).unwrap();
        let b = RunDir::create(&runs).unwrap();
        assert_ne!(a.id, b.id);
        assert!(a.root.is_dir());
        let re = regex::Regex::new(r"^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4}$").unwrap();
        assert!(re.is_match(&a.id), "{}", a.id);

        let by_id = RunDir::open(&runs, &a.id).unwrap();
        assert_eq!(by_id.id, a.id);
        let by_path = RunDir::open(Path::new("elsewhere"), a.root.to_str().unwrap()).unwrap();
        assert_eq!(by_path.id, a.id);
        std::fs::write(a.audit_path(), "").unwrap();
        let by_file =
            RunDir::open(Path::new("elsewhere"), a.audit_path().to_str().unwrap()).unwrap();
        assert_eq!(by_file.id, a.id);
        assert!(matches!(
            RunDir::open(&runs, "nope"),
            Err(LedgerError::NoRun { .. })
        ));
    }
}
