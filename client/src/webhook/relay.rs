//! Webhook wake-ups across replicas (features `webhook-receiver` and `redis`): a client built
//! with both [`ClientBuilder::webhooks`](crate::ClientBuilder::webhooks) and
//! [`ClientBuilder::shared_limit`](crate::ClientBuilder::shared_limit) relays every event its
//! receiver verifies to the other processes on the same key, and wakes its own waits with
//! theirs. A delivery that lands on replica B thus ends the wait for that job in replica A.
//!
//! Only the job id, the event and the status go to Redis, never the parsed document: each
//! event is published on a channel named from the hash of the API key and base URL (the one the
//! shared budget uses) and kept for five minutes under a key for its job, so that a process
//! whose subscription was down, or that started a moment later, still finds it. Duplicate
//! deliveries are harmless: a pushed wait checks the job once. Polling stays the safety net.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{EventKind, Receiver, WebhookEvent};
use crate::scheduler::{Scheduler, WeakScheduler};
use crate::transport::SharedLimit;

/// How long an event stays findable under its job's key.
const KEEP: Duration = Duration::from_secs(300);
/// How long a lost subscription waits before it tries again.
const RESUBSCRIBE: Duration = Duration::from_secs(1);
/// The most stored events read when a subscription (re)starts.
const REPLAY: usize = 1000;

/// What goes to Redis of an event: nothing of the document.
#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    job_id: String,
    event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

impl Relayed {
    fn of(event: &WebhookEvent) -> Self {
        Self {
            job_id: event.job_id.clone(),
            event: event.event.as_str().to_string(),
            status: event.status.as_ref().map(ToString::to_string),
        }
    }

    /// Tells `scheduler`: a terminal event checks the job's waits at once.
    fn push(&self, scheduler: &Scheduler) {
        let terminal = self.event == EventKind::JobCompleted.as_str()
            || self.event == EventKind::JobFailed.as_str();
        scheduler.push(&self.job_id, None, terminal);
    }
}

/// Starts relaying `receiver`'s events through `shared`'s Redis, and waking `scheduler` with
/// every process's. Needs a tokio runtime; without one, or with a URL that does not parse, it
/// logs why and relays nothing (polling still ends the waits).
///
/// Polling slows to `safety_net` only while the subscription is up: a delivery may land on
/// another replica, and without the relay this process would learn of it only by polling.
pub(crate) fn start(
    receiver: &Receiver,
    scheduler: &Scheduler,
    shared: &SharedLimit,
    (api_key, base_url): (&str, &str),
    safety_net: Duration,
) {
    scheduler.set_safety_net(None);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("webhook events are not relayed through Redis: no tokio runtime at build");
        return;
    };
    let Ok(client) = shared.redis_client() else {
        return;
    };
    let prefix = crate::transport::shared_limit::key_prefix(api_key, base_url);
    let timeout = shared.get_timeout();
    runtime.spawn(publish(
        receiver.subscribe(),
        client.clone(),
        prefix.clone(),
        timeout,
    ));
    runtime.spawn(subscribe(client, prefix, scheduler.downgrade(), safety_net));
}

/// Publishes and stores every event `events` brings, until the receiver is gone.
async fn publish(
    mut events: tokio::sync::broadcast::Receiver<WebhookEvent>,
    client: redis::Client,
    prefix: String,
    timeout: Duration,
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut connection = None;
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let relayed = Relayed::of(&event);
        let Ok(text) = serde_json::to_string(&relayed) else {
            continue;
        };
        let sent = tokio::time::timeout(timeout, async {
            if connection.is_none() {
                connection = Some(client.get_multiplexed_async_connection().await?);
            }
            let Some(connection) = connection.as_mut() else {
                unreachable!("set above");
            };
            redis::pipe()
                .cmd("SET")
                .arg(format!("{prefix}:job:{}", relayed.job_id))
                .arg(&text)
                .arg("EX")
                .arg(KEEP.as_secs())
                .ignore()
                .cmd("PUBLISH")
                .arg(format!("{prefix}:events"))
                .arg(&text)
                .ignore()
                .query_async::<()>(connection)
                .await
        })
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            connection = None;
            tracing::debug!(job_id = %relayed.job_id, "could not relay a webhook event through Redis");
        }
    }
}

/// Wakes the scheduler's waits with every relayed event, resubscribing after a loss, until
/// the client is gone.
async fn subscribe(
    client: redis::Client,
    prefix: String,
    scheduler: WeakScheduler,
    safety_net: Duration,
) {
    let channel = format!("{prefix}:events");
    let set_net = |every| scheduler.upgrade().map(|s| s.set_safety_net(every));
    while scheduler.upgrade().is_some() {
        if let Ok(mut pubsub) = client.get_async_pubsub().await
            && pubsub.subscribe(&channel).await.is_ok()
        {
            // What was delivered while this process was not listening.
            replay(&client, &prefix, &scheduler).await;
            set_net(Some(safety_net));
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                let Some(scheduler) = scheduler.upgrade() else {
                    return;
                };
                if let Ok(relayed) = serde_json::from_slice::<Relayed>(message.get_payload_bytes())
                {
                    relayed.push(&scheduler);
                }
            }
            tracing::debug!("the webhook relay's subscription was lost; resubscribing");
            set_net(None);
        }
        tokio::time::sleep(RESUBSCRIBE).await;
    }
}

/// Pushes the events stored for recent jobs (at most [`REPLAY`]).
async fn replay(client: &redis::Client, prefix: &str, scheduler: &WeakScheduler) {
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let mut cursor = 0u64;
    let mut seen = 0;
    loop {
        let page: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:job:*"))
            .arg("COUNT")
            .arg(100)
            .query_async(&mut connection)
            .await;
        let Ok((next, keys)) = page else { return };
        if !keys.is_empty() {
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut connection)
                .await
                .unwrap_or_default();
            let Some(scheduler) = scheduler.upgrade() else {
                return;
            };
            for value in values.into_iter().flatten() {
                if let Ok(relayed) = serde_json::from_str::<Relayed>(&value) {
                    relayed.push(&scheduler);
                }
            }
        }
        seen += keys.len();
        cursor = next;
        if cursor == 0 || seen >= REPLAY {
            return;
        }
    }
}
