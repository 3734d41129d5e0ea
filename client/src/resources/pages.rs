//! Reading a paged list as one stream, whatever the server says about its length.

use futures::{Stream, TryStreamExt, stream};

use crate::Error;

/// What one page of a list said.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// The server's count of every item, if it sent one.
    pub total: Option<i64>,
    /// The page size the server used, if it said.
    pub page_size: Option<i64>,
}

/// Every item of every page from `first` on, in order; `fetch(page)` asks for one page.
///
/// The stream ends after an empty page, a page shorter than the page size (the one asked for,
/// else the one the server reported), or once the server's total is reached: a server that
/// keeps answering full pages is read until it stops. An error is yielded and ends it.
pub(crate) fn all_pages<T, F, Fut>(
    first: u32,
    asked_size: Option<u32>,
    fetch: F,
) -> impl Stream<Item = Result<T, Error>>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let start = (Some(first), 0u64, fetch);
    stream::try_unfold(start, move |(next, seen, fetch)| async move {
        let Some(page) = next else {
            return Ok(None);
        };
        let found = fetch(page).await?;
        let count = found.items.len() as u64;
        let seen = seen.saturating_add(count);
        let size = asked_size
            .map(u64::from)
            .or_else(|| found.page_size.and_then(|s| u64::try_from(s).ok()));
        let short = size.is_some_and(|size| count < size);
        let reached = found
            .total
            .and_then(|t| u64::try_from(t).ok())
            .is_some_and(|total| seen >= total);
        let next = if count == 0 || short || reached {
            None
        } else {
            page.checked_add(1)
        };
        Ok(Some((
            stream::iter(found.items.into_iter().map(Ok)),
            (next, seen, fetch),
        )))
    })
    .try_flatten()
}

/// `value`, refused with an error naming `name` when it is 0 (pages and page sizes count from 1).
pub(crate) fn positive(name: &str, value: Option<u32>) -> Result<Option<u32>, Error> {
    match value {
        Some(0) => Err(Error::invalid(name, "must be at least 1")),
        other => Ok(other),
    }
}
