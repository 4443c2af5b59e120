//! [`Journal`]: the journal file, its writer and its replay.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::outbox::{Delivered, OutboxItem, OutboxState, Undeliverable};
use super::{JournalError, RunMeta};
use crate::ledger::LedgerRow;
use crate::model::{Action, Outcome};

/// A mutating call about to be made for a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The 1-based input row.
    pub row: u64,
    /// The action about to be applied.
    pub action: Action,
    /// The key a lookup will use to reconcile it (externalId, or userName).
    pub key: String,
    /// When the intent was recorded.
    pub at: DateTime<Utc>,
}

/// One journal line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Entry {
    Meta(RunMeta),
    Intent(Intent),
    Outcome(LedgerRow),
    Event(OutboxItem),
    Delivered(Delivered),
    Undeliverable(Undeliverable),
}

/// Borrowed twin of [`Entry`] for writing without cloning.
#[derive(Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum EntryRef<'a> {
    Meta(&'a RunMeta),
    Intent(&'a Intent),
    Outcome(&'a LedgerRow),
    Event(&'a OutboxItem),
    Delivered(&'a Delivered),
    Undeliverable(&'a Undeliverable),
}

/// When journal lines are forced to disk with `fsync` (they always reach the kernel
/// before the call returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// `fsync` after every line: survives power loss line by line; slow on real disks.
    EveryLine,
    /// `fsync` once this many lines or this much time has passed since the last one
    /// (checked when a line is written), and on close.
    Batched {
        /// Lines between syncs.
        lines: u32,
        /// Time between syncs.
        interval: Duration,
    },
    /// Never `fsync` except on close (tests, benchmarks).
    OnClose,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy::Batched {
            lines: 8192,
            interval: Duration::from_secs(1),
        }
    }
}

/// What a journal says about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalState {
    /// The run's meta (line 1).
    pub meta: RunMeta,
    /// Rows with a recorded outcome (the latest one), by row.
    pub done: BTreeMap<u64, LedgerRow>,
    /// Rows whose latest entry is an intent: the call may or may not have happened.
    pub in_flight: BTreeMap<u64, Intent>,
    /// Complete lines replayed.
    pub lines: u64,
    /// Bytes of a torn last line that were ignored.
    pub torn_bytes: u64,
    /// The outbox: deliveries journaled and how they ended.
    pub outbox: OutboxState,
}

impl JournalState {
    /// True when `row` has a final outcome (anything but `pending`) and is not in
    /// flight again.
    pub fn is_done(&self, row: u64) -> bool {
        self.done
            .get(&row)
            .is_some_and(|r| r.outcome != Outcome::Pending)
    }
}

/// An open journal. Appends are written straight to the file (no user-space buffer).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    policy: SyncPolicy,
    unsynced: u32,
    last_sync: Instant,
    buf: Vec<u8>,
}

impl Journal {
    /// Creates a journal at `path` (which must not exist) and writes `meta` (redacted)
    /// as its first line, synced to disk.
    pub fn create(path: &Path, meta: &RunMeta) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(JournalError::io("create", path))?;
        let mut j = Journal::with_file(path, file);
        j.append(&EntryRef::Meta(&meta.redacted()))?;
        j.sync()?;
        Ok(j)
    }

    /// Opens an existing journal to continue it: replays it (a torn last line is
    /// ignored and cut off) and returns the journal, positioned at its end, with
    /// the replayed state.
    pub fn open(path: &Path) -> Result<(Self, JournalState), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(JournalError::io("open", path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(JournalError::io("read", path))?;
        let (state, good_len) = replay_bytes(path, &bytes)?;
        if good_len < bytes.len() {
            file.set_len(good_len as u64)
                .map_err(JournalError::io("truncate", path))?;
            file.sync_data().map_err(JournalError::io("sync", path))?;
        }
        file.seek(SeekFrom::End(0))
            .map_err(JournalError::io("seek", path))?;
        Ok((Journal::with_file(path, file), state))
    }

    /// Replays a journal without opening it for writing (nothing is truncated).
    pub fn replay(path: &Path) -> Result<JournalState, JournalError> {
        let bytes = std::fs::read(path).map_err(JournalError::io("read", path))?;
        Ok(replay_bytes(path, &bytes)?.0)
    }

    fn with_file(path: &Path, file: File) -> Self {
        Journal {
            path: path.to_path_buf(),
            file,
            policy: SyncPolicy::default(),
            unsynced: 0,
            last_sync: Instant::now(),
            buf: Vec::with_capacity(512),
        }
    }

    /// Sets the fsync policy (default: batched, 8192 lines or 1 s).
    pub fn set_sync_policy(&mut self, policy: SyncPolicy) {
        self.policy = policy;
    }

    /// Records that `action` is about to be applied to `row` (reconcilable by `key`).
    /// The line has reached the kernel when this returns: make the call after it.
    pub fn intent(&mut self, row: u64, action: Action, key: &str) -> Result<(), JournalError> {
        let intent = Intent {
            row,
            action,
            key: key.to_string(),
            at: Utc::now(),
        };
        self.append(&EntryRef::Intent(&intent))
    }

    /// Records a row's final state.
    pub fn outcome(&mut self, row: &LedgerRow) -> Result<(), JournalError> {
        // The error may quote a server that echoed a secret: redacted, like the ledger.
        if let Some(err) = row.error.as_deref()
            && let std::borrow::Cow::Owned(clean) = crate::secrets::scrub(err)
        {
            let mut row = row.clone();
            row.error = Some(clean);
            return self.append(&EntryRef::Outcome(&row));
        }
        self.append(&EntryRef::Outcome(row))
    }

    /// Records a delivery before it is first attempted (the outbox).
    pub fn event(&mut self, item: &OutboxItem) -> Result<(), JournalError> {
        self.append(&EntryRef::Event(item))
    }

    /// Records that delivery `id` was acknowledged after `attempts` attempts.
    pub fn delivered(&mut self, id: &str, attempts: u32) -> Result<(), JournalError> {
        let line = Delivered {
            id: id.to_string(),
            attempts,
        };
        self.append(&EntryRef::Delivered(&line))
    }

    /// Records that delivery `id` failed for good (the error is redacted).
    pub fn undeliverable(
        &mut self,
        id: &str,
        attempts: u32,
        error: &str,
    ) -> Result<(), JournalError> {
        let line = Undeliverable {
            id: id.to_string(),
            attempts,
            error: crate::secrets::scrub(error).into_owned(),
        };
        self.append(&EntryRef::Undeliverable(&line))
    }

    fn append(&mut self, entry: &EntryRef<'_>) -> Result<(), JournalError> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, entry)
            .map_err(|source| JournalError::Encode { source })?;
        self.buf.push(b'\n');
        self.file
            .write_all(&self.buf)
            .map_err(JournalError::io("write", &self.path))?;
        self.unsynced += 1;
        let due = match self.policy {
            SyncPolicy::EveryLine => true,
            SyncPolicy::Batched { lines, interval } => {
                self.unsynced >= lines || self.last_sync.elapsed() >= interval
            }
            SyncPolicy::OnClose => false,
        };
        if due {
            self.sync()?;
        }
        Ok(())
    }

    /// Forces every line written so far to disk.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.file
            .sync_data()
            .map_err(JournalError::io("sync", &self.path))?;
        self.unsynced = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Syncs and closes the journal.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.sync()
    }
}

/// Parses one line. Lines we wrote start with their tag, so the common kinds skip
/// serde's buffering of internally tagged enums (the `t` field is ignored).
fn parse_entry(line: &[u8]) -> Result<Entry, serde_json::Error> {
    if line.starts_with(br#"{"t":"outcome","#) {
        serde_json::from_slice(line).map(Entry::Outcome)
    } else if line.starts_with(br#"{"t":"intent","#) {
        serde_json::from_slice(line).map(Entry::Intent)
    } else {
        serde_json::from_slice(line)
    }
}

/// Replays `bytes`; returns the state and the length of the good prefix (everything
/// but a torn or unparsable last line).
fn replay_bytes(path: &Path, bytes: &[u8]) -> Result<(JournalState, usize), JournalError> {
    let corrupt = |line: u64, problem: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let mut meta: Option<RunMeta> = None;
    let mut done = BTreeMap::new();
    let mut in_flight = BTreeMap::new();
    let mut outbox = OutboxState::default();
    let mut pos = 0usize;
    let mut line_no = 0u64;
    while pos < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[pos..]).map(|i| pos + i);
        let line = &bytes[pos..end.unwrap_or(bytes.len())];
        let is_last = end.is_none_or(|e| e + 1 >= bytes.len());
        let parsed = parse_entry(line);
        let entry = match (parsed, end) {
            (Ok(entry), Some(_)) => entry,
            // A torn tail: no newline, or the last line does not parse.
            (_, None) => break,
            (Err(_), Some(_)) if is_last => break,
            (Err(e), Some(_)) => return Err(corrupt(line_no + 1, e.to_string())),
        };
        line_no += 1;
        match entry {
            Entry::Meta(m) if line_no == 1 => meta = Some(m),
            Entry::Meta(_) => return Err(corrupt(line_no, "a second meta line".into())),
            _ if line_no == 1 => return Err(corrupt(1, "line 1 must be the run's meta".into())),
            Entry::Intent(i) => {
                done.remove(&i.row);
                in_flight.insert(i.row, i);
            }
            Entry::Outcome(r) => {
                // A row that stopped pending after its intent may have been
                // written (a create that timed out): it stays in flight, so the
                // resume adopts what it finds instead of calling it unchanged.
                if r.outcome != Outcome::Pending {
                    in_flight.remove(&r.row);
                }
                done.insert(r.row, r);
            }
            Entry::Event(item) => outbox.item(item),
            Entry::Delivered(d) => outbox.ended(&d.id, crate::model::Delivery::Delivered),
            Entry::Undeliverable(u) => outbox.ended(&u.id, crate::model::Delivery::Failed),
        }
        pos = end.map_or(bytes.len(), |e| e + 1);
    }
    let meta = meta.ok_or_else(|| corrupt(1, "no meta line".into()))?;
    let state = JournalState {
        meta,
        done,
        in_flight,
        lines: line_no,
        torn_bytes: (bytes.len() - pos) as u64,
        outbox,
    };
    Ok((state, pos))
}
