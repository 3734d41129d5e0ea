//! The chance that a job finished between two of its ages, from what the scheduler knows.

use std::{collections::VecDeque, time::Duration};

/// The chance that a job expected to take `total` seconds finished between ages `from` and `to`.
pub(super) fn by_expected_end(total: f64, from: f64, to: f64) -> f64 {
    if to >= total {
        return 1.0;
    }
    ((to - from) / (total - from).max(f64::EPSILON)).clamp(0.0, 1.0)
}

/// The chance that a job finished between ages `from` and `to`, knowing only that it ran until
/// `from`: with no scale to go by, a job is as likely to last twice as long as it has so far.
pub(super) fn age_alone(from: f64, to: f64) -> f64 {
    if to <= 0.0 {
        return 1.0;
    }
    ((to - from) / to).clamp(0.0, 1.0)
}

/// The chance that a job finished between ages `from` and `to`, given it ran until `from` and
/// jobs of its kind took `durations`. One sample's weight is kept for jobs slower than any seen
/// yet, spread as [`age_alone`], so an overdue job still draws checks.
pub(super) fn finished_between(durations: &VecDeque<Duration>, from: f64, to: f64) -> f64 {
    let n = durations.len() as f64 + 1.0;
    let share = |t: f64| durations.iter().filter(|d| d.as_secs_f64() <= t).count() as f64 / n;
    let (before, by_now) = (share(from), share(to));
    let slowest = durations
        .iter()
        .map(Duration::as_secs_f64)
        .fold(0.0, f64::max);
    let tail = if to > slowest {
        age_alone(from.max(slowest), to) / n
    } else {
        0.0
    };
    ((by_now - before + tail) / (1.0 - before)).clamp(0.0, 1.0)
}
