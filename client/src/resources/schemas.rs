//! `client.schemas()`: custom extraction schemas (create, list, get, update).

use futures_util::Stream;

use super::pages::{Listing, Page, Paging, all_pages};
use crate::{Client, DocumentKind, Error, types};

/// The Schemas API of a [`Client`]: `client.schemas()`.
///
/// ```no_run
/// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
/// use invaro::DocumentKind;
/// let fields = serde_json::json!({ "fields": [{ "name": "po_number", "type": "string" }] });
/// let schema = client
///     .schemas()
///     .create("purchase-orders", DocumentKind::Invoice, fields)
///     .description("Invoices with a PO number")
///     .send()
///     .await?;
/// println!("schema {} version {}", schema.id, schema.version);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Schemas<'a> {
    client: &'a Client,
}

impl<'a> Schemas<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a schema named `name` for `kind` documents; `schema` is the definition, a JSON
    /// object. A builder ending in [`send`](CreateSchema::send).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let fields = serde_json::json!({ "fields": [{ "name": "po_number", "type": "string" }] });
    /// let schema = client
    ///     .schemas()
    ///     .create("purchase-orders", invaro::DocumentKind::Invoice, fields)
    ///     .description("Invoices with a PO number")
    ///     .send()
    ///     .await?;
    /// println!("{} version {}", schema.id, schema.version);
    /// # Ok(()) }
    /// ```
    pub fn create(
        &self,
        name: impl Into<String>,
        kind: DocumentKind,
        schema: serde_json::Value,
    ) -> CreateSchema<'a> {
        CreateSchema {
            client: self.client,
            name: name.into(),
            kind,
            schema,
            description: None,
        }
    }

    /// Lists schemas: a builder ending in [`send`](ListSchemas::send) (one page) or
    /// [`into_stream`](ListSchemas::into_stream) (every page).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// use futures_util::TryStreamExt;
    /// let names: Vec<String> = client
    ///     .schemas()
    ///     .list()
    ///     .kind(invaro::DocumentKind::Invoice)
    ///     .into_stream()
    ///     .map_ok(|schema| schema.name)
    ///     .try_collect()
    ///     .await?;
    /// println!("{names:?}");
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListSchemas<'a> {
        ListSchemas {
            client: self.client,
            paging: Paging::default(),
        }
    }

    /// One schema (`GET /schemas/{schema_id}`).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let schema = client.schemas().get("schema_1").await?;
    /// println!("{}: {}", schema.name, schema.schema_string);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn get(&self, schema_id: impl AsRef<str>) -> Result<types::Schema, Error> {
        let call = self.client.api().get_schema().schema_id(schema_id.as_ref());
        Ok(self.client.call(call.send()).await?.data)
    }

    /// Replaces a schema's definition (its version goes up by one): a builder ending in
    /// [`send`](UpdateSchema::send).
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let fields = serde_json::json!({ "fields": [{ "name": "po_number", "type": "string" }] });
    /// let schema = client.schemas().update("schema_1", fields).send().await?;
    /// println!("now version {}", schema.version);
    /// # Ok(()) }
    /// ```
    pub fn update(
        &self,
        schema_id: impl Into<String>,
        schema: serde_json::Value,
    ) -> UpdateSchema<'a> {
        UpdateSchema {
            client: self.client,
            id: schema_id.into(),
            schema,
            description: None,
        }
    }
}

/// A definition as the API takes it: a JSON object (sent as the object).
fn definition(schema: serde_json::Value) -> Result<types::SchemaDefinition, Error> {
    match schema {
        serde_json::Value::Object(fields) => Ok(types::SchemaDefinition::Object(fields)),
        other => Err(Error::invalid(
            "schema",
            format!("must be a JSON object, not {}", json_kind(&other)),
        )),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `client.schemas().create(..)`: options, then [`send`](Self::send).
#[derive(Clone, Debug)]
#[must_use = "a schema is created by .send()"]
pub struct CreateSchema<'a> {
    client: &'a Client,
    name: String,
    kind: DocumentKind,
    schema: serde_json::Value,
    description: Option<String>,
}

impl CreateSchema<'_> {
    /// A description shown with the schema.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Creates the schema.
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn send(self) -> Result<types::Schema, Error> {
        let name = types::CreateSchemaRequestName::try_from(self.name.as_str())
            .map_err(|e| Error::invalid("schema name", e.to_string()))?;
        let request = types::CreateSchemaRequest {
            description: self.description,
            name,
            schema_string: definition(self.schema)?,
            type_: self.kind.into(),
        };
        let call = self.client.api().create_schema().body(request);
        Ok(self.client.call(call.send()).await?.data)
    }
}

/// `client.schemas().update(..)`: options, then [`send`](Self::send).
#[derive(Clone, Debug)]
#[must_use = "a schema is updated by .send()"]
pub struct UpdateSchema<'a> {
    client: &'a Client,
    id: String,
    schema: serde_json::Value,
    description: Option<String>,
}

impl UpdateSchema<'_> {
    /// A new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Updates the schema and returns it as it now is.
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn send(self) -> Result<types::Schema, Error> {
        let request = types::UpdateSchemaRequest {
            description: self.description,
            schema_string: definition(self.schema)?,
        };
        let call = self
            .client
            .api()
            .update_schema()
            .schema_id(self.id)
            .body(request);
        Ok(self.client.call(call.send()).await?.data)
    }
}

/// `client.schemas().list()`: options, then [`send`](Self::send) or
/// [`into_stream`](Self::into_stream).
#[derive(Clone, Debug)]
#[must_use = "a list is sent by .send() or read by .into_stream()"]
pub struct ListSchemas<'a> {
    client: &'a Client,
    paging: Paging,
}

impl<'a> ListSchemas<'a> {
    /// The page to read, from 1 (default 1).
    pub fn page(mut self, page: u32) -> Self {
        self.paging.page = Some(page);
        self
    }

    /// Schemas per page (the server's default when not set).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.paging.page_size = Some(page_size);
        self
    }

    /// Only schemas for this kind of document.
    pub fn kind(mut self, kind: DocumentKind) -> Self {
        self.paging.kind = Some(kind);
        self
    }

    /// Reads one page.
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn send(self) -> Result<types::SchemaList, Error> {
        self.fetch(self.paging.first()).await
    }

    /// Every schema of every page from [`page`](Self::page) on, in order, each page request
    /// paced by the client's rate limiter; the stream ends after the last page.
    pub fn into_stream(self) -> impl Stream<Item = Result<types::Schema, Error>> + 'a {
        all_pages(self)
    }
}

impl Listing for ListSchemas<'_> {
    type Answer = types::SchemaList;
    type Item = types::Schema;

    fn paging(&self) -> &Paging {
        &self.paging
    }

    async fn fetch(&self, page: u32) -> Result<types::SchemaList, Error> {
        let (page, page_size) = self.paging.checked(page)?;
        let mut call = self.client.api().list_schemas().page(page);
        if let Some(size) = page_size {
            call = call.page_size(size);
        }
        if let Some(kind) = self.paging.kind {
            call = call.type_(types::SchemaType::from(kind));
        }
        Ok(self.client.call(call.send()).await?.data)
    }
}

impl From<types::SchemaList> for Page<types::Schema> {
    fn from(list: types::SchemaList) -> Self {
        Page {
            items: list.schemas,
            total: list.total,
            page_size: list.limit,
        }
    }
}
