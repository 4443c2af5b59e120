//! [`PlanThread`]: a [`PlanWriter`] on a thread of its own, so that encoding,
//! compressing and hashing the plan overlap with planning instead of adding to it.
//! Users go over a bounded channel in batches (memory stays bounded; a full
//! channel makes the planner wait). A writer that fails says so at the next
//! write, and the run stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::PlannedUser;
use super::reader::PlanFileError;
use super::writer::{PlanWriter, PlanWritten};

/// Users per batch sent to the thread.
const BATCH: usize = 512;
/// Batches queued at most.
const QUEUED: usize = 8;

type Outcome = Result<PlanWritten, PlanFileError>;

/// A plan writer running on its own thread.
#[derive(Debug)]
pub struct PlanThread {
    tx: Option<SyncSender<Vec<PlannedUser>>>,
    batch: Vec<PlannedUser>,
    handle: Option<JoinHandle<Outcome>>,
    broken: Arc<AtomicBool>,
}

impl PlanThread {
    /// Starts `writer` on a thread of its own.
    pub fn spawn(mut writer: PlanWriter) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Vec<PlannedUser>>(QUEUED);
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        let handle = std::thread::Builder::new()
            .name("plan-writer".into())
            .spawn(move || {
                for batch in rx {
                    for u in batch {
                        if let Err(e) = writer.write(u) {
                            flag.store(true, Ordering::Release);
                            // The footer is not written: the plan is unusable.
                            writer.abandon();
                            return Err(e);
                        }
                    }
                }
                writer.close()
            })?;
        Ok(PlanThread {
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            handle: Some(handle),
            broken,
        })
    }

    /// Queues one user; `false` once the writer has failed (see [`PlanThread::close`]
    /// for why).
    pub fn write(&mut self, user: PlannedUser) -> bool {
        if self.broken.load(Ordering::Acquire) {
            return false;
        }
        self.batch.push(user);
        if self.batch.len() >= BATCH {
            return self.send();
        }
        true
    }

    fn send(&mut self) -> bool {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        match &self.tx {
            Some(tx) => tx.send(batch).is_ok(),
            None => false,
        }
    }

    /// Sends what is left, waits for the thread, and returns what was written (or
    /// why the plan could not be written).
    pub fn close(mut self) -> Outcome {
        if !self.batch.is_empty() {
            self.send();
        }
        self.tx = None;
        let path = || PlanFileError::Closed {
            path: std::path::PathBuf::from(super::PLAN_FILE),
        };
        match self.handle.take() {
            Some(h) => h.join().unwrap_or_else(|_| Err(path())),
            None => Err(path()),
        }
    }
}

impl Drop for PlanThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread (it then writes what it has).
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
