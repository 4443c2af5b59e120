//! The page-size rules of the list endpoints: a page above 25 without
//! `attributes`/`excludedAttributes` is refused with 429 unless `--large-pages allow`
//! (Genesys warns that such pages "may exceed internal resource limits"), and no page
//! may exceed the `filter.maxResults` the ServiceProviderConfig advertises.
//!
//! Owns only the check; the routes page through the store themselves.

use super::ListParams;
use crate::emulator::config::{EmulatorConfig, LargePages};
use crate::emulator::errors::ApiError;

/// Largest page served without trimming attributes.
pub(crate) const UNTRIMMED_PAGE: usize = 25;

/// `filter.maxResults` in the ServiceProviderConfig: no list returns more.
pub const MAX_RESULTS: usize = 200;

/// Seconds the 429 of an oversized page asks the client to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// Refuses a page the real service would not serve.
pub(crate) fn check_page(cfg: &EmulatorConfig, p: &ListParams) -> Result<(), ApiError> {
    if p.count > MAX_RESULTS {
        return Err(ApiError::scim400(
            "tooMany",
            format!(
                "count {} exceeds filter.maxResults {MAX_RESULTS}; request at most \
                 {MAX_RESULTS} per page",
                p.count
            ),
        ));
    }
    if p.count > UNTRIMMED_PAGE && p.projection.is_empty() && cfg.large_pages == LargePages::Refuse
    {
        return Err(ApiError::Platform {
            status: 429,
            code: "too.many.requests",
            message: format!(
                "A page of {} resources without attributes or excludedAttributes exceeds \
                 internal resource limits; request at most {UNTRIMMED_PAGE} per page or trim \
                 the page. Retry the request in [{RETRY_AFTER_SECS}] seconds",
                p.count
            ),
            retry_after: Some(RETRY_AFTER_SECS),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> ListParams {
        ListParams::parse(Some(q)).unwrap()
    }

    #[test]
    fn large_untrimmed_pages_are_refused_unless_allowed() {
        let mut cfg = EmulatorConfig::for_tests();
        assert!(check_page(&cfg, &params("count=25")).is_ok());
        assert_eq!(
            check_page(&cfg, &params("count=26")).unwrap_err().status(),
            429
        );
        assert!(check_page(&cfg, &params("count=100&attributes=userName")).is_ok());
        assert!(check_page(&cfg, &params("count=100&excludedAttributes=roles")).is_ok());
        cfg.large_pages = LargePages::Allow;
        assert!(check_page(&cfg, &params("count=100")).is_ok());
        let e = check_page(&cfg, &params("count=201&attributes=id")).unwrap_err();
        assert!(matches!(
            e,
            ApiError::Scim {
                status: 400,
                scim_type: Some("tooMany"),
                ..
            }
        ));
    }
}
