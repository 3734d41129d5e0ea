//! Completions delivered to one replica of several: 1, 2, 4 and 8 clients on one key, each with
//! a webhook receiver of its own, every delivery going to the first (as a load balancer may send
//! them), each client parsing its share of the same documents against the sandbox. Shared
//! through Redis (`SharedLimit`), the first receiver relays each verified event and the waits on
//! every replica end with it; with separate limiters (no Redis) a wait on another replica ends
//! only by polling at the safety net, set to 3 s here so that a run stays short (30 s by
//! default). The replicas are clients in one process, each with its own Redis connections and
//! receiver: the relay sees them as it sees processes. Every run stays within the sandbox's 60
//! requests a minute, so no 429 hold blurs the figure: the median delay from a job's completion
//! (the sandbox's `updated_at`) to its `parse_file` returning, over the jobs of the replicas that
//! received no delivery (with one replica, over all).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use futures::StreamExt;
use invaro::{
    DocumentKind, PollPolicy, SharedLimit,
    webhook::{Listener, Receiver, Verifier},
};
use invaro_sandbox::Sandbox;

use super::{
    Settings,
    report::{Figure, median},
    shared_budget::Redis,
    webhooks::{SECRET, sandbox, seen_after},
};

const DOCUMENTS: usize = 12;
const REPLICAS: [usize; 4] = [1, 2, 4, 8];
const SAFETY_NET: Duration = Duration::from_secs(3);

/// Runs the section and returns its figures.
pub fn run(settings: &Settings, work: &Path) -> Result<Vec<Figure>, String> {
    let Some(redis) = Redis::start() else {
        eprintln!("bench: relay: no redis-server on this machine; section skipped");
        return Ok(Vec::new());
    };
    let files = super::batch::documents(&work.join("relay"), DOCUMENTS)?;
    let (server, runtime) = super::server::runtimes()?;
    let mut figures = Vec::new();
    for replicas in REPLICAS {
        // (relayed, separate) per run, the order alternating.
        let mut runs = Vec::new();
        for run in 0..settings.polling_repeats.max(3) {
            let one = |url: Option<&str>| -> Result<f64, String> {
                let sandbox = server.block_on(sandbox())?;
                let delay = runtime.block_on(parse_all(&sandbox, &files, replicas, url));
                drop(sandbox);
                delay
            };
            let url = redis.url();
            runs.push(if run % 2 == 0 {
                let relayed = one(Some(&url))?;
                (relayed, one(None)?)
            } else {
                let separate = one(None)?;
                (one(Some(&url))?, separate)
            });
        }
        let relayed = median(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
        let separate = median(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
        figures.push(
            Figure::new(
                format!(
                    "{replicas} replica(s), deliveries to the first: completion to seen, median"
                ),
                relayed * 1000.0,
                "ms",
            )
            .against("no Redis, no relay", separate * 1000.0, relayed / separate),
        );
    }
    server.shutdown_background();
    Ok(figures)
}

/// Parses `files`, [`STAGGER`](super::webhooks::STAGGER) apart, spread over `replicas` clients whose deliveries all go to
/// the first one's listener, sharing through `redis` if given; returns the median delay from
/// completion to seen of the jobs the other replicas waited on (all, with one), in seconds.
async fn parse_all(
    sandbox: &Sandbox,
    files: &[PathBuf],
    replicas: usize,
    redis: Option<&str>,
) -> Result<f64, String> {
    let verifier = || Verifier::new(SECRET).map_err(|e| e.to_string());
    let first = Receiver::new(verifier()?);
    let listener = Listener::bind("127.0.0.1:0", first.clone())
        .await
        .map_err(|e| format!("the webhook listener: {e}"))?;
    let mut clients = Vec::new();
    for n in 0..replicas {
        let receiver = if n == 0 {
            first.clone()
        } else {
            Receiver::new(verifier()?)
        };
        let mut builder = invaro::Client::builder()
            .api_key(sandbox.api_key())
            .base_url(sandbox.base_url())
            .poll(PollPolicy::default().safety_net(SAFETY_NET))
            .webhooks(&receiver, listener.url());
        if let Some(url) = redis {
            builder = builder.shared_limit(SharedLimit::redis(url));
        }
        clients.push(builder.build().map_err(|e| e.to_string())?);
    }
    let delays: Vec<Result<(usize, f64), String>> = futures::stream::iter(files.iter().enumerate())
        .map(|(i, file)| {
            let client = &clients[i % replicas];
            async move { Ok((i, seen_after(client, file, DocumentKind::Invoice, i).await?)) }
        })
        .buffer_unordered(files.len())
        .collect()
        .await;
    let delays = delays.into_iter().collect::<Result<Vec<_>, _>>()?;
    let elsewhere: Vec<f64> = (delays.into_iter())
        .filter(|(i, _)| replicas == 1 || i % replicas != 0)
        .map(|(_, delay)| delay)
        .collect();
    Ok(median(&elsewhere))
}
