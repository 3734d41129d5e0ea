//! Many files or jobs worked on at once, each with its [`ItemReport`] kept as it changes, so that
//! whatever happens (every item settles, or Ctrl-C) nothing finished or started goes unreported.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use futures::StreamExt;
use invaro::{DocumentKind, ParsedDocument};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::progress::Task;
use crate::save;

/// One item's outcome as it stands, shared by the task working on it and the pool.
#[derive(Clone, Debug, Default)]
pub struct Slot(Arc<Mutex<ItemReport>>);

impl Slot {
    /// Changes the outcome (a document id or job id learned, the item settled).
    pub fn update(&self, change: impl FnOnce(&mut ItemReport)) {
        change(&mut self.lock());
    }

    /// Reads something of the report as it stands.
    pub fn read<T>(&self, read: impl FnOnce(&ItemReport) -> T) -> T {
        read(&self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, ItemReport> {
        // A panic while holding the lock cannot leave an outcome half-changed.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How a command's items are run and reported.
pub struct Pool<'a> {
    ctx: &'a Ctx,
    parallel: usize,
    /// Print each settled item's line (human output) as soon as it and those before it settle.
    stream_lines: bool,
    /// Replace result files that exist.
    overwrite: bool,
}

impl<'a> Pool<'a> {
    /// At most `parallel` items at once, streaming lines unless the output is JSON.
    pub fn new(ctx: &'a Ctx, parallel: usize) -> Self {
        Self {
            ctx,
            parallel: parallel.max(1),
            stream_lines: !ctx.out.is_json(),
            overwrite: false,
        }
    }

    /// Replaces result files that exist already.
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Runs `work` on every item until all have settled or Ctrl-C is pressed. A result is saved
    /// as soon as its item settles, when the outcome says where.
    pub async fn run<T, F, Fut>(&self, items: Vec<(T, ItemReport)>, work: F) -> Ran
    where
        F: Fn(T, Slot) -> Fut,
        Fut: Future<Output = ()>,
    {
        let (items, slots): (Vec<T>, Vec<Slot>) = items
            .into_iter()
            .map(|(item, outcome)| (item, Slot(Arc::new(Mutex::new(outcome)))))
            .unzip();
        let mut printed = 0;
        let tasks = items
            .into_iter()
            .zip(slots.clone())
            .enumerate()
            .map(|(i, (item, slot))| {
                let future = work(item, slot);
                async move {
                    future.await;
                    i
                }
            });
        let mut settled = futures::stream::iter(tasks).buffer_unordered(self.parallel);
        let interrupted = loop {
            tokio::select! {
                next = settled.next() => match next {
                    Some(i) => {
                        self.save(&mut slots[i].lock());
                        printed = self.print_from(&slots, printed);
                    }
                    None => break false,
                },
                () = self.ctx.interrupt.wait() => break true,
            }
        };
        // Dropping the unfinished tasks ends their requests and waits.
        drop(settled);
        if interrupted {
            self.ctx.progress.clear();
            for slot in &slots {
                slot.lock().interrupt();
            }
        }
        self.print_from(&slots, printed);
        let outcomes = slots
            .iter()
            .map(|slot| std::mem::take(&mut *slot.lock()))
            .collect();
        Ran {
            outcomes,
            interrupted,
        }
    }

    /// Saves a settled result where its outcome says, recording the path or the failure.
    fn save(&self, outcome: &mut ItemReport) {
        let (Some(path), Some(result)) = (outcome.save_as.clone(), &outcome.result) else {
            return;
        };
        let text = serde_json::to_string_pretty(result).expect("a JSON map always serializes");
        match save::write(&path, format!("{text}\n").as_bytes(), self.overwrite) {
            Ok(()) => outcome.saved_to = Some(path.display().to_string()),
            Err(failure) => outcome.fail(failure),
        }
    }

    /// Prints the lines of settled items from `from` on, in order, up to the first unsettled
    /// one (all of them once the run is over); returns where it stopped.
    fn print_from(&self, slots: &[Slot], from: usize) -> usize {
        let mut next = from;
        for slot in &slots[from..] {
            let outcome = slot.lock();
            if !outcome.is_settled() {
                break;
            }
            if let Some(line) = outcome.line().filter(|_| self.stream_lines) {
                self.ctx.out.line(&line);
            }
            next += 1;
        }
        next
    }
}

/// Every item's outcome once a [`Pool`] has run, in the order given.
pub struct Ran {
    /// The outcomes.
    pub outcomes: Vec<ItemReport>,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
}

impl Ran {
    /// Prints the JSON array (with `--json`), then the hint or failure that ends the command:
    /// on Ctrl-C the jobs still running and how to resume them, otherwise the first failure.
    pub fn finish(self, ctx: &Ctx) -> Result<(), Failure> {
        if ctx.out.is_json() {
            ctx.out.json(&self.outcomes);
        }
        self.conclude(ctx)
    }

    /// The same without printing the outcomes (a command that printed its own summary).
    pub fn conclude(self, ctx: &Ctx) -> Result<(), Failure> {
        let resume = resume_commands(&self.outcomes);
        if self.interrupted {
            for failure in failures(self.outcomes) {
                ctx.progress.note(&format!("invaro: error: {failure}"));
            }
            return Err(Failure::new(
                Exit::Interrupted,
                interrupted_message(&resume),
            ));
        }
        if !resume.jobs.is_empty() {
            ctx.progress.note(&format!(
                "wait for the results with: {}",
                resume.wait.join(" and ")
            ));
        }
        let mut failures = failures(self.outcomes);
        let first = failures.next();
        for other in failures {
            ctx.progress.note(&format!("invaro: error: {other}"));
        }
        first.map_or(Ok(()), Err)
    }
}

/// The failures of `outcomes`, each naming its item.
fn failures(outcomes: Vec<ItemReport>) -> impl Iterator<Item = Failure> {
    outcomes.into_iter().filter_map(ItemReport::into_failure)
}

/// Files left unsent, documents left unstarted and jobs left running, with the commands that
/// pick them up.
#[derive(Debug, Default)]
struct Resume {
    files: Vec<String>,
    jobs: Vec<String>,
    wait: Vec<String>,
    documents: Vec<String>,
    start: Vec<String>,
}

/// What is left to pick up: every job started or being waited on that did not end, grouped by
/// kind (`invaro wait` finds the kind of a job given without one).
fn resume_commands(outcomes: &[ItemReport]) -> Resume {
    let mut resume = Resume {
        files: outcomes
            .iter()
            .filter(|o| o.status == Status::Interrupted && o.document_id.is_none())
            .filter_map(|o| o.file.clone())
            .collect(),
        ..Resume::default()
    };
    let kinds = [Some("invoice"), Some("statement"), None];
    for kind in kinds {
        let of_kind = |o: &&ItemReport| o.kind.map(|k| k.as_str()) == kind;
        let jobs: Vec<&str> = outcomes
            .iter()
            .filter(of_kind)
            .filter(|o| o.job_left_running())
            .filter_map(|o| o.job_id.as_deref())
            .collect();
        let flag = kind.map(|k| format!(" --kind {k}")).unwrap_or_default();
        if !jobs.is_empty() {
            resume.jobs.extend(jobs.iter().map(|id| id.to_string()));
            resume
                .wait
                .push(format!("invaro wait{flag} {}", jobs.join(" ")));
        }
        let documents: Vec<&str> = outcomes
            .iter()
            .filter(of_kind)
            .filter(|o| o.status == Status::Interrupted && o.job_id.is_none())
            .filter_map(|o| o.document_id.as_deref())
            .collect();
        if !documents.is_empty() && kind.is_some() {
            resume
                .documents
                .extend(documents.iter().map(|id| id.to_string()));
            resume
                .start
                .push(format!("invaro start{flag} {}", documents.join(" ")));
        }
    }
    resume
}

/// The last line after Ctrl-C.
fn interrupted_message(resume: &Resume) -> String {
    let mut parts = vec!["interrupted".to_string()];
    if !resume.files.is_empty() {
        parts.push(format!(
            "files without a confirmed upload: {}",
            resume.files.join(" ")
        ));
    }
    if !resume.documents.is_empty() {
        parts.push(format!(
            "documents uploaded without a confirmed job: {}; start them with: {}",
            resume.documents.join(" "),
            resume.start.join(" and ")
        ));
    }
    if resume.jobs.is_empty() {
        parts.push("no job was left running".into());
    } else {
        parts.push(format!(
            "jobs still running: {}; resume with: {}",
            resume.jobs.join(" "),
            resume.wait.join(" and ")
        ));
    }
    parts.join("; ")
}

/// Where one file, document or job ended up, as the JSON output spells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Parsed (and saved, with `--out`).
    Done,
    /// Uploaded only (`invaro upload`).
    Uploaded,
    /// Its job started and was not waited on to the end.
    #[default]
    Started,
    /// Something went wrong; `reason` says what.
    Failed,
    /// Its job was still running at the deadline.
    TimedOut,
    /// Not tried (for example, its result file exists).
    Skipped,
    /// Ctrl-C came first.
    Interrupted,
    /// The batch journal cannot tell whether its upload or start reached the API.
    InDoubt,
}

/// What became of one file, document or job: one entry of the JSON output.
#[derive(Debug, Default, Serialize)]
pub struct ItemReport {
    /// The file, when the command started from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The uploaded document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// The parse job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Where it ended up (after Ctrl-C, `job_id` is the job left running, if it started).
    pub status: Status,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The exit code the failure alone would give.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// Where the result was saved (`--out`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_to: Option<String>,
    /// What was parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Map<String, Value>>,
    /// What the document is, when known (for the resume command).
    #[serde(skip)]
    pub kind: Option<DocumentKind>,
    /// Where to save the result (`--out`).
    #[serde(skip)]
    pub save_as: Option<PathBuf>,
    #[serde(skip)]
    settled: bool,
    #[serde(skip)]
    failure: Option<Failure>,
}

impl ItemReport {
    /// An outcome about `file`, not settled yet.
    pub fn new(file: Option<String>) -> Self {
        Self {
            file,
            status: Status::Started,
            ..Self::default()
        }
    }

    /// A file not even tried, and why.
    pub fn skipped(file: String, reason: String) -> Self {
        Self {
            file: Some(file),
            status: Status::Skipped,
            reason: Some(reason),
            settled: true,
            ..Self::default()
        }
    }

    /// Settles the outcome: `Ok(Some)` parsed, `Ok(None)` started only, `Err` failed.
    pub fn finish(&mut self, task: &Task, result: Result<Option<ParsedDocument>, Failure>) {
        match result {
            Ok(Some(parsed)) => {
                task.done("done");
                self.settle(Status::Done);
                self.result = Some(parsed.output().cloned().unwrap_or_default());
            }
            Ok(None) => self.settle(Status::Started),
            Err(failure) => {
                task.failed();
                self.fail(failure);
            }
        }
    }

    /// Settles the outcome with `status`.
    pub fn settle(&mut self, status: Status) {
        self.status = status;
        self.settled = true;
    }

    /// Whether the item is over (whatever became of it).
    pub fn is_settled(&self) -> bool {
        self.settled
    }

    /// Ctrl-C came before the item settled.
    pub fn interrupt(&mut self) {
        if !self.settled {
            self.settle(Status::Interrupted);
            self.reason = Some("interrupted before it finished".into());
        }
    }

    /// Whether its job is still running as far as this command knows.
    pub fn job_left_running(&self) -> bool {
        self.job_id.is_some()
            && matches!(
                self.status,
                Status::Started | Status::TimedOut | Status::Interrupted
            )
    }

    /// What human output prints for it on stdout: where the result was saved, else the result,
    /// the job id of a job started, or the id of a document uploaded.
    pub fn line(&self) -> Option<String> {
        match (&self.saved_to, &self.result, self.status) {
            (Some(path), _, _) => Some(path.clone()),
            (None, Some(result), _) => {
                Some(serde_json::to_string_pretty(result).expect("a JSON map always serializes"))
            }
            (None, None, Status::Started) => self.job_id.clone(),
            (None, None, Status::Uploaded) => self.document_id.clone(),
            _ => None,
        }
    }

    /// Its failure, naming it, if it failed.
    pub fn into_failure(self) -> Option<Failure> {
        let name = self.name().to_string();
        self.failure.map(|failure| {
            if failure.message.contains(&name) {
                failure
            } else {
                failure.about(name)
            }
        })
    }

    /// Records a failure.
    pub fn fail(&mut self, failure: Failure) {
        self.settled = true;
        self.status = match failure.exit {
            Exit::TimedOut => Status::TimedOut,
            _ => Status::Failed,
        };
        self.reason = Some(failure.message.clone());
        self.exit_code = Some(failure.exit as u8);
        self.failure = Some(failure);
    }

    /// Whether this one went wrong.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// The exit code its failure calls for, if it failed.
    pub fn exit(&self) -> Option<Exit> {
        self.failure.as_ref().map(|failure| failure.exit)
    }

    /// What to call it in a message: the file, else the job or document id.
    fn name(&self) -> &str {
        self.file
            .as_deref()
            .or(self.job_id.as_deref())
            .or(self.document_id.as_deref())
            .unwrap_or("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(kind: Option<DocumentKind>, document: &str, job: Option<&str>) -> ItemReport {
        let mut outcome = ItemReport::new(None);
        outcome.kind = kind;
        outcome.document_id = Some(document.into());
        outcome.job_id = job.map(Into::into);
        outcome
    }

    #[test]
    fn the_resume_line_names_every_job_left_and_every_document_without_one() {
        let invoice = Some(DocumentKind::Invoice);
        let mut finished = outcome(invoice, "d0", Some("job_done"));
        finished.settle(Status::Done);
        let mut started = outcome(invoice, "d1", Some("job_a"));
        started.settle(Status::Started);
        let mut outcomes = vec![
            finished,
            started,
            outcome(Some(DocumentKind::Statement), "d2", Some("job_b")),
            outcome(None, "d3", Some("job_c")),
            outcome(invoice, "d4", None),
            ItemReport::new(Some("late.pdf".into())),
        ];
        for outcome in &mut outcomes {
            outcome.interrupt();
        }
        let message = interrupted_message(&resume_commands(&outcomes));
        assert_eq!(
            message,
            "interrupted; files without a confirmed upload: late.pdf; \
             documents uploaded without a confirmed job: d4; start them with: \
             invaro start --kind invoice d4; jobs still running: job_a job_b job_c; resume with: \
             invaro wait --kind invoice job_a and invaro wait --kind statement job_b and \
             invaro wait job_c"
        );
        assert_eq!(
            interrupted_message(&resume_commands(&[])),
            "interrupted; no job was left running"
        );
    }
}
