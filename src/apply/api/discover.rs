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
