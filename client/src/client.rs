//! The [`Client`]: the generated API plus the flows people actually run.

use std::{path::Path, sync::Arc};

use crate::{
    CallOptions, Config, DocumentKind, Error, Job, Response, Upload,
    generated::{self, types},
    results::{InvoiceResult, StatementResult},
    transport::{self, Transport},
};

/// A client of the Invaro API. Cheap to clone: clones share the connection pool and the rate
/// limiter.
///
/// ```no_run
/// # async fn demo() -> Result<(), invaro::Error> {
/// let client = invaro::Client::from_env()?;
/// let parsed = client.parse_file("invoice.pdf", invaro::DocumentKind::Invoice).await?;
/// println!("{:#?}", parsed.output());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    /// The options of a view made by [`Client::with_options`].
    view: Option<Arc<View>>,
}

/// A view's options, and the settings they make effective.
#[derive(Debug)]
struct View {
    options: Arc<CallOptions>,
    config: Config,
}

#[derive(Debug)]
struct Inner {
    api: generated::Client,
    config: Config,
    scheduler: crate::scheduler::Scheduler,
}

impl Client {
    /// Starts building a client.
    ///
    /// ```
    /// let client = invaro::Client::builder().api_key("sk_test_123").build()?;
    /// # let _ = client; Ok::<(), invaro::Error>(())
    /// ```
    pub fn builder() -> crate::ClientBuilder {
        crate::ClientBuilder::default()
    }

    /// A client configured from the environment: `INVARO_API_KEY` (required) and
    /// `INVARO_BASE_URL` (optional).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), invaro::Error> {
    /// let client = invaro::Client::from_env()?; // INVARO_API_KEY, optional INVARO_BASE_URL
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `INVARO_API_KEY` is not set, or a setting is refused as by
    /// [`ClientBuilder::build`](crate::ClientBuilder::build).
    pub fn from_env() -> Result<Self, Error> {
        let key = std::env::var("INVARO_API_KEY")
            .map_err(|_| Error::invalid("INVARO_API_KEY", "must be set to your API key"))?;
        let builder = Self::builder().api_key(key);
        match std::env::var("INVARO_BASE_URL") {
            Ok(url) if !url.is_empty() => builder.base_url(url).build(),
            _ => builder.build(),
        }
    }

    pub(crate) fn from_parts(
        config: Config,
        http: reqwest::Client,
        uploads: reqwest::Client,
    ) -> Result<Self, Error> {
        let hooks = Transport::new(&config, uploads)?;
        let scheduler = crate::scheduler::Scheduler::new(hooks.limiter().clone());
        let api = generated::Client::new_with_client(&config.base_url, http, hooks);
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                config,
                scheduler,
            }),
            view: None,
        })
    }

    /// A view of this client whose calls run with `options`: the same connection pool, rate
    /// limiter and waits, cheap to make (one allocation) and to clone. Every call made through
    /// it takes the options: the resource groups, [`call`](Self::call) with a generated
    /// builder, uploads, job starts and waits ([`Client::job`]), batches. Settings the options
    /// leave out come from this client; a view of a view takes the new options in place of
    /// the old.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// use std::time::Duration;
    /// use invaro::{CallOptions, RetryPolicy};
    /// let quick = CallOptions::new().timeout(Duration::from_secs(2)).retry(RetryPolicy::none());
    /// let page = client.with_options(quick).files().list().send().await?;
    /// let traced = client.with_options(CallOptions::new().header("X-Request-Id", "r-17")?);
    /// let schemas = traced.call(traced.api().list_schemas().send()).await?;
    /// # let _ = (page, schemas); Ok(()) }
    /// ```
    pub fn with_options(&self, options: CallOptions) -> Client {
        let mut config = self.inner.config.clone();
        if let Some(policy) = options.get_retry() {
            config.retry = policy.clone();
        }
        if let Some(timeout) = options.get_timeout() {
            let deadline = config.poll.get_deadline().min(timeout);
            config.poll = config.poll.deadline(deadline);
        }
        Client {
            inner: self.inner.clone(),
            view: Some(Arc::new(View {
                options: Arc::new(options),
                config,
            })),
        }
    }

    /// The options of this view ([`with_options`](Self::with_options)), if it is one.
    pub fn options(&self) -> Option<&CallOptions> {
        self.view.as_deref().map(|view| &*view.options)
    }

    /// The scheduler every wait of this client and its clones shares.
    pub(crate) fn scheduler(&self) -> &crate::scheduler::Scheduler {
        &self.inner.scheduler
    }

    /// The rate limiter every call of this client and its clones shares.
    pub(crate) fn limiter(&self) -> &crate::transport::rate_limit::Limiter {
        progenitor_client::ClientInfo::inner(&self.inner.api).limiter()
    }

    /// What the rate limiter this client shares with its clones holds now: requests left in
    /// the window, how long a request made now would wait, how many calls are waiting, and
    /// what the API last said in its `X-RateLimit-*` headers.
    ///
    /// ```
    /// let client = invaro::Client::builder()
    ///     .api_key("sk_test_123")
    ///     .rate_limit(invaro::RateLimit::per_minute(120))
    ///     .build()?;
    /// let budget = client.rate_limit();
    /// assert_eq!(budget.remaining, Some(120));
    /// assert!(budget.server.is_none(), "the API has said nothing yet");
    /// # Ok::<(), invaro::Error>(())
    /// ```
    pub fn rate_limit(&self) -> crate::RateBudget {
        self.limiter().snapshot()
    }

    /// The settings this client runs with.
    ///
    /// ```
    /// let client = invaro::Client::builder().api_key("sk_test_123").build()?;
    /// assert_eq!(client.config().base_url, invaro::DEFAULT_BASE_URL);
    /// # Ok::<(), invaro::Error>(())
    /// ```
    pub fn config(&self) -> &Config {
        self.view
            .as_ref()
            .map_or(&self.inner.config, |view| &view.config)
    }

    /// The Files API: list, get, download, delete, upload with validation.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let page = client.files().list().status(invaro::types::FileStatus::Completed).send().await?;
    /// println!("{} completed files", page.files.len());
    /// # Ok(()) }
    /// ```
    pub fn files(&self) -> crate::resources::Files<'_> {
        crate::resources::Files::new(self)
    }

    /// The Schemas API: create, list, get, update custom extraction schemas.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let schemas = client.schemas().list().kind(invaro::DocumentKind::Invoice).send().await?;
    /// println!("{} invoice schemas", schemas.schemas.len());
    /// # Ok(()) }
    /// ```
    pub fn schemas(&self) -> crate::resources::Schemas<'_> {
        crate::resources::Schemas::new(self)
    }

    /// Parse jobs of any kind, by id.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// println!("{}", client.jobs().get("job_4f1c").await?.status);
    /// # Ok(()) }
    /// ```
    pub fn jobs(&self) -> crate::resources::Jobs<'_> {
        crate::resources::Jobs::new(self)
    }

    /// The generated client, for every operation of the API as the spec names it, in
    /// progenitor's builder style (`client.api().list_schemas().page(1).send()`). Its calls go
    /// through the same authentication, rate limiting and retries as the rest of this crate;
    /// run them with [`call`](Self::call) to get this crate's [`Error`] and the envelope. The
    /// resource groups ([`files`](Self::files), [`schemas`](Self::schemas)) and the job calls
    /// cover every operation with plainer types: reach for `api()` for what they leave out.
    pub fn api(&self) -> &generated::Client {
        &self.inner.api
    }

    /// Runs a call of the generated client ([`api`](Self::api)) and returns its body (the
    /// whole envelope, as the spec declares it), or an [`Error`]. On a view
    /// ([`with_options`](Self::with_options)), the call runs with the view's options.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let page = client.call(client.api().list_schemas().page(1).send()).await?;
    /// println!("{} schemas", page.data.schemas.len());
    /// # Ok(()) }
    /// ```
    pub fn call<T, F>(&self, future: F) -> impl Future<Output = Result<T, Error>> + use<T, F>
    where
        F: Future<
            Output = Result<
                progenitor_client::ResponseValue<T>,
                progenitor_client::Error<types::ErrorEnvelope>,
            >,
        >,
    {
        let options = self.view.as_ref().map(|view| view.options.clone());
        let timeout = options.as_deref().and_then(CallOptions::get_timeout);
        crate::options::scope(options, transport::hooks::call(future, timeout))
    }

    /// Runs `call`, any call of this client, and returns its answer with the HTTP status and
    /// headers of the response it came from and the time it took: for calls that send one
    /// request (a resource group's call, [`call`](Self::call) with a generated builder, an
    /// upload, a job start). Of a call that sends several (a wait, a stream of pages), the last
    /// response's. Only calls run this way copy their headers.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let page = client.with_response(client.files().list().send()).await?;
    /// println!("{} files, {:?} requests left", page.files.len(), page.headers().get("x-ratelimit-remaining"));
    /// let schemas = client.with_response(client.call(client.api().list_schemas().send())).await?;
    /// println!("{} after {:?}", schemas.status(), schemas.elapsed());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// What `call` returns.
    pub fn with_response<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
    ) -> impl Future<Output = Result<Response<T>, Error>> {
        crate::response::capture(call)
    }

    /// Starts parsing an uploaded document (its `doc_id`).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// use invaro::{DocumentKind, Upload};
    /// let uploaded = client.upload(&[Upload::path("statement.pdf")]).await?;
    /// let job = client.start_job(DocumentKind::Statement, &uploaded[0].doc_id).await?;
    /// println!("started {}", job.id());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Failing calls: the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn start_job(&self, kind: DocumentKind, document_id: &str) -> Result<Job, Error> {
        let request = types::StartJobRequest {
            document_id: document_id.to_string(),
            callback_url: self.config().callback_url.clone(),
        };
        let started = match kind {
            DocumentKind::Invoice => {
                let call = self.api().process_invoices().body(request);
                self.call(call.send()).await?
            }
            DocumentKind::Statement => {
                let call = self.api().process_statements().body(request);
                self.call(call.send()).await?
            }
        };
        Ok(Job::started(self, kind, started.data.job_id))
    }

    /// The job `job_id` of `kind`, to check or wait on: the one way to take up a job by id
    /// (one started earlier, elsewhere, or before an [`Error::WaitTimeout`]).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let parsed = client.job(invaro::DocumentKind::Invoice, "job_4f1c").wait().await?;
    /// # let _ = parsed; Ok(()) }
    /// ```
    pub fn job(&self, kind: DocumentKind, job_id: impl Into<String>) -> Job {
        Job::resume(self, kind, job_id)
    }

    /// Uploads a file, parses it and waits for the result, in one call.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let parsed = client.parse_file("invoice.pdf", invaro::DocumentKind::Invoice).await?;
    /// println!("{:?}", parsed.invoice()?.buyer_details);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`upload`](Self::upload) and [`start_job`](Self::start_job), then as [`Job::wait`]:
    /// [`Error::JobFailed`] when the job fails, [`Error::WaitTimeout`] when it outlasts the poll
    /// policy's deadline (it runs on: resume it by id).
    pub async fn parse_file(
        &self,
        path: impl AsRef<Path>,
        kind: DocumentKind,
    ) -> Result<ParsedDocument, Error> {
        let uploaded = self.upload(&[Upload::path(path.as_ref())]).await?;
        let document = uploaded.first().ok_or_else(|| {
            Error::invalid("upload response", "lists no file for the one uploaded")
        })?;
        self.start_job(kind, &document.doc_id).await?.wait().await
    }

    /// Parses many uploaded documents through the batch engine ([`crate::batch`]): starts
    /// them in requests of at most ten and waits on each job as soon as it has started (the
    /// shared rate limiter paces the checks). One document failing does not stop the others:
    /// the report says what became of each, in the order given. The poll policy's deadline
    /// counts from this call, for every job alike.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client, ids: Vec<String>) -> Result<(), invaro::Error> {
    /// let report = client.parse_batch(invaro::DocumentKind::Invoice, &ids).await?;
    /// for (document, error) in report.failed() {
    ///     eprintln!("{document}: {error}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty list; what happens to one document is in its
    /// outcome.
    pub async fn parse_batch(
        &self,
        kind: DocumentKind,
        document_ids: &[String],
    ) -> Result<BatchReport, Error> {
        if document_ids.is_empty() {
            return Err(Error::invalid(
                "parse_batch",
                "needs at least one document id",
            ));
        }
        let items = document_ids
            .iter()
            .map(crate::batch::Item::document)
            .collect();
        let tracks = crate::batch::Runner::new(self, kind)
            .concurrency(document_ids.len())
            .run_settled(items)
            .await?;
        let outcomes = document_ids
            .iter()
            .zip(tracks)
            .map(|(id, track)| BatchOutcome {
                document_id: id.clone(),
                result: match (track.parsed, track.error) {
                    (Some(parsed), _) => Ok(parsed),
                    (None, Some(error)) => Err(error),
                    (None, None) => Err(Arc::new(Error::invalid(
                        format!("document {id}"),
                        track.entry.error.unwrap_or_else(|| "did not finish".into()),
                    ))),
                },
            })
            .collect();
        Ok(BatchReport { outcomes })
    }
}

/// What a job parsed out of a document.
///
/// ```no_run
/// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
/// let parsed = client.job(invaro::DocumentKind::Invoice, "job_4f1c").wait().await?;
/// println!("{} ({}): {:?}", parsed.job_id(), parsed.kind(), parsed.invoice()?.invoice_details);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedDocument {
    kind: DocumentKind,
    job: types::Job,
}

impl ParsedDocument {
    /// Wraps a completed job record (for example the last of [`Job::updates`]).
    pub fn new(kind: DocumentKind, job: types::Job) -> Self {
        Self { kind, job }
    }

    /// The job that parsed it.
    pub fn job_id(&self) -> &str {
        &self.job.job_id
    }

    /// The kind of document.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The final job record, as the server sent it.
    pub fn job(&self) -> &types::Job {
        &self.job
    }

    /// The parsed content as JSON (from `result` or `results`, whichever the server sent).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let parsed = client.job(invaro::DocumentKind::Invoice, "job_4f1c").wait().await?;
    /// if let Some(output) = parsed.output() {
    ///     println!("{}", serde_json::to_string_pretty(output).unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn output(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.job.output().map(|output| &output.0)
    }

    /// The content as a typed invoice.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let parsed = client.job(invaro::DocumentKind::Invoice, "job_4f1c").wait().await?;
    /// let invoice = parsed.invoice()?;
    /// println!("buyer: {:?}", invoice.buyer_details.and_then(|b| b.name));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the content does not have an invoice's shape.
    pub fn invoice(&self) -> Result<InvoiceResult, Error> {
        self.typed()
    }

    /// The content as a typed bank statement.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let parsed = client.job(invaro::DocumentKind::Statement, "job_4f1c").wait().await?;
    /// for line in parsed.statement()?.transactions {
    ///     println!("{:?} {:?}", line.parsed_date(), line.amount);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the content does not have a bank statement's shape.
    pub fn statement(&self) -> Result<StatementResult, Error> {
        self.typed()
    }

    fn typed<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let output = self.output().cloned().unwrap_or_default();
        serde_json::from_value(serde_json::Value::Object(output)).map_err(|e| {
            let body = serde_json::to_vec(&self.output()).unwrap_or_default();
            Error::decode(None, &body, e)
        })
    }
}

/// What became of each document of a [`Client::parse_batch`], in the order given.
#[derive(Debug)]
pub struct BatchReport {
    /// One entry per document.
    pub outcomes: Vec<BatchOutcome>,
}

/// What became of one document of a batch.
#[derive(Debug)]
pub struct BatchOutcome {
    /// The document.
    pub document_id: String,
    /// What it parsed into, or why not (shared when a whole batch request failed).
    pub result: Result<ParsedDocument, Arc<Error>>,
}

impl BatchReport {
    /// The documents that parsed.
    pub fn succeeded(&self) -> impl Iterator<Item = (&str, &ParsedDocument)> {
        self.outcomes.iter().filter_map(|o| {
            o.result
                .as_ref()
                .ok()
                .map(|doc| (o.document_id.as_str(), doc))
        })
    }

    /// The documents that did not, with why.
    pub fn failed(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.outcomes.iter().filter_map(|o| {
            o.result
                .as_ref()
                .err()
                .map(|e| (o.document_id.as_str(), &**e))
        })
    }

    /// Whether every document parsed.
    pub fn all_succeeded(&self) -> bool {
        self.outcomes.iter().all(|o| o.result.is_ok())
    }
}
