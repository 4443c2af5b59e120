//! Exit codes, documented for schedulers: 0 all rows succeeded or were up to date;
//! 1 some rows failed or were invalid; 2 usage or configuration error (nothing
//! sent); 3 the run was stopped (circuit open, interrupted) and can be resumed.

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
}

impl ExitStatus {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
            ExitStatus::Stopped => 3,
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
            printer.error(&format!("{err:#}"));
            ExitStatus::Error
        }
    }
}
