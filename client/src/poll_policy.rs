//! [`PollPolicy`]: how waits poll. The polling rule is stated here, once.

use std::time::Duration;

use tokio::time::Instant;

/// How jobs are polled until they finish: the one statement of the polling rule.
///
/// One scheduler serves every wait of a [`Client`](crate::Client) and its clones, with the rate
/// budget the client's other calls leave (theirs go first). Its checks go at the rate limit's
/// average rate (one a second at 60 a minute; a burst would leave the API's sliding window
/// empty for the completions that follow), and never twice within
/// [`first_check`](Self::first_check) (1 s) for one job. Each
/// check goes to the job most likely to have finished since its last one: judged from its
/// reported `progress`, else from how long the jobs of its kind this client saw finish took,
/// else from its age; a job younger than every one of its kind seen finishing is not checked
/// yet, and none goes unchecked longer than [`max_interval`](Self::max_interval) (10 s, or
/// four rounds of every wait at the average rate when there are more jobs than that serves).
/// With nothing learned yet this is round robin. Waits on one job share its checks; dropping a
/// wait stops them. A wait ends with [`Error::WaitTimeout`](crate::Error::WaitTimeout) after
/// [`deadline`](Self::deadline) (10 minutes, every call included); a job this client started
/// that answers 404 is "not visible yet" for [`not_found_grace`](Self::not_found_grace) (30 s);
/// with a webhook receiver attached, a delivery is checked at once and polling slows to
/// [`safety_net`](Self::safety_net) (30 s), only to catch a lost delivery.
///
/// ```
/// use std::time::Duration;
/// let policy = invaro::PollPolicy::default()
///     .first_check(Duration::from_millis(200))
///     .deadline(Duration::from_secs(120));
/// # let _ = policy;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PollPolicy {
    first_check: Duration,
    max_interval: Duration,
    deadline: Duration,
    not_found_grace: Duration,
    safety_net: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            first_check: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            deadline: Duration::from_secs(600),
            not_found_grace: Duration::from_secs(30),
            safety_net: Duration::from_secs(30),
        }
    }
}

impl PollPolicy {
    /// The shortest time between two checks of one job (the first is immediate). Default 1 s.
    pub fn first_check(mut self, wait: Duration) -> Self {
        self.first_check = wait;
        self
    }

    /// The longest a job goes unchecked while the budget allows. Default 10 s.
    pub fn max_interval(mut self, wait: Duration) -> Self {
        self.max_interval = wait;
        self
    }

    /// How long a wait may last in all before it gives up. Default 10 minutes.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How long after this client started a job a 404 on it means "not visible yet". Default
    /// 30 s.
    pub fn not_found_grace(mut self, grace: Duration) -> Self {
        self.not_found_grace = grace;
        self
    }

    /// With a webhook receiver attached, how often a job is still polled. Default 30 s.
    pub fn safety_net(mut self, every: Duration) -> Self {
        self.safety_net = every;
        self
    }

    /// The polling interval with a webhook receiver attached.
    #[cfg(feature = "webhook-receiver")]
    pub(crate) fn get_safety_net(&self) -> Duration {
        self.safety_net
    }

    /// How long a wait may last in all.
    pub fn get_deadline(&self) -> Duration {
        self.deadline
    }

    /// How long a 404 on a job this client started means "not visible yet".
    pub(crate) fn get_not_found_grace(&self) -> Duration {
        self.not_found_grace
    }

    /// The shortest time between two checks of one job.
    pub(crate) fn floor(&self) -> Duration {
        self.first_check.min(self.max_interval)
    }

    /// How long a job may go unchecked before it comes first.
    pub(crate) fn starvation_bound(&self) -> Duration {
        self.max_interval.max(self.first_check)
    }

    /// When a wait that starts at `start` gives up.
    pub(crate) fn deadline_from(&self, start: Instant) -> Instant {
        far_after(start, self.deadline)
    }
}

/// `start + wait`, or a century on for a wait beyond what the clock can hold.
pub(crate) fn far_after(start: Instant, wait: Duration) -> Instant {
    start
        .checked_add(wait)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_never_exceeds_the_cap_and_an_endless_deadline_is_in_the_future() {
        let policy = PollPolicy::default()
            .first_check(Duration::from_secs(60))
            .max_interval(Duration::from_secs(10));
        assert_eq!(policy.floor(), Duration::from_secs(10));
        let endless = PollPolicy::default().deadline(Duration::MAX);
        let now = Instant::now();
        assert!(endless.deadline_from(now) > now);
    }
}
