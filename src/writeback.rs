//! [`Writeback`]: syncs a file to disk in the background while it is still being
//! written, so that the sync that closes it only waits for the tail.
//!
//! A run's ledger and audit log are synced when they are closed. A million-row dry
//! run writes about 250 MB of audit and 60 MB of ledger, and the kernel's own
//! writeback rarely starts before the run ends (it waits for 10% of memory to be
//! dirty, or for 30 s), so that closing sync used to write it all while the run
//! waited: about half a second. Here a thread syncs a clone of the file's handle each
//! time another [`Writeback::new`]`(.., every)` bytes have been written; the writer
//! never waits for it (a sync asked for while one runs is folded into the next).
//!
//! A background sync that fails is not reported: the owner's own closing sync reports
//! the error (the kernel reports a writeback error to every handle open on the file).

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// Bytes written between two background syncs of the run's files.
pub const EVERY: u64 = 8 << 20;

/// A background syncer for one file. [`Writeback::finish`] stops it; dropping it
/// lets the thread end on its own after a sync in flight.
pub struct Writeback {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    every: u64,
    since: u64,
    syncs: Arc<AtomicU64>,
}

impl std::fmt::Debug for Writeback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writeback")
            .field("every", &self.every)
            .field("since", &self.since)
            .field("syncs", &self.syncs.load(Ordering::Relaxed))
            .finish()
    }
}

impl Writeback {
    /// Starts syncing `file` (through a clone of its handle) every `every` bytes the
    /// owner reports with [`Writeback::wrote`]. `name` names the thread.
    pub fn new(file: &File, name: &str, every: u64) -> io::Result<Self> {
        let file = file.try_clone()?;
        // One pending nudge at most: more while a sync runs fold into it.
        let (nudge, asked) = sync_channel::<()>(1);
        let syncs = Arc::new(AtomicU64::new(0));
        let done = Arc::clone(&syncs);
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                while asked.recv().is_ok() {
                    if let Err(e) = file.sync_data() {
                        tracing::debug!(error = %e, "background sync failed; the closing sync will report it");
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })?;
        Ok(Writeback {
            nudge: Some(nudge),
            thread: Some(thread),
            every: every.max(1),
            since: 0,
            syncs,
        })
    }

    /// Syncs every `every` bytes from now on.
    pub fn set_every(&mut self, every: u64) {
        self.every = every.max(1);
    }

    /// The owner handed `n` more bytes to the OS. Never blocks.
    pub fn wrote(&mut self, n: u64) {
        self.since += n;
        if self.since < self.every {
            return;
        }
        if let Some(nudge) = &self.nudge {
            match nudge.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => self.since = 0,
                Err(TrySendError::Disconnected(())) => self.nudge = None,
            }
        }
    }

    /// Stops the thread, after the sync it is running or has been asked for.
    /// Returns how many background syncs ran.
    pub fn finish(mut self) -> u64 {
        self.nudge = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.syncs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn syncs_once_enough_bytes_were_written_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = File::create(dir.path().join("f")).unwrap();
        let mut wb = Writeback::new(&file, "test-writeback", 1000).unwrap();
        file.write_all(&[b'x'; 999]).unwrap();
        wb.wrote(999);
        file.write_all(&[b'x'; 1]).unwrap();
        wb.wrote(1);
        // The nudge is queued before `finish` drops the sender, so it is served.
        assert!(wb.finish() >= 1);
    }

    #[test]
    fn below_the_threshold_nothing_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut wb = Writeback::new(&file, "test-writeback", 1000).unwrap();
        for _ in 0..9 {
            wb.wrote(100);
        }
        assert_eq!(wb.finish(), 0);
    }
}
