//! Serde types for the Genesys SCIM payloads: User (core + enterprise + Genesys
//! extensions), Group, PatchOp, ListResponse, both error bodies, OAuth token and the
//! platform routing-skill listings. Shared by the client, the planner and the emulator.
//!
//! Field names follow ../shared/reference/genesys-scim-api.md; optional fields are
//! omitted when empty so that a serialised desired user carries only what it sets.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::extensions::Extensions;

/// Core User schema URN.
pub const SCHEMA_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Enterprise User extension URN.
pub const SCHEMA_ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Genesys User extension URN.
pub const SCHEMA_GENESYS: &str =
    "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";
/// Core Group schema URN.
pub const SCHEMA_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// ServiceProviderConfig schema URN.
pub const SCHEMA_SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType schema URN.
pub const SCHEMA_RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema schema URN.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// ListResponse message URN.
pub const MSG_LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PatchOp message URN.
pub const MSG_PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Error message URN.
pub const MSG_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Authority of the immutable Genesys externalIds entry that mirrors `externalId`.
pub const AUTHORITY_SCIM: &str = "x-pc:scimv2:v1";

fn is_false(b: &bool) -> bool {
    !*b
}

/// A SCIM user with the three Genesys schemas. Every attribute is optional so the
/// same type serves as a full resource, a desired state and a partial response.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Schema URNs the resource carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Genesys user UUID (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Identifier set by the provisioning client (case-exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The user's primary email address; unique among non-deleted users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Structured name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Full name shown in Genesys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Job title (plain text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `true` active, `false` inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Write-only password; never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Emails by type (`work`, `other`; `other` mirrors userName and is read-only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<MultiValue>,
    /// Phone numbers by type, E.164 or tel-URI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<MultiValue>,
    /// Role names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleRef>,
    /// Group memberships (read-only on the user).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRef>,
    /// Enterprise extension.
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<EnterpriseUser>,
    /// Genesys extension.
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub genesys: Option<GenesysUser>,
    /// Resource metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Values of custom extension schemas (`scimport schema extend`), by URN.
    /// Empty for most users, and then not serialised at all.
    #[serde(flatten, default)]
    pub extensions: Extensions,
}

/// RFC 7643 name sub-attributes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// Formatted full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Given (first) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family (last) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// A typed multi-valued entry (`emails`, `phoneNumbers`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct MultiValue {
    /// The value (email address, phone number); empty for an entry without one
    /// (then not serialised: RFC 7644 §3.5.2.2 leaves such entries behind).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// The type (`work`, `mobile`, ...).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is the primary entry.
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary: bool,
}

/// A role, by name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleRef {
    /// Genesys role name.
    pub value: String,
}

/// A group membership as shown on the user.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct GroupRef {
    /// Group id.
    pub value: String,
    /// Group URI.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Group display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// Member type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Enterprise extension fields Genesys maps.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// Employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Department name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Division name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// Manager reference (`value` is the manager's user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<ManagerRef>,
    /// Hire date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_hire: Option<String>,
}

/// A manager reference.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ManagerRef {
    /// The manager's user id.
    #[serde(default)]
    pub value: String,
    /// The manager's URI.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The manager's display name.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
}

/// Genesys extension fields.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenesysUser {
    /// Routing skills (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_skills: Vec<Proficiency>,
    /// Routing languages (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_languages: Vec<Proficiency>,
    /// External ids by authority.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<ExternalIdEntry>,
}

/// A named skill or language with a proficiency 0.0 to 5.0.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Proficiency {
    /// Skill or language name (case-sensitive, must exist).
    pub name: String,
    /// 0.0 to 5.0.
    pub proficiency: f64,
}

/// An external id under an authority.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExternalIdEntry {
    /// Authority (`microsoftteams`, `x-pc:scimv2:v1`, ...).
    pub authority: String,
    /// Value, unique per authority.
    pub value: String,
}

/// Resource metadata.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User`, `Group`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// ISO-8601 with milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Resource URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Version, equal to the ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A SCIM group.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Schema URNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Group name (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// External id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Members by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// A group member.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Member {
    /// Member id (a user UUID).
    pub value: String,
    /// Member URI.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `User` or `Group`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// One PATCH operation (RFC 7644 §3.5.2).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PatchOperation {
    /// `add`, `replace` or `remove` (matched case-insensitively by servers).
    pub op: String,
    /// Attribute path; required for `remove`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// New value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl PatchOperation {
    /// `replace` at `path` with `value`.
    pub fn replace(path: impl Into<String>, value: Value) -> Self {
        Self {
            op: "replace".into(),
            path: Some(path.into()),
            value: Some(value),
        }
    }
    /// `add` at `path` with `value`.
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        Self {
            op: "add".into(),
            path: Some(path.into()),
            value: Some(value),
        }
    }
    /// `remove` at `path`.
    pub fn remove(path: impl Into<String>) -> Self {
        Self {
            op: "remove".into(),
            path: Some(path.into()),
            value: None,
        }
    }
}

/// A PATCH request body.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PatchRequest {
    /// Always `[MSG_PATCH]`.
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    #[serde(rename = "Operations")]
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// A PatchOp message with these operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        Self {
            schemas: vec![MSG_PATCH.to_string()],
            operations,
        }
    }
}

/// A SCIM ListResponse.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// Always `[MSG_LIST]`.
    pub schemas: Vec<String>,
    /// Total matches.
    pub total_results: u64,
    /// 1-based index of the first item.
    #[serde(default)]
    pub start_index: u64,
    /// Items in this page.
    #[serde(default)]
    pub items_per_page: u64,
    /// The items.
    #[serde(rename = "Resources", default = "Vec::new")]
    pub resources: Vec<T>,
}

/// SCIM error body: `status` is a string.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScimError {
    /// Always `[MSG_ERROR]`.
    pub schemas: Vec<String>,
    /// HTTP status as a string.
    pub status: String,
    /// RFC 7644 Table 9 value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Genesys platform ErrorBody: `status` is an integer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PlatformError {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Code such as `not.found`, `too.many.requests`.
    #[serde(default)]
    pub code: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Message template.
    #[serde(default)]
    pub message_with_params: String,
    /// Template parameters.
    #[serde(default)]
    pub message_params: serde_json::Map<String, Value>,
    /// Correlation id.
    #[serde(default)]
    pub context_id: String,
    /// Details.
    #[serde(default)]
    pub details: Vec<Value>,
    /// Nested errors.
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// OAuth token response.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TokenResponse {
    /// Bearer token.
    pub access_token: String,
    /// `bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

/// OAuth-style error from the token endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OAuthError {
    /// Error code (`invalid_client`, ...).
    pub error: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// A routing skill from `GET /api/v2/routing/skills`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoutingSkill {
    /// Skill id.
    pub id: String,
    /// Skill name.
    pub name: String,
    /// `active`.
    #[serde(default)]
    pub state: String,
    /// Self URI.
    #[serde(default)]
    pub self_uri: String,
}

/// A skill on a user from `GET /api/v2/users/{id}/routingskills`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserRoutingSkill {
    /// Skill id.
    pub id: String,
    /// Skill name.
    pub name: String,
    /// 0.0 to 5.0.
    pub proficiency: f64,
    /// `active`.
    #[serde(default)]
    pub state: String,
    /// Skill URI.
    #[serde(default)]
    pub skill_uri: String,
    /// Self URI.
    #[serde(default)]
    pub self_uri: String,
}

/// A paged platform listing (`entities`, `pageSize`, `pageNumber`, `total`, `pageCount`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EntityListing<T> {
    /// The page's items.
    pub entities: Vec<T>,
    /// Page size.
    pub page_size: u64,
    /// 1-based page number.
    pub page_number: u64,
    /// Total items.
    pub total: u64,
    /// Number of pages.
    pub page_count: u64,
    /// Self URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// Next page URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
}
