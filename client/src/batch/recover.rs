//! Settling what an earlier run left in doubt: a start sent without a recorded answer (the
//! document's file record tells), and an upload sent without one (the API's file list tells).

use std::collections::HashSet;

use futures_util::StreamExt;
use tokio::time::Instant;

use super::{
    entry::State,
    item::Event,
    run::{Flow, Runner, Settled},
};
use crate::{
    Error, Upload,
    generated::types::{FileRecord, FileStatus},
};

/// How far back (from the recorded intent) an upload found in the file list may have been
/// made: the API's clock and ours may disagree by this much.
const CLOCK_MARGIN_MS: i64 = 10 * 60 * 1000;
/// Files per page when looking for an upload in doubt (the API's maximum).
const PAGE_SIZE: u32 = 100;
/// Files read at most when looking for an upload in doubt.
const MAX_LISTED: usize = 2_000;

impl Runner<'_> {
    /// A start sent without a recorded answer: asks the API about the document. A job shows
    /// on its file record once a worker has it; `pending` cannot tell "no job" from "a job
    /// not picked up yet", so only that stays in doubt.
    pub(super) async fn find_start(
        &self,
        track: &mut Settled,
        deadline: Instant,
    ) -> Result<Flow, Error> {
        let document = track.entry.document_id.clone().unwrap_or_default();
        let record = match self.file_record_settled(&document, deadline).await {
            Ok(record) => record,
            Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => {
                // A document the API does not know cannot have a job: upload it again.
                track.entry.state = State::New;
                track.entry.document_id = None;
                return Ok(Flow::Next);
            }
            Err(e) => {
                return self.doubt(
                    track,
                    format!(
                        "the start may have arrived; asking about document {document} failed: {e}"
                    ),
                );
            }
        };
        match record.status {
            FileStatus::Pending if self.retry_in_doubt => {
                track.entry.state = State::Uploaded;
                Ok(Flow::Next)
            }
            FileStatus::Completed => {
                let output = record.processed_data.unwrap_or_default();
                self.finish(track, &output).await?;
                Ok(Flow::Stop)
            }
            FileStatus::Failed | FileStatus::Deleted => {
                let status = record.status.to_string();
                track.entry.status = Some(status.clone());
                self.fail(
                    track,
                    format!("document {document} is {status} on the API (its job was started)"),
                )
            }
            FileStatus::Processing => self.doubt(
                track,
                format!("document {document} was started and is still processing at the deadline"),
            ),
            _ => self.doubt(
                track,
                format!(
                    "the start may have arrived: document {document} is {} on the API, which \
                     does not tell a job not started from one not picked up yet",
                    record.status
                ),
            ),
        }
    }

    /// The document's file record once it is no longer `processing` (or at the deadline).
    async fn file_record_settled(
        &self,
        document: &str,
        deadline: Instant,
    ) -> Result<FileRecord, Error> {
        let policy = self.client.config().poll.clone();
        loop {
            let record = self.client.files().get(document).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if record.status != FileStatus::Processing || left.is_zero() {
                return Ok(record);
            }
            tokio::time::sleep(policy.floor().min(left)).await;
        }
    }

    /// Looks for the uploads in doubt (entries left in `uploading`) in the API's file list:
    /// one file of the same name and size, made since the intent (less the clock margin) and
    /// not in the store already, is taken as this upload; none in a complete listing means it
    /// never arrived; anything else stays in doubt.
    pub(super) async fn find_uploads(&self, tracks: &mut [Settled]) -> Result<(), Error> {
        let doubtful: Vec<usize> = (0..tracks.len())
            .filter(|&i| tracks[i].entry.state == State::Uploading)
            .collect();
        let Some(since) = doubtful
            .iter()
            .map(|&i| tracks[i].entry.intent_at.unwrap_or(0))
            .min()
        else {
            return Ok(());
        };
        let since = since.saturating_sub(CLOCK_MARGIN_MS);
        let listed = self.list_files_since(since).await;
        let mut claimed: HashSet<String> = self.store.document_ids()?.into_iter().collect();
        for i in doubtful {
            let entry = &mut tracks[i].entry;
            let (records, complete) = match &listed {
                Ok(listed) => listed,
                Err(e) => {
                    entry.error = Some(format!(
                        "the upload may have arrived; listing the API's files failed: {e}"
                    ));
                    self.store.put(entry)?;
                    continue;
                }
            };
            let name = Upload::path(&entry.path).file_name().to_string();
            let after = entry.intent_at.unwrap_or(0).saturating_sub(CLOCK_MARGIN_MS);
            let matching: Vec<&FileRecord> = records
                .iter()
                .filter(|r| r.filename == name && r.size == i64::try_from(entry.size).ok())
                .filter(|r| r.created_at.is_none_or(|at| at.timestamp_millis() >= after))
                .filter(|r| !claimed.contains(&r.id))
                .collect();
            match (matching.as_slice(), complete) {
                ([one], _) => {
                    claimed.insert(one.id.clone());
                    entry.state = State::Uploaded;
                    entry.document_id = Some(one.id.clone());
                    entry.error = None;
                    let document_id = one.id.clone();
                    self.record(entry, Event::Uploaded { document_id })?;
                }
                ([], true) => {
                    entry.state = State::New;
                    entry.error = None;
                    self.store.put(entry)?;
                }
                (found, _) => {
                    entry.error = Some(format!(
                        "the upload may have arrived: the API lists {} files named {name} of \
                         {} bytes made since{}",
                        found.len(),
                        entry.size,
                        if *complete {
                            ""
                        } else {
                            " (the list was read only in part)"
                        }
                    ));
                    self.store.put(entry)?;
                }
            }
        }
        Ok(())
    }

    /// The API's files, newest first, back to `since` (Unix ms); whether the listing reached it.
    async fn list_files_since(&self, since: i64) -> Result<(Vec<FileRecord>, bool), Error> {
        let files = self
            .client
            .files()
            .list()
            .page_size(PAGE_SIZE)
            .into_stream();
        futures_util::pin_mut!(files);
        let mut records = Vec::new();
        while let Some(record) = files.next().await.transpose()? {
            let older = record
                .created_at
                .is_some_and(|at| at.timestamp_millis() < since);
            records.push(record);
            if older {
                return Ok((records, true));
            }
            if records.len() >= MAX_LISTED {
                return Ok((records, false));
            }
        }
        Ok((records, true))
    }
}
