//! `invaro files list|get|download|delete`.

use std::{io::Write, path::Path, time::Duration};

use futures::StreamExt;
use serde_json::json;

use crate::{
    args::FilesCommand,
    context::Ctx,
    exit::{Exit, Failure},
    output::table_of,
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
            if ctx.out.is_json() && out == Path::new("-") {
                return Err(Failure::usage(
                    "--out -: the file's bytes and --json cannot both go to stdout",
                ));
            }
            let stream = client.call(api.download_file(&id)).await?;
            let bytes = save(stream.into_inner(), &out).await?;
            let path = out.display().to_string();
            if out != Path::new("-") {
                ctx.out.emit(
                    &json!({"file_id": id, "saved_to": path, "bytes": bytes}),
                    || path.clone(),
                );
            }
        }
        FilesCommand::Delete { id } => {
            let deleted = client.call(api.delete_file(&id)).await?.data;
            ctx.out
                .emit(&deleted, || format!("deleted {}", deleted.file_id));
        }
    }
    Ok(())
}

/// Writes a download to `out` (`-` for stdout) and returns its size.
async fn save(
    mut chunks: impl futures::Stream<Item = Result<impl AsRef<[u8]>, reqwest::Error>> + Unpin,
    out: &Path,
) -> Result<u64, Failure> {
    let mut sink: Box<dyn Write> =
        if out == Path::new("-") {
            Box::new(std::io::stdout().lock())
        } else {
            Box::new(std::fs::File::create(out).map_err(|e| {
                Failure::usage(format!("{}: cannot be created: {e}", out.display()))
            })?)
        };
    let mut written = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| Failure::from(invaro::Error::from(e)))?;
        sink.write_all(chunk.as_ref())
            .map_err(|e| Failure::new(Exit::Api, format!("{}: {e}", out.display())))?;
        written += chunk.as_ref().len() as u64;
    }
    sink.flush()
        .map_err(|e| Failure::new(Exit::Api, format!("{}: {e}", out.display())))?;
    Ok(written)
}
