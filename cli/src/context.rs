//! What every command shares: how to reach the API, where output goes, and which jobs are
//! still running (so Ctrl-C can say how to resume them).

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use invaro::{Client, DocumentKind, PollPolicy};

use crate::{
    exit::{Exit, Failure},
    output::Output,
    progress::Progress,
};

/// How to reach the API, from the global options and the environment.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `--api-key`, else `INVARO_API_KEY`.
    pub api_key: Option<String>,
    /// `--base-url`, else `INVARO_BASE_URL`.
    pub base_url: Option<String>,
    /// Fixed milliseconds between status checks (hidden, for tests and the demo).
    pub poll_ms: Option<u64>,
}

/// The shared state of one command.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// How to reach the API.
    pub connection: Connection,
    /// Where results go.
    pub out: Output,
    /// Where progress goes.
    pub progress: Progress,
    /// Jobs being waited on.
    pub running: Running,
}

impl Ctx {
    /// A client for the API, waiting at most `timeout` for each job.
    pub fn client(&self, timeout: Duration) -> Result<Client, Failure> {
        let key =
            self.connection.api_key.clone().ok_or_else(|| {
                Failure::usage("no API key: pass --api-key or set INVARO_API_KEY")
            })?;
        let mut poll = PollPolicy::default().deadline(timeout);
        if let Some(ms) = self.connection.poll_ms {
            let every = Duration::from_millis(ms.max(1));
            poll = poll.first_check(every).max_interval(every);
        }
        let mut builder = Client::builder().api_key(key).poll(poll);
        if let Some(url) = &self.connection.base_url {
            builder = builder.base_url(url);
        }
        Ok(builder.build()?)
    }
}

/// The jobs being waited on right now, shared by every task of a command.
#[derive(Clone, Debug, Default)]
pub struct Running(Arc<Mutex<BTreeSet<(&'static str, String)>>>);

impl Running {
    /// A wait on `job_id` begins.
    pub fn add(&self, kind: DocumentKind, job_id: &str) {
        self.lock().insert((kind.as_str(), job_id.to_string()));
    }

    /// The wait on `job_id` ended (the job finished, failed or the wait gave up).
    pub fn remove(&self, kind: DocumentKind, job_id: &str) {
        self.lock().remove(&(kind.as_str(), job_id.to_string()));
    }

    /// What Ctrl-C reports: the jobs left running and the commands that resume them.
    pub fn interrupted(&self) -> Failure {
        let running = self.lock().clone();
        if running.is_empty() {
            return Failure::new(Exit::Interrupted, "interrupted; no job was left running");
        }
        let ids: Vec<&str> = running.iter().map(|(_, id)| id.as_str()).collect();
        let resume: Vec<String> = ["invoice", "statement"]
            .iter()
            .filter_map(|kind| {
                let ids: Vec<&str> = running
                    .iter()
                    .filter(|(k, _)| k == kind)
                    .map(|(_, id)| id.as_str())
                    .collect();
                (!ids.is_empty()).then(|| format!("invaro wait --kind {kind} {}", ids.join(" ")))
            })
            .collect();
        Failure::new(
            Exit::Interrupted,
            format!(
                "interrupted; jobs still running: {}; resume with: {}",
                ids.join(" "),
                resume.join(" and ")
            ),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<(&'static str, String)>> {
        // A panic while holding the lock cannot leave the set half-changed.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interruption_names_every_running_job_with_its_resume_command() {
        let running = Running::default();
        assert!(running.interrupted().message.contains("no job"));
        running.add(DocumentKind::Invoice, "job_a");
        running.add(DocumentKind::Statement, "job_b");
        running.add(DocumentKind::Invoice, "job_c");
        running.remove(DocumentKind::Invoice, "job_c");
        let failure = running.interrupted();
        assert_eq!(failure.exit, Exit::Interrupted);
        assert!(failure.message.contains("invaro wait --kind invoice job_a"));
        assert!(
            failure
                .message
                .contains("invaro wait --kind statement job_b")
        );
        assert!(!failure.message.contains("job_c"));
    }
}
