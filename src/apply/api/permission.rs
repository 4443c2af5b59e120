//! Reads a 403 `missing.permissions` (or `missing.any.permissions`) platform body:
//! which permissions the OAuth client lacks, and whether that refusal will hit every
//! call of its kind (a missing `directory:user:add` refuses every create, so the run
//! stops) or only the rows that assign something (a missing `routing:skill:assign`
//! fails the rows with skills, and the others go on).
//!
//! Owns the parsing and that judgement only; `call` decides what to do with it.

use crate::scim::model::PlatformError;

/// Permissions without which every call of a kind fails, whatever the row holds:
/// creating, changing and deleting users, and any group call.
const EVERY_CALL: &[&str] = &[
    "directory:user:add",
    "directory:user:edit",
    "directory:user:delete",
    "directory:group:edit",
];

/// The permissions a 403 says are missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MissingPermissions {
    /// Permission names (`domain:entity:action`), in the order the body gives them.
    pub names: Vec<String>,
}

impl MissingPermissions {
    /// Parses a 403 body; `None` when it is not a `missing.permissions` answer or
    /// names no permission.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let e: PlatformError = serde_json::from_slice(body).ok()?;
        if !matches!(
            e.code.as_str(),
            "missing.permissions" | "missing.any.permissions"
        ) {
            return None;
        }
        let mut names = Vec::new();
        let params = e.message_params.values().flat_map(|v| match v {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(xs) => xs.iter().filter_map(|x| x.as_str()).collect(),
            _ => Vec::new(),
        });
        for text in params.chain([e.message.as_str()]) {
            for name in permission_names(text) {
                if !names.iter().any(|n: &String| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        (!names.is_empty()).then_some(Self { names })
    }

    /// The missing permission that refuses every call of this kind, if any.
    pub fn every_call(&self) -> Option<&str> {
        self.names
            .iter()
            .map(String::as_str)
            .find(|n| EVERY_CALL.contains(n))
    }

    /// `missing permission a, b`, for a row's error.
    pub fn describe(&self) -> String {
        let s = if self.names.len() == 1 { "" } else { "s" };
        format!("missing permission{s} {}", self.names.join(", "))
    }
}

/// Words shaped like a Genesys permission: three non-empty `:`-separated parts
/// (`directory:user:add`, `routing:skill:assign`, `telephony:extension:assign`).
fn permission_names(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '*' | '-')))
        .map(|w| w.trim_matches(|c| c == ':' || c == '-'))
        .filter(|w| {
            let parts: Vec<&str> = w.split(':').collect();
            parts.len() == 3 && parts.iter().all(|p| !p.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn names_from_message_or_params() {
        let m = MissingPermissions::parse(&body(json!({
            "message": "Unable to perform the requested action. You are missing the following permission(s): [routing:skill:assign]",
            "code": "missing.permissions", "status": 403})))
        .unwrap();
        assert_eq!(m.names, ["routing:skill:assign"]);
        assert_eq!(m.every_call(), None);
        assert_eq!(m.describe(), "missing permission routing:skill:assign");
        let m = MissingPermissions::parse(&body(json!({
            "message": "You are missing permissions.", "code": "missing.any.permissions",
            "status": 403, "messageParams": {"perms": ["directory:user:add", "authorization:grant:add"]}})))
        .unwrap();
        assert_eq!(m.every_call(), Some("directory:user:add"));
        assert_eq!(
            m.describe(),
            "missing permissions directory:user:add, authorization:grant:add"
        );
    }

    #[test]
    fn other_403s_are_not_permission_answers() {
        for b in [
            body(json!({"message": "nope", "code": "not.authorized", "status": 403})),
            body(json!({"message": "no names here", "code": "missing.permissions", "status": 403})),
            b"<html>forbidden</html>".to_vec(),
            body(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403", "detail": "x:y:z"}),
            ),
        ] {
            assert_eq!(MissingPermissions::parse(&b), None);
        }
    }
}
