//! The Genesys platform GETs the routing checks send (the skill and language
//! catalogue, a user's routing skills and languages): paged listings under the
//! API URL, through the same limiter, retries, breaker and audit as every call.
//! What they mean is `skills`'; when they are sent is the pre-flight's and
//! `skills verify`'s.

use serde::de::DeserializeOwned;

use super::{Api, ApiError, decode};
use crate::scim::client::Request;
use crate::scim::model::EntityListing;

/// Pages read at most from one listing: a server that keeps announcing more
/// pages does not keep a run busy forever.
const MAX_PAGES: u64 = 10_000;

/// Every entity of a paged listing, and the GETs it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The entities, in the server's order.
    pub entities: Vec<T>,
    /// GETs sent.
    pub calls: u64,
}

impl Api {
    /// Reads every page of the platform listing at `path` (`/api/v2/...`) with
    /// `pageSize=page_size&pageNumber=N`, for source row `row` (`None`: a run-wide
    /// read). Stops at `pageCount`, or at the first empty page.
    pub async fn platform_list<T: DeserializeOwned>(
        &self,
        row: Option<u64>,
        path: &str,
        page_size: u64,
    ) -> Result<Paged<T>, ApiError> {
        let mut out = Paged {
            entities: Vec::new(),
            calls: 0,
        };
        for number in 1..=MAX_PAGES {
            let req = Request::platform_get(
                path,
                vec![
                    ("pageSize", page_size.to_string()),
                    ("pageNumber", number.to_string()),
                ],
            );
            out.calls += 1;
            let (resp, _, _) = self.execute_plain(row, &req).await?;
            let page: EntityListing<T> = decode(&resp)?;
            let empty = page.entities.is_empty();
            out.entities.extend(page.entities);
            if empty || number >= page.page_count {
                break;
            }
        }
        Ok(out)
    }
}
