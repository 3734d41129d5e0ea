//! File uploads: what the two multipart operations progenitor cannot generate send.
//!
//! Every file is checked before a byte is sent ([`crate::facts`]: PDF, JPEG or PNG by its first
//! bytes, not empty, at most 10 MB, at most 50 per request) and then streamed from disk with a
//! known length, so memory does not grow with file size. A retried upload re-opens its files.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use progenitor_client::{ClientInfo, ResponseValue};
use reqwest::{
    Body, Method,
    multipart::{Form, Part},
};
use tokio::io::AsyncReadExt;

use crate::{
    Error,
    facts::{self, HEAD_BYTES, MAX_FILES},
    generated,
    generated::types,
};

/// One file to upload: from a path (streamed) or from bytes in memory.
///
/// Every upload is checked before a byte is sent, by the rules in [`facts`]: a PDF, JPEG or PNG
/// by its first bytes, not empty, at most 10 MB, and at most 50 files a request. A file from a
/// path is opened again when its upload is retried.
///
/// ```
/// let from_disk = invaro::Upload::path("statements/march.pdf");
/// let in_memory = invaro::Upload::bytes("scan.png", vec![0x89, b'P', b'N', b'G']);
/// assert_eq!(in_memory.file_name(), "scan.png");
/// # let _ = from_disk;
/// ```
#[derive(Clone, Debug)]
pub struct Upload {
    name: String,
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    Path(PathBuf),
    Bytes(Bytes),
}

impl Upload {
    /// A file on disk, streamed when sent.
    ///
    /// ```
    /// let upload = invaro::Upload::path("statements/march.pdf");
    /// assert_eq!(upload.file_name(), "march.pdf");
    /// ```
    pub fn path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self {
            name,
            source: Source::Path(path),
        }
    }

    /// Bytes in memory, sent under `file_name`.
    ///
    /// ```
    /// let upload = invaro::Upload::bytes("scan.png", b"\x89PNG\r\n\x1a\n...".to_vec());
    /// assert_eq!(upload.file_name(), "scan.png");
    /// ```
    pub fn bytes(file_name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self {
            name: file_name.into(),
            source: Source::Bytes(bytes.into()),
        }
    }

    /// The name the file is sent under.
    pub fn file_name(&self) -> &str {
        &self.name
    }

    /// What to call the file in an error: its path, or its name.
    fn label(&self) -> String {
        match &self.source {
            Source::Path(path) => path.display().to_string(),
            Source::Bytes(_) => self.name.clone(),
        }
    }
}

/// How far an upload has got: bytes sent so far, out of the total of every file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadProgress {
    /// Bytes sent so far in this attempt.
    pub sent: u64,
    /// Bytes to send in all.
    pub total: u64,
}

/// A callback told of every chunk sent.
pub type ProgressFn = Arc<dyn Fn(UploadProgress) + Send + Sync>;

/// A file that passed the checks.
#[derive(Clone, Debug)]
pub(crate) struct Checked {
    upload: Upload,
    len: u64,
    mime: &'static str,
}

/// Checks every file against the API's rules, reading no more than its first bytes.
pub(crate) async fn check(files: &[Upload]) -> Result<Vec<Checked>, Error> {
    if files.is_empty() {
        return Err(Error::invalid("upload", "needs at least one file"));
    }
    if files.len() > MAX_FILES {
        return Err(Error::invalid(
            "upload",
            format!(
                "carries {} files; at most {MAX_FILES} are allowed",
                files.len()
            ),
        ));
    }
    let mut checked = Vec::with_capacity(files.len());
    for upload in files {
        checked.push(check_one(upload).await?);
    }
    Ok(checked)
}

async fn check_one(upload: &Upload) -> Result<Checked, Error> {
    let label = upload.label();
    let (len, head) = match &upload.source {
        Source::Bytes(bytes) => (
            bytes.len() as u64,
            bytes.slice(..bytes.len().min(HEAD_BYTES)).to_vec(),
        ),
        Source::Path(path) => read_head(path)
            .await
            .map_err(|e| Error::invalid(&label, format!("cannot be read: {e}")))?,
    };
    let mime = facts::check(len, &head).map_err(|rule| Error::invalid(label, rule))?;
    Ok(Checked {
        upload: upload.clone(),
        len,
        mime,
    })
}

/// The size of a file and its first bytes.
async fn read_head(path: &Path) -> std::io::Result<(u64, Vec<u8>)> {
    let file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let mut head = Vec::with_capacity(HEAD_BYTES);
    file.take(HEAD_BYTES as u64).read_to_end(&mut head).await?;
    Ok((len, head))
}

/// The multipart form of one attempt: each file a lazily opened stream of known length.
fn form(files: &[Checked], progress: Option<&ProgressFn>) -> Form {
    let total = files.iter().map(|f| f.len).sum();
    let sent = Arc::new(AtomicU64::new(0));
    files.iter().fold(Form::new(), |form, file| {
        let mut chunks = match &file.upload.source {
            Source::Bytes(bytes) => futures_util::stream::iter([Ok(bytes.clone())]).boxed(),
            Source::Path(path) => file_stream(path.clone()),
        };
        if let Some(progress) = progress.cloned() {
            let sent = sent.clone();
            chunks = chunks
                .inspect_ok(move |chunk| {
                    let len = chunk.len() as u64;
                    let sent = sent.fetch_add(len, Ordering::Relaxed) + len;
                    progress(UploadProgress { sent, total });
                })
                .boxed();
        }
        let part = Part::stream_with_length(Body::wrap_stream(chunks), file.len)
            .file_name(file.upload.name.clone())
            .mime_str(file.mime)
            .expect("sniffed media types are valid");
        form.part("files", part)
    })
}

type Chunks = futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>;

/// The file's bytes, opened only when the first chunk is wanted.
fn file_stream(path: PathBuf) -> Chunks {
    futures_util::stream::once(tokio::fs::File::open(path))
        .map_ok(tokio_util::io::ReaderStream::new)
        .try_flatten()
        .boxed()
}

/// Which upload route to use.
#[derive(Clone, Copy)]
pub(crate) enum Route {
    Documents,
    Files,
}

/// Sends checked files to `route`, through the same hooks as every other call.
pub(crate) async fn send<T: serde::de::DeserializeOwned>(
    api: &generated::Client,
    route: Route,
    files: &[Checked],
    progress: Option<&ProgressFn>,
) -> Result<ResponseValue<T>, progenitor_client::Error<types::ErrorEnvelope>> {
    let (path, operation) = match route {
        Route::Documents => ("/parse/upload", "upload_documents"),
        Route::Files => ("/files/upload", "upload_files"),
    };
    let url = format!("{}{path}", api.baseurl());
    let http = api.inner().uploads();
    let ceiling = upload_ceiling(api.inner().read_timeout(), files);
    let make = || {
        let mut request = http
            .request(Method::POST, &url)
            .multipart(form(files, progress))
            .timeout(ceiling)
            .build()
            .expect("a multipart POST to the configured base URL is a valid request");
        api.inner().prepare(&mut request);
        request
    };
    // Each file counts as one request against the API's rate limit.
    let cost = u32::try_from(files.len()).unwrap_or(u32::MAX);
    let response = api.inner().send(http, operation, cost, make).await?;
    if response.status().is_success() {
        ResponseValue::from_response(response).await
    } else {
        // The caller reads the status and whatever body came with it.
        Err(progenitor_client::Error::UnexpectedResponse(response))
    }
}

/// The slowest upload speed allowed before an upload attempt is abandoned.
const MIN_UPLOAD_BYTES_PER_SECOND: u64 = 16 * 1024;

/// How long one upload attempt may take in all: the read timeout for the answer, plus the
/// time to send every byte at [`MIN_UPLOAD_BYTES_PER_SECOND`].
fn upload_ceiling(read_timeout: std::time::Duration, files: &[Checked]) -> std::time::Duration {
    let bytes = files.iter().fold(0u64, |sum, f| sum.saturating_add(f.len));
    read_timeout.saturating_add(std::time::Duration::from_secs(
        bytes.div_ceil(MIN_UPLOAD_BYTES_PER_SECOND),
    ))
}

/// [`check`] for the generated client's hand-written operations, whose error type is progenitor's.
pub(crate) async fn check_for_request(
    files: &[Upload],
) -> Result<Vec<Checked>, progenitor_client::Error<types::ErrorEnvelope>> {
    check(files)
        .await
        .map_err(|e| progenitor_client::Error::InvalidRequest(e.to_string()))
}

impl crate::Client {
    /// Uploads documents for parsing (`POST /parse/upload`) and returns one entry per file, in
    /// order; each `doc_id` is what [`start_job`](crate::Client::start_job) takes.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let uploaded = client.upload(&[invaro::Upload::path("invoice.pdf")]).await?;
    /// println!("document id: {}", uploaded[0].doc_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) or [`Error::Io`](crate::Error::Io) for a
    /// file refused before anything is sent (unreadable, empty, over 10 MB, not a PDF, JPEG or PNG,
    /// more than 50 files); otherwise the API's refusal after any retries
    /// ([`Error::Api`](crate::Error::Api), [`Error::RateLimited`](crate::Error::RateLimited) for a
    /// 429), no whole answer ([`Error::Transport`](crate::Error::Transport)) or an answer of
    /// another shape ([`Error::Decode`](crate::Error::Decode)).
    pub async fn upload(&self, files: &[Upload]) -> Result<Vec<types::UploadedDocument>, Error> {
        self.upload_with_progress(files, None).await
    }

    /// Like [`upload`](Self::upload), telling `progress` of every chunk sent (a retried
    /// upload starts counting again).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// use std::sync::Arc;
    /// let progress: invaro::ProgressFn = Arc::new(|p: invaro::UploadProgress| eprintln!("{p:?}"));
    /// let uploaded = client
    ///     .upload_with_progress(&[invaro::Upload::path("big.pdf")], Some(progress))
    ///     .await?;
    /// # let _ = uploaded;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`upload`](Self::upload).
    pub async fn upload_with_progress(
        &self,
        files: &[Upload],
        progress: Option<ProgressFn>,
    ) -> Result<Vec<types::UploadedDocument>, Error> {
        let checked = check(files).await?;
        let response: types::UploadResponse = self
            .call(send(
                self.api(),
                Route::Documents,
                &checked,
                progress.as_ref(),
            ))
            .await?;
        Ok(response.data.files)
    }
}
