//! `invaro files list|get|download|delete`.

use std::{io::Write, path::Path};

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
    let client = ctx.client()?;
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
                let content = client.download(&id).await?;
                let mut stdout = std::io::stdout().lock();
                return stdout
                    .write_all(&content)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| Failure::new(Exit::Api, format!("stdout: {e}")));
            }
            // Checked before the request: a folder that cannot take the file sends nothing.
            let mut staged = Staged::new(&out)?;
            let content = client
                .download(&id)
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
            let deleted = client.call(api.delete_file(&id)).await?.data;
            ctx.out
                .emit(&deleted, || format!("deleted {}", deleted.file_id));
        }
    }
    Ok(())
}
