//! `ApiError`: how a call through the façade failed, with the attempts it took, a
//! stable `kind()` for the ledger's error_kind column, and the predicates the
//! planner steers by (version conflict, uniqueness, stops the run). No variant
//! carries a token or the client secret.

use crate::model::ErrorKind;
use crate::scim::auth::AuthError;

/// A failed API call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status (after any retries).
    #[error("HTTP {status}{}: {detail}", scim_type.as_deref().or(code.as_deref()).map(|t| format!(" ({t})")).unwrap_or_default())]
    Http {
        /// HTTP status.
        status: u16,
        /// SCIM `scimType`, if the body was a SCIM Error.
        scim_type: Option<String>,
        /// Platform `code`, if the body was a platform ErrorBody.
        code: Option<String>,
        /// The server's detail/message.
        detail: String,
        /// Tries made.
        attempts: u32,
    },
    /// No response within the timeout, on every try.
    #[error("timed out after {attempts} attempt(s)")]
    Timeout {
        /// Tries made.
        attempts: u32,
    },
    /// The connection failed or was dropped, on every try.
    #[error("connection failed after {attempts} attempt(s): {detail}")]
    Connection {
        /// Tries made.
        attempts: u32,
        /// Transport detail (no URL, no secrets).
        detail: String,
    },
    /// The auth circuit is open (credentials refused, or a permission every call needs is missing): the run must stop (exit 3).
    #[error("stopped: the circuit is open ({reason})")]
    CircuitOpen {
        /// Why the circuit opened.
        reason: String,
    },
    /// The run stopped before this call could finish (the tenant breaker gave up
    /// on a failing tenant, or Ctrl-C): its row ends pending, resumable.
    #[error("stopped: {reason}")]
    Stopped {
        /// Why the run stopped.
        reason: String,
    },
    /// No token could be obtained.
    #[error("authentication failed: {source}")]
    Auth {
        /// The token cache's error.
        #[source]
        source: AuthError,
        /// Tries made.
        attempts: u32,
    },
    /// A success response whose body could not be read.
    #[error("unreadable response (HTTP {status}): {detail}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// Parser message.
        detail: String,
    },
    /// Found, after the tenant refused a create as a duplicate, to be a user the
    /// row must not touch: nothing more is sent.
    #[error("{reason}")]
    Refused {
        /// Stable kind for the ledger (`user_name_taken`, `uniqueness`, ...).
        kind: ErrorKind,
        /// What is wrong, naming the values involved.
        reason: String,
    },
    /// The client could not be built or the request serialised.
    #[error("client setup: {detail}")]
    Setup {
        /// What failed.
        detail: String,
    },
}

impl ApiError {
    /// 400 `invalidVers`, 409 that is not about uniqueness, or 412: re-read and re-diff.
    pub fn is_version_conflict(&self) -> bool {
        match self {
            ApiError::Http {
                status, scim_type, ..
            } if scim_type.as_deref() == Some("invalidVers") => true,
            ApiError::Http { status, .. } => match status {
                412 => true,
                409 => !self.is_uniqueness(),
                _ => false,
            },
            _ => false,
        }
    }

    /// 409 (or 400) with scimType `uniqueness`, or a 409 whose detail says the
    /// value is already in use.
    pub fn is_uniqueness(&self) -> bool {
        match self {
            ApiError::Http {
                status,
                scim_type,
                detail,
                ..
            } => {
                scim_type.as_deref() == Some("uniqueness")
                    || (*status == 409 && scim_type.as_deref() != Some("invalidVers") && {
                        let d = detail.to_ascii_lowercase();
                        d.contains("unique") || d.contains("already") || d.contains("exists")
                    })
            }
            _ => false,
        }
    }

    /// A stable snake_case name for the ledger's `error_kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Http { status, .. } => {
                if self.is_uniqueness() {
                    ErrorKind::Uniqueness
                } else if self.is_version_conflict() {
                    ErrorKind::VersionConflict
                } else {
                    match status {
                        401 => ErrorKind::Unauthorized,
                        403 => ErrorKind::Forbidden,
                        404 => ErrorKind::NotFound,
                        413 => ErrorKind::TooLarge,
                        429 => ErrorKind::RateLimited,
                        500..=599 => ErrorKind::ServerError,
                        _ => ErrorKind::Rejected,
                    }
                }
            }
            ApiError::Timeout { .. } => ErrorKind::Timeout,
            ApiError::Connection { .. } => ErrorKind::Connection,
            ApiError::CircuitOpen { .. } | ApiError::Stopped { .. } => ErrorKind::CircuitOpen,
            ApiError::Auth { .. } => ErrorKind::Auth,
            ApiError::Decode { .. } => ErrorKind::Decode,
            ApiError::Setup { .. } => ErrorKind::Setup,
            ApiError::Refused { kind, .. } => *kind,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } | ApiError::Decode { status, .. } => Some(*status),
            ApiError::Auth {
                source: AuthError::Rejected { status, .. } | AuthError::Unavailable { status },
                ..
            } => Some(*status),
            _ => None,
        }
    }

    /// Tries made (0 when none was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            ApiError::Http { attempts, .. }
            | ApiError::Timeout { attempts }
            | ApiError::Connection { attempts, .. }
            | ApiError::Auth { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    /// A 4xx that may be about one member of a group PATCH (not a version conflict,
    /// not 401/403/429): splitting the batch can isolate the member it refuses.
    pub fn may_be_member_refusal(&self) -> bool {
        match self {
            ApiError::Http { status, .. } => {
                (400..500).contains(status)
                    && !matches!(status, 401 | 403 | 429)
                    && !self.is_version_conflict()
            }
            _ => false,
        }
    }

    /// True when the run must stop (circuit open, credentials refused): the
    /// coordinator leaves the remaining rows pending and exits 3.
    pub fn stops_run(&self) -> bool {
        matches!(
            self,
            ApiError::CircuitOpen { .. }
                | ApiError::Stopped { .. }
                | ApiError::Auth {
                    source: AuthError::Rejected { .. },
                    ..
                }
        )
    }

    /// What stopped the run, for summary.json's `stopped`: the reason of a
    /// [`ApiError::Stopped`], else the error's text.
    pub fn stop_reason(&self) -> String {
        match self {
            ApiError::Stopped { reason } => reason.clone(),
            other => other.to_string(),
        }
    }

    /// A failure of the tenant that more time may cure (timeout, dropped
    /// connection, 5xx): the breaker's business, and resumable.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Timeout { .. } | ApiError::Connection { .. } => true,
            ApiError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn set_attempts(mut self, n: u32) -> ApiError {
        match &mut self {
            ApiError::Http { attempts, .. }
            | ApiError::Timeout { attempts }
            | ApiError::Connection { attempts, .. }
            | ApiError::Auth { attempts, .. } => *attempts = n,
            _ => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, scim_type: Option<&str>, detail: &str) -> ApiError {
        ApiError::Http {
            status,
            scim_type: scim_type.map(str::to_string),
            code: None,
            detail: detail.into(),
            attempts: 1,
        }
    }

    #[test]
    fn member_refusals_are_plain_4xx_only() {
        assert!(http(400, Some("invalidValue"), "member x").may_be_member_refusal());
        assert!(http(404, None, "user x not found").may_be_member_refusal());
        for no in [
            http(400, Some("invalidVers"), "x"),
            http(412, None, "x"),
            http(401, None, "x"),
            http(403, None, "x"),
            http(429, None, "x"),
            http(500, None, "x"),
            http(503, None, "x"),
        ] {
            assert!(!no.may_be_member_refusal(), "{no}");
        }
        assert!(!ApiError::Timeout { attempts: 3 }.may_be_member_refusal());
    }

    #[test]
    fn version_conflicts_in_all_three_shapes() {
        assert!(http(400, Some("invalidVers"), "x").is_version_conflict());
        assert!(http(412, None, "x").is_version_conflict());
        assert!(http(409, None, "version does not match current version").is_version_conflict());
        assert!(!http(409, Some("uniqueness"), "x").is_version_conflict());
        assert!(!http(400, Some("invalidValue"), "x").is_version_conflict());
        assert_eq!(http(412, None, "x").kind(), ErrorKind::VersionConflict);
    }

    #[test]
    fn uniqueness_detected() {
        assert!(http(409, Some("uniqueness"), "x").is_uniqueness());
        assert!(http(409, None, "userName already in use").is_uniqueness());
        assert!(!http(400, Some("invalidVers"), "x").is_uniqueness());
        assert_eq!(
            http(409, Some("uniqueness"), "x").kind(),
            ErrorKind::Uniqueness
        );
    }

    #[test]
    fn kinds_and_stop() {
        assert_eq!(http(404, None, "x").kind(), ErrorKind::NotFound);
        assert_eq!(
            http(400, Some("invalidValue"), "x").kind(),
            ErrorKind::Rejected
        );
        assert_eq!(ApiError::Timeout { attempts: 3 }.kind(), ErrorKind::Timeout);
        let open = ApiError::CircuitOpen {
            reason: "401".into(),
        };
        assert!(open.stops_run());
        assert!(!http(500, None, "x").stops_run());
        assert_eq!(http(503, None, "x").status(), Some(503));
        assert_eq!(
            http(400, Some("invalidValue"), "bad phone").to_string(),
            "HTTP 400 (invalidValue): bad phone"
        );
    }
}
