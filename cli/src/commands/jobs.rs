//! The steps of `parse` one at a time: `invaro upload`, `start`, `status` and `wait`.

use std::{path::PathBuf, time::Duration};

use futures::{StreamExt, TryStreamExt};
use invaro::{Client, DocumentKind, Job};

use super::parse::{self, Outcome, PARALLEL};
use crate::{args::Kind, context::Ctx, exit::Failure, output::table_of};

/// How long the commands that do not wait may wait (they never poll).
const NO_WAIT: Duration = Duration::from_secs(600);

/// Runs `invaro upload`.
pub async fn upload(ctx: &Ctx, files: &[PathBuf]) -> Result<(), Failure> {
    let files = parse::check_all(files)?;
    let client = ctx.client(NO_WAIT)?;
    let outcomes = futures::stream::iter(files)
        .map(|file| {
            let client = &client;
            async move {
                let task = ctx.progress.task(&file.label);
                let mut outcome = Outcome::new(Some(file.label.clone()));
                match parse::upload_one(client, &task, &file).await {
                    Ok(document_id) => {
                        task.done(&format!("uploaded as document {document_id}"));
                        outcome.document_id = Some(document_id);
                        outcome.status = "uploaded";
                        outcome
                    }
                    Err(failure) => outcome.finish(&task, Err(failure)),
                }
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    parse::report(ctx, outcomes, None)
}

/// Runs `invaro start`.
pub async fn start(ctx: &Ctx, kind: Kind, document_ids: &[String]) -> Result<(), Failure> {
    let client = ctx.client(NO_WAIT)?;
    let kind = kind.into();
    let mut outcomes = Vec::with_capacity(document_ids.len());
    for document_id in document_ids {
        let mut outcome = Outcome::new(None);
        outcome.document_id = Some(document_id.clone());
        match client.start_job(kind, document_id).await {
            Ok(job) => outcome.job_id = Some(job.id().to_string()),
            Err(e) => outcome.fail(Failure::from(e).about(document_id)),
        }
        outcomes.push(outcome);
    }
    parse::hint_resume(ctx, kind, &outcomes);
    parse::report(ctx, outcomes, None)
}

/// Runs `invaro status`: one status call per job, any kind of job.
pub async fn status(ctx: &Ctx, job_ids: &[String]) -> Result<(), Failure> {
    let client = ctx.client(NO_WAIT)?;
    let jobs: Vec<_> = futures::stream::iter(job_ids)
        .map(|id| {
            let client = &client;
            async move {
                let job = client.call(client.api().get_general_job_status(id)).await;
                job.map(|response| response.data)
                    .map_err(|e| Failure::from(e).about(format!("job {id}")))
            }
        })
        .buffered(PARALLEL)
        .try_collect()
        .await?;
    ctx.out.emit(&jobs, || {
        table_of(
            &jobs,
            &[
                ("job", "job_id"),
                ("status", "status"),
                ("progress", "progress"),
                ("created", "created_at"),
                ("updated", "updated_at"),
                ("error", "error"),
            ],
        )
    });
    Ok(())
}

/// Runs `invaro wait`: follows each job to its end and prints what it parsed.
pub async fn wait(
    ctx: &Ctx,
    job_ids: &[String],
    kind: Option<Kind>,
    timeout: Duration,
) -> Result<(), Failure> {
    let client = ctx.client(timeout)?;
    let outcomes = futures::stream::iter(job_ids)
        .map(|id| {
            let client = &client;
            async move {
                let task = ctx.progress.task(id.as_str());
                let mut outcome = Outcome::new(None);
                outcome.job_id = Some(id.clone());
                let result = match resolve(client, id, kind).await {
                    Ok(job) => parse::follow(ctx, &task, &job).await.map(Some),
                    Err(e) => Err(e),
                };
                outcome.finish(&task, result)
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    parse::report(ctx, outcomes, None)
}

/// The job `id`, of the kind given or, when none is, of the kind its status route knows.
async fn resolve(client: &Client, id: &str, kind: Option<Kind>) -> Result<Job, Failure> {
    if let Some(kind) = kind {
        return Ok(client.job(kind.into(), id));
    }
    let invoice = client.job(DocumentKind::Invoice, id);
    match invoice.status().await {
        Ok(_) => Ok(invoice),
        Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => {
            Ok(client.job(DocumentKind::Statement, id))
        }
        Err(e) => Err(e.into()),
    }
}
