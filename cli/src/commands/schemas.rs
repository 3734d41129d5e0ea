//! `invaro schemas list|get|create|update`.

use std::path::Path;

use invaro::generated::types;
use serde_json::{Map, Value};

use crate::{
    args::{SchemaType, SchemasCommand},
    commands::read_input,
    context::Ctx,
    exit::Failure,
    output::table_of,
};

/// Runs `invaro schemas ...`.
pub async fn run(ctx: &Ctx, command: SchemasCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    let api = client.api();
    match command {
        SchemasCommand::List {
            type_,
            page,
            page_size,
        } => {
            let page = client
                .call(api.list_schemas(page, page_size, type_.map(schema_type)))
                .await?
                .data;
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
            let schema = client.call(api.get_schema(&id)).await?.data;
            ctx.out.record(&schema);
        }
        SchemasCommand::Create {
            name,
            type_,
            file,
            description,
        } => {
            let request = types::CreateSchemaRequest {
                description,
                name: name
                    .as_str()
                    .try_into()
                    .map_err(|_| Failure::usage("--name: must not be empty"))?,
                schema_string: definition(&file)?.into(),
                type_: schema_type(type_),
            };
            let schema = client.call(api.create_schema(&request)).await?.data;
            ctx.out.record(&schema);
        }
        SchemasCommand::Update {
            id,
            file,
            description,
        } => {
            let request = types::UpdateSchemaRequest {
                description,
                schema_string: definition(&file)?.into(),
            };
            let schema = client.call(api.update_schema(&id, &request)).await?.data;
            ctx.out.record(&schema);
        }
    }
    Ok(())
}

fn schema_type(type_: SchemaType) -> types::SchemaType {
    match type_ {
        SchemaType::Invoice => types::SchemaType::Invoice,
        SchemaType::BankStatement => types::SchemaType::BankStatement,
    }
}

/// A schema definition: a JSON object from a file or stdin.
fn definition(file: &Path) -> Result<Map<String, Value>, Failure> {
    let bytes = read_input(file)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
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
