//! [`RateBudget`]: what a client's rate limiter holds at one moment, from
//! [`Client::rate_limit`](crate::Client::rate_limit).

use std::time::Duration;

/// What a client's rate limiter holds at one moment: how many requests may go now, how long
/// one made now would wait, how many calls are waiting, and what the API last said in its
/// `X-RateLimit-*` headers. Every clone and view of a client shares one budget.
///
/// ```
/// let client = invaro::Client::builder().api_key("sk_test_123").build()?;
/// let budget = client.rate_limit();
/// assert_eq!(budget.limit, Some(60));
/// assert_eq!(budget.remaining, Some(60));
/// assert_eq!(budget.waiting, 0);
/// # Ok::<(), invaro::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateBudget {
    /// Requests per window, as configured ([`RateLimit`](crate::RateLimit)); `None` when
    /// unlimited.
    pub limit: Option<u32>,
    /// The window the limit counts over.
    pub window: Duration,
    /// Requests that may go at once, without waiting: the limit less those sent within the
    /// last window (or still awaiting their answer), lowered to what the API last said is
    /// left in its window. `None` when unlimited and the API said nothing. Zero while a 429
    /// holds the client.
    pub remaining: Option<u32>,
    /// Requests sent and still awaiting their answer.
    pub in_flight: u32,
    /// How long a request made now would wait for the limiter (zero when `remaining` is not
    /// zero): until the oldest counted request leaves the window, the API's window resets, or
    /// a 429's hold ends. While the oldest request is still in flight, a whole window.
    pub next_in: Duration,
    /// How long a 429 still holds every call of the client, if one does.
    pub held_for: Option<Duration>,
    /// Calls waiting for the limiter now (the checks of waits between turns not counted).
    pub waiting: usize,
    /// What the API said in its last `X-RateLimit-Remaining` and `X-RateLimit-Reset`, while
    /// that window lasts.
    pub server: Option<ServerBudget>,
    /// Whether the budget is shared with other processes (`ClientBuilder::shared_limit`,
    /// feature `redis`). The figures above are then this process's: what the others sent
    /// shows only through the API's headers (`server`) and the shared limiter's own waits.
    pub shared: bool,
}

/// The API's word on its current window, from its `X-RateLimit-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerBudget {
    /// Requests left in the window, less those this client sent since the API said so.
    pub remaining: u64,
    /// When the window resets, in Unix seconds, as the API sent it.
    pub reset: u64,
    /// When the window resets, from now (at most [`MAX_SERVER_WINDOW`](crate::MAX_SERVER_WINDOW)).
    pub resets_in: Duration,
}
