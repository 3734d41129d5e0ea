//! The steps of `parse` one at a time: `invaro upload`, `start`, `status` and `wait`.

use std::{path::PathBuf, time::Duration};

use futures::StreamExt;
use invaro::{
    Client, DocumentKind, Job,
    batch::{Item, Runner},
};

use super::parse::{self, Deadline, PARALLEL};
use crate::context::Ctx;
use crate::exit::Failure;
use crate::pool::{ItemReport, Pool, Status};
use crate::stdout::table_of;

/// Runs `invaro upload`: each document id is printed as soon as its file is uploaded.
pub async fn upload(ctx: &Ctx, files: &[PathBuf]) -> Result<(), Failure> {
    let files = parse::check_all(files)?;
    let client = ctx.client()?;
    let items = files
        .into_iter()
        .map(|file| {
            let outcome = ItemReport::new(Some(file.label.clone()));
            (file, outcome)
        })
        .collect();
    Pool::new(ctx, PARALLEL)
        .run(items, |file, slot| {
            let client = &client;
            async move {
                let task = ctx.progress.task(&file.label);
                match parse::upload_one(client, &task, &file).await {
                    Ok(document_id) => {
                        task.done(&format!("uploaded as document {document_id}"));
                        slot.update(|o| {
                            o.document_id = Some(document_id);
                            o.settle(Status::Uploaded);
                        });
                    }
                    Err(failure) => slot.update(|o| o.finish(&task, Err(failure))),
                }
            }
        })
        .await
        .finish(ctx)
}

/// Runs `invaro start`: one document after another (the rate limiter paces them anyway), each
/// job id printed as soon as its job has started, in the order given.
pub async fn start(ctx: &Ctx, kind: DocumentKind, document_ids: &[String]) -> Result<(), Failure> {
    let client = ctx.client()?;
    let items = document_ids
        .iter()
        .map(|document_id| {
            let mut outcome = ItemReport::new(None);
            outcome.document_id = Some(document_id.clone());
            outcome.kind = Some(kind);
            (document_id, outcome)
        })
        .collect();
    Pool::new(ctx, 1)
        .run(items, |document_id, slot| {
            let client = &client;
            async move {
                let started = client.start_job(kind, document_id).await;
                slot.update(|o| match started {
                    Ok(job) => {
                        o.job_id = Some(job.id().to_string());
                        o.settle(Status::Started);
                    }
                    Err(e) => o.fail(Failure::from(e).about(document_id)),
                });
            }
        })
        .await
        .finish(ctx)
}

/// Runs `invaro status`: one status call per job, any kind of job. Every status read is
/// printed; the first failure sets the exit code and the others are reported on stderr.
pub async fn status(ctx: &Ctx, job_ids: &[String]) -> Result<(), Failure> {
    let client = ctx.client()?;
    let results: Vec<_> = futures::stream::iter(job_ids)
        .map(|id| {
            let client = &client;
            async move {
                client
                    .jobs()
                    .get(id)
                    .await
                    .map_err(|e| Failure::from(e).about(format!("job {id}")))
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    let (jobs, failures): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let jobs: Vec<_> = jobs.into_iter().filter_map(Result::ok).collect();
    if !jobs.is_empty() || ctx.out.is_json() {
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
    }
    let mut failures = failures.into_iter().filter_map(Result::err);
    let first = failures.next();
    for other in failures {
        ctx.progress.note(&format!("invaro: error: {other}"));
    }
    first.map_or(Ok(()), Err)
}

/// Runs `invaro wait`: follows each job to its end and prints what it parsed. The timeout
/// counts from now for every job, also those waiting for their turn.
pub async fn wait(
    ctx: &Ctx,
    job_ids: &[String],
    kind: Option<DocumentKind>,
    timeout: Duration,
) -> Result<(), Failure> {
    let client = ctx.client()?;
    let deadline = Deadline::after(timeout);
    let items = job_ids
        .iter()
        .map(|id| {
            let mut outcome = ItemReport::new(None);
            outcome.job_id = Some(id.clone());
            outcome.kind = kind;
            (id, outcome)
        })
        .collect();
    Pool::new(ctx, PARALLEL)
        .run(items, |id, slot| {
            let client = &client;
            async move {
                let task = ctx.progress.task(id.as_str());
                let result = match resolve(client, id, kind).await {
                    Ok(job) => {
                        slot.update(|o| o.kind = Some(job.kind()));
                        let runner = Runner::new(client, job.kind());
                        parse::run_one(runner, Item::job(id), Some(deadline), &task, &slot).await
                    }
                    Err(e) => Err(e),
                };
                slot.update(|o| o.finish(&task, result));
            }
        })
        .await
        .finish(ctx)
}

/// The job `id`, of the kind given or, when none is, of the kind its status route knows.
async fn resolve(client: &Client, id: &str, kind: Option<DocumentKind>) -> Result<Job, Failure> {
    if let Some(kind) = kind {
        return Ok(client.job(kind, id));
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
