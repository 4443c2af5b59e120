//! The fixed discovery documents: the seven Schema definitions (with RFC 7643 §7
//! attribute definitions), the five ResourceTypes and the ServiceProviderConfig.
//!
//! Owns their content only; `routes::meta` serves them.

use serde_json::{Value, json};

use crate::scim::model::{
    SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_GROUP, SCHEMA_RESOURCE_TYPE, SCHEMA_SCHEMA,
    SCHEMA_SPC, SCHEMA_USER,
};

/// Reads a `--schemas` file: a ListResponse or a JSON array of Schema resources,
/// each of which must parse as RFC 7643 describes (so a typo is caught at start,
/// not by the client that reads it).
pub fn load(path: &std::path::Path) -> Result<Vec<Value>, super::errors::EmulatorError> {
    let err = |detail: String| super::errors::EmulatorError::Load {
        what: "schemas",
        path: path.to_path_buf(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    crate::scim::schema::parse_schemas(&doc).map_err(|e| err(e.to_string()))?;
    let list = match doc {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("Resources") {
            Some(Value::Array(a)) => a,
            _ => return Err(err("expected `Resources` to be a list".into())),
        },
        _ => return Err(err("expected a ListResponse or an array".into())),
    };
    Ok(list)
}

/// One attribute definition. `m` = mutability, `r` = returned.
fn a(name: &str, ty: &str, multi: bool, required: bool, m: &str, r: &str) -> Value {
    json!({
        "name": name, "type": ty, "multiValued": multi, "description": name,
        "required": required, "caseExact": false, "mutability": m, "returned": r,
        "uniqueness": "none",
    })
}

fn with(mut v: Value, key: &str, val: Value) -> Value {
    v[key] = val;
    v
}

fn sub(v: Value, subs: Vec<Value>) -> Value {
    with(v, "subAttributes", Value::Array(subs))
}

fn multi(name: &str, m: &str, types: &[&str]) -> Value {
    sub(
        a(name, "complex", true, false, m, "default"),
        vec![
            a("value", "string", false, false, m, "default"),
            with(
                a("type", "string", false, false, m, "default"),
                "canonicalValues",
                json!(types),
            ),
            a("primary", "boolean", false, false, m, "default"),
        ],
    )
}

fn reference(name: &str, multi_valued: bool, m: &str, targets: &[&str]) -> Value {
    sub(
        a(name, "complex", multi_valued, false, m, "default"),
        vec![
            a("value", "string", false, false, m, "default"),
            with(
                a("$ref", "reference", false, false, m, "default"),
                "referenceTypes",
                json!(targets),
            ),
            a("type", "string", false, false, m, "default"),
        ],
    )
}

fn meta_attr() -> Value {
    sub(
        a("meta", "complex", false, false, "readOnly", "default"),
        vec![
            a(
                "resourceType",
                "string",
                false,
                false,
                "readOnly",
                "default",
            ),
            a(
                "lastModified",
                "dateTime",
                false,
                false,
                "readOnly",
                "default",
            ),
            a("location", "reference", false, false, "readOnly", "default"),
            a("version", "string", false, false, "readOnly", "default"),
        ],
    )
}

fn id_attr() -> Value {
    with(
        with(
            a("id", "string", false, false, "readOnly", "always"),
            "caseExact",
            json!(true),
        ),
        "uniqueness",
        json!("server"),
    )
}

fn proficiency_list(name: &str) -> Value {
    sub(
        a(name, "complex", true, false, "readWrite", "default"),
        vec![
            with(
                a("name", "string", false, true, "readWrite", "default"),
                "caseExact",
                json!(true),
            ),
            a(
                "proficiency",
                "decimal",
                false,
                false,
                "readWrite",
                "default",
            ),
        ],
    )
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id, "name": name, "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/schemas/{id}")},
    })
}

/// The seven schema definitions.
pub fn all_schemas(base: &str) -> Vec<Value> {
    let phone_types = [
        "work",
        "work2",
        "work3",
        "work4",
        "home",
        "mobile",
        "other",
        "microsoftteams",
        "zoomphone",
        "eightbyeight",
        "ringcentral",
    ];
    let user = vec![
        id_attr(),
        with(
            a("externalId", "string", false, false, "readWrite", "default"),
            "caseExact",
            json!(true),
        ),
        with(
            a("userName", "string", false, true, "readWrite", "always"),
            "uniqueness",
            json!("server"),
        ),
        a("displayName", "string", false, true, "readWrite", "default"),
        a("title", "string", false, false, "readWrite", "default"),
        a("active", "boolean", false, false, "readWrite", "always"),
        a("password", "string", false, false, "writeOnly", "never"),
        multi("emails", "readWrite", &["work", "other"]),
        multi("phoneNumbers", "readWrite", &phone_types),
        sub(
            a("roles", "complex", true, false, "readWrite", "default"),
            vec![a("value", "string", false, false, "readWrite", "default")],
        ),
        reference("groups", true, "readOnly", &["Group"]),
        meta_attr(),
    ];
    let enterprise = vec![
        a(
            "employeeNumber",
            "string",
            false,
            false,
            "readWrite",
            "default",
        ),
        a("department", "string", false, false, "readWrite", "default"),
        a("division", "string", false, false, "readWrite", "default"),
        a("dateHire", "dateTime", false, false, "readWrite", "default"),
        sub(
            a("manager", "complex", false, false, "readWrite", "default"),
            vec![
                a("value", "string", false, false, "readWrite", "default"),
                with(
                    a("$ref", "reference", false, false, "readOnly", "default"),
                    "referenceTypes",
                    json!(["User"]),
                ),
                a("displayName", "string", false, false, "readOnly", "default"),
            ],
        ),
    ];
    let genesys = vec![
        proficiency_list("routingSkills"),
        proficiency_list("routingLanguages"),
        sub(
            a(
                "externalIds",
                "complex",
                true,
                false,
                "readWrite",
                "default",
            ),
            vec![
                a("authority", "string", false, true, "readWrite", "default"),
                with(
                    a("value", "string", false, true, "readWrite", "default"),
                    "caseExact",
                    json!(true),
                ),
            ],
        ),
    ];
    let group = vec![
        id_attr(),
        a("displayName", "string", false, true, "readWrite", "default"),
        a("externalId", "string", false, false, "readWrite", "default"),
        reference("members", true, "readWrite", &["User", "Group"]),
        meta_attr(),
    ];
    let spc = vec![
        a(
            "documentationUri",
            "reference",
            false,
            false,
            "readOnly",
            "default",
        ),
        sub(
            a("patch", "complex", false, true, "readOnly", "default"),
            vec![a(
                "supported",
                "boolean",
                false,
                true,
                "readOnly",
                "default",
            )],
        ),
        sub(
            a("bulk", "complex", false, true, "readOnly", "default"),
            vec![
                a("supported", "boolean", false, true, "readOnly", "default"),
                a(
                    "maxOperations",
                    "integer",
                    false,
                    true,
                    "readOnly",
                    "default",
                ),
                a(
                    "maxPayloadSize",
                    "integer",
                    false,
                    true,
                    "readOnly",
                    "default",
                ),
            ],
        ),
        sub(
            a("filter", "complex", false, true, "readOnly", "default"),
            vec![
                a("supported", "boolean", false, true, "readOnly", "default"),
                a("maxResults", "integer", false, true, "readOnly", "default"),
            ],
        ),
        sub(
            a(
                "changePassword",
                "complex",
                false,
                true,
                "readOnly",
                "default",
            ),
            vec![a(
                "supported",
                "boolean",
                false,
                true,
                "readOnly",
                "default",
            )],
        ),
        sub(
            a("sort", "complex", false, true, "readOnly", "default"),
            vec![a(
                "supported",
                "boolean",
                false,
                true,
                "readOnly",
                "default",
            )],
        ),
        sub(
            a("etag", "complex", false, true, "readOnly", "default"),
            vec![a(
                "supported",
                "boolean",
                false,
                true,
                "readOnly",
                "default",
            )],
        ),
        sub(
            a(
                "authenticationSchemes",
                "complex",
                true,
                true,
                "readOnly",
                "default",
            ),
            vec![
                a("type", "string", false, true, "readOnly", "default"),
                a("name", "string", false, true, "readOnly", "default"),
                a("description", "string", false, true, "readOnly", "default"),
            ],
        ),
    ];
    let resource_type = vec![
        a("id", "string", false, false, "readOnly", "default"),
        a("name", "string", false, true, "readOnly", "default"),
        a("description", "string", false, false, "readOnly", "default"),
        a("endpoint", "reference", false, true, "readOnly", "default"),
        a("schema", "reference", false, true, "readOnly", "default"),
        sub(
            a(
                "schemaExtensions",
                "complex",
                true,
                false,
                "readOnly",
                "default",
            ),
            vec![
                a("schema", "reference", false, true, "readOnly", "default"),
                a("required", "boolean", false, true, "readOnly", "default"),
            ],
        ),
    ];
    let schema_attrs = vec![
        a("id", "reference", false, true, "readOnly", "default"),
        a("name", "string", false, false, "readOnly", "default"),
        a("description", "string", false, false, "readOnly", "default"),
        sub(
            a("attributes", "complex", true, true, "readOnly", "default"),
            vec![
                a("name", "string", false, true, "readOnly", "default"),
                a("type", "string", false, true, "readOnly", "default"),
                a("multiValued", "boolean", false, true, "readOnly", "default"),
                a("required", "boolean", false, false, "readOnly", "default"),
                a("mutability", "string", false, false, "readOnly", "default"),
                a("returned", "string", false, false, "readOnly", "default"),
                a("uniqueness", "string", false, false, "readOnly", "default"),
                a(
                    "subAttributes",
                    "complex",
                    true,
                    false,
                    "readOnly",
                    "default",
                ),
            ],
        ),
    ];
    vec![
        schema(SCHEMA_USER, "User", "User Account", user, base),
        schema(
            SCHEMA_ENTERPRISE,
            "EnterpriseUser",
            "Enterprise User",
            enterprise,
            base,
        ),
        schema(
            SCHEMA_GENESYS,
            "GenesysUser",
            "Genesys Cloud User",
            genesys,
            base,
        ),
        schema(SCHEMA_GROUP, "Group", "Group", group, base),
        schema(
            SCHEMA_SPC,
            "Service Provider Configuration",
            "Service Provider Configuration",
            spc,
            base,
        ),
        schema(
            SCHEMA_RESOURCE_TYPE,
            "ResourceType",
            "Resource Type",
            resource_type,
            base,
        ),
        schema(SCHEMA_SCHEMA, "Schema", "Schema", schema_attrs, base),
    ]
}

/// The five resource types.
pub fn resource_types(base: &str) -> Vec<Value> {
    let rt = |id: &str, endpoint: &str, schema: &str, ext: Vec<Value>| {
        json!({
            "schemas": [SCHEMA_RESOURCE_TYPE],
            "id": id, "name": id, "description": id,
            "endpoint": endpoint, "schema": schema, "schemaExtensions": ext,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/resourcetypes/{id}")},
        })
    };
    vec![
        rt(
            "User",
            "/users",
            SCHEMA_USER,
            vec![
                json!({"schema": SCHEMA_ENTERPRISE, "required": false}),
                json!({"schema": SCHEMA_GENESYS, "required": false}),
            ],
        ),
        rt("Group", "/groups", SCHEMA_GROUP, vec![]),
        rt(
            "ServiceProviderConfig",
            "/serviceproviderconfig",
            SCHEMA_SPC,
            vec![],
        ),
        rt(
            "ResourceType",
            "/resourcetypes",
            SCHEMA_RESOURCE_TYPE,
            vec![],
        ),
        rt("Schema", "/schemas", SCHEMA_SCHEMA, vec![]),
    ]
}

/// The ServiceProviderConfig.
pub fn service_provider_config(base: &str, max_body: usize) -> Value {
    json!({
        "schemas": [SCHEMA_SPC],
        "documentationUri": "https://developer.genesys.cloud/",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": max_body},
        "filter": {"supported": true, "maxResults": super::routes::paging::MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard", "primary": true}],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/serviceproviderconfig"), "version": "1"},
    })
}
