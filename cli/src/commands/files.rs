//! `invaro files list|get|download|delete`.

use std::{io::Write, path::Path, time::Duration};

use futures::StreamExt;
use invaro::generated::{ByteStream, ResponseValue};
use serde_json::json;

use crate::{
    args::FilesCommand,
    context::Ctx,
    exit::{Exit, Failure},
    output::table_of,
    save::Staged,
};

/// Runs `invaro files ...`.
pub async fn run(ctx: &Ctx, command: FilesCommand) -> Result<(), Failure> {
    let client = ctx.client(Duration::from_secs(600))?;
    let api = client.api();
    match command {
        FilesCommand::List {
            status,
            type_,
            page,
            page_size,
        } => {
            let page = client
                .call(api.list_files(page, page_size, status, type_.as_deref()))
                .await?
                .data;
            ctx.out.emit(&page, || {
                table_of(
                    &page.files,
                    &[
                        ("id", "id"),
                        ("filename", "filename"),
                        ("type", "type"),
                        ("status", "status"),
                        ("size", "size"),
                        ("created", "created_at"),
                    ],
                )
            });
        }
        FilesCommand::Get { id } => {
            let file = client.call(api.get_file(&id)).await?.data;
            ctx.out.record(&file);
        }
        FilesCommand::Download { id, out } => {
            if out == Path::new("-") {
                if ctx.out.is_json() {
                    return Err(Failure::usage(
                        "--out -: the file's bytes and --json cannot both go to stdout",
                    ));
                }
                let (_, body) = download(&client, &id).await?;
                return to_stdout(body).await;
            }
            // Checked before the request: a folder that cannot take the file sends nothing.
            let staged = Staged::new(&out)?;
            let (announced, body) = download(&client, &id).await?;
            let bytes = save(staged, announced, body).await?;
            let path = out.display().to_string();
            ctx.out.emit(
                &json!({"file_id": id, "saved_to": path, "bytes": bytes}),
                || path.clone(),
            );
        }
        FilesCommand::Delete { id } => {
            let deleted = client.call(api.delete_file(&id)).await?.data;
            ctx.out
                .emit(&deleted, || format!("deleted {}", deleted.file_id));
        }
    }
    Ok(())
}

/// The body of a download as it arrives.
type Body = ByteStream;

/// Starts downloading file `id`: its announced length (Content-Length), if any, and its body.
async fn download(client: &invaro::Client, id: &str) -> Result<(Option<u64>, Body), Failure> {
    let response = client
        .call(async {
            let response = client.api().download_file(id).await?;
            let (status, headers) = (response.status(), response.headers().clone());
            let announced = response.content_length();
            let body = response.into_inner();
            Ok(ResponseValue::new((announced, body), status, headers))
        })
        .await?;
    Ok(response)
}

/// Writes a download into `staged` and puts it in place once whole; returns its size.
async fn save(mut staged: Staged, announced: Option<u64>, mut body: Body) -> Result<u64, Failure> {
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| staged.broke_off(invaro::Error::from(e).into()))?;
        staged.write(&chunk)?;
    }
    staged.commit(announced, true)
}

/// Copies a download to stdout as it arrives.
async fn to_stdout(mut body: Body) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Failure::from(invaro::Error::from(e)))?;
        stdout
            .write_all(&chunk)
            .map_err(|e| Failure::new(Exit::Api, format!("stdout: {e}")))?;
    }
    stdout
        .flush()
        .map_err(|e| Failure::new(Exit::Api, format!("stdout: {e}")))
}
