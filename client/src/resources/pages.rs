//! Reading a paged list as one stream, whatever the server says about its length.

use futures_util::{Stream, TryStreamExt, stream};

use crate::{DocumentKind, Error};

/// What one page of a list said.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// The server's count of every item, if it sent one.
    pub total: Option<i64>,
    /// The page size the server used, if it said.
    pub page_size: Option<i64>,
}

/// The options every list takes: where to start, how many per page, which kind of document.
#[derive(Clone, Debug, Default)]
pub(crate) struct Paging {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    pub kind: Option<DocumentKind>,
}

impl Paging {
    /// The first page to read (default 1).
    pub fn first(&self) -> u32 {
        self.page.unwrap_or(1)
    }

    /// `page` and the page size as the query takes them, each refused with an error naming it
    /// when it is 0 (pages and page sizes count from 1).
    pub fn checked(&self, page: u32) -> Result<(u64, Option<u64>), Error> {
        let positive = |name, value: u32| match value {
            0 => Err(Error::invalid(name, "must be at least 1")),
            n => Ok(u64::from(n)),
        };
        Ok((
            positive("page", page)?,
            self.page_size
                .map(|size| positive("page_size", size))
                .transpose()?,
        ))
    }
}

/// A list request with its options, able to fetch any one page of its answer.
pub(crate) trait Listing: Clone {
    /// One page, as the API answers it.
    type Answer: Into<Page<Self::Item>>;
    /// What the list lists.
    type Item;
    /// The options it was given.
    fn paging(&self) -> &Paging;
    /// Reads page `page`.
    fn fetch(&self, page: u32) -> impl Future<Output = Result<Self::Answer, Error>>;
}

/// Every item of every page of `list` from its first page on, in order.
///
/// The stream ends after an empty page, a page shorter than the page size (the one asked for,
/// else the one the server reported), or once the server's total is reached: a server that
/// keeps answering full pages is read until it stops. An error is yielded and ends it.
pub(crate) fn all_pages<L: Listing>(list: L) -> impl Stream<Item = Result<L::Item, Error>> {
    let (first, asked_size) = (list.paging().first(), list.paging().page_size);
    stream::try_unfold(
        (Some(first), 0u64, list),
        move |(next, seen, list)| async move {
            let Some(page) = next else {
                return Ok(None);
            };
            let found: Page<L::Item> = list.fetch(page).await?.into();
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
                (next, seen, list),
            )))
        },
    )
    .try_flatten()
}
