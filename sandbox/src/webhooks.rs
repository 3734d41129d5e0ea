//! Webhook deliveries: job events POSTed to a job's `callback_url`, signed and retried.
//!
//! Callbacks go to loopback only, unless hosts are allowed by configuration: a sandbox bound to
//! a public address with the default key must not be a relay for requests to other hosts. A
//! refused `callback_url` refuses the request (400), so no job starts whose events would be
//! silently lost; deliveries follow no redirects.
//!
//! Only jobs with a callback get a task; it sleeps until each event is due, so events follow the
//! same timings as the job's computed state.

use serde_json::{Value, json};
use tokio::time::{Duration, sleep, sleep_until};

use crate::state::AppState;

/// The header that carries `sha256=<hex of HMAC-SHA256(secret, raw body)>`.
pub const SIGNATURE_HEADER: &str = "X-Signature";

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Signs `body` with `secret`: the value of the `X-Signature` header. The SDK's signer, so
/// the sandbox signs exactly as `invaro::webhook::Verifier` checks.
pub use invaro::webhook::sign;

/// Checks that `url` is an absolute http(s) URL to loopback or to one of the `allowed` hosts
/// (`*` allows any).
pub(crate) fn parse_callback(url: &str, allowed: &[String]) -> Result<reqwest::Url, String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("callback_url `{url}` is not a URL: {e}"))?;
    let host = parsed
        .host_str()
        .filter(|_| matches!(parsed.scheme(), "http" | "https"))
        .ok_or_else(|| format!("callback_url `{url}` must be an http or https URL with a host"))?;
    // The URL parser has already written the host canonically (lower case, IPv4 in dotted
    // decimal, IPv6 in brackets).
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if is_loopback(host) || allowed.iter().any(|a| a == "*" || a == host) {
        return Ok(parsed);
    }
    Err(format!(
        "callback_url `{url}`: the sandbox delivers webhooks only to loopback (127.0.0.1, ::1, \
         localhost) unless it is started with --webhook-allow-host {host} (or `*` for any host)"
    ))
}

/// Whether `host` (an IP address or a name, without brackets) is this machine's loopback.
fn is_loopback(host: &str) -> bool {
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|ip| ip.is_loopback())
        }
        Err(_) => host == "localhost",
    }
}

/// Starts the task that delivers `job_id`'s events to `callback`.
pub(crate) fn spawn(state: AppState, job_id: String, callback: reqwest::Url) {
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = deliver_all(&state, &job_id, &callback) => {}
            () = shutdown.cancelled() => {}
        }
    });
}

async fn deliver_all(state: &AppState, job_id: &str, callback: &reqwest::Url) {
    let Some(started) = state.store().jobs.get(job_id).map(|job| job.started) else {
        return;
    };
    let timings = state.config.timings;
    let schedule = [
        ("job.created", Duration::ZERO),
        ("job.started", timings.pending),
        ("job.progress", timings.pending + timings.processing / 2),
        ("", timings.pending + timings.processing),
    ];
    for (event, due) in schedule {
        sleep_until(started + due).await;
        let Some(payload) = payload(state, job_id, event) else {
            return;
        };
        deliver(state, callback, &payload).await;
    }
}

/// The event's payload; an empty `event` is the final one (completed or failed).
fn payload(state: &AppState, job_id: &str, event: &str) -> Option<Vec<u8>> {
    let store = state.store();
    let job = store.jobs.get(job_id)?;
    let (event, status) = match event {
        "" if job.fails => ("job.failed", "failed"),
        "" => ("job.completed", "completed"),
        "job.created" => (event, "pending"),
        _ => (event, "processing"),
    };
    let finished = matches!(status, "completed" | "failed");
    let completed_at = finished.then(|| {
        let total = state.config.timings.pending + state.config.timings.processing;
        job.created_at + chrono::Duration::from_std(total).unwrap_or_default()
    });
    let results = (status == "completed").then(|| Value::Object((*job.result).clone()));
    let body = json!({
        "event": event,
        "job_id": job.id,
        "job_type": invaro::types::SchemaType::from(job.kind).to_string(),
        "status": status,
        "created_at": job.created_at,
        "completed_at": completed_at,
        "results": results,
    });
    serde_json::to_vec(&body).ok()
}

/// POSTs one event, retrying with doubling delays until a 2xx or the retries run out.
async fn deliver(state: &AppState, callback: &reqwest::Url, body: &[u8]) {
    let settings = &state.config.webhooks;
    let signature = sign(&settings.secret, body);
    let mut delay = settings.first_retry;
    for attempt in 0..=settings.retries {
        if attempt > 0 {
            sleep(delay).await;
            delay = (delay * 2).min(settings.max_retry);
        }
        let sent = state
            .http
            .post(callback.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .timeout(ATTEMPT_TIMEOUT)
            .body(body.to_vec())
            .send()
            .await;
        if sent.is_ok_and(|response| response.status().is_success()) {
            state.stats().webhooks_delivered += 1;
            return;
        }
    }
    tracing::warn!(%callback, "webhook delivery abandoned after retries");
    state.stats().webhooks_abandoned += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_must_be_http_urls_to_loopback_or_an_allowed_host() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://127.8.9.10/hook",
            "http://[::1]:9/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "https://LOCALHOST:8443/hook",
            "http://2130706433/hook",
        ] {
            assert!(parse_callback(url, &[]).is_ok(), "{url}");
        }
        for url in [
            "https://example.com/hook",
            "http://10.0.0.1/hook",
            "http://[fe80::1]/hook",
            "http://0.0.0.0/hook",
            "http://localhost.example.com/hook",
            "ftp://127.0.0.1/hook",
            "not a url",
        ] {
            assert!(parse_callback(url, &[]).is_err(), "{url}");
        }
        let allowed = ["example.com".to_owned(), "fe80::1".to_owned()];
        assert!(parse_callback("https://Example.COM/hook", &allowed).is_ok());
        assert!(parse_callback("http://[fe80::1]/hook", &allowed).is_ok());
        assert!(parse_callback("https://other.example/hook", &allowed).is_err());
        assert!(parse_callback("https://other.example/hook", &["*".to_owned()]).is_ok());
        assert!(parse_callback("ftp://example.com/hook", &["*".to_owned()]).is_err());
    }
}
