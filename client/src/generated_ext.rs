//! Everything this crate adds to the generated code ([`crate::generated`]), in one place: the
//! two operations progenitor cannot generate, and helpers on the spec's types.
//!
//! The hand-written operations keep the names progenitor would give them, so that
//! `client.api()` lists every operation of the spec (`invaro_codegen::HAND_WRITTEN` names them,
//! and a test compares the list with the spec).

use progenitor_client::ResponseValue;

use crate::{
    DocumentKind, Upload,
    generated::{self, types},
    upload::{Route, check_for_request, send},
};

/// The hand-written operations, on the generated client.
impl generated::Client {
    /// Upload Documents: sends files to `POST /parse/upload`; each `doc_id` in the answer is a
    /// `document_id` for the parse calls.
    ///
    /// # Errors
    ///
    /// A file refused before sending (as [`Upload`] says), or the API's error, as progenitor
    /// reports it.
    pub async fn upload_documents(
        &self,
        files: &[Upload],
    ) -> Result<ResponseValue<types::UploadResponse>, progenitor_client::Error<types::ErrorEnvelope>>
    {
        let checked = check_for_request(files).await?;
        send(self, Route::Documents, &checked, None).await
    }

    /// Upload Files: sends files to `POST /files/upload`, which validates them and answers
    /// with each file's id, type and page count.
    ///
    /// # Errors
    ///
    /// A file refused before sending (as [`Upload`] says), or the API's error, as progenitor
    /// reports it.
    pub async fn upload_files(
        &self,
        files: &[Upload],
    ) -> Result<
        ResponseValue<types::FileUploadResponse>,
        progenitor_client::Error<types::ErrorEnvelope>,
    > {
        let checked = check_for_request(files).await?;
        send(self, Route::Files, &checked, None).await
    }
}

impl types::InvoiceStatusResponse {
    /// The job, whether the server wrapped it in the `{success, data}` envelope or not.
    pub fn into_job(self) -> types::Job {
        match self {
            Self::Variant0(envelope) => envelope.data,
            Self::Variant1(job) => job,
        }
    }
}

impl types::Job {
    /// The parsed output, whether the server sent it as `result` or `results`.
    pub fn output(&self) -> Option<&types::ParsedDocument> {
        self.result.as_ref().or(self.results.as_ref())
    }
}

/// `Invoice` is `invoice`, `Statement` is `bank_statement`.
impl From<DocumentKind> for types::SchemaType {
    fn from(kind: DocumentKind) -> Self {
        match kind {
            DocumentKind::Invoice => Self::Invoice,
            DocumentKind::Statement => Self::BankStatement,
        }
    }
}

impl From<types::SchemaType> for DocumentKind {
    fn from(kind: types::SchemaType) -> Self {
        match kind {
            types::SchemaType::Invoice => Self::Invoice,
            types::SchemaType::BankStatement => Self::Statement,
        }
    }
}
