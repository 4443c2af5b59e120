//! Reads an audit log back into events (for tests and for checking that the ledger
//! and the audit log agree). Does not check the chain: see [`super::verify`].

use std::io::BufRead;
use std::path::Path;

use super::{AuditError, AuditEvent};

/// Every complete line of the log as an event, in file order (a torn last line is
/// skipped; any other unparsable line is an error).
pub fn read_events(path: &Path) -> Result<Vec<AuditEvent>, AuditError> {
    let file = std::fs::File::open(path).map_err(AuditError::io("open", path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut events = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(AuditError::io("read", path))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        line_no += 1;
        let ev = serde_json::from_slice(&buf[..n - 1]).map_err(|e| AuditError::NotAnAudit {
            path: path.to_path_buf(),
            problem: format!("line {line_no}: {e}"),
        })?;
        events.push(ev);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditLog, EventKind};
    use crate::model::{Action, Outcome};

    #[test]
    fn reads_back_what_was_written() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        let ev = AuditEvent::decision(7, Action::Update, Outcome::Failed).with_detail("409");
        log.append(&ev).unwrap();
        log.close().unwrap();
        let got = read_events(&p).unwrap();
        let kinds: Vec<EventKind> = got.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Start, EventKind::Decision, EventKind::Seal]
        );
        assert_eq!(got[1].row, Some(7));
        assert_eq!(got[1].outcome.as_deref(), Some("failed"));
        assert_eq!(got[1].detail.as_deref(), Some("409"));
        assert_eq!(got[1].ts.timestamp_micros(), ev.ts.timestamp_micros());
    }
}
