//! `--verbose` on long runs: the rate budget on stderr once a second, from
//! `invaro::Client::rate_limit`, so that a batch that seems stuck shows what it waits for.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use invaro::{Client, RateBudget};

use crate::progress::Progress;

/// How often the budget is shown; a command that ends sooner shows none.
const EVERY: Duration = Duration::from_secs(1);

/// Shows `client`'s budget on `progress` every [`EVERY`] until the process ends: once per
/// process, however many clients a command builds (they would all show one budget's state).
pub fn watch(client: &Client, progress: &Progress) {
    static WATCHING: AtomicBool = AtomicBool::new(false);
    if WATCHING.swap(true, Ordering::SeqCst) {
        return;
    }
    let (client, progress) = (client.clone(), progress.clone());
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            progress.note(&line(&client.rate_limit()));
        }
    });
}

/// One line: what may go now, what waits, and what the API last said.
pub fn line(budget: &RateBudget) -> String {
    let left = match (budget.remaining, budget.limit) {
        (Some(left), Some(limit)) => format!("{left} of {limit} left per {:?}", budget.window),
        (Some(left), None) => format!("{left} left"),
        (None, _) => "unlimited".into(),
    };
    let mut text = format!(
        "budget: {left}, {} in flight, {} waiting, next in {:.1}s",
        budget.in_flight,
        budget.waiting,
        budget.next_in.as_secs_f64()
    );
    if let Some(held) = budget.held_for {
        text += &format!(", held {:.1}s by a 429", held.as_secs_f64());
    }
    if let Some(api) = budget.server {
        text += &format!(
            "; API: {} left, resets in {}s",
            api.remaining,
            api.resets_in.as_secs()
        );
    }
    if budget.shared {
        text += " (shared through Redis)";
    }
    text
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_fresh_clients_line_says_what_is_left() {
        let client = invaro::Client::builder()
            .api_key("sk_test_1")
            .build()
            .expect("valid settings");
        let text = super::line(&client.rate_limit());
        assert_eq!(
            text,
            "budget: 60 of 60 left per 60s, 0 in flight, 0 waiting, next in 0.0s"
        );
    }
}
