//! Where a target's users and groups live: for the generic profile, one GET of
//! `/ResourceTypes` at the start of a run turns the `User` and `Group` resource
//! types into the endpoints every later call uses (falling back to `/Users` and
//! `/Groups`, with a warning, when the server has no usable `/ResourceTypes`). The
//! Genesys profile needs no discovery: its endpoints are fixed.
//!
//! Does not check attributes or schemas (that is the pre-flight's job).

use serde::Deserialize;

use super::{Api, ApiError};
use crate::scim::client::Request;
use crate::scim::model::ListResponse;
use crate::scim::target::Profile;

/// The resource endpoints, relative to the SCIM base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Users, e.g. `/Users`.
    pub users: String,
    /// Groups, e.g. `/Groups`.
    pub groups: String,
}

impl Endpoints {
    /// The fixed endpoints of `profile` before any discovery (Genesys answers on
    /// lower-case paths; RFC 7644 names them `/Users` and `/Groups`).
    pub fn for_profile(profile: Profile) -> Endpoints {
        match profile {
            Profile::Genesys => Endpoints {
                users: "/users".into(),
                groups: "/groups".into(),
            },
            Profile::Generic => Endpoints {
                users: "/Users".into(),
                groups: "/Groups".into(),
            },
        }
    }
}

/// One resource type as `/ResourceTypes` lists it (only what we use).
#[derive(Debug, Default, Deserialize)]
struct ResourceType {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    schema: String,
}

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Picks the User and Group endpoints from `/ResourceTypes` (by core schema URN,
/// else by name); a type that is missing keeps its default.
fn pick(types: &[ResourceType], default: Endpoints) -> (Endpoints, Vec<&'static str>) {
    let find = |schema: &str, name: &str| {
        types
            .iter()
            .find(|t| t.schema.eq_ignore_ascii_case(schema))
            .or_else(|| {
                types.iter().find(|t| {
                    t.name.eq_ignore_ascii_case(name)
                        || t.id
                            .as_deref()
                            .is_some_and(|i| i.eq_ignore_ascii_case(name))
                })
            })
            .map(|t| normalise(&t.endpoint))
            .filter(|e| e.len() > 1)
    };
    let mut missing = Vec::new();
    let users = find(USER_SCHEMA, "User").unwrap_or_else(|| {
        missing.push("User");
        default.users
    });
    let groups = find(GROUP_SCHEMA, "Group").unwrap_or_else(|| {
        missing.push("Group");
        default.groups
    });
    (Endpoints { users, groups }, missing)
}

/// `Users` or `/Users/` → `/Users`; an absolute URL keeps only its path.
fn normalise(endpoint: &str) -> String {
    let e = endpoint.trim();
    let path = match reqwest::Url::parse(e) {
        Ok(url) => url.path().to_string(),
        Err(_) => e.to_string(),
    };
    format!("/{}", path.trim_matches('/'))
}

impl Api {
    /// For the generic profile, reads `/ResourceTypes` once and uses its User and
    /// Group endpoints from here on. Returns a warning to show when it fell back
    /// to `/Users` and `/Groups`. A no-op for Genesys.
    pub async fn discover_endpoints(&self) -> Result<Option<String>, ApiError> {
        if self.inner.profile != Profile::Generic {
            return Ok(None);
        }
        let default = Endpoints::for_profile(Profile::Generic);
        let req = Request::get("/ResourceTypes", Vec::new());
        let types: Vec<ResourceType> = match self.execute_plain(None, &req).await {
            Ok((resp, _, _)) => {
                match serde_json::from_slice::<ListResponse<ResourceType>>(&resp.body) {
                    Ok(list) => list.resources,
                    Err(e) => {
                        return Ok(Some(format!(
                            "the server's /ResourceTypes could not be read ({e}); using /Users and /Groups"
                        )));
                    }
                }
            }
            Err(e) if is_absent(&e) => {
                return Ok(Some(format!(
                    "the server has no /ResourceTypes ({e}); using /Users and /Groups"
                )));
            }
            Err(e) => return Err(e),
        };
        let (found, missing) = pick(&types, default);
        *self.inner.endpoints.write() = found;
        Ok((!missing.is_empty()).then(|| {
            format!(
                "/ResourceTypes lists no {} resource type; using the RFC 7644 default endpoint",
                missing.join(" or ")
            )
        }))
    }

    /// The users endpoint (e.g. `/users` for Genesys, `/Users` for a generic server).
    pub(crate) fn users_path(&self) -> String {
        self.inner.endpoints.read().users.clone()
    }

    /// The groups endpoint.
    pub(crate) fn groups_path(&self) -> String {
        self.inner.endpoints.read().groups.clone()
    }

    /// The profile of the target.
    pub fn profile(&self) -> Profile {
        self.inner.profile
    }
}

/// A 404/501 (or another client error) means "not offered", not a broken server.
fn is_absent(e: &ApiError) -> bool {
    matches!(e.status(), Some(400 | 403 | 404 | 405 | 501))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(name: &str, endpoint: &str, schema: &str) -> ResourceType {
        ResourceType {
            name: name.into(),
            id: None,
            endpoint: endpoint.into(),
            schema: schema.into(),
        }
    }

    use std::sync::Arc;
    use std::time::Duration;

    use secrecy::SecretString;
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::apply::api::{ApiOptions, NoObserver};
    use crate::apply::limiter::Pace;
    use crate::scim::target::Target;

    /// A generic target at `<server>/scim` with a static bearer token.
    fn generic_api(server: &MockServer) -> Api {
        let mut target = Target::emulator(&format!("{}/scim", server.uri()), "", "");
        target.profile = Profile::Generic;
        target.bearer = Some(SecretString::from("static-token-for-discovery"));
        let opts = ApiOptions {
            pace: Pace::Off,
            max_attempts: 1,
            backoff_base: Duration::from_millis(5),
            backoff_cap: Duration::from_millis(5),
            ..ApiOptions::default()
        };
        Api::new(&target, opts, Arc::new(NoObserver)).expect("api")
    }

    fn list(resources: serde_json::Value) -> ResponseTemplate {
        let n = resources.as_array().map_or(0, Vec::len);
        ResponseTemplate::new(200).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": n, "startIndex": 1, "itemsPerPage": n, "Resources": resources
        }))
    }

    #[tokio::test]
    async fn generic_calls_go_under_the_base_to_the_discovered_endpoint_with_the_static_bearer() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/scim/ResourceTypes"))
            .respond_with(list(json!([
                {"name": "User", "endpoint": "/People", "schema": USER_SCHEMA},
                {"name": "Group", "endpoint": "/Teams", "schema": GROUP_SCHEMA}
            ])))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/scim/People"))
            .and(query_param("filter", "userName eq \"a@b.com\""))
            .and(header("authorization", "Bearer static-token-for-discovery"))
            .respond_with(list(json!([{"id": "u1", "userName": "a@b.com"}])))
            .expect(1)
            .mount(&server)
            .await;
        let api = generic_api(&server);
        assert_eq!(api.discover_endpoints().await.unwrap(), None);
        let users = api
            .find_users(None, "userName eq \"a@b.com\"")
            .await
            .unwrap();
        assert_eq!(users[0].id.as_deref(), Some("u1"));
        assert_eq!(api.groups_path(), "/Teams");
        // No token was ever requested, and nothing under the Genesys prefix.
        for r in server.received_requests().await.unwrap() {
            assert!(!r.url.path().contains("oauth"), "{}", r.url);
            assert!(!r.url.path().contains("/api/v2"), "{}", r.url);
        }
        assert_eq!(api.stats().token, 0);
    }

    #[tokio::test]
    async fn without_resource_types_it_falls_back_with_a_warning() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/scim/ResourceTypes"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let api = generic_api(&server);
        let warning = api.discover_endpoints().await.unwrap().expect("a warning");
        assert!(warning.contains("/Users and /Groups"), "{warning}");
        assert_eq!(api.users_path(), "/Users");
    }

    #[tokio::test]
    async fn genesys_reads_no_resource_types() {
        let server = MockServer::start().await;
        let api = Api::new(
            &Target::emulator(&server.uri(), "id", "discover-tests-secret-9c1"),
            ApiOptions::default(),
            Arc::new(NoObserver),
        )
        .expect("api");
        assert_eq!(api.discover_endpoints().await.unwrap(), None);
        assert_eq!(api.users_path(), "/users");
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[test]
    fn endpoints_come_from_the_resource_types() {
        let types = [
            rt("Person", "people/", USER_SCHEMA),
            rt("Team", "https://x.example/scim/Teams", GROUP_SCHEMA),
        ];
        let (e, missing) = pick(&types, Endpoints::for_profile(Profile::Generic));
        assert_eq!(e.users, "/people");
        assert_eq!(e.groups, "/scim/Teams");
        assert!(missing.is_empty());
    }

    #[test]
    fn a_missing_type_keeps_its_default_and_is_named() {
        let types = [rt("User", "/Accounts", "urn:example:custom")];
        let (e, missing) = pick(&types, Endpoints::for_profile(Profile::Generic));
        assert_eq!(e.users, "/Accounts");
        assert_eq!(e.groups, "/Groups");
        assert_eq!(missing, vec!["Group"]);
    }
}
