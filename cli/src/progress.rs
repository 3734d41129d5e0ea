//! Progress on stderr: an indicatif bar per file or job when stderr is a terminal, plain lines
//! otherwise (logs and CI keep a readable record).

use std::{io::IsTerminal, sync::Arc};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use invaro::generated::types;

/// The progress display of one command.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Present when stderr is a terminal.
    bars: Option<MultiProgress>,
}

impl Progress {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { bars }
    }

    /// Removes the bars (before a last message, such as after Ctrl-C).
    pub fn clear(&self) {
        if let Some(bars) = &self.bars {
            let _ = bars.clear();
        }
    }

    /// A line on stderr (above the bars, if any).
    pub fn note(&self, text: &str) {
        match &self.bars {
            Some(bars) => bars.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    /// The progress of one file or job, shown as `label`.
    pub fn task(&self, label: impl Into<String>) -> Task {
        let label = label.into();
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(100));
            bar.set_prefix(label.clone());
            bar
        });
        Task {
            label,
            bar,
            progress: self.clone(),
        }
    }
}

/// The progress of a whole batch: one bar of files settled out of all, with counts and the
/// time left on a terminal; a line per step otherwise.
#[derive(Debug)]
pub struct Overall {
    bar: Option<ProgressBar>,
    progress: Progress,
    counts: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Progress {
    /// The bar of a batch of `files` files.
    pub fn overall(&self, files: u64) -> Overall {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(files));
            bar.set_style(
                ProgressStyle::with_template(
                    "[{bar:30}] {pos}/{len} files, {msg} ({elapsed} so far, about {eta} left)",
                )
                .expect("the template is fixed and valid")
                .progress_chars("#>-"),
            );
            bar
        });
        Overall {
            bar,
            progress: self.clone(),
            counts: std::sync::Mutex::default(),
        }
    }
}

impl Overall {
    /// A step of one file: a line unless the bar is shown.
    pub fn step(&self, label: &str, text: &str) {
        if self.bar.is_none() {
            self.progress.note(&format!("{label}: {text}"));
        }
    }

    /// One more file settled as `how` (done, failed, in doubt, ...).
    pub fn settled(&self, how: &'static str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(how).or_default() += 1;
        if let Some(bar) = &self.bar {
            let message: Vec<String> = counts.iter().map(|(how, n)| format!("{n} {how}")).collect();
            bar.set_message(message.join(", "));
            bar.inc(1);
        }
    }

    /// Removes the bar (before the summary).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// One file's or job's progress.
#[derive(Clone, Debug)]
pub struct Task {
    label: String,
    bar: Option<ProgressBar>,
    progress: Progress,
}

impl Task {
    /// The upload of `bytes` bytes begins; the callback moves the bar.
    pub fn uploading(&self, bytes: u64) -> Option<invaro::ProgressFn> {
        let Some(bar) = &self.bar else {
            self.line(&format!("uploading {bytes} bytes"));
            return None;
        };
        bar.set_style(style("{bytes}/{total_bytes} uploading"));
        bar.set_length(bytes);
        bar.set_position(0);
        let bar = bar.clone();
        Some(Arc::new(move |sent: invaro::UploadProgress| {
            bar.set_length(sent.total);
            bar.set_position(sent.sent);
        }))
    }

    /// Something happened worth a line (a document id, a job id).
    pub fn step(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(text.to_string()),
            None => self.line(text),
        }
    }

    /// The job's latest state.
    pub fn job(&self, job: &types::Job) {
        let percent = job.progress.unwrap_or(0.0).clamp(0.0, 100.0) as u64;
        let text = if self.label.contains(&job.job_id) {
            job.status.to_string()
        } else {
            format!("job {} {}", job.job_id, job.status)
        };
        match &self.bar {
            Some(bar) => {
                bar.set_style(style("{pos:>3}% {msg}"));
                bar.set_length(100);
                bar.set_position(percent);
                bar.set_message(text);
            }
            None => match job.progress {
                Some(_) => self.line(&format!("{text} {percent}%")),
                None => self.line(&text),
            },
        }
    }

    /// The task ended well.
    pub fn done(&self, text: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_style(style("{pos:>3}% {msg}"));
                bar.set_length(100);
                bar.set_position(100);
                bar.finish_with_message(text.to_string());
            }
            None => self.line(text),
        }
    }

    /// The task ended badly. The bar says so; the error itself is reported once, at the end,
    /// so plain output gets no line here.
    pub fn failed(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon_with_message("failed");
        }
    }

    fn line(&self, text: &str) {
        self.progress.note(&format!("{}: {text}", self.label));
    }
}

/// A bar template with the task's label in front.
fn style(tail: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!("{{prefix:24!}} [{{bar:30}}] {tail}"))
        .expect("the templates are fixed and valid")
        .progress_chars("#>-")
}
