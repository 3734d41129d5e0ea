//! Webhook deliveries: job events POSTed to a job's `callback_url`, signed and retried.
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

/// Checks that `url` is an absolute http(s) URL a callback can be sent to.
pub(crate) fn parse_callback(url: &str) -> Result<reqwest::Url, String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("callback_url `{url}` is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "callback_url `{url}` must be an http or https URL with a host"
        ));
    }
    Ok(parsed)
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
        "job_type": job.kind.as_str(),
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
    fn callbacks_must_be_http_urls() {
        assert!(parse_callback("http://127.0.0.1:9/hook").is_ok());
        assert!(parse_callback("https://example.com/hook").is_ok());
        assert!(parse_callback("ftp://example.com/hook").is_err());
        assert!(parse_callback("not a url").is_err());
    }
}
