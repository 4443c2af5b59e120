//! A user's values of custom extension schemas (`scimport schema extend`), as
//! [`Extensions`]: flattened into the User's JSON under their URNs, so a user
//! without any serialises exactly as before.
//!
//! Owns which keys count (`urn:` keys holding an object, other than the core,
//! enterprise and Genesys schemas) and case-insensitive lookup. Does not judge
//! values against a schema (the emulator's `extensions` does).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER};

/// A user's values of custom extension schemas: URN → attribute → value. Only
/// `urn:` keys holding an object are kept when reading (the enterprise and Genesys
/// extensions have fields of their own), so an unknown core attribute still never
/// lands here.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
#[serde(transparent)]
pub struct Extensions(pub std::collections::BTreeMap<String, serde_json::Map<String, Value>>);

impl Extensions {
    /// True when the user has no extension value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The attributes of extension `urn` (URNs compare case-insensitively).
    pub fn get(&self, urn: &str) -> Option<&serde_json::Map<String, Value>> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(urn))
            .map(|(_, v)| v)
    }

    /// The value of `attr` (case-insensitive) in extension `urn`.
    pub fn value(&self, urn: &str, attr: &str) -> Option<&Value> {
        self.get(urn)?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attr))
            .map(|(_, v)| v)
    }

    /// Sets `attr` of extension `urn`.
    pub fn set(&mut self, urn: &str, attr: &str, value: Value) {
        let key = self
            .0
            .keys()
            .find(|k| k.eq_ignore_ascii_case(urn))
            .cloned()
            .unwrap_or_else(|| urn.to_string());
        self.0
            .entry(key)
            .or_default()
            .insert(attr.to_string(), value);
    }
}

impl<'de> Deserialize<'de> for Extensions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Extensions;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Extensions, A::Error> {
                let mut out = Extensions::default();
                while let Some(key) = m.next_key::<String>()? {
                    let is_custom = key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
                        && ![SCHEMA_USER, SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
                            .iter()
                            .any(|u| u.eq_ignore_ascii_case(&key));
                    if !is_custom {
                        m.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    }
                    if let Value::Object(attrs) = m.next_value::<Value>()? {
                        out.0.insert(key, attrs);
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::scim::model::User;

    #[test]
    fn users_without_extensions_serialise_as_before_and_only_urn_objects_are_kept() {
        let doc = json!({"userName": "a@x.com", "nickName": "A", "urn:acme:x:User": "text",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}});
        let u: User = serde_json::from_value(doc).unwrap();
        assert!(u.extensions.is_empty(), "{:?}", u.extensions);
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"userName": "a@x.com",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}})
        );
    }

    #[test]
    fn extension_values_round_trip_under_their_urn() {
        let doc = json!({"userName": "a@x.com", "urn:acme:x:2.0:User": {"badge": "B", "grade": 3}});
        let u: User = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(
            u.extensions.value("URN:ACME:x:2.0:User", "BADGE"),
            Some(&json!("B"))
        );
        assert_eq!(serde_json::to_value(&u).unwrap(), doc);
    }
}
