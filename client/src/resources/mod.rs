//! Resource groups: [`Files`] (`client.files()`), [`Schemas`] (`client.schemas()`) and [`Jobs`]
//! (`client.jobs()`).
//!
//! Each method is one operation of the API, sent through the same transport as every call
//! (authentication, rate limiter, retries), answering with the envelope's `data` as the spec's
//! named types ([`crate::types`]) and failing with [`crate::Error`]. Calls that take options
//! are builders ending in `.send()`; lists can also be read as a stream over every page.
//!
//! ```no_run
//! # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
//! use futures_util::TryStreamExt;
//! let page = client.files().list().page_size(50).send().await?;
//! println!("{} files on the first page", page.files.len());
//! let every_file: Vec<_> = client.files().list().into_stream().try_collect().await?;
//! println!("{} files in all", every_file.len());
//! # Ok(()) }
//! ```

mod files;
mod jobs;
mod pages;
mod schemas;

pub use files::{Files, ListFiles};
pub use jobs::Jobs;
pub use schemas::{CreateSchema, ListSchemas, Schemas, UpdateSchema};
