//! Exit codes, and the one-line failure every command ends with when something goes wrong.

use std::{fmt, process::ExitCode};

/// How the process ends, as documented in `invaro --help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// An API or network error (or a webhook signature that does not match).
    Api = 1,
    /// A usage error or bad input, found before anything was sent.
    Usage = 2,
    /// A job ended in `failed`.
    JobFailed = 3,
    /// A job was still running when the wait timed out.
    TimedOut = 4,
    /// Ctrl-C.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Why a command failed: printed as one line on stderr, with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What went wrong, naming the file or job when there is one.
    pub message: String,
}

impl Failure {
    /// A failure with this exit code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A usage error or bad input.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// Puts `what` (a file, a job) in front of the message.
    pub fn about(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<invaro::Error> for Failure {
    fn from(error: invaro::Error) -> Self {
        let exit = match &error {
            invaro::Error::JobFailed { .. } => Exit::JobFailed,
            invaro::Error::WaitTimeout { .. } => Exit::TimedOut,
            invaro::Error::InvalidInput { .. } | invaro::Error::JournalBusy { .. } => Exit::Usage,
            _ => Exit::Api,
        };
        Self::new(exit, describe(&error))
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::new(Exit::Api, error.to_string())
    }
}

/// The error and its causes on one line (a transport error's cause says what actually broke).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        next = cause.source();
    }
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn sdk_errors_map_to_the_documented_codes() {
        let failed = invaro::Error::JobFailed {
            job_id: "job_1".into(),
            message: "unreadable".into(),
        };
        let failure = Failure::from(failed);
        assert_eq!(failure.exit, Exit::JobFailed);
        assert!(failure.message.contains("job_1") && failure.message.contains("unreadable"));
        let timeout = invaro::Error::WaitTimeout {
            job_id: "job_2".into(),
            elapsed: Duration::from_secs(1),
            polls: 2,
            last_status: Some(invaro::JobStatus::Processing),
        };
        assert_eq!(Failure::from(timeout).exit, Exit::TimedOut);
        let invalid = invaro::Error::InvalidInput {
            subject: "a.pdf".into(),
            rule: "is empty".into(),
        };
        assert_eq!(Failure::from(invalid).exit, Exit::Usage);
    }
}
