//! `client.files()`: the Files API (list, get, read, download, delete, upload with validation).

use std::path::Path;

use futures_util::{Stream, StreamExt};

use super::pages::{Listing, Page, Paging, all_pages};
use crate::{Client, DocumentKind, Error, Upload, types};

/// The Files API of a [`Client`]: `client.files()`.
///
/// ```no_run
/// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
/// let file = client.files().get("f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4").await?;
/// let written = client.files().download(&file.id, "copy.pdf").await?;
/// let in_memory = client.files().read(&file.id).await?;
/// println!("{}: {written} bytes", file.filename);
/// # let _ = in_memory;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Files<'a> {
    client: &'a Client,
}

impl<'a> Files<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Lists files, newest first: a builder ending in [`send`](ListFiles::send) (one page) or
    /// [`into_stream`](ListFiles::into_stream) (every page).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// use futures_util::TryStreamExt;
    /// let page = client.files().list().page_size(50).send().await?; // one page
    /// let all: Vec<_> = client.files().list().into_stream().try_collect().await?; // every page
    /// println!("{} on the first page, {} in all", page.files.len(), all.len());
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListFiles<'a> {
        ListFiles {
            client: self.client,
            paging: Paging::default(),
            status: None,
        }
    }

    /// One file's record (`GET /files/{file_id}`), with its extracted data once processed.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let record = client.files().get("file_1").await?;
    /// println!("{}: {}", record.filename, record.status);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn get(&self, file_id: impl AsRef<str>) -> Result<types::FileRecord, Error> {
        let call = self.client.api().get_file().file_id(file_id.as_ref());
        Ok(self.client.call(call.send()).await?.data)
    }

    /// Downloads a file's content into `path` and returns the bytes written. The old file at
    /// `path`, if any, is replaced only once the whole content is on disk (a temporary file in
    /// the same folder, synced, then renamed): a failed download leaves nothing half-written.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let bytes = client.files().download("file_1", "copy.pdf").await?;
    /// println!("{bytes} bytes written");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), and [`Error::Io`](crate::Error::Io) when `path` cannot be written
    /// (the old file is then left as it was).
    pub async fn download(
        &self,
        file_id: impl AsRef<str>,
        path: impl AsRef<Path>,
    ) -> Result<u64, Error> {
        let content = self.read(file_id).await?;
        let path = path.as_ref().to_path_buf();
        let len = content.len() as u64;
        tokio::task::spawn_blocking(move || {
            invaro_atomic::write(&path, &content).map_err(|source| Error::Io { path, source })
        })
        .await
        .map_err(|e| Error::invalid("download", format!("the writing task failed: {e}")))??;
        Ok(len)
    }

    /// Reads a file's content into memory (`GET /files/{file_id}/download`), whole: a body
    /// cut short is fetched again like any failed GET.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let content = client.files().read("file_1").await?;
    /// println!("{} bytes", content.len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn read(&self, file_id: impl AsRef<str>) -> Result<bytes::Bytes, Error> {
        let call = self.client.api().download_file().file_id(file_id.as_ref());
        let stream = self.client.call(call.send()).await?;
        // The transport has read the body already: this only gathers it.
        let mut chunks = stream.into_inner();
        let mut content = bytes::BytesMut::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| Error::transport(e, Default::default()))?;
            content.extend_from_slice(&chunk);
        }
        Ok(content.freeze())
    }

    /// Deletes a file (`DELETE /files/{file_id}`). Sent again after a lost attempt, a delete
    /// that finds the file already gone is a success.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// client.files().delete("file_1").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn delete(&self, file_id: impl AsRef<str>) -> Result<types::FileDeleted, Error> {
        let call = self.client.api().delete_file().file_id(file_id.as_ref());
        Ok(self.client.call(call.send()).await?.data)
    }

    /// Uploads files to the Files API (`POST /files/upload`), which validates each one and
    /// answers with its id, type and validation result. Files are checked before anything is
    /// sent ([`Upload`]).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let result = client.files().upload(&[invaro::Upload::path("scan.png")]).await?;
    /// println!("{result:?}");
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
    pub async fn upload(&self, files: &[Upload]) -> Result<types::FileUploadResult, Error> {
        Ok(self
            .client
            .call(self.client.api().upload_files(files))
            .await?
            .data)
    }
}

/// `client.files().list()`: options, then [`send`](Self::send) or
/// [`into_stream`](Self::into_stream).
///
/// ```no_run
/// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
/// use invaro::types::FileStatus;
/// let page = client
///     .files()
///     .list()
///     .kind(invaro::DocumentKind::Invoice)
///     .status(FileStatus::Completed)
///     .page(2)
///     .page_size(50)
///     .send()
///     .await?;
/// println!("{} files", page.files.len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a list is sent by .send() or read by .into_stream()"]
pub struct ListFiles<'a> {
    client: &'a Client,
    paging: Paging,
    status: Option<types::FileStatus>,
}

impl<'a> ListFiles<'a> {
    /// The page to read, from 1 (default 1).
    pub fn page(mut self, page: u32) -> Self {
        self.paging.page = Some(page);
        self
    }

    /// Files per page (the server's default when not set).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.paging.page_size = Some(page_size);
        self
    }

    /// Only files of this kind of document.
    pub fn kind(mut self, kind: DocumentKind) -> Self {
        self.paging.kind = Some(kind);
        self
    }

    /// Only files in this status.
    pub fn status(mut self, status: types::FileStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Reads one page.
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn send(self) -> Result<types::FileList, Error> {
        self.fetch(self.paging.first()).await
    }

    /// Every file of every page from [`page`](Self::page) on, in order, each page request
    /// paced by the client's rate limiter; the stream ends after the last page.
    pub fn into_stream(self) -> impl Stream<Item = Result<types::FileRecord, Error>> + 'a {
        all_pages(self)
    }
}

impl Listing for ListFiles<'_> {
    type Answer = types::FileList;
    type Item = types::FileRecord;

    fn paging(&self) -> &Paging {
        &self.paging
    }

    async fn fetch(&self, page: u32) -> Result<types::FileList, Error> {
        let (page, page_size) = self.paging.checked(page)?;
        let mut call = self.client.api().list_files().page(page);
        if let Some(size) = page_size {
            call = call.page_size(size);
        }
        if let Some(kind) = self.paging.kind {
            call = call.type_(types::SchemaType::from(kind).to_string());
        }
        if let Some(status) = self.status {
            call = call.status(status);
        }
        Ok(self.client.call(call.send()).await?.data)
    }
}

impl From<types::FileList> for Page<types::FileRecord> {
    fn from(list: types::FileList) -> Self {
        Page {
            items: list.files,
            total: list.total,
            page_size: list.page_size,
        }
    }
}
