//! [`AuditLog`]: the writer. One JSON line per event, each carrying the SHA-256 of the
//! line before it; every line is handed to the OS as soon as it is appended (a kill -9
//! loses nothing already appended), and `close` seals the log and syncs it to disk.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::AuditError;
use super::event::{AuditEvent, EventKind, EventRef, json_str, push_u64};
use crate::secrets::redact;
use crate::writeback::{self, Writeback};

/// `prev_sha256` of the first line.
pub const GENESIS: [u8; 32] = [0; 32];

/// When appended lines are handed to the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// One `write` per line: a crash of the process loses nothing appended (default).
    #[default]
    EveryLine,
    /// Buffer up to this many bytes between writes (bulk dry runs, benchmarks): a crash
    /// may lose the buffered tail, which `verify` then reports as an unsealed log.
    Buffered(usize),
}

/// What a sealed log holds: its line count and its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Lines in the log, the seal included.
    pub lines: u64,
    /// Lowercase hex SHA-256 of the seal line (without its newline).
    pub head: String,
}

/// An open audit log. Call [`AuditLog::close`]; dropping it unclosed logs a warning
/// and leaves the log unsealed.
pub struct AuditLog {
    path: PathBuf,
    run_id: String,
    file: Option<File>,
    policy: FlushPolicy,
    seq: u64,
    prev: [u8; 32],
    /// Lines not yet written to the file (only with `Buffered`).
    out: Vec<u8>,
    /// `run_id` as a JSON string, encoded once.
    run_id_json: Vec<u8>,
    /// Syncs what was written in the background, so `close` only waits for the tail
    /// (`None` if its thread could not start: `close` then syncs it all).
    writeback: Option<Writeback>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("run_id", &self.run_id)
            .field("lines", &self.seq)
            .finish()
    }
}

impl AuditLog {
    /// Creates a new log at `path` (which must not exist) and writes its `start` line.
    pub fn create(path: &Path, run_id: &str) -> Result<Self, AuditError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(AuditError::io("create", path))?;
        let mut log = AuditLog::with_file(path, run_id, file, 0, GENESIS);
        log.append(&AuditEvent::new(EventKind::Start))?;
        Ok(log)
    }

    /// Reopens an existing log to continue its chain (a resumed run). A torn last
    /// line (a crash in the middle of a write) is cut off; a `resume` line records
    /// that the run continues, and how many torn bytes were dropped.
    pub fn open_append(path: &Path) -> Result<Self, AuditError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(AuditError::io("open", path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(AuditError::io("read", path))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let torn = bytes.len() - complete;
        let not_audit = |problem: &str| AuditError::NotAnAudit {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        };
        if complete == 0 {
            return Err(not_audit("no complete line"));
        }
        let last_start = bytes[..complete - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let last = &bytes[last_start..complete - 1];
        #[derive(serde::Deserialize)]
        struct Head {
            seq: u64,
            run_id: String,
        }
        let head: Head = serde_json::from_slice(last)
            .map_err(|_| not_audit("last line is not an audit line"))?;
        let prev: [u8; 32] = Sha256::digest(last).into();
        if torn > 0 {
            file.set_len(complete as u64)
                .map_err(AuditError::io("truncate", path))?;
        }
        file.seek(SeekFrom::End(0))
            .map_err(AuditError::io("seek", path))?;
        let mut log = AuditLog::with_file(path, &head.run_id, file, head.seq, prev);
        let mut ev = AuditEvent::new(EventKind::Resume);
        if torn > 0 {
            ev.detail = Some(format!("dropped a torn last line of {torn} bytes"));
        }
        log.append(&ev)?;
        Ok(log)
    }

    fn with_file(path: &Path, run_id: &str, file: File, seq: u64, prev: [u8; 32]) -> Self {
        let writeback = Writeback::new(&file, "scimport-audit-sync", writeback::EVERY).ok();
        AuditLog {
            path: path.to_path_buf(),
            run_id: run_id.to_string(),
            file: Some(file),
            policy: FlushPolicy::EveryLine,
            seq,
            prev,
            out: Vec::with_capacity(512),
            run_id_json: {
                let mut j = Vec::new();
                json_str(&mut j, run_id);
                j
            },
            writeback,
        }
    }

    /// Sets when lines reach the OS (default: every line).
    pub fn set_flush_policy(&mut self, policy: FlushPolicy) {
        self.policy = policy;
    }

    /// The run this log belongs to.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Lines in the log so far.
    pub fn lines(&self) -> u64 {
        self.seq
    }

    /// Appends one event as one line (secrets in `path` and `detail` redacted) and,
    /// with the default policy, hands it to the OS before returning.
    pub fn append(&mut self, ev: &AuditEvent) -> Result<(), AuditError> {
        self.append_ref(&ev.as_ref())
    }

    /// [`AuditLog::append`] for a borrowed event: no allocation for the event itself.
    pub fn append_ref(&mut self, ev: &EventRef<'_>) -> Result<(), AuditError> {
        let path = ev.path.map(redact);
        let detail = ev.detail.map(redact);

        let line_start = self.out.len();
        self.seq += 1;
        let mut hex = [0u8; 64];
        hex::encode_to_slice(self.prev, &mut hex).expect("64 bytes hold 32 bytes of hex");
        self.out.extend_from_slice(b"{\"seq\":");
        push_u64(&mut self.out, self.seq);
        self.out.extend_from_slice(b",\"prev_sha256\":\"");
        self.out.extend_from_slice(&hex);
        self.out.extend_from_slice(b"\",\"run_id\":");
        self.out.extend_from_slice(&self.run_id_json);
        self.out.push(b',');
        ev.write_fields(&mut self.out, path.as_deref(), detail.as_deref());
        self.out.push(b'}');
        self.prev = Sha256::digest(&self.out[line_start..]).into();
        self.out.push(b'\n');

        let write_now = match self.policy {
            FlushPolicy::EveryLine => true,
            FlushPolicy::Buffered(n) => self.out.len() >= n,
        };
        if write_now {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<(), AuditError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let Some(file) = self.file.as_mut() else {
            return Err(AuditError::NotAnAudit {
                path: self.path.clone(),
                problem: "already closed".into(),
            });
        };
        file.write_all(&self.out)
            .map_err(AuditError::io("write", &self.path))?;
        if let Some(wb) = &mut self.writeback {
            wb.wrote(self.out.len() as u64);
        }
        self.out.clear();
        Ok(())
    }

    /// Hands buffered lines to the OS (no fsync). With [`FlushPolicy::Buffered`], a
    /// writer that owns the log calls this whenever its queue of events runs dry
    /// (group commit): every line reaches the OS before the writer waits for more.
    pub fn flush(&mut self) -> Result<(), AuditError> {
        self.write_out()
    }

    /// Hands buffered lines to the OS and syncs the file to disk.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        self.write_out()?;
        if let Some(file) = self.file.as_mut() {
            file.sync_data()
                .map_err(AuditError::io("sync", &self.path))?;
        }
        Ok(())
    }

    /// The head: lowercase hex SHA-256 of the last line appended (after `close`, the
    /// seal line), the same hash the next line would carry as `prev_sha256`.
    pub fn head(&self) -> String {
        hex::encode(self.prev)
    }

    /// Writes the `seal` line, syncs the file and returns the number of lines.
    pub fn close(self) -> Result<u64, AuditError> {
        Ok(self.seal()?.lines)
    }

    /// [`AuditLog::close`], returning the head as well: the anchor a reader later
    /// checks the file against (`audit verify --expect-head`).
    pub fn seal(mut self) -> Result<Sealed, AuditError> {
        self.append(&AuditEvent::new(EventKind::Seal))?;
        if let Some(wb) = self.writeback.take() {
            wb.finish();
        }
        self.sync()?;
        self.file = None;
        Ok(Sealed {
            lines: self.seq,
            head: self.head(),
        })
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = self.write_out();
            tracing::warn!(
                path = %self.path.display(),
                lines = self.seq,
                "audit log dropped without close(); it stays unsealed"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::verify;
    use super::*;
    use crate::model::{Action, Outcome};

    fn write_log(path: &Path, n: u64) -> u64 {
        let mut log = AuditLog::create(path, "run-1").unwrap();
        for row in 1..=n {
            log.append(&AuditEvent::call(
                Some(row),
                "POST",
                "/api/v2/scim/v2/Users",
                Some(201),
                12.5,
                1,
            ))
            .unwrap();
            log.append(&AuditEvent::decision(
                row,
                Action::Create,
                Outcome::Succeeded,
            ))
            .unwrap();
        }
        log.close().unwrap()
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn rewrite(path: &Path, lines: &[String]) {
        let mut s = lines.join("\n");
        s.push('\n');
        std::fs::write(path, s).unwrap();
    }

    #[test]
    fn intact_log_verifies_and_lines_are_json() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        assert_eq!(write_log(&p, 3), 8);
        let r = verify(&p).unwrap();
        assert!(r.is_intact(), "{r:?}");
        assert_eq!(r.lines, 8);
        assert_eq!(r.run_id.as_deref(), Some("run-1"));
        let l = lines(&p);
        let v: serde_json::Value = serde_json::from_str(&l[1]).unwrap();
        assert_eq!(v["seq"], 2);
        assert_eq!(v["kind"], "call");
        assert_eq!(v["status"], 201);
        assert_eq!(v["row"], 1);
        let v: serde_json::Value = serde_json::from_str(&l[2]).unwrap();
        assert_eq!(v["outcome"], "succeeded");
        assert_eq!(v["action"], "create");
    }

    #[test]
    fn edit_remove_reorder_truncate_append_are_detected() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        write_log(&p, 3);
        let orig = lines(&p);

        let mut edited = orig.clone();
        edited[4] = edited[4].replace("succeeded", "failed");
        assert_ne!(edited, orig);
        rewrite(&p, &edited);
        let r = verify(&p).unwrap();
        assert_eq!(r.problem.as_ref().unwrap().line, 6, "{r:?}");
        assert!(r.problem.unwrap().what.contains("line 5 was edited"));

        let mut removed = orig.clone();
        removed.remove(4);
        rewrite(&p, &removed);
        assert_eq!(verify(&p).unwrap().problem.unwrap().line, 5);

        let mut reordered = orig.clone();
        reordered.swap(2, 3);
        rewrite(&p, &reordered);
        assert_eq!(verify(&p).unwrap().problem.unwrap().line, 3);

        let truncated = orig[..orig.len() - 1].to_vec();
        rewrite(&p, &truncated);
        let r = verify(&p).unwrap();
        assert!(r.problem.is_none() && !r.sealed && !r.is_intact());

        let mut appended = orig.clone();
        appended.push(orig[2].clone());
        rewrite(&p, &appended);
        assert!(!verify(&p).unwrap().is_intact());

        rewrite(&p, &orig);
        assert!(verify(&p).unwrap().is_intact());
    }

    #[test]
    fn the_head_is_the_seal_lines_sha256_as_verify_recomputes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "run-h").unwrap();
        log.append(&AuditEvent::decision(1, Action::Skip, Outcome::Skipped))
            .unwrap();
        let sealed = log.seal().unwrap();
        assert_eq!(sealed.lines, 3);
        let seal = lines(&p).pop().unwrap();
        assert!(seal.contains("\"seal\""), "{seal}");
        assert_eq!(sealed.head, hex::encode(Sha256::digest(seal.as_bytes())));
        assert_eq!(verify(&p).unwrap().head, Some(sealed.head));
    }

    #[test]
    fn open_append_continues_the_chain_and_drops_a_torn_line() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        // A crashed run: no seal, and half a line at the end.
        let mut log = AuditLog::create(&p, "run-9").unwrap();
        log.append(&AuditEvent::decision(1, Action::Skip, Outcome::Skipped))
            .unwrap();
        std::mem::forget(log);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"seq\":3,\"prev_sha").unwrap();
        drop(f);
        assert!(!verify(&p).unwrap().is_intact());

        let mut log = AuditLog::open_append(&p).unwrap();
        assert_eq!(log.run_id(), "run-9");
        log.append(&AuditEvent::decision(2, Action::Skip, Outcome::Skipped))
            .unwrap();
        assert_eq!(log.close().unwrap(), 5);
        let r = verify(&p).unwrap();
        assert!(r.is_intact(), "{r:?}");
        assert!(lines(&p)[2].contains("torn"));

        // Resuming a sealed log is fine too.
        AuditLog::open_append(&p).unwrap().close().unwrap();
        assert!(verify(&p).unwrap().is_intact());
    }

    #[test]
    fn no_secret_reaches_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        log.append(
            &AuditEvent::call(
                None,
                "POST",
                "/oauth/token?client_secret=SEKRIT1",
                Some(200),
                1.0,
                1,
            )
            .with_detail("sent Authorization: Bearer SEKRIT2"),
        )
        .unwrap();
        log.close().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("SEKRIT"), "{text}");
        assert!(verify(&p).unwrap().is_intact());
    }

    #[test]
    fn written_lines_are_synced_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::create(&path, "r1").unwrap();
        log.writeback.as_mut().unwrap().set_every(1000);
        for row in 1..=50 {
            let mut ev = AuditEvent::new(EventKind::Decision);
            ev.row = Some(row);
            log.append(&ev).unwrap();
        }
        assert!(log.writeback.take().unwrap().finish() >= 1);
        // Closing without it still seals and syncs.
        log.close().unwrap();
        verify(&path).unwrap();
    }

    #[test]
    fn buffered_policy_writes_the_same_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        log.set_flush_policy(FlushPolicy::Buffered(1 << 16));
        for row in 1..=1000 {
            log.append(&AuditEvent::decision(row, Action::Skip, Outcome::Skipped))
                .unwrap();
        }
        assert_eq!(log.close().unwrap(), 1002);
        assert!(verify(&p).unwrap().is_intact());
    }
}
