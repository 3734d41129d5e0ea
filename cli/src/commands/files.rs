//! `invaro files list|get|download|delete`.

use std::{io::Write, path::Path};

use serde_json::json;

use crate::args::FilesCommand;

use crate::context::Ctx;

use crate::exit::{Exit, Failure};

use crate::stdout::table_of;

use crate::save::Staged;

/// Runs `invaro files ...`.
pub async fn run(ctx: &Ctx, command: FilesCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    let files = client.files();
    match command {
        FilesCommand::List {
            status,
            type_,
            page,
            page_size,
        } => {
            let mut list = files.list();
            if let Some(page) = page {
                list = list.page(page);
            }
            if let Some(size) = page_size {
                list = list.page_size(size);
            }
            if let Some(kind) = type_ {
                list = list.kind(kind);
            }
            if let Some(status) = status {
                list = list.status(status);
            }
            let page = list.send().await?;
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
            let file = files.get(&id).await?;
            ctx.out.record(&file);
        }
        FilesCommand::Download { id, out } => {
            if out == Path::new("-") {
                if ctx.out.is_json() {
                    return Err(Failure::usage(
                        "--out -: the file's bytes and --json cannot both go to stdout",
                    ));
                }
                let content = files.read(&id).await?;
                let mut stdout = std::io::stdout().lock();
                return stdout
                    .write_all(&content)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| Failure::new(Exit::Api, format!("stdout: {e}")));
            }
            // Checked before the request: a folder that cannot take the file sends nothing.
            let mut staged = Staged::new(&out)?;
            let content = files
                .read(&id)
                .await
                .map_err(|e| staged.broke_off(e.into()))?;
            staged.write(&content)?;
            let bytes = staged.commit(None, true)?;
            let path = out.display().to_string();
            ctx.out.emit(
                &json!({"file_id": id, "saved_to": path, "bytes": bytes}),
                || path.clone(),
            );
        }
        FilesCommand::Delete { id } => {
            let deleted = files.delete(&id).await?;
            ctx.out
                .emit(&deleted, || format!("deleted {}", deleted.file_id));
        }
    }
    Ok(())
}
