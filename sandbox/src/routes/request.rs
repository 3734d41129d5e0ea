//! Extractors that turn requests into checked values, and every rejection into the envelope.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Bytes read and thrown away after a body broke a limit, so the client can finish sending and
/// read the answer; a body larger still is cut off.
pub(crate) const DRAIN_CAP: usize = 64 * 1024 * 1024;

/// The index of the caller's API key among the configured ones, set by the auth layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner(pub usize);

/// A JSON request body: `application/json`, within the size limit, well-formed.
pub(crate) struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> ApiResult<Self> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::invalid_request(
                "the request body must be JSON with `Content-Type: application/json`",
            ));
        }
        let limit = state.config.limits.max_json_bytes;
        let bytes = read_limited(request.into_body(), limit)
            .await?
            .ok_or_else(|| {
                ApiError::validation(format!("the request body exceeds {limit} bytes"))
            })?;
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            ApiError::invalid_request(format!("the request body is not valid JSON: {e}"))
        })
    }
}

impl JsonBody {
    /// Decodes the body as `T`; a mismatch is a VALIDATION_ERROR naming the field.
    pub fn decode<T: DeserializeOwned>(self) -> ApiResult<T> {
        serde_json::from_value(self.0)
            .map_err(|e| ApiError::validation(format!("the request body is invalid: {e}")))
    }
}

/// Reads `body` up to `limit` bytes; `None` when it is longer (the rest is drained, up to
/// [`DRAIN_CAP`]).
async fn read_limited(body: Body, limit: usize) -> ApiResult<Option<Bytes>> {
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::invalid_request(format!("the request body broke off: {e}")))?;
        if buffer.len() + chunk.len() > limit {
            let mut drained = buffer.len() + chunk.len();
            while let Some(Ok(chunk)) = stream.next().await {
                drained += chunk.len();
                if drained > DRAIN_CAP {
                    break;
                }
            }
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Some(buffer.freeze()))
}

/// The single id in a route's path, percent-decoded.
pub(crate) struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|e| ApiError::invalid_request(format!("invalid path parameter: {e}")))
    }
}

/// The query parameters of the list operations, all optional and checked by the handler.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    pub page: Option<String>,
    pub page_size: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Query::<Self>::from_request_parts(parts, state)
            .await
            .map(|Query(query)| query)
            .map_err(|e| ApiError::validation(format!("invalid query string: {e}")))
    }
}

/// A page of a list: 1-based number and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Page {
    pub number: usize,
    pub size: usize,
}

impl ListQuery {
    /// `page` (from 1, default 1) and `page_size` (1 to 100, default 20).
    pub fn page(&self) -> ApiResult<Page> {
        let number = parse_bounded("page", self.page.as_deref(), 1, 1, usize::MAX / 1000)?;
        let size = parse_bounded("page_size", self.page_size.as_deref(), 20, 1, 100)?;
        Ok(Page { number, size })
    }
}

impl Page {
    /// This page's slice of `items`.
    pub fn of<T>(self, items: Vec<T>) -> Vec<T> {
        let start = (self.number - 1).saturating_mul(self.size);
        items.into_iter().skip(start).take(self.size).collect()
    }
}

fn parse_bounded(
    name: &str,
    value: Option<&str>,
    default: usize,
    min: usize,
    max: usize,
) -> ApiResult<usize> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ApiError::validation(format!(
                "`{name}` must be an integer from {min} to {max}, got `{value}`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(page: Option<&str>, size: Option<&str>) -> ListQuery {
        ListQuery {
            page: page.map(str::to_owned),
            page_size: size.map(str::to_owned),
            ..ListQuery::default()
        }
    }

    #[test]
    fn pages_default_to_1_and_20_and_stay_in_bounds() {
        assert_eq!(
            query(None, None).page().ok(),
            Some(Page {
                number: 1,
                size: 20
            })
        );
        assert_eq!(
            query(Some("3"), Some("100")).page().ok(),
            Some(Page {
                number: 3,
                size: 100
            })
        );
        for (page, size) in [
            ("0", "20"),
            ("1", "0"),
            ("1", "101"),
            ("x", "1"),
            ("1", "-5"),
        ] {
            assert!(
                query(Some(page), Some(size)).page().is_err(),
                "{page} {size}"
            );
        }
    }

    #[test]
    fn a_page_slices_its_items() {
        let page = Page { number: 2, size: 3 };
        assert_eq!(page.of((1..=7).collect()), vec![4, 5, 6]);
        assert!(Page { number: 9, size: 3 }.of(vec![1]).is_empty());
    }
}
