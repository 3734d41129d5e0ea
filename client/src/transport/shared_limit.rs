//! One rate budget for every process that shares an API key, kept in Redis (feature `redis`):
//! [`SharedLimit`] says what it keeps and stores, and what happens when Redis is down.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::rate_limit::{Admission, Gate, Limiter, MAX_SERVER_WINDOW, Permit, RateLimit};
use crate::Error;

/// How often a client that fell back asks Redis again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Takes `cost` places in the window, or answers how long to wait (microseconds; 0: taken).
/// KEYS: log, hold, limit. ARGV: limit, window (µs), cost, member prefix.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local held = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if held > now then return held - now end
local lowest = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
local ttl = math.max(1, math.ceil(2 * window / 1000))
if lowest == 0 or limit <= lowest then
  redis.call('SET', KEYS[3], limit, 'PX', ttl)
else
  limit = lowest
end
if cost > limit then cost = limit end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n + cost <= limit then
  for i = 1, cost do redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i) end
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], n + cost - limit - 1, n + cost - limit - 1, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
";

/// Re-dates a request's places to now (its answer is in), or with ARGV[2] = 'unused' removes
/// them. KEYS: log. ARGV: member prefix, what, cost, window (µs).
const SETTLE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, tonumber(ARGV[3]) do
  local member = ARGV[1] .. ':' .. i
  if ARGV[2] == 'unused' then
    redis.call('ZREM', KEYS[1], member)
  else
    redis.call('ZADD', KEYS[1], now, member)
  end
end
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(2 * tonumber(ARGV[4]) / 1000)))
return 0
";

/// Blocks the key until ARGV[1] microseconds from Redis's now, unless blocked longer already.
/// KEYS: hold.
const HOLD: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if now + wait > held then
  redis.call('SET', KEYS[1], now + wait, 'PX', math.ceil(wait / 1000) + 1)
end
return 0
";

/// One rate budget for every process that shares an API key, kept in Redis (feature `redis`).
///
/// Four replicas of a web backend, or three workers of a batch, each with its own
/// [`Client`](crate::Client), would each allow themselves the key's whole budget and together
/// meet 429s. Given [`SharedLimit`] (or the CLI's `--redis URL`), every client on the same key
/// and base URL draws from one budget:
///
/// - **The rule**, the same as the local limiter's and the API's: never more than `limit`
///   requests in any window of the configured length ([`RateLimit`](crate::RateLimit)). It
///   counts at send: a request takes its place in the window when it is let go, right before
///   it is sent, and keeps it until one window after its answer came back (then it is re-dated
///   to the answer), so however late the request reaches the API, the API never sees more than
///   `limit` in a window. This is a sliding log, not a token bucket: a bucket whose burst equals
///   the limit lets nearly twice the limit through in a sliding window.
/// - **Redis decides, on its own clock.** One Lua script reads Redis's `TIME`, drops what left
///   the window, and either takes the places or answers how long to wait; the caller sleeps that
///   long on its own clock and asks again. No process's clock decides the pacing.
/// - **Different limits on one key:** the lowest wins. Each call stores its limit when it is the
///   lowest seen (for two windows); every process then keeps to it until no process with that
///   limit has called for two windows.
/// - **The API's word is shared:** a 429 (or `X-RateLimit-Remaining: 0` with its reset) seen by
///   one process holds every process on the key until then ("blocked until", in Redis time).
/// - **What Redis stores:** three keys named from a SHA-256 of the API key and the base URL
///   (`invaro:{<hash>}:log`, `:hold`, `:limit`; the key itself never reaches Redis): the times of
///   the requests of the current window, a "blocked until" and the lowest limit. All expire on
///   their own; nothing per process or per job is stored.
/// - **When Redis is slow or gone:** every Redis call has a short timeout (default 250 ms). On a
///   failure the client logs it once and falls back to a local limiter at a share of the limit
///   (default a quarter: four processes falling back together stay within the budget). It asks
///   Redis again at most once a second, and returns to the shared budget (with a log line) as
///   soon as Redis answers. A restarted Redis that lost the script is sent it again
///   (`NOSCRIPT`), and keys deleted mid-run are simply made again. No call fails because Redis
///   failed.
/// - A password in the Redis URL never appears in `Debug`, logs or errors.
///
/// ```no_run
/// let client = invaro::Client::builder()
///     .api_key("sk_live_...")
///     .shared_limit(invaro::SharedLimit::redis("redis://:secret@10.0.0.5:6379/0"))
///     .build()?;
/// # Ok::<(), invaro::Error>(())
/// ```
///
/// Where the budget lives, and what to do when it does not answer:
///
/// ```
/// use std::time::Duration;
/// let shared = invaro::SharedLimit::redis("redis://:hunter2@127.0.0.1:6379")
///     .timeout(Duration::from_millis(200))
///     .fallback_share(0.5);
/// assert!(!format!("{shared:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
#[must_use]
pub struct SharedLimit {
    url: secrecy::SecretString,
    timeout: Duration,
    fallback_share: f64,
}

impl fmt::Debug for SharedLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use secrecy::ExposeSecret;
        f.debug_struct("SharedLimit")
            .field("url", &redact(self.url.expose_secret()))
            .field("timeout", &self.timeout)
            .field("fallback_share", &self.fallback_share)
            .finish()
    }
}

impl SharedLimit {
    /// A budget kept in the Redis at `url` (`redis://[user][:password@]host[:port][/db]`, or
    /// `rediss://` for TLS where the build supports it).
    pub fn redis(url: impl Into<String>) -> Self {
        Self {
            url: secrecy::SecretString::from(url.into()),
            timeout: Duration::from_millis(250),
            fallback_share: 0.25,
        }
    }

    /// The longest any Redis call may take before the client falls back. Default 250 ms.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The share of the limit a client allows itself while Redis does not answer, from 0.01 to
    /// 1. Default 0.25, so that four processes falling back at once stay within the budget.
    pub fn fallback_share(mut self, share: f64) -> Self {
        self.fallback_share = if share.is_finite() {
            share.clamp(0.01, 1.0)
        } else {
            0.25
        };
        self
    }

    /// The gate for a client of `limit` on `api_key` at `base_url`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the URL is not a Redis URL (the message never shows a
    /// password).
    pub(crate) fn gate(
        &self,
        limit: RateLimit,
        api_key: &str,
        base_url: &str,
    ) -> Result<Option<Arc<dyn Gate>>, Error> {
        let client = self.redis_client()?;
        let Some((limit, window)) = limit.get() else {
            // Unlimited: there is no budget to share.
            return Ok(None);
        };
        let prefix = key_prefix(api_key, base_url);
        let fallback_limit = ((f64::from(limit) * self.fallback_share).floor() as u32).max(1);
        Ok(Some(Arc::new(Shared {
            client,
            connection: tokio::sync::OnceCell::new(),
            log: format!("{prefix}:log"),
            hold: format!("{prefix}:hold"),
            lowest: format!("{prefix}:limit"),
            limit,
            window,
            timeout: self.timeout,
            fallback: Limiter::new(RateLimit::new(fallback_limit, window)),
            resting_until: Mutex::new(None),
            down: AtomicBool::new(false),
            turn: tokio::sync::Mutex::new(()),
            admit: redis::Script::new(ADMIT),
            settle: redis::Script::new(SETTLE),
            hold_script: redis::Script::new(HOLD),
        })))
    }
}

impl SharedLimit {
    /// A client for the configured Redis (no connection yet).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the URL is not a Redis URL (the message never shows a
    /// password).
    pub(crate) fn redis_client(&self) -> Result<redis::Client, Error> {
        use secrecy::ExposeSecret;
        let url = self.url.expose_secret();
        redis::Client::open(url).map_err(|e| {
            Error::invalid(
                format!("redis URL {}", redact(url)),
                format!("is not a Redis URL ({})", e.category()),
            )
        })
    }

    /// The longest any Redis call may take.
    #[cfg(feature = "webhook-receiver")]
    pub(crate) fn get_timeout(&self) -> Duration {
        self.timeout
    }
}

/// Where everything of one key and base URL lives in Redis: `invaro:{<hash>}`, from a SHA-256
/// of both (the key itself never reaches Redis; the braces keep a cluster's keys together).
pub(crate) fn key_prefix(api_key: &str, base_url: &str) -> String {
    // Hashed in parts, so that no other copy of the key is made.
    let digest = (Sha256::new().chain_update(api_key).chain_update(b"\n"))
        .chain_update(base_url)
        .finalize();
    let hash = hex::encode(digest);
    format!("invaro:{{{}}}", &hash[..32])
}

/// The URL with any password replaced, for messages: the one before the host, and the
/// `pass` query parameter a `redis+unix://` URL carries it in.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("REDACTED"));
            }
            if parsed.query_pairs().any(|(name, _)| name.contains("pass")) {
                let pairs: Vec<(String, String)> = (parsed.query_pairs())
                    .map(|(name, value)| {
                        let value = if name.contains("pass") {
                            "REDACTED".into()
                        } else {
                            value
                        };
                        (name.into_owned(), value.into_owned())
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => "(unreadable URL, not shown)".into(),
    }
}

/// The shared budget of one client: its keys, its connection and its fallback.
struct Shared {
    client: redis::Client,
    /// Made on first use (it needs the runtime); reconnects by itself.
    connection: tokio::sync::OnceCell<ConnectionManager>,
    log: String,
    hold: String,
    lowest: String,
    limit: u32,
    window: Duration,
    timeout: Duration,
    /// The local limiter at the fallback share, used while Redis does not answer.
    fallback: Limiter,
    /// After a failure, Redis is not asked again before this.
    resting_until: Mutex<Option<Instant>>,
    /// Whether the last Redis call failed (so that an outage is logged once).
    down: AtomicBool,
    /// One caller of this process asks Redis at a time, the others queue here in order:
    /// otherwise every waiting caller would wake when a place frees and ask at once.
    turn: tokio::sync::Mutex<()>,
    admit: redis::Script,
    settle: redis::Script,
    hold_script: redis::Script,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimit")
            .field("limit", &self.limit)
            .field("window", &self.window)
            .field("down", &self.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        (self.connection)
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    /// Runs `script` with `keys` and `args` within the timeout; `None` on any failure (which
    /// it records).
    async fn run(&self, script: &redis::Script, keys: &[&str], args: &[String]) -> Option<i64> {
        let call = async {
            let mut connection = self.connection().await?;
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(*key);
            }
            for arg in args {
                invocation.arg(arg);
            }
            invocation.invoke_async::<i64>(&mut connection).await
        };
        let failure = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(answer)) => {
                if self.down.swap(false, Ordering::SeqCst) {
                    tracing::info!("Redis answers again: back to the shared rate budget");
                }
                return Some(answer);
            }
            Ok(Err(e)) => format!("Redis call failed: {}", e.category()),
            Err(_) => format!("no answer within {:?}", self.timeout),
        };
        *self.resting_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Instant::now().checked_add(PROBE_EVERY);
        if !self.down.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                failure,
                share = self.fallback.rate().map(|(limit, _)| limit),
                "Redis does not answer: falling back to a local share of the rate budget"
            );
        }
        None
    }

    /// Whether Redis failed so recently that it is not asked now.
    fn resting(&self) -> bool {
        let resting = self.resting_until.lock().unwrap_or_else(|p| p.into_inner());
        resting.is_some_and(|until| Instant::now() < until)
    }

    async fn admit_shared(self: &Shared, cost: u32) -> Box<dyn Admission> {
        let cost = cost.clamp(1, self.limit);
        let member = format!("{:016x}", fastrand::u64(..));
        let window_us = u64::try_from(self.window.as_micros()).unwrap_or(u64::MAX);
        let args = [
            self.limit.to_string(),
            window_us.to_string(),
            cost.to_string(),
            member.clone(),
        ];
        // No wait Redis asks for is longer than a window and the longest hold.
        let longest = self.window.saturating_add(MAX_SERVER_WINDOW);
        let _turn = self.turn.lock().await;
        loop {
            if self.resting() {
                return Box::new(Fallback(self.fallback.acquire(cost).await));
            }
            let keys = [self.log.as_str(), self.hold.as_str(), self.lowest.as_str()];
            match self.run(&self.admit, &keys, &args).await {
                Some(0) => {
                    return Box::new(Taken {
                        shared: Some(self.handle()),
                        member,
                        cost,
                    });
                }
                Some(wait) => {
                    let wait = Duration::from_micros(wait.max(1).unsigned_abs());
                    tokio::time::sleep(wait.min(longest)).await;
                }
                None => return Box::new(Fallback(self.fallback.acquire(cost).await)),
            }
        }
    }

    /// What a taken place needs to settle itself: the script and where to run it.
    fn handle(&self) -> SettleHandle {
        SettleHandle {
            client: self.connection.get().cloned(),
            log: self.log.clone(),
            window_us: u64::try_from(self.window.as_micros()).unwrap_or(u64::MAX),
            timeout: self.timeout,
            script: self.settle.clone(),
        }
    }
}

impl Gate for Shared {
    fn admit(&self, cost: u32) -> Pin<Box<dyn Future<Output = Box<dyn Admission>> + Send + '_>> {
        Box::pin(self.admit_shared(cost))
    }

    fn hold(&self, wait: Duration) {
        if self.resting() {
            return;
        }
        let Some(connection) = self.connection.get().cloned() else {
            return;
        };
        let wait = wait.min(MAX_SERVER_WINDOW);
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        let (script, key, timeout) = (self.hold_script.clone(), self.hold.clone(), self.timeout);
        spawn(async move {
            let mut connection = connection;
            let mut invocation = script.key(key);
            invocation.arg(micros);
            let call = invocation.invoke_async::<i64>(&mut connection);
            if let Ok(Err(e)) = tokio::time::timeout(timeout, call).await {
                tracing::debug!(error = e.category(), "could not share a hold");
            }
        });
    }
}

/// Runs `work` on the current runtime, if there is one (a permit may be dropped outside).
fn spawn(work: impl Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(work);
    }
}

/// What settling a taken place needs.
#[derive(Clone)]
struct SettleHandle {
    client: Option<ConnectionManager>,
    log: String,
    window_us: u64,
    timeout: Duration,
    script: redis::Script,
}

/// Places taken in the shared window.
struct Taken {
    /// What settling needs; taken by the one settle.
    shared: Option<SettleHandle>,
    member: String,
    cost: u32,
}

impl fmt::Debug for Taken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Taken").field("cost", &self.cost).finish()
    }
}

impl Taken {
    /// Re-dates the places to now, or (`unused`) gives them back. Best effort: a place that
    /// stays dated to its send still leaves the window a window later.
    fn settle(&mut self, what: &'static str) {
        let Some(handle) = self.shared.take() else {
            return;
        };
        let Some(mut connection) = handle.client else {
            return;
        };
        let args = [
            self.member.clone(),
            what.to_string(),
            self.cost.to_string(),
            handle.window_us.to_string(),
        ];
        spawn(async move {
            let mut invocation = handle.script.key(&handle.log);
            for arg in &args {
                invocation.arg(arg);
            }
            let call = invocation.invoke_async::<i64>(&mut connection);
            let _ = tokio::time::timeout(handle.timeout, call).await;
        });
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        self.settle("answered");
    }
}

impl Admission for Taken {
    fn unused(mut self: Box<Self>) {
        self.settle("unused");
    }
}

/// A permit of the local fallback limiter.
#[derive(Debug)]
struct Fallback(Permit);

impl Admission for Fallback {
    fn unused(self: Box<Self>) {
        self.0.release_unused();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let shared = SharedLimit::redis("redis://user:hunter2@127.0.0.1:6379/0");
        let debug = format!("{shared:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("REDACTED"),
            "{debug}"
        );
        for url in [
            "redis+unix:///run/redis.sock?db=1&pass=hunter2",
            "unix:///run/redis.sock?pass=hunter2",
        ] {
            let debug = format!("{:?}", SharedLimit::redis(url));
            assert!(
                !debug.contains("hunter2") && debug.contains("REDACTED"),
                "{debug}"
            );
        }
        let e = SharedLimit::redis("http://:hunter2@127.0.0.1")
            .gate(RateLimit::default(), "key", "https://api")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2") && e.contains("redis URL"), "{e}");
        let e = SharedLimit::redis("not a url :hunter2@")
            .gate(RateLimit::default(), "key", "https://api")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn fallback_shares_stay_sensible() {
        for (asked, kept) in [(0.5, 0.5), (0.0, 0.01), (7.0, 1.0), (f64::NAN, 0.25)] {
            assert_eq!(
                SharedLimit::redis("redis://x")
                    .fallback_share(asked)
                    .fallback_share,
                kept
            );
        }
    }
}
