//! The status of a parse job, open to values the docs never listed.

crate::open_enum::open_enum! {
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
    pub enum JobStatus, compare str::eq {
        /// Accepted, not started yet.
        Pending = "pending",
        /// Being parsed; the job's `progress` rises.
        Processing = "processing",
        /// Parsed: the result is in the job record.
        Completed = "completed",
        /// Parsing failed; the job record says why.
        Failed = "failed",
    }
}

impl JobStatus {
    /// Whether the job has finished, well or not.
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}
