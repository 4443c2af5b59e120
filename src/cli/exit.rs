//! Exit codes, documented for schedulers: 0 all rows succeeded or were up to date;
//! 1 some rows failed or were invalid; 2 usage or configuration error (nothing
//! sent); 3 the run was stopped (circuit open, the tenant kept failing,
//! interrupted) and can be resumed; 4 a sync's guard refused the whole run before
//! any write (the source was empty, cut short or shrank) or held its deactivations
//! (more leavers than --max-deactivate); 130 a second Ctrl-C or SIGTERM quit at once
//! (no ledger or summary; the journal keeps the run resumable).

/// The outcome of a command, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: everything succeeded.
    Success,
    /// 1: some rows failed or were invalid.
    Failure,
    /// 2: usage or configuration error.
    Error,
    /// 3: stopped; resumable.
    Stopped,
    /// 4: a sync's guard refused the run or held its deactivations.
    Guarded,
    /// 130: quit at once on a second Ctrl-C or SIGTERM; resumable from the journal.
    Quit,
}

impl ExitStatus {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
            ExitStatus::Stopped => 3,
            ExitStatus::Guarded => 4,
            ExitStatus::Quit => 130,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}

/// Turns a command's result into an exit status; an error is reported once, here,
/// with its chain of causes, and means exit 2 (nothing was sent).
pub fn from_result(result: anyhow::Result<ExitStatus>, printer: &super::Printer) -> ExitStatus {
    match result {
        Ok(status) => status,
        Err(err) => {
            printer.error(&message(&err));
            ExitStatus::Error
        }
    }
}

/// The error and its causes, joined by `: `, leaving out a cause whose text the
/// message already holds (many errors name their cause in their own text).
fn message(err: &anyhow::Error) -> String {
    let mut msg = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

#[cfg(test)]
mod message_tests {
    use super::message;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read x.csv: {source}")]
    struct Named {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(Named { source: io }).context("reading input");
        assert_eq!(
            message(&err),
            "reading input: cannot read x.csv: no such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(message(&plain), "outer: inner");
    }
}
