//! `invaro schemas list|get|create|update`.

use std::path::Path;

use serde_json::Value;

use crate::{
    args::SchemasCommand, commands::read_input, context::Ctx, exit::Failure, stdout::table_of,
};

/// Runs `invaro schemas ...`.
pub async fn run(ctx: &Ctx, command: SchemasCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    let schemas = client.schemas();
    match command {
        SchemasCommand::List {
            type_,
            page,
            page_size,
        } => {
            let mut list = schemas.list();
            if let Some(page) = page {
                list = list.page(page);
            }
            if let Some(size) = page_size {
                list = list.page_size(size);
            }
            if let Some(kind) = type_ {
                list = list.kind(kind);
            }
            let page = list.send().await?;
            ctx.out.emit(&page, || {
                table_of(
                    &page.schemas,
                    &[
                        ("id", "id"),
                        ("name", "name"),
                        ("type", "type"),
                        ("version", "version"),
                        ("active", "is_active"),
                        ("updated", "updated_at"),
                    ],
                )
            });
        }
        SchemasCommand::Get { id } => {
            let schema = schemas.get(&id).await?;
            ctx.out.record(&schema);
        }
        SchemasCommand::Create {
            name,
            type_,
            file,
            description,
        } => {
            if name.is_empty() {
                return Err(Failure::usage("--name: must not be empty"));
            }
            let mut create = schemas.create(name, type_, definition(&file)?);
            if let Some(description) = description {
                create = create.description(description);
            }
            ctx.out.record(&create.send().await?);
        }
        SchemasCommand::Update {
            id,
            file,
            description,
        } => {
            let mut update = schemas.update(id, definition(&file)?);
            if let Some(description) = description {
                update = update.description(description);
            }
            ctx.out.record(&update.send().await?);
        }
    }
    Ok(())
}

/// A schema definition: a JSON object from a file or stdin.
fn definition(file: &Path) -> Result<Value, Failure> {
    let bytes = read_input(file)?;
    match serde_json::from_slice(&bytes) {
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(_) => Err(Failure::usage(format!(
            "{}: must hold a JSON object",
            file.display()
        ))),
        Err(e) => Err(Failure::usage(format!(
            "{}: is not valid JSON: {e}",
            file.display()
        ))),
    }
}
