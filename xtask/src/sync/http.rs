//! Reading docs over HTTP without trusting them: https anywhere, plain http only to this machine
//! (local docs sites in tests), at most [`MAX_REDIRECTS`] redirects, each target checked like the
//! first URL, and at most [`MAX_PAGE_BYTES`] a page.

use std::{fmt, net::IpAddr, time::Duration};

use reqwest::{Url, header::LOCATION, redirect};

/// Redirects followed for one page before giving up on it.
pub const MAX_REDIRECTS: usize = 5;

/// The largest page read; a docs page is a few kilobytes, a whole spec well under a megabyte.
pub const MAX_PAGE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a page was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The rules above forbid reading it (the reason names the URL and the rule).
    Refused(String),
    /// Reading it failed: network, HTTP status, encoding.
    Failed(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Refused(reason) => write!(f, "refused: {reason}"),
            FetchError::Failed(message) => f.write_str(message),
        }
    }
}

/// An HTTP client that follows redirects itself, so that every hop passes [`refusal`].
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// A client with bounded waits: `timeout` for a whole request (connecting takes at most
    /// ten seconds of it).
    pub fn new(timeout: Duration) -> Result<Http, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .redirect(redirect::Policy::none())
            .user_agent("invaro-xtask-sync")
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Http { client })
    }

    /// The text of the page at `start`, following redirects.
    pub async fn get(&self, start: &Url) -> Result<String, FetchError> {
        let mut url = start.clone();
        for _ in 0..=MAX_REDIRECTS {
            if let Some(reason) = refusal(&url) {
                return Err(FetchError::Refused(reason));
            }
            let response = self.client.get(url.clone()).send().await.map_err(|e| {
                FetchError::Failed(format!("cannot reach {url}: {}", error_chain(&e)))
            })?;
            let status = response.status();
            if status.is_redirection() {
                url = next_hop(&url, &response)?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Failed(format!("{url}: HTTP {status}")));
            }
            return read_capped(&url, response).await;
        }
        Err(FetchError::Refused(format!(
            "{start}: more than {MAX_REDIRECTS} redirects"
        )))
    }
}

/// Why `url` may not be read, or `None` when it may.
pub fn refusal(url: &Url) -> Option<String> {
    match url.scheme() {
        "https" => None,
        "http" if is_loopback(url) => None,
        "http" => Some(format!(
            "{url}: plain http is followed only to this machine (127.0.0.1 or ::1); use https"
        )),
        other => Some(format!(
            "{url}: `{other}` links are not followed; use https"
        )),
    }
}

/// Only IP addresses count: a name may resolve anywhere.
fn is_loopback(url: &Url) -> bool {
    url.host_str()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|host| host.parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

fn next_hop(url: &Url, response: &reqwest::Response) -> Result<Url, FetchError> {
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| FetchError::Failed(format!("{url}: HTTP {status} without a Location")))?;
    url.join(location).map_err(|e| {
        FetchError::Failed(format!(
            "{url}: HTTP {status} to an invalid location {location:?}: {e}"
        ))
    })
}

/// The body as text, refused as soon as it is known to exceed [`MAX_PAGE_BYTES`]: from its
/// `Content-Length`, or while it streams in (the header may be absent or wrong).
async fn read_capped(url: &Url, mut response: reqwest::Response) -> Result<String, FetchError> {
    let too_large = |seen: String| {
        FetchError::Refused(format!(
            "{url}: the page is larger than the {MAX_PAGE_BYTES} bytes allowed ({seen})"
        ))
    };
    if let Some(length) = response.content_length().filter(|l| *l > MAX_PAGE_BYTES) {
        return Err(too_large(format!("Content-Length: {length}")));
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        FetchError::Failed(format!("{url}: cannot read the body: {}", error_chain(&e)))
    })? {
        let size = body.len().saturating_add(chunk.len());
        if u64::try_from(size).map_or(true, |size| size > MAX_PAGE_BYTES) {
            return Err(too_large("stopped reading there".into()));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body)
        .map_err(|e| FetchError::Failed(format!("{url}: the page is not UTF-8 text: {e}")))
}

/// An error and its causes on one line: reqwest's own message rarely says what failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_to_loopback_and_nothing_else() {
        let refused = |url: &str| refusal(&Url::parse(url).unwrap());
        assert_eq!(refused("https://docs.invaro.ai/llms.txt"), None);
        assert_eq!(refused("http://127.0.0.1:8080/a.md"), None);
        assert_eq!(refused("http://[::1]:8080/a.md"), None);
        for url in [
            "http://docs.invaro.ai/a.md",
            "http://localhost.evil.test/a.md",
            "http://10.0.0.1/a.md",
            "file:///etc/passwd",
            "ftp://docs.invaro.ai/a.md",
        ] {
            assert!(refused(url).is_some_and(|r| r.starts_with(url)), "{url}");
        }
    }
}
