//! [`RunLock`]: the OS lock (`flock` on Unix, through std's `File::try_lock`) that
//! keeps two processes from working on one run directory at once.
//!
//! The lock lives on `runs/<run-id>/run.lock`. A process that writes the run
//! (a new run, a `--resume`) holds it exclusively and writes its pid into the file
//! so that a refused process can name it; a process that only reads the run
//! (a `--retry-failed` of it) holds it shared. The file is never removed (removing
//! a lock file races with a process that has just opened it) and its content is
//! only a hint: the kernel drops the lock when its holder exits, even on
//! `kill -9`, so a crash leaves nothing to clean by hand. Does not decide when a
//! run is locked (see `engine::resolve`), and never waits: a held run is an error
//! at once.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::run_dir::RunDir;

/// File name of the run's lock file.
pub const LOCK_FILE: &str = "run.lock";

/// Who holds a run that could not be locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A process working on the run, by pid.
    Process(u32),
    /// Processes reading the run (a `--retry-failed` of it).
    Readers,
    /// A process whose pid is not (yet) recorded.
    Unknown,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Process(pid) => write!(
                f,
                "process {pid} (an import, --resume or --retry-failed working on it)"
            ),
            Holder::Readers => f.write_str("a --retry-failed reading it"),
            Holder::Unknown => f.write_str("another scimport process"),
        }
    }
}

/// Why a run could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the run.
    #[error("run {run_id} is in use by {holder}; wait for it to end (or stop it), then try again")]
    Held {
        /// The run.
        run_id: String,
        /// Who holds it.
        holder: Holder,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened or locked.
    #[error(
        "cannot lock run {run_id} ({}); check that the runs dir is writable and on a filesystem with file locks",
        path.display()
    )]
    Io {
        /// The run.
        run_id: String,
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A held lock on a run directory; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    exclusive: bool,
}

impl RunLock {
    /// Locks `dir` for writing, at once or not at all: fails with
    /// [`LockError::Held`] while any other process holds it (for writing or
    /// reading). Records this process's pid in the lock file.
    pub fn acquire(dir: &RunDir) -> Result<RunLock, LockError> {
        let path = dir.root.join(LOCK_FILE);
        let io = |source| LockError::Io {
            run_id: dir.id.clone(),
            path: path.clone(),
            source,
        };
        // Not truncated on open: the holder's pid stays readable until we hold it.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    run_id: dir.id.clone(),
                    holder: holder(&file, &path),
                    path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(RunLock {
            file,
            exclusive: true,
        })
    }

    /// Locks `dir` for reading: other readers may hold it too, a writer may not.
    /// Fails with [`LockError::Held`] while a process works on the run. A run
    /// without a lock file was never locked, so nobody holds it: `None`, and
    /// nothing is written into it.
    pub fn acquire_shared(dir: &RunDir) -> Result<Option<RunLock>, LockError> {
        let path = dir.root.join(LOCK_FILE);
        let io = |source| LockError::Io {
            run_id: dir.id.clone(),
            path: path.clone(),
            source,
        };
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(RunLock {
                file,
                exclusive: false,
            })),
            Err(TryLockError::WouldBlock) => Err(LockError::Held {
                run_id: dir.id.clone(),
                holder: pid_in(&path).map_or(Holder::Unknown, Holder::Process),
                path,
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if self.exclusive {
            // Still held here: clearing the pid keeps a later reader from naming a
            // process that is gone. A crash skips this; the pid is then only stale.
            let _ = self.file.set_len(0);
        }
        // Closing the file releases the lock.
    }
}

/// Who holds the lock that `file` could not take exclusively: when a shared lock
/// can be had, only readers hold it; otherwise the writer whose pid is recorded.
fn holder(file: &File, path: &Path) -> Holder {
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Holder::Readers
        }
        Err(_) => pid_in(path).map_or(Holder::Unknown, Holder::Process),
    }
}

/// The pid recorded in a lock file, if any.
fn pid_in(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> (tempfile::TempDir, RunDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::create(&tmp.path().join("runs")).unwrap();
        (tmp, dir)
    }

    // flock locks belong to an open file, so a second open in this process
    // conflicts exactly as another process would.

    #[test]
    fn a_held_run_is_refused_naming_the_holder_and_free_again_after_drop() {
        let (_tmp, dir) = run();
        let lock = RunLock::acquire(&dir).unwrap();
        let pid = std::process::id();
        assert_eq!(pid_in(&dir.root.join(LOCK_FILE)), Some(pid));
        match RunLock::acquire(&dir) {
            Err(LockError::Held { run_id, holder, .. }) => {
                assert_eq!(run_id, dir.id);
                assert_eq!(holder, Holder::Process(pid));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        let err = RunLock::acquire_shared(&dir).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&dir.id), "{msg}");
        assert!(msg.contains(&format!("process {pid}")), "{msg}");
        // The refused attempt did not clear the holder's pid.
        assert_eq!(pid_in(&dir.root.join(LOCK_FILE)), Some(pid));
        drop(lock);
        assert_eq!(pid_in(&dir.root.join(LOCK_FILE)), None);
        let again = RunLock::acquire(&dir).unwrap();
        drop(again);
    }

    #[test]
    fn readers_share_and_keep_a_writer_out() {
        let (_tmp, dir) = run();
        drop(RunLock::acquire(&dir).unwrap()); // leaves the lock file
        let a = RunLock::acquire_shared(&dir)
            .unwrap()
            .expect("lock file exists");
        let b = RunLock::acquire_shared(&dir)
            .unwrap()
            .expect("lock file exists");
        match RunLock::acquire(&dir) {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder, Holder::Readers),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(a);
        assert!(RunLock::acquire(&dir).is_err(), "b still reads");
        drop(b);
        assert!(RunLock::acquire(&dir).is_ok());
    }

    #[test]
    fn a_run_without_a_lock_file_is_read_without_writing_one() {
        let (_tmp, dir) = run();
        assert!(RunLock::acquire_shared(&dir).unwrap().is_none());
        assert!(!dir.root.join(LOCK_FILE).exists());
    }

    #[test]
    fn a_stale_pid_left_by_a_crash_does_not_hold_the_run() {
        let (_tmp, dir) = run();
        std::fs::write(dir.root.join(LOCK_FILE), "999999999\n").unwrap();
        let lock = RunLock::acquire(&dir).unwrap();
        assert_eq!(pid_in(&dir.root.join(LOCK_FILE)), Some(std::process::id()));
        drop(lock);
    }
}
