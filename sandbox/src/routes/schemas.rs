//! Custom extraction schemas: names unique per API key, versions that grow with every update.

use std::num::NonZeroU64;

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use invaro::generated::types::{
    CreateSchemaRequest, Schema, SchemaDefinition, SchemaList, SchemaListResponse, SchemaResponse,
    SchemaType, UpdateSchemaRequest,
};
use serde_json::{Map, Value};

use super::request::{JsonBody, ListQuery, Owner, PathId};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, StoredSchema, uuid_v4};
use invaro::DocumentKind;

/// POST /schemas
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Owner(owner)): Extension<Owner>,
    body: JsonBody,
) -> ApiResult {
    // The type is checked first so that a wrong one gets its own documented code.
    if let Some(kind) = body.0.get("type") {
        schema_type(kind.as_str().unwrap_or_default())?;
    }
    let request: CreateSchemaRequest = body.decode()?;
    let definition = definition(request.schema_string)?;
    let mut store = state.store();
    let name = request.name.to_string();
    if store
        .schemas
        .iter()
        .any(|s| s.owner == owner && s.name == name)
    {
        return Err(ApiError::conflict(
            "SCHEMA_EXISTS",
            format!("a schema named `{name}` already exists"),
        ));
    }
    let now = Utc::now();
    let schema = StoredSchema {
        id: uuid_v4(),
        owner,
        name,
        kind: DocumentKind::from(request.type_),
        description: request.description,
        definition,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let view = view(&schema);
    store.schemas.push(schema);
    Ok(respond(view))
}

/// GET /schemas/list
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(Owner(owner)): Extension<Owner>,
    query: ListQuery,
) -> ApiResult {
    let page = query.page()?;
    let kind = query
        .kind
        .as_deref()
        .map(schema_type)
        .transpose()?
        .map(DocumentKind::from);
    let store = state.store();
    let matching: Vec<Schema> = store
        .schemas
        .iter()
        .filter(|s| s.owner == owner && kind.is_none_or(|k| k == s.kind))
        .map(view)
        .collect();
    let total = matching.len() as i64;
    Ok(Json(SchemaListResponse {
        success: true,
        data: SchemaList {
            schemas: page.of(matching),
            page: Some(page.number as i64),
            limit: Some(page.size as i64),
            total: Some(total),
        },
    })
    .into_response())
}

/// GET /schemas/id/{schema_id}
pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(Owner(owner)): Extension<Owner>,
    PathId(id): PathId,
) -> ApiResult {
    let store = state.store();
    let schema = store
        .schemas
        .iter()
        .find(|s| s.owner == owner && s.id == id)
        .ok_or_else(|| not_found(&id))?;
    Ok(respond(view(schema)))
}

/// PUT /schemas/id/{schema_id}
pub(crate) async fn update(
    State(state): State<AppState>,
    Extension(Owner(owner)): Extension<Owner>,
    PathId(id): PathId,
    body: JsonBody,
) -> ApiResult {
    let request: UpdateSchemaRequest = body.decode()?;
    let definition = definition(request.schema_string)?;
    let mut store = state.store();
    let schema = store
        .schemas
        .iter_mut()
        .find(|s| s.owner == owner && s.id == id)
        .ok_or_else(|| not_found(&id))?;
    schema.definition = definition;
    if request.description.is_some() {
        schema.description = request.description;
    }
    schema.version += 1;
    schema.updated_at = Utc::now();
    Ok(respond(view(schema)))
}

/// The definition a request sent: a JSON object, or (as the server implementation requires) a
/// string holding one.
fn definition(sent: SchemaDefinition) -> ApiResult<Map<String, Value>> {
    match sent {
        SchemaDefinition::Object(definition) => Ok(definition),
        SchemaDefinition::String(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(definition)) => Ok(definition),
            _ => Err(ApiError::validation(
                "`schema_string` must be a JSON object, or a string holding a JSON object",
            )),
        },
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("SCHEMA_NOT_FOUND", format!("no schema with id `{id}`"))
}

fn schema_type(name: &str) -> ApiResult<SchemaType> {
    name.parse().map_err(|_| {
        ApiError::invalid_schema_type(format!(
            "schema type must be `invoice` or `bank_statement`, got `{name}`"
        ))
    })
}

fn view(schema: &StoredSchema) -> Schema {
    Schema {
        id: schema.id.clone(),
        user_id: Some(format!("user_{}", schema.owner + 1)),
        name: schema.name.clone(),
        type_: schema.kind.into(),
        description: schema.description.clone(),
        // Requests send the definition as an object or a string; responses carry a JSON string.
        schema_string: Value::Object(schema.definition.clone()).to_string(),
        version: NonZeroU64::new(schema.version).expect("versions start at 1"),
        is_active: Some(true),
        created_at: Some(schema.created_at),
        updated_at: Some(schema.updated_at),
    }
}

fn respond(schema: Schema) -> Response {
    Json(SchemaResponse {
        success: true,
        data: schema,
    })
    .into_response()
}
