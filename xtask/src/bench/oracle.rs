//! The oracle of the polling section: a schedule that knows when every job completes and
//! spends the same rate budget as the client, so that its completion-to-seen delays are the
//! floor any polling schedule can reach.
//!
//! It is work-conserving: each check goes, as soon as a slot of the budget is free, to the job
//! that completed first among those completed and not yet seen (first come, first served is
//! optimal for the delays' sum and their median alike, since every check costs the same). It
//! is simulated over the run's own completion times, not run against the server: knowing the
//! answers, it has nothing to ask that a simulation cannot tell.

use std::collections::VecDeque;

/// How the budget of `limit` requests per `window` is handed out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// As the client's limiter does: a request may go whenever fewer than `limit` others
    /// finished within the last `window` (60 may go at once when the window is fresh).
    Window { limit: usize, window: f64 },
    /// One slot every `window / limit`, evenly spaced from the run's start (the same budget
    /// with no bursts: what an estimate of "one check a second" assumes).
    Paced { limit: usize, window: f64 },
}

/// The delay from each completion (seconds after the run started, in any order) to the oracle
/// seeing it, when a check takes `round_trip` seconds from sending to its answer.
pub fn delays(completions: &[f64], budget: Budget, round_trip: f64) -> Vec<f64> {
    let mut order = completions.to_vec();
    order.sort_by(f64::total_cmp);
    match budget {
        Budget::Window { limit, window } => windowed(&order, limit.max(1), window, round_trip),
        Budget::Paced { limit, window } => paced(&order, window / limit.max(1) as f64, round_trip),
    }
}

fn windowed(order: &[f64], limit: usize, window: f64, round_trip: f64) -> Vec<f64> {
    // When the last `limit` checks finished; sends never go back in time, so neither do these.
    let mut finished: VecDeque<f64> = VecDeque::with_capacity(limit);
    order
        .iter()
        .map(|&completed| {
            let free = match finished.front() {
                Some(oldest) if finished.len() == limit => oldest + window,
                _ => f64::NEG_INFINITY,
            };
            let sent = completed.max(free);
            if finished.len() == limit {
                finished.pop_front();
            }
            finished.push_back(sent + round_trip);
            sent + round_trip - completed
        })
        .collect()
}

fn paced(order: &[f64], every: f64, round_trip: f64) -> Vec<f64> {
    let mut next_slot = 0.0_f64;
    order
        .iter()
        .map(|&completed| {
            let slot = next_slot.max((completed / every).ceil() * every);
            next_slot = slot + every;
            slot + round_trip - completed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{got:?} against {want:?}");
        }
    }

    #[test]
    fn a_fresh_window_sees_completions_at_once_until_it_is_spent() {
        let budget = Budget::Window {
            limit: 2,
            window: 10.0,
        };
        // Two checks go at once; the third waits until the first answer is a window old.
        let seen = delays(&[1.0, 3.0, 2.0], budget, 0.5);
        close(&seen, &[0.5, 0.5, 1.5 + 10.0 + 0.5 - 3.0]);
    }

    #[test]
    fn paced_slots_serve_one_completion_each() {
        let budget = Budget::Paced {
            limit: 1,
            window: 1.0,
        };
        // Completions at 0.5, 0.5 and 0.6: slots at 1, 2 and 3.
        let seen = delays(&[0.5, 0.6, 0.5], budget, 0.0);
        close(&seen, &[0.5, 1.5, 2.4]);
    }

    #[test]
    fn no_budget_serves_a_completion_before_it_happens() {
        for budget in [
            Budget::Window {
                limit: 3,
                window: 1.0,
            },
            Budget::Paced {
                limit: 3,
                window: 1.0,
            },
        ] {
            let completions: Vec<f64> = (0..50).map(|n| f64::from(n * 7 % 13) / 3.0).collect();
            assert!(delays(&completions, budget, 0.0).iter().all(|d| *d >= 0.0));
        }
    }
}
