//! The URNs of the SCIM schemas and messages scimport speaks (RFC 7643/7644 and
//! Genesys's extension), and the authority of the externalIds entry Genesys
//! mirrors `externalId` into. Constants only; `model` re-exports them.

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
