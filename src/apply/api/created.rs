//! A create the server acknowledged (2xx) whose body cannot be read: not JSON,
//! cut short, or without an `id` (issue 14). The user exists, so it is found by
//! a lookup (userName, unique in the tenant; externalId when there is no
//! userName) and adopted, never POSTed again. Owns only that resolution; the
//! retry loop and the lookup itself live in `call.rs`.

use super::call::AdoptKeys;
use super::stats::Counters;
use super::{Api, ApiError, Created, Versioned};
use crate::scim::model::User;

/// What came back from a create whose body could not be used.
pub(super) struct Unreadable {
    /// The HTTP status of the create.
    pub(super) status: u16,
    /// Tries the create made.
    pub(super) attempts: u32,
    /// Wall time of the create.
    pub(super) latency_ms: f64,
    /// Why the body could not be used.
    pub(super) why: String,
}

impl Api {
    /// Finds the user an acknowledged create made and adopts it; fails the
    /// create with [`ApiError::Decode`] when the lookup finds nobody.
    pub(super) async fn adopt_acknowledged(
        &self,
        row: Option<u64>,
        user: &User,
        got: Unreadable,
    ) -> Result<Created, ApiError> {
        let keys = match user.user_name.as_deref() {
            Some(name) => AdoptKeys {
                external_id: None,
                user_name: Some(name),
            },
            None => AdoptKeys {
                external_id: user.external_id.as_deref(),
                user_name: None,
            },
        };
        match self.find_adoptable(row, &keys).await? {
            Some(found) => {
                Counters::bump(&self.inner.counters.adopted);
                Ok(Created {
                    user: Versioned {
                        status: got.status,
                        attempts: got.attempts,
                        latency_ms: got.latency_ms + found.latency_ms,
                        ..found
                    },
                    adopted: true,
                })
            }
            None => {
                let by = match (keys.user_name, keys.external_id) {
                    (Some(n), _) => format!("userName {n:?}"),
                    (None, Some(x)) => format!("externalId {x:?}"),
                    (None, None) => "its keys (it has neither userName nor externalId)".into(),
                };
                Err(ApiError::Decode {
                    status: got.status,
                    detail: format!(
                        "the create was acknowledged but its body cannot be read ({}) and a \
                         lookup by {by} found no user; check the tenant before running again",
                        got.why
                    ),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::{ApiOptions, NoObserver};
    use super::*;
    use crate::apply::limiter::Pace;
    use crate::model::ErrorKind;
    use crate::scim::target::Target;

    const USERS: &str = "/api/v2/scim/v2/users";

    /// A server whose token works, whose POST answers 201 with `body`, and whose
    /// userName lookup finds `found` (or nobody).
    async fn server(body: &'static str, found: bool) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "tok", "token_type": "bearer", "expires_in": 3600
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(USERS))
            .respond_with(ResponseTemplate::new(201).set_body_string(body))
            .mount(&server)
            .await;
        let resources = if found {
            vec![json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "u7", "externalId": "E1", "userName": "a@b.com", "displayName": "A",
                "active": true, "meta": {"resourceType": "User", "version": "3"}
            })]
        } else {
            Vec::new()
        };
        Mock::given(method("GET"))
            .and(path(USERS))
            .and(query_param("filter", "userName eq \"a@b.com\""))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": resources.len(), "startIndex": 1,
                "itemsPerPage": resources.len(), "Resources": resources
            })))
            .mount(&server)
            .await;
        server
    }

    fn api(server: &MockServer) -> Api {
        let target = Target::emulator(&server.uri(), "id", "created-test-client-secret");
        let opts = ApiOptions {
            pace: Pace::Off,
            max_attempts: 2,
            backoff_base: Duration::from_millis(5),
            backoff_cap: Duration::from_millis(5),
            ..ApiOptions::default()
        };
        Api::new(&target, opts, Arc::new(NoObserver)).expect("api")
    }

    fn user() -> User {
        User {
            external_id: Some("E1".into()),
            user_name: Some("a@b.com".into()),
            display_name: Some("A".into()),
            ..User::default()
        }
    }

    async fn posts(server: &MockServer) -> usize {
        let all = server.received_requests().await.unwrap_or_default();
        all.iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path() == USERS)
            .count()
    }

    #[tokio::test]
    async fn issue_14_an_unreadable_201_is_looked_up_and_adopted() {
        for body in [
            "<html>oops",
            "{\"id\": \"u7\", \"userName\"",
            "{\"userName\": \"a@b.com\"}",
            "",
        ] {
            let server = server(body, true).await;
            let api = api(&server);
            let created = api.create_user(Some(1), &user()).await.expect(body);
            assert!(created.adopted, "{body}");
            assert_eq!(created.user.value.id.as_deref(), Some("u7"), "{body}");
            assert_eq!(created.user.status, 201);
            assert_eq!(created.user.etag.as_deref(), Some("\"3\""));
            assert_eq!(posts(&server).await, 1, "never POSTed twice: {body}");
            assert_eq!(api.stats().adopted, 1);
        }
    }

    #[tokio::test]
    async fn issue_14_an_unreadable_201_nobody_found_is_a_clear_decode_error() {
        let server = server("not json", false).await;
        let api = api(&server);
        let err = api.create_user(Some(1), &user()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        let text = err.to_string();
        assert!(text.contains("HTTP 201"), "{text}");
        assert!(
            text.contains("lookup by userName \"a@b.com\" found no user"),
            "{text}"
        );
        assert_eq!(posts(&server).await, 1);
    }
}
