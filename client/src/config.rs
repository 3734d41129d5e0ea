//! The settings of a [`Client`] and the builder that checks them.

use std::{net::IpAddr, time::Duration};

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};

use crate::{Client, Error, PollPolicy, RateLimit, RetryPolicy};

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.invaro.ai/api/v1";

/// The settings a [`Client`] runs with, as [`ClientBuilder`] set them (its setters state the
/// defaults). Read them back with [`Client::config`].
///
/// ```
/// let client = invaro::Client::builder().api_key("sk_test_123").build()?;
/// assert_eq!(client.config().read_timeout, std::time::Duration::from_secs(30));
/// # Ok::<(), invaro::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The API key, redacted in `Debug`.
    pub api_key: SecretString,
    /// Where the API lives, without a trailing slash.
    pub base_url: String,
    /// The longest silence on a connection: from sending a request until its answer starts,
    /// and between two pieces of a body. A large body that keeps moving never times out.
    pub read_timeout: Duration,
    /// How long opening a connection may take (only for the HTTP client the SDK builds).
    pub connect_timeout: Duration,
    /// How failed calls are retried.
    pub retry: RetryPolicy,
    /// How jobs are polled.
    pub poll: PollPolicy,
    /// The client-side rate limit.
    pub rate_limit: RateLimit,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The `callback_url` sent with every job start, when a webhook receiver is attached.
    pub callback_url: Option<String>,
    /// The rate budget shared with other processes on the same key, if any.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub shared_limit: Option<crate::SharedLimit>,
}

/// Builds a [`Client`]; every setting has a default but the API key.
///
/// ```
/// use std::time::Duration;
/// let client = invaro::Client::builder()
///     .api_key("sk_test_123")
///     .read_timeout(Duration::from_secs(10))
///     .rate_limit(invaro::RateLimit::per_minute(30))
///     .build()?;
/// assert_eq!(client.config().base_url, "https://api.invaro.ai/api/v1");
/// assert!(!format!("{client:?}").contains("sk_test_123"));
/// # Ok::<(), invaro::Error>(())
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    base_url: Option<String>,
    read_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    poll: Option<PollPolicy>,
    rate_limit: Option<RateLimit>,
    user_agent: Option<String>,
    http_client: Option<reqwest::Client>,
    #[cfg(feature = "webhook-receiver")]
    webhooks: Option<(crate::webhook::Receiver, String)>,
    #[cfg(feature = "redis")]
    shared_limit: Option<crate::SharedLimit>,
}

impl ClientBuilder {
    /// The API key sent as `Authorization: Bearer <key>`. Required.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Where the API lives. Default [`DEFAULT_BASE_URL`]. Plain `http://` is accepted only
    /// for loopback hosts (a local sandbox).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The longest silence on a connection: from sending a request until its answer starts,
    /// and between two pieces of a body. Default 30 s. An upload's answer may take this long
    /// after its last byte left, and the whole upload one second more per 16 KiB (a floor on
    /// its speed). Ignored with [`http_client`](Self::http_client), whose own settings apply.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// How long opening a connection may take. Default 10 s. Ignored with
    /// [`http_client`](Self::http_client), whose own setting applies.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How failed calls are retried. Default [`RetryPolicy::default`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// How jobs are polled. Default [`PollPolicy::default`].
    pub fn poll(mut self, policy: PollPolicy) -> Self {
        self.poll = Some(policy);
        self
    }

    /// The client-side rate limit shared by every call. Default 60 per minute.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Shares the rate budget with every process on the same API key and base URL through
    /// Redis (see [`SharedLimit`](crate::SharedLimit)): each keeps to
    /// [`rate_limit`](Self::rate_limit) together, not each on its own. Off by default.
    ///
    /// ```no_run
    /// let client = invaro::Client::builder()
    ///     .api_key("sk_live_...")
    ///     .shared_limit(invaro::SharedLimit::redis("redis://127.0.0.1:6379"))
    ///     .build()?;
    /// # Ok::<(), invaro::Error>(())
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_limit(mut self, shared: crate::SharedLimit) -> Self {
        self.shared_limit = Some(shared);
        self
    }

    /// The `User-Agent` header. Default `invaro-rust/<version>`.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// Sends through this HTTP client (proxies, custom roots...) instead of one the SDK builds.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Receives webhooks: every job start sends `callback_url` (where `receiver` is reachable
    /// from the API), a verified event ends the matching waits at once, and polling slows to the
    /// poll policy's [`safety_net`](PollPolicy::safety_net). Off by default: the public docs
    /// do not describe webhooks yet.
    #[cfg(feature = "webhook-receiver")]
    #[cfg_attr(docsrs, doc(cfg(feature = "webhook-receiver")))]
    pub fn webhooks(
        mut self,
        receiver: &crate::webhook::Receiver,
        callback_url: impl Into<String>,
    ) -> Self {
        self.webhooks = Some((receiver.clone(), callback_url.into()));
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the setting: no API key, or one empty or not printable
    /// ASCII; a base URL that is not a URL (or plain `http://` to a host other than loopback);
    /// a webhook callback URL that is not an http(s) URL with a host; or an HTTP client that
    /// cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = self.api_key.ok_or_else(|| {
            Error::invalid(
                "api_key",
                "is required: call api_key() or set INVARO_API_KEY",
            )
        })?;
        check_key(&api_key)?;
        let base_url = check_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let config = Config {
            api_key,
            base_url,
            read_timeout: self.read_timeout.unwrap_or(Duration::from_secs(30)),
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(10)),
            retry: self.retry.unwrap_or_default(),
            poll: self.poll.unwrap_or_default(),
            rate_limit: self.rate_limit.unwrap_or_default(),
            user_agent: self
                .user_agent
                .unwrap_or_else(|| concat!("invaro-rust/", env!("CARGO_PKG_VERSION")).into()),
            callback_url: None,
            #[cfg(feature = "redis")]
            shared_limit: self.shared_limit,
        };
        #[cfg(feature = "webhook-receiver")]
        let mut config = config;
        #[cfg(feature = "webhook-receiver")]
        if let Some((_, url)) = &self.webhooks {
            config.callback_url = Some(check_callback_url(url)?);
        }
        let (http, uploads) = match self.http_client {
            Some(http) => (http.clone(), http),
            None => (
                http_client(&config, Some(config.read_timeout))?,
                http_client(&config, None)?,
            ),
        };
        let client = Client::from_parts(config, http, uploads)?;
        #[cfg(feature = "webhook-receiver")]
        if let Some((receiver, _)) = &self.webhooks {
            receiver.attach(client.scheduler());
            client
                .scheduler()
                .set_safety_net(client.config().poll.get_safety_net());
        }
        Ok(client)
    }
}

/// Checks that a callback URL is an absolute http(s) URL with a host.
#[cfg(feature = "webhook-receiver")]
fn check_callback_url(raw: &str) -> Result<String, Error> {
    let url = Url::parse(raw).map_err(|e| {
        Error::invalid(
            format!("callback_url {raw:?}"),
            format!("is not a URL: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid(
            format!("callback_url {raw:?}"),
            "must be an http or https URL with a host",
        ));
    }
    Ok(url.into())
}

/// An HTTP client with the configured connect timeout and, if given, a read timeout. Where
/// the system allows, the kernel also drops a connection whose sent data stays unacknowledged
/// for the read timeout (a peer that vanished mid-upload).
fn http_client(config: &Config, read_timeout: Option<Duration>) -> Result<reqwest::Client, Error> {
    let builder = reqwest::Client::builder().connect_timeout(config.connect_timeout);
    let builder = match read_timeout {
        Some(timeout) => builder.read_timeout(timeout),
        None => builder,
    };
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let builder = builder.tcp_user_timeout(config.read_timeout);
    builder
        .build()
        .map_err(|e| Error::invalid("http client", e.to_string()))
}

fn check_key(key: &SecretString) -> Result<(), Error> {
    let key = key.expose_secret();
    if key.trim().is_empty() {
        return Err(Error::invalid("api_key", "must not be empty"));
    }
    // Say what is wrong without echoing the secret.
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "api_key",
            "must be printable ASCII without spaces",
        ));
    }
    Ok(())
}

/// Parses the base URL and refuses plain HTTP to anything but this machine.
fn check_base_url(raw: &str) -> Result<String, Error> {
    let url = Url::parse(raw)
        .map_err(|e| Error::invalid(format!("base_url {raw:?}"), format!("is not a URL: {e}")))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid(
                format!("base_url {raw:?}"),
                "must use https (plain http is allowed only for localhost and 127.0.0.1)",
            ));
        }
        other => {
            return Err(Error::invalid(
                format!("base_url {raw:?}"),
                format!("has scheme {other:?}; use https"),
            ));
        }
    }
    Ok(raw.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_reaches_this_machine() {
        for ok in [
            "https://api.invaro.ai/api/v1",
            "http://127.0.0.1:8080/api/v1",
            "http://localhost/api/v1",
            "http://[::1]:9/api/v1",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.invaro.ai/api/v1",
            "http://10.0.0.1/",
            "ftp://x",
            "nope",
        ] {
            let e = check_base_url(bad).unwrap_err().to_string();
            assert!(e.contains("base_url"), "{e}");
        }
    }

    #[test]
    fn keys_are_checked_without_being_echoed() {
        let e = check_key(&SecretString::from("bad key\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("api_key") && !e.contains("bad key"), "{e}");
        assert!(check_key(&SecretString::from(" ")).is_err());
    }
}
