//! `--schema-extensions`: the custom extension schemas clients deploy with
//! `POST /schemas` (off by default, as on Genesys, whose schemas are read-only),
//! and what a user body holding their values gets.
//!
//! Owns the tenant's deployed extensions (at most [`EXTENSION_CAP`]), checking a
//! posted Schema (RFC 7643 §7 via `scim::schema::extend`, 409 for a URN already
//! published, 403 past the cap, 400 `invalidValue` listing every other problem),
//! and checking and applying user values: type, `readOnly` (400 `mutability`) and
//! `canonicalValues`. `required` is not enforced. Serving the documents is
//! `routes::meta`'s; `--state` saves and restores them (`tenant`).

use parking_lot::RwLock;
use serde_json::{Map, Value, json};

use super::errors::ApiError;
use crate::scim::model::PatchOperation;
use crate::scim::schema::extend::{
    AttributeDef, EXTENSION_CAP, ExtensionFile, check_against, custom_extension_count,
};
use crate::scim::schema::{AttrType, Discovery};

/// Extension objects taken out of a user document: (URN, attributes).
pub(crate) type Taken = Vec<(String, Map<String, Value>)>;

/// The deployed extensions of one tenant, in deployment order.
#[derive(Debug, Default)]
pub(crate) struct Extensions {
    list: RwLock<Vec<(ExtensionFile, Value)>>,
}

fn joined(problems: &[crate::scim::schema::extend::Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Extensions {
    /// The Schema resources of the deployed extensions.
    pub fn schemas(&self) -> Vec<Value> {
        self.list.read().iter().map(|(_, v)| v.clone()).collect()
    }

    /// Restores the Schema resources a `--state` file saved.
    pub fn restore(&self, saved: Vec<Value>) -> Result<(), String> {
        let mut list = self.list.write();
        for v in saved {
            let ext = ExtensionFile::from_json(&v).map_err(|e| format!("an extension: {e}"))?;
            list.push((ext, v));
        }
        Ok(())
    }

    /// The deployed URNs.
    pub fn urns(&self) -> Vec<String> {
        self.list.read().iter().map(|(e, _)| e.id.clone()).collect()
    }

    /// Deploys the Schema `doc` on a tenant that publishes `published`; returns
    /// the Schema resource as served.
    pub fn deploy(
        &self,
        doc: &Value,
        published: &Discovery,
        base: &str,
    ) -> Result<Value, ApiError> {
        let ext =
            ExtensionFile::from_json(doc).map_err(|e| ApiError::invalid_value(e.to_string()))?;
        let mut list = self.list.write();
        if published.schema(&ext.id).is_some()
            || list.iter().any(|(e, _)| e.id.eq_ignore_ascii_case(&ext.id))
        {
            return Err(ApiError::uniqueness(format!(
                "the schema {} already exists",
                ext.id
            )));
        }
        if custom_extension_count(published) >= EXTENSION_CAP || list.len() >= EXTENSION_CAP {
            return Err(ApiError::platform(
                403,
                "limit.exceeded",
                format!("a tenant holds at most {EXTENSION_CAP} extension schemas"),
            ));
        }
        let mut problems = ext.validate();
        problems.extend(
            check_against(&ext, published)
                .into_iter()
                .filter(|p| p.at != "id"),
        );
        if !problems.is_empty() {
            return Err(ApiError::invalid_value(format!(
                "the extension schema is not valid: {}",
                joined(&problems)
            )));
        }
        let mut served = ext.to_json();
        served["meta"] = json!({
            "resourceType": "Schema",
            "location": format!("{base}/schemas/{}", ext.id),
        });
        list.push((ext, served.clone()));
        Ok(served)
    }

    /// The deployed extension whose URN is `key` (case-insensitive).
    fn find<'a>(list: &'a [(ExtensionFile, Value)], key: &str) -> Option<&'a ExtensionFile> {
        list.iter()
            .map(|(e, _)| e)
            .find(|e| e.id.eq_ignore_ascii_case(key))
    }

    /// Takes the deployed extensions' objects (and their URNs in `schemas`) out of
    /// a user document, checked, so the built-in checks see only built-in
    /// attributes; [`Extensions::put_back`] returns them afterwards.
    pub fn take(&self, doc: &mut Value) -> Result<Taken, ApiError> {
        let list = self.list.read();
        if list.is_empty() {
            return Ok(Vec::new());
        }
        let Value::Object(root) = doc else {
            return Ok(Vec::new());
        };
        if let Some(Value::Array(schemas)) = root.get_mut("schemas") {
            schemas.retain(|s| s.as_str().is_none_or(|s| Self::find(&list, s).is_none()));
        }
        let keys: Vec<String> = root
            .keys()
            .filter(|k| Self::find(&list, k).is_some())
            .cloned()
            .collect();
        let mut out = Vec::new();
        for key in keys {
            let Some(ext) = Self::find(&list, &key) else {
                continue;
            };
            let value = root.remove(&key).unwrap_or(Value::Null);
            let Value::Object(mut attrs) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ApiError::invalid_value(format!("{key} must be an object")));
            };
            attrs.retain(|_, v| !v.is_null());
            for (name, v) in &attrs {
                let def = ext.attribute(name).ok_or_else(|| {
                    ApiError::scim400(
                        "invalidSyntax",
                        format!("unknown attribute \"{key}:{name}\" (see /Schemas)"),
                    )
                })?;
                check_value(def, v, &format!("{}:{name}", ext.id))?;
            }
            if !attrs.is_empty() {
                out.push((ext.id.clone(), attrs));
            }
        }
        Ok(out)
    }

    /// Puts what [`Extensions::take`] took back into the document.
    pub fn put_back(doc: &mut Value, taken: Taken) {
        if let Value::Object(root) = doc {
            for (urn, attrs) in taken {
                root.insert(urn, Value::Object(attrs));
            }
        }
    }

    /// Applies the PATCH operations that address deployed extensions to `doc`
    /// and returns the others (for `patch::apply`). Simple attribute paths
    /// (`urn:...:attr`), a bare extension URN with an object value, and path-less
    /// object values naming the URN are handled.
    pub fn apply_patch(
        &self,
        doc: &mut Value,
        ops: &[PatchOperation],
    ) -> Result<Vec<PatchOperation>, ApiError> {
        let list = self.list.read();
        if list.is_empty() {
            return Ok(ops.to_vec());
        }
        let mut rest = Vec::new();
        for o in ops {
            let remove = o.op.eq_ignore_ascii_case("remove");
            match &o.path {
                None => {
                    // `remove` needs a path: `patch::apply` says so.
                    let Some(Value::Object(map)) = o.value.as_ref().filter(|_| !remove) else {
                        rest.push(o.clone());
                        continue;
                    };
                    let (mine, others): (Map<String, Value>, Map<String, Value>) = map
                        .clone()
                        .into_iter()
                        .partition(|(k, _)| Self::find(&list, k).is_some());
                    for (urn, v) in mine {
                        set_all(doc, &urn, &v)?;
                    }
                    if !others.is_empty() {
                        rest.push(PatchOperation {
                            value: Some(Value::Object(others)),
                            ..o.clone()
                        });
                    }
                }
                Some(path) => {
                    if let Some(ext) = Self::find(&list, path.trim()) {
                        match (&o.value, remove) {
                            (_, true) => {
                                if let Some(root) = doc.as_object_mut() {
                                    root.retain(|k, _| !k.eq_ignore_ascii_case(&ext.id));
                                }
                            }
                            (Some(v), false) => set_all(doc, &ext.id, v)?,
                            (None, false) => {
                                return Err(ApiError::invalid_value(format!(
                                    "{path} needs a value"
                                )));
                            }
                        }
                        continue;
                    }
                    let Some((urn, attr)) = path.trim().rsplit_once(':') else {
                        rest.push(o.clone());
                        continue;
                    };
                    let Some(ext) = Self::find(&list, urn) else {
                        rest.push(o.clone());
                        continue;
                    };
                    if ext.attribute(attr).is_none() {
                        return Err(ApiError::invalid_path(format!(
                            "unknown attribute {path:?} (sub-attribute and filter paths of \
                             extensions are not supported)"
                        )));
                    }
                    let obj = ext_object(doc, &ext.id)?;
                    obj.retain(|k, _| !k.eq_ignore_ascii_case(attr));
                    match (&o.value, remove) {
                        (_, true) => {}
                        (Some(v), false) => {
                            obj.insert(attr.to_string(), v.clone());
                        }
                        (None, false) => {
                            return Err(ApiError::invalid_value(format!("{path} needs a value")));
                        }
                    }
                }
            }
        }
        Ok(rest)
    }
}

/// The object of extension `urn` in `doc`, created when missing.
fn ext_object<'d>(doc: &'d mut Value, urn: &str) -> Result<&'d mut Map<String, Value>, ApiError> {
    let root = doc
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid_value("the user is not an object"))?;
    let key = root
        .keys()
        .find(|k| k.eq_ignore_ascii_case(urn))
        .cloned()
        .unwrap_or_else(|| urn.to_string());
    let slot = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .ok_or_else(|| ApiError::invalid_value("extension is not an object"))
}

fn set_all(doc: &mut Value, urn: &str, v: &Value) -> Result<(), ApiError> {
    let Value::Object(attrs) = v else {
        return Err(ApiError::invalid_value(format!(
            "{urn} needs an object value"
        )));
    };
    let obj = ext_object(doc, urn)?;
    for (k, v) in attrs {
        obj.retain(|x, _| !x.eq_ignore_ascii_case(k));
        obj.insert(k.clone(), v.clone());
    }
    Ok(())
}

/// Checks one attribute's value: read-only, plurality, type, canonical values.
fn check_value(def: &AttributeDef, v: &Value, path: &str) -> Result<(), ApiError> {
    if def.is_read_only() {
        return Err(ApiError::mutability(format!("{path} is read-only")));
    }
    match (def.multi_valued, v) {
        (true, Value::Array(items)) => items.iter().try_for_each(|i| check_single(def, i, path)),
        (true, _) => Err(ApiError::invalid_value(format!(
            "{path} is multi-valued: send a list"
        ))),
        (false, _) => check_single(def, v, path),
    }
}

fn check_single(def: &AttributeDef, v: &Value, path: &str) -> Result<(), ApiError> {
    let kind = def.attr_type().unwrap_or(AttrType::String);
    let fits = match kind {
        AttrType::String | AttrType::Reference | AttrType::Binary => v.is_string(),
        AttrType::Boolean => v.is_boolean(),
        AttrType::Integer => v.is_i64() || v.is_u64(),
        AttrType::Decimal => v.is_number(),
        AttrType::DateTime => v
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        AttrType::Complex => v.is_object(),
    };
    if !fits {
        return Err(ApiError::invalid_value(format!(
            "{path} must be {} {}, not {v}",
            if kind == AttrType::Integer { "an" } else { "a" },
            kind.as_str()
        )));
    }
    if let (Some(s), false) = (v.as_str(), def.canonical_values.is_empty())
        && !def.canonical_values.iter().any(|c| c == s)
    {
        return Err(ApiError::invalid_value(format!(
            "{path} must be one of {}, not {s:?}",
            def.canonical_values.join(", ")
        )));
    }
    if let Value::Object(subs) = v {
        for (name, sv) in subs {
            let sub = def
                .sub_attributes
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    ApiError::scim400(
                        "invalidSyntax",
                        format!("unknown attribute \"{path}.{name}\""),
                    )
                })?;
            check_value(sub, sv, &format!("{path}.{name}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
