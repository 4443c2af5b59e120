//! A run's first contact with the tenant: a token, before the pre-flight and
//! before any row, so that refused credentials or an unreachable login service
//! stop the run at once with exit 2, the cause first and what to check, and a
//! new run leaves no directory behind (nothing was sent). A run that may send
//! nothing at all (an incremental sync with no change) skips it.
//!
//! Also tells a discovery GET the tenant refused with 401 (a static bearer token
//! that is wrong, a token the tenant does not take) as the same error.

use super::error::EngineError;
use crate::apply::api::{Api, ApiError};
use crate::model::ErrorKind;
use crate::scim::auth::AuthError;
use crate::scim::target::{Profile, Target};

/// What to check when the credentials are refused.
fn check_credentials(t: &Target) -> String {
    if t.bearer.is_some() {
        return format!(
            "SCIMPORT_BEARER_TOKEN (environment, .env or --config) is a valid token for {}",
            t.api_url
        );
    }
    let endpoint = t
        .token_endpoint
        .clone()
        .unwrap_or_else(|| format!("{}/oauth/token", t.login_url));
    match t.profile {
        Profile::Genesys => format!(
            "GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (environment, .env or --config) are an \
             OAuth client with the Client Credentials grant of the org that {endpoint} serves \
             (--region, or --login-url)"
        ),
        Profile::Generic => format!(
            "GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (environment, .env or --config) are a \
             client that {endpoint} (--token-url) accepts"
        ),
    }
}

/// Gets the run's token; `Err` stops the run before anything else.
pub(super) async fn first_contact(api: &Api, target: &Target) -> Result<(), EngineError> {
    let endpoint = target
        .token_endpoint
        .clone()
        .unwrap_or_else(|| format!("{}/oauth/token", target.login_url));
    match api.authenticate().await {
        Ok(()) => Ok(()),
        Err(e @ (AuthError::Rejected { .. } | AuthError::Malformed { .. })) => {
            Err(EngineError::Credentials {
                detail: e.to_string(),
                check: check_credentials(target),
            })
        }
        Err(e) => Err(EngineError::Unreachable {
            url: endpoint,
            detail: e.to_string(),
            check: "the address (--region, or --login-url/--token-url), the network and any \
                    proxy; then run the same command again"
                .into(),
        }),
    }
}

/// The error a refused discovery GET means, when it means one: a 401 (or a
/// refused token) is the credentials; other failures are the pre-flight's.
pub(super) fn refused(e: &ApiError, target: &Target) -> Option<EngineError> {
    match e.kind() {
        ErrorKind::Unauthorized | ErrorKind::Auth => Some(EngineError::Credentials {
            detail: e.to_string(),
            check: check_credentials(target),
        }),
        _ => None,
    }
}
