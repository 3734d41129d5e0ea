//! The status of a parse job, open to values the docs never listed.

use std::fmt;

/// The state of a parse job.
///
/// The docs disagree on the list (three values on the status pages, four in the quickstart), and
/// the API may add more: a value this SDK does not know decodes as [`JobStatus::Unknown`] instead
/// of failing.
///
/// ```
/// use invaro::JobStatus;
/// let status: JobStatus = serde_json::from_str(r#""queued_for_review""#).unwrap();
/// assert_eq!(status, JobStatus::Unknown("queued_for_review".into()));
/// assert!(!status.is_done());
/// assert!(JobStatus::Failed.is_done());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Accepted, not started yet.
    Pending,
    /// Being parsed; the job's `progress` rises.
    Processing,
    /// Parsed: the result is in the job record.
    Completed,
    /// Parsing failed; the job record says why.
    Failed,
    /// A value this SDK does not know, kept as sent.
    Unknown(String),
}

impl JobStatus {
    /// The value as the API writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the job has finished, well or not.
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for JobStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            _ => Self::Unknown(s),
        })
    }
}
