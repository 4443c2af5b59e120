//! [`verify`]: walks an audit log and reports the first line that breaks the chain.

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::AuditError;
use super::event::EventKind;
use super::log::GENESIS;

/// The first problem found in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number where the problem shows.
    pub line: u64,
    /// What is wrong, for a person.
    pub what: String,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Lines read (up to and including the first bad one).
    pub lines: u64,
    /// The run id of line 1.
    pub run_id: Option<String>,
    /// Whether the log ends with a `seal` line (closed normally, tail not truncated).
    pub sealed: bool,
    /// The first problem, if any.
    pub problem: Option<Problem>,
    /// Whether the problem is only a torn last line (a crash in the middle of a
    /// write, which a resume cuts off), every line before it intact.
    pub torn: bool,
    /// Lowercase hex SHA-256 of the last line read (the seal's, for an intact log),
    /// `None` when a problem was found or the log is empty. Compare it with the head
    /// the run printed to catch a rewritten, truncated or forged log.
    pub head: Option<String>,
}

impl VerifyReport {
    /// True when the chain is unbroken and the log is sealed.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none() && self.sealed
    }
}

#[derive(Deserialize)]
struct Head<'a> {
    seq: u64,
    #[serde(borrow)]
    prev_sha256: &'a str,
    #[serde(borrow)]
    run_id: std::borrow::Cow<'a, str>,
    kind: EventKind,
}

/// Checks an audit log: every line parses, `seq` counts 1, 2, 3..., each
/// `prev_sha256` is the SHA-256 of the line before, every line has line 1's run id,
/// line 1 is a `start`, only a `resume` may follow a `seal`, and the last line is a
/// `seal`. Returns `Err` only when the file cannot be read.
pub fn verify(path: &Path) -> Result<VerifyReport, AuditError> {
    let file = std::fs::File::open(path).map_err(AuditError::io("open", path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut report = VerifyReport {
        lines: 0,
        run_id: None,
        sealed: false,
        problem: None,
        torn: false,
        head: None,
    };
    let mut buf = Vec::with_capacity(512);
    let mut prev = GENESIS;
    let mut prev_kind: Option<EventKind> = None;
    let mut hex = [0u8; 64];
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(AuditError::io("read", path))?;
        if n == 0 {
            break;
        }
        report.lines += 1;
        let i = report.lines;
        if buf.last() != Some(&b'\n') {
            report.torn = true;
            report.problem = Some(Problem {
                line: i,
                what: "the line is incomplete (no newline): a torn write or a truncated file"
                    .into(),
            });
            return Ok(report);
        }
        let mut fail = |what: String| {
            report.problem = Some(Problem { line: i, what });
            report.sealed = false;
        };
        let line = &buf[..buf.len() - 1];
        let head: Head = match serde_json::from_slice(line) {
            Ok(h) => h,
            Err(e) => {
                fail(format!("not a valid audit line ({e})"));
                return Ok(report);
            }
        };
        if head.seq != i {
            fail(if head.seq > i {
                format!(
                    "expected seq {i}, found {}: line(s) were removed or reordered",
                    head.seq
                )
            } else {
                format!(
                    "expected seq {i}, found {}: line(s) were reordered or duplicated",
                    head.seq
                )
            });
            return Ok(report);
        }
        hex::encode_to_slice(prev, &mut hex).expect("64 bytes hold 32 bytes of hex");
        if head.prev_sha256.as_bytes() != hex {
            fail(if i == 1 {
                "line 1 must chain from the zero hash".to_string()
            } else {
                format!(
                    "prev_sha256 does not match line {}: line {} was edited (or lines between them removed)",
                    i - 1,
                    i - 1
                )
            });
            return Ok(report);
        }
        match &report.run_id {
            None => report.run_id = Some(head.run_id.clone().into_owned()),
            Some(r) if *r != head.run_id => {
                let what = format!("run_id {:?} differs from line 1's {r:?}", head.run_id);
                fail(what);
                return Ok(report);
            }
            Some(_) => {}
        }
        if i == 1 && head.kind != EventKind::Start {
            fail("line 1 is not a start line".into());
            return Ok(report);
        }
        if i > 1 && head.kind == EventKind::Start {
            fail("a second start line".into());
            return Ok(report);
        }
        if prev_kind == Some(EventKind::Seal) && head.kind != EventKind::Resume {
            fail(
                "a line after the seal that is not a resume: appended after the log was closed"
                    .into(),
            );
            return Ok(report);
        }
        prev = Sha256::digest(line).into();
        prev_kind = Some(head.kind);
    }
    if report.lines == 0 {
        report.problem = Some(Problem {
            line: 0,
            what: "the log is empty".into(),
        });
    }
    report.sealed = prev_kind == Some(EventKind::Seal);
    if report.lines > 0 {
        report.head = Some(hex::encode(prev));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditLog};
    use crate::model::{Action, Outcome};

    #[test]
    fn a_torn_tail_is_told_apart_from_a_broken_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        log.append(&AuditEvent::decision(1, Action::Skip, Outcome::Skipped))
            .unwrap();
        log.close().unwrap();
        let intact = std::fs::read_to_string(&p).unwrap();

        std::fs::write(&p, format!("{intact}{{\"seq\":4,\"prev")).unwrap();
        let r = verify(&p).unwrap();
        assert!(r.torn && r.problem.is_some() && r.head.is_none(), "{r:?}");

        std::fs::write(&p, intact.replace("skipped", "failed")).unwrap();
        let r = verify(&p).unwrap();
        assert!(!r.torn && r.problem.is_some() && r.head.is_none(), "{r:?}");
    }
}
