//! A directory source read once, whole, into an NDJSON snapshot (one object per
//! entry, its columns as keys) that the survey and the engine then read like any
//! export: the same mapping, validation, duplicate checks and failed.csv. The
//! snapshot is private to its owner and removed when the sync ends (kept while its
//! run can be resumed; snapshots older than [`KEEP_STOPPED`] are removed by the next
//! directory sync, since they name people).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::source::ldap::{Directory, LdapError, LdapSpec, read_directory};
use crate::source::{Format, InputSpec};

/// How long the snapshot of a stopped or killed run stays for `--resume`.
pub const KEEP_STOPPED: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Removes the snapshots in `dir` older than `max_age`; returns how many.
pub fn prune(dir: &Path, max_age: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name().to_string_lossy().starts_with("directory-")
                && e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > max_age))
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// A snapshot file, removed on drop.
#[derive(Debug)]
pub struct Snapshot {
    path: PathBuf,
}

impl Snapshot {
    /// The snapshot as an input.
    pub fn spec(&self) -> InputSpec {
        let mut s = InputSpec::new(&self.path);
        s.format = Some(Format::Ndjson);
        s
    }
}

impl Snapshot {
    /// Keeps the file (its run stopped and may be resumed from it).
    pub fn keep(mut self) {
        self.path = PathBuf::new();
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Why a directory could not be snapshotted.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The directory read failed.
    #[error(transparent)]
    Ldap(#[from] LdapError),
    /// The snapshot could not be written.
    #[error("cannot write the directory snapshot {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Reads the whole directory and writes it under `dir`; `on_entries` hears the
/// running entry count.
pub async fn snapshot(
    spec: &LdapSpec,
    dir: &Path,
    on_entries: &(dyn Fn(u64) + Sync),
) -> Result<(Snapshot, Directory), SnapshotError> {
    let removed = prune(dir, KEEP_STOPPED);
    if removed > 0 {
        tracing::info!("removed {removed} directory snapshots older than 7 days");
    }
    let directory = read_directory(spec, on_entries).await?;
    let path = dir.join(format!(
        "directory-{}-{}.ndjson",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        std::process::id()
    ));
    let io = |source| SnapshotError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let snap = Snapshot { path: path.clone() };
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut w = BufWriter::new(o.open(&path).map_err(io)?);
    for r in &directory.records {
        let obj: serde_json::Map<String, serde_json::Value> = directory
            .header
            .iter()
            .zip(&r.fields)
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::to_writer(&mut w, &obj).map_err(|e| io(e.into()))?;
        w.write_all(b"\n").map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok((snap, directory))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_old_snapshots_are_pruned_and_recent_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("directory-old.ndjson");
        let new = dir.path().join("directory-new.ndjson");
        let other = dir.path().join("notes.txt");
        for p in [&old, &new, &other] {
            std::fs::write(p, "{}\n").unwrap();
        }
        let week_ago =
            std::time::SystemTime::now() - KEEP_STOPPED - std::time::Duration::from_secs(60);
        for p in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(week_ago)
                .unwrap();
        }
        assert_eq!(prune(dir.path(), KEEP_STOPPED), 1);
        assert!(!old.exists());
        assert!(new.exists(), "a recent snapshot may still be resumed");
        assert!(other.exists(), "only snapshots are removed");
        assert_eq!(prune(&dir.path().join("missing"), KEEP_STOPPED), 0);
    }
}
