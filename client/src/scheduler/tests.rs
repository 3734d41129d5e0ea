//! The scheduler's choices, in paused time.

use super::*;
use crate::RateLimit;

const SECOND: Duration = Duration::from_secs(1);

fn policy() -> PollPolicy {
    PollPolicy::default()
        .first_check(SECOND)
        .max_interval(10 * SECOND)
}

/// A scheduler whose limiter allows one request every `every`.
fn tight(every: Duration) -> Scheduler {
    Scheduler::new(Limiter::new(RateLimit::new(1, every)))
}

/// A scheduler at the API's 60 requests a minute.
fn per_minute() -> Scheduler {
    Scheduler::new(Limiter::new(RateLimit::default()))
}

fn learned(scheduler: &Scheduler, kind: DocumentKind, took: Duration, times: usize) {
    let mut board = scheduler.shared.lock();
    (0..times).for_each(|_| board.learn(kind, took));
}

fn register(scheduler: &Scheduler, id: &str, started: Option<Instant>) -> Ticket {
    scheduler.register(DocumentKind::Invoice, id, started, &policy())
}

/// Which of `tickets` gets the next turn.
async fn next_of(tickets: &[&Ticket]) -> usize {
    let turns = tickets.iter().enumerate().map(|(i, ticket)| {
        Box::pin(async move {
            drop(ticket.turn().await);
            i
        })
    });
    futures_util::future::select_all(turns).await.0
}

fn job(status: JobStatus, progress: Option<f64>) -> types::Job {
    types::Job {
        created_at: None,
        error: None,
        file_id: None,
        job_id: "same".into(),
        progress,
        result: None,
        results: None,
        status,
        updated_at: None,
    }
}

#[tokio::test(start_paused = true)]
async fn waits_on_one_job_share_its_checks() {
    let scheduler = per_minute();
    let start = Some(Instant::now());
    let first = register(&scheduler, "same", start);
    let second = register(&scheduler, "same", start);
    let other = register(&scheduler, "other", start);
    let Turn::Check(permit) = first.turn().await else {
        panic!("the first wait checks");
    };
    // While that check runs, another job is checked, but not the same job again.
    assert!(matches!(other.turn().await, Turn::Check(_)));
    let blocked = tokio::time::timeout(5 * SECOND, second.turn()).await;
    assert!(blocked.is_err(), "a second check of a job being checked");
    drop(permit);
    first.checked(Some(&job(JobStatus::Processing, None)));
    match second.turn().await {
        Turn::Seen(seen) => assert_eq!(seen.status, JobStatus::Processing),
        Turn::Check(_) => panic!("the answer to the first check was not shared"),
    }
    // A check that failed tells the others nothing: they check for themselves.
    tokio::time::sleep(SECOND).await;
    let Turn::Check(_) = first.turn().await else {
        panic!("a turn to check");
    };
    first.checked(None);
    tokio::time::sleep(SECOND).await;
    assert!(matches!(second.turn().await, Turn::Check(_)));
}

#[tokio::test(start_paused = true)]
async fn a_job_that_should_have_finished_is_checked_before_one_that_should_not() {
    let scheduler = tight(5 * SECOND);
    // The budget is spent until 5 s: by then both jobs ask for a turn.
    drop(scheduler.shared.limiter.acquire(1).await);
    learned(&scheduler, DocumentKind::Invoice, 3 * SECOND, 5);
    let old = register(&scheduler, "old", Some(Instant::now()));
    tokio::time::sleep(2 * SECOND).await;
    let young = register(&scheduler, "young", Some(Instant::now()));
    old.checked(None);
    young.checked(None);
    tokio::time::sleep(2 * SECOND).await;
    // "old" is 4 s old, past every duration seen; "young" is 2 s old, short of all.
    assert_eq!(next_of(&[&young, &old]).await, 1);
    assert_eq!(next_of(&[&old, &young]).await, 0);
}

#[tokio::test(start_paused = true)]
async fn a_job_younger_than_every_one_seen_waits_until_it_could_have_finished() {
    let scheduler = per_minute();
    learned(&scheduler, DocumentKind::Invoice, 4 * SECOND, 8);
    let start = Instant::now();
    let ticket = register(&scheduler, "new", Some(start));
    drop(ticket.turn().await);
    assert_eq!(
        start.elapsed(),
        4 * SECOND,
        "no check while it cannot be done"
    );
}

#[tokio::test(start_paused = true)]
async fn reported_progress_points_at_the_job_about_to_finish() {
    let scheduler = tight(5 * SECOND);
    drop(scheduler.shared.limiter.acquire(1).await);
    let start = Some(Instant::now());
    let slow = register(&scheduler, "slow", start);
    let fast = register(&scheduler, "fast", start);
    tokio::time::sleep(2 * SECOND).await;
    slow.checked(Some(&job(JobStatus::Processing, Some(10.0))));
    fast.checked(Some(&job(JobStatus::Processing, Some(90.0))));
    tokio::time::sleep(SECOND).await;
    assert_eq!(next_of(&[&slow, &fast]).await, 1);
}

#[tokio::test(start_paused = true)]
async fn no_job_starves_while_the_budget_allows() {
    // One check a second for five jobs that all look equally unlikely to be done (jobs of
    // their kind took 100 s): each is still checked at least every four rounds of all five
    // (20 s, longer than max_interval), plus one slot for each job that came due with it.
    let scheduler = tight(SECOND);
    learned(&scheduler, DocumentKind::Invoice, 100 * SECOND, 1);
    let start = Instant::now();
    let tickets: Vec<_> = (0..5)
        .map(|n| register(&scheduler, &format!("job{n}"), Some(start)))
        .collect();
    let refs: Vec<&Ticket> = tickets.iter().collect();
    let mut last_seen = [start; 5];
    while start.elapsed() < 60 * SECOND {
        let picked = next_of(&refs).await;
        refs[picked].checked(None);
        let waited = last_seen[picked].elapsed();
        assert!(waited <= 25 * SECOND, "job{picked} waited {waited:?}");
        last_seen[picked] = Instant::now();
    }
    for (n, seen) in last_seen.iter().enumerate() {
        assert!(seen.elapsed() <= 25 * SECOND, "job{n} unchecked too long");
    }
}

#[tokio::test(start_paused = true)]
async fn one_job_with_a_free_budget_is_checked_at_the_floor() {
    let scheduler = per_minute();
    let ticket = register(&scheduler, "one", Some(Instant::now()));
    let start = Instant::now();
    for n in 0..5u32 {
        drop(ticket.turn().await);
        ticket.checked(None);
        assert_eq!(start.elapsed(), n * SECOND);
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_wait_gets_no_more_turns() {
    let scheduler = tight(10 * SECOND);
    drop(scheduler.shared.limiter.acquire(1).await);
    let gone = register(&scheduler, "gone", Some(Instant::now()));
    let kept = register(&scheduler, "kept", Some(Instant::now()));
    // "gone" asks first and would get the slot that frees at 10 s, but is dropped at 5 s.
    let asking = tokio::spawn(async move {
        drop(gone.turn().await);
        unreachable!("the wait was dropped before its turn");
    });
    tokio::time::sleep(5 * SECOND).await;
    asking.abort();
    assert!(asking.await.unwrap_err().is_cancelled());
    assert_eq!(scheduler.shared.lock().waits.len(), 1);
    let start = Instant::now();
    drop(kept.turn().await);
    assert_eq!(
        start.elapsed(),
        5 * SECOND,
        "the slot at 10 s went to the one still asking"
    );
}

#[tokio::test(start_paused = true)]
async fn with_more_waits_than_max_interval_can_serve_estimates_still_choose() {
    // One check a second for 30 waits: none can be checked every 10 s, so a job unchecked
    // for 13 s is not starving yet, and the job most likely finished goes first.
    let scheduler = tight(SECOND);
    learned(&scheduler, DocumentKind::Invoice, 20 * SECOND, 16);
    let old = register(&scheduler, "old", Some(Instant::now()));
    tokio::time::sleep(8 * SECOND).await;
    let young: Vec<_> = (0..29)
        .map(|n| register(&scheduler, &format!("young{n}"), Some(Instant::now())))
        .collect();
    tokio::time::sleep(10 * SECOND).await;
    drop(old.turn().await);
    old.checked(None);
    tokio::time::sleep(3 * SECOND).await;
    // The budget is spent for a second, so that every wait is asking when a slot frees.
    drop(scheduler.shared.limiter.acquire(1).await);
    // "old" is 21 s old, past the 20 s its kind takes; the young ones are 13 s old.
    let mut all = vec![&old];
    all.extend(young.iter());
    assert_eq!(next_of(&all).await, 0);
}

#[tokio::test(start_paused = true)]
async fn checks_go_at_the_average_rate_even_for_new_jobs() {
    // 60 a minute: ten new jobs would otherwise take ten permits at once and leave the
    // sliding window's budget short for the completions after.
    let scheduler = per_minute();
    let tickets: Vec<_> = (0..10)
        .map(|n| register(&scheduler, &format!("job{n}"), None))
        .collect();
    let refs: Vec<&Ticket> = tickets.iter().collect();
    let start = Instant::now();
    let mut turns = Vec::new();
    for _ in 0..10 {
        refs[next_of(&refs).await].checked(None);
        turns.push(start.elapsed().as_secs());
    }
    assert_eq!(turns, (0..10).collect::<Vec<_>>());
}

#[cfg(feature = "webhook-receiver")]
#[tokio::test(start_paused = true)]
async fn a_push_comes_first_and_skips_the_floor_and_the_pace() {
    let scheduler = per_minute();
    scheduler.set_safety_net(Some(30 * SECOND));
    let ticket = register(&scheduler, "job", None);
    let other = register(&scheduler, "other", None);
    drop(ticket.turn().await);
    ticket.checked(None);
    // The paced slot is taken: "other" waits a second for the next.
    let start = Instant::now();
    let pusher = scheduler.clone();
    tokio::spawn(async move { pusher.push("job", None, true) });
    assert_eq!(next_of(&[&other, &ticket]).await, 1);
    assert_eq!(start.elapsed(), Duration::ZERO, "not the 30 s safety net");
}
