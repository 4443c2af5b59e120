//! The target's discovery documents (RFC 7643 §6–7: `/Schemas`, `/ResourceTypes`,
//! `/ServiceProviderConfig`) read into typed values: which schemas a resource type
//! offers, and each attribute's name, type, plurality, mutability and
//! sub-attributes.
//!
//! Owns parsing and lookup only: reading them over HTTP is `engine::preflight`'s,
//! and judging a mapping against them is `mapping::preflight`'s. A document that is
//! not what RFC 7643 describes is a [`SchemaError`], never a panic.

pub mod baseline;
pub mod drift;
pub mod extend;
#[cfg(test)]
mod tests;

use serde_json::Value;

/// Why a discovery document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the target's {document} is malformed: {detail}")]
pub struct SchemaError {
    /// `/Schemas`, `/ResourceTypes` or `/ServiceProviderConfig`.
    pub document: &'static str,
    /// What is wrong, and where.
    pub detail: String,
}

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `decimal`.
    Decimal,
    /// `integer`.
    Integer,
    /// `dateTime`.
    DateTime,
    /// `binary`.
    Binary,
    /// `reference`.
    Reference,
    /// `complex`.
    Complex,
}

impl AttrType {
    fn parse(s: &str) -> Option<AttrType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => AttrType::String,
            "boolean" => AttrType::Boolean,
            "decimal" => AttrType::Decimal,
            "integer" => AttrType::Integer,
            "datetime" => AttrType::DateTime,
            "binary" => AttrType::Binary,
            "reference" => AttrType::Reference,
            "complex" => AttrType::Complex,
            _ => return None,
        })
    }

    /// The RFC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// When an attribute may be written (RFC 7643 §2.2; `readWrite` when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Never written by a client.
    ReadOnly,
    /// Written freely.
    ReadWrite,
    /// Written once, when the resource is created.
    Immutable,
    /// Written, never returned.
    WriteOnly,
}

impl Mutability {
    /// The RFC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }

    fn parse(s: &str) -> Option<Mutability> {
        Some(match s.to_ascii_lowercase().as_str() {
            "readonly" => Mutability::ReadOnly,
            "readwrite" => Mutability::ReadWrite,
            "immutable" => Mutability::Immutable,
            "writeonly" => Mutability::WriteOnly,
            _ => return None,
        })
    }
}

/// One attribute definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Its name as the server spells it.
    pub name: String,
    /// Its type.
    pub kind: AttrType,
    /// Whether it holds a list.
    pub multi_valued: bool,
    /// Whether a resource must carry it (`false` when absent).
    pub required: bool,
    /// When it may be written.
    pub mutability: Mutability,
    /// Suggested values (e.g. the `type` of an email), possibly empty.
    pub canonical_values: Vec<String>,
    /// Its sub-attributes (complex attributes only).
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// The sub-attribute named `name` (case-insensitive, as SCIM names are).
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// One schema definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Its URN.
    pub id: String,
    /// Its top-level attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// The attribute named `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// One resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// Its name (`User`, `Group`).
    pub name: String,
    /// Its endpoint (`/Users`).
    pub endpoint: String,
    /// Its core schema URN.
    pub schema: String,
    /// The extension URNs it offers.
    pub extensions: Vec<String>,
}

/// What the target says about itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discovery {
    /// Every schema `/Schemas` lists.
    pub schemas: Vec<Schema>,
    /// `/ResourceTypes`, when the target serves it.
    pub resource_types: Option<Vec<ResourceType>>,
    /// `patch.supported` of `/ServiceProviderConfig`, when served and stated.
    pub patch_supported: Option<bool>,
}

impl Discovery {
    /// The schema with this URN (case-insensitive, as URNs compare).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The resource type named `name` (case-insensitive), when `/ResourceTypes` was read.
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types
            .as_ref()?
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// Whether resource type `name` offers schema `urn` (its core schema or an
    /// extension). Without `/ResourceTypes`, a schema `/Schemas` lists counts as
    /// offered.
    pub fn offers(&self, name: &str, urn: &str) -> bool {
        match &self.resource_types {
            Some(_) => self.resource_type(name).is_some_and(|r| {
                r.schema.eq_ignore_ascii_case(urn)
                    || r.extensions.iter().any(|e| e.eq_ignore_ascii_case(urn))
            }),
            None => self.schema(urn).is_some(),
        }
    }
}

/// The resources of a list answer: a ListResponse's `Resources`, or a bare array
/// (some servers answer discovery so).
fn resources<'a>(doc: &'a Value, document: &'static str) -> Result<&'a [Value], SchemaError> {
    let list = match doc {
        Value::Array(a) => Some(a),
        Value::Object(o) => o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Resources"))
            .and_then(|(_, v)| v.as_array()),
        _ => None,
    };
    list.map(Vec::as_slice).ok_or_else(|| SchemaError {
        document,
        detail: "expected a ListResponse with `Resources` (or an array)".into(),
    })
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Parses a `/Schemas` answer.
pub fn parse_schemas(doc: &Value) -> Result<Vec<Schema>, SchemaError> {
    const DOC: &str = "/Schemas";
    let err = |detail: String| SchemaError {
        document: DOC,
        detail,
    };
    resources(doc, DOC)?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = text(s, "id").ok_or_else(|| err(format!("schema #{} has no `id`", i + 1)))?;
            let attrs = match s.get("attributes") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|a| parse_attribute(a, id, 0))
                    .collect::<Result<_, _>>()
                    .map_err(err)?,
                Some(_) => return Err(err(format!("{id}: `attributes` is not a list"))),
            };
            Ok(Schema {
                id: id.to_string(),
                attributes: attrs,
            })
        })
        .collect()
}

fn parse_attribute(v: &Value, schema: &str, depth: u8) -> Result<Attribute, String> {
    let name = text(v, "name").ok_or_else(|| format!("{schema}: an attribute has no `name`"))?;
    let at = |what: &str| format!("{schema}: attribute `{name}`: {what}");
    if depth > 1 {
        return Err(at("sub-attributes nest deeper than RFC 7643 allows"));
    }
    let kind = text(v, "type")
        .and_then(AttrType::parse)
        .ok_or_else(|| at("`type` is missing or not an RFC 7643 type"))?;
    let multi_valued = match v.get("multiValued") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(at("`multiValued` is not a boolean")),
    };
    let required = match v.get("required") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(at("`required` is not a boolean")),
    };
    let mutability = match text(v, "mutability") {
        None => Mutability::ReadWrite,
        Some(m) => {
            Mutability::parse(m).ok_or_else(|| at("`mutability` is not an RFC 7643 value"))?
        }
    };
    let canonical_values = v
        .get("canonicalValues")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let sub_attributes = match v.get("subAttributes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| parse_attribute(s, schema, depth + 1))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(at("`subAttributes` is not a list")),
    };
    Ok(Attribute {
        name: name.to_string(),
        kind,
        multi_valued,
        required,
        mutability,
        canonical_values,
        sub_attributes,
    })
}

/// Parses a `/ResourceTypes` answer.
pub fn parse_resource_types(doc: &Value) -> Result<Vec<ResourceType>, SchemaError> {
    const DOC: &str = "/ResourceTypes";
    let err = |detail: String| SchemaError {
        document: DOC,
        detail,
    };
    resources(doc, DOC)?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = text(r, "name")
                .or_else(|| text(r, "id"))
                .ok_or_else(|| err(format!("resource type #{} has no `name`", i + 1)))?;
            let schema = text(r, "schema").ok_or_else(|| err(format!("{name}: no `schema`")))?;
            let extensions = match r.get("schemaExtensions") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|e| {
                        text(e, "schema").map(str::to_string).ok_or_else(|| {
                            err(format!("{name}: a schemaExtension has no `schema`"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(err(format!("{name}: `schemaExtensions` is not a list"))),
            };
            Ok(ResourceType {
                name: name.to_string(),
                endpoint: text(r, "endpoint").unwrap_or_default().to_string(),
                schema: schema.to_string(),
                extensions,
            })
        })
        .collect()
}

/// Reads `patch.supported` from a `/ServiceProviderConfig` answer (`None` when
/// not stated).
pub fn parse_patch_supported(doc: &Value) -> Result<Option<bool>, SchemaError> {
    if !doc.is_object() {
        return Err(SchemaError {
            document: "/ServiceProviderConfig",
            detail: "expected a JSON object".into(),
        });
    }
    Ok(doc
        .get("patch")
        .and_then(|p| p.get("supported"))
        .and_then(Value::as_bool))
}
