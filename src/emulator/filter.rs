//! List filters: the strict Genesys forms (only the documented `eq` filters, quoted or
//! unquoted values, attribute names case-insensitive, plus
//! `externalIds[authority eq "A" and value eq "V"]`) and, with `--lenient-filters`,
//! the whole RFC 7644 grammar parsed by `scim_v2` and evaluated over a resource's JSON.
//!
//! Owns parsing and generic evaluation. The routes turn a strict query into index
//! lookups. Also evaluates the `[...]` value filters of PATCH paths.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::errors::ApiError;
use crate::scim::model::{SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER};

/// A parsed user filter.
#[derive(Debug, Clone, PartialEq)]
pub enum UserQuery {
    /// `id eq X`
    Id(String),
    /// `userName eq X` (case-insensitive)
    UserName(String),
    /// `manager eq X` (a user id)
    Manager(String),
    /// `email eq X` (any email, case-insensitive)
    Email(String),
    /// `division eq X` (a division name)
    Division(String),
    /// `externalId eq X` (case-exact)
    ExternalId(String),
    /// `active eq true|false`
    Active(bool),
    /// `employeeNumber eq X`
    EmployeeNumber(String),
    /// `...:externalIds[authority eq "A" and value eq "V"]`
    ExternalIds {
        /// The authority.
        authority: String,
        /// The value.
        value: String,
    },
    /// Any other RFC 7644 filter (lenient mode only).
    Generic(Filter),
}

/// A parsed group filter.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupQuery {
    /// `id eq X`
    Id(String),
    /// `displayName eq X` (case-insensitive)
    DisplayName(String),
    /// Any other RFC 7644 filter (lenient mode only).
    Generic(Filter),
}

/// Removes a known schema URN prefix (`urn:...:User:attr` -> `attr`).
fn strip_urn(attr: &str) -> &str {
    for urn in [SCHEMA_ENTERPRISE, SCHEMA_GENESYS, SCHEMA_USER] {
        if attr.len() > urn.len() + 1
            && attr
                .get(..urn.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(urn))
            && attr.as_bytes()[urn.len()] == b':'
        {
            return &attr[urn.len() + 1..];
        }
    }
    attr
}

/// Parses a value: `"quoted"` (JSON escapes) or the unquoted rest.
fn parse_value(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.starts_with('"') {
        serde_json::from_str::<String>(raw).ok()
    } else if raw.is_empty()
        || raw.starts_with('(')
        || raw
            .split_whitespace()
            .any(|w| w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or"))
    {
        // An unquoted value runs to the end (`displayName eq Tier 1`), but a
        // logical operator means a compound filter, which Genesys does not take.
        None
    } else {
        Some(raw.to_string())
    }
}

/// Splits `attr eq value` (operator case-insensitive); `None` for other shapes.
fn split_eq(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    let (attr, rest) = s.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace)?;
    op.eq_ignore_ascii_case("eq").then_some((attr, value))
}

/// Parses `authority eq "A" and value eq "V"` (either order).
fn parse_authority_pair(inner: &str) -> Option<(String, String)> {
    let lower = inner.to_ascii_lowercase();
    let pos = lower.find(" and ")?;
    let (a, b) = (&inner[..pos], &inner[pos + 5..]);
    let mut authority = None;
    let mut value = None;
    for part in [a, b] {
        let (attr, v) = split_eq(part)?;
        let v = parse_value(v)?;
        match attr.to_ascii_lowercase().as_str() {
            "authority" => authority = Some(v),
            "value" => value = Some(v),
            _ => return None,
        }
    }
    Some((authority?, value?))
}

fn strict_user(s: &str) -> Option<UserQuery> {
    let s = s.trim();
    if let Some(open) = s.find('[') {
        let attr = strip_urn(&s[..open]);
        if !attr.eq_ignore_ascii_case("externalIds") || !s.ends_with(']') {
            return None;
        }
        let (authority, value) = parse_authority_pair(&s[open + 1..s.len() - 1])?;
        return Some(UserQuery::ExternalIds { authority, value });
    }
    let (attr, raw) = split_eq(s)?;
    let value = parse_value(raw)?;
    let attr = strip_urn(attr).to_ascii_lowercase();
    Some(match attr.as_str() {
        "id" => UserQuery::Id(value),
        "username" => UserQuery::UserName(value),
        // Exactly the documented forms: not `manager.value`, `emails` or
        // `emails.value`, which Genesys does not list.
        "manager" => UserQuery::Manager(value),
        "email" => UserQuery::Email(value),
        "division" => UserQuery::Division(value),
        "externalid" => UserQuery::ExternalId(value),
        "employeenumber" => UserQuery::EmployeeNumber(value),
        "active" => match value.to_ascii_lowercase().as_str() {
            "true" => UserQuery::Active(true),
            "false" => UserQuery::Active(false),
            _ => return None,
        },
        _ => return None,
    })
}

fn generic(s: &str) -> Result<Filter, ApiError> {
    s.parse::<Filter>()
        .map_err(|e| ApiError::invalid_filter(format!("invalid filter {s:?}: {e}")))
}

/// Parses a user list filter.
pub fn parse_user_filter(s: &str, lenient: bool) -> Result<UserQuery, ApiError> {
    if let Some(q) = strict_user(s) {
        return Ok(q);
    }
    if lenient {
        return generic(s).map(UserQuery::Generic);
    }
    Err(ApiError::invalid_filter(format!(
        "unsupported filter {s:?}: only `eq` on id, userName, manager, email, division, \
         externalId, active, employeeNumber, or externalIds[authority eq \"A\" and value eq \"V\"]"
    )))
}

/// Parses a group list filter.
pub fn parse_group_filter(s: &str, lenient: bool) -> Result<GroupQuery, ApiError> {
    if let Some((attr, raw)) = split_eq(s)
        && let Some(value) = parse_value(raw)
    {
        match strip_urn(attr).to_ascii_lowercase().as_str() {
            "id" => return Ok(GroupQuery::Id(value)),
            "displayname" => return Ok(GroupQuery::DisplayName(value)),
            _ => {}
        }
    }
    if lenient {
        return generic(s).map(GroupQuery::Generic);
    }
    Err(ApiError::invalid_filter(format!(
        "unsupported group filter {s:?}: only `id eq` and `displayName eq`"
    )))
}

/// A key of `obj` matching `name` case-insensitively.
fn get_ci<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Values an attribute path selects in a resource (extension attributes found by
/// their URN or, unqualified, in any extension object).
fn select<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let scope = match &path.uri {
        Some(uri) if !uri.eq_ignore_ascii_case(SCHEMA_USER) => get_ci(resource, uri),
        _ => Some(resource),
    };
    let Some(scope) = scope else {
        return Vec::new();
    };
    let name = match path.name.to_ascii_lowercase().as_str() {
        "email" => "emails",
        _ => path.name.as_str(),
    };
    let mut found = get_ci(scope, name);
    if found.is_none() && path.uri.is_none() {
        found = [SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
            .iter()
            .find_map(|urn| get_ci(resource, urn).and_then(|ext| get_ci(ext, name)));
    }
    let Some(found) = found else {
        return Vec::new();
    };
    let items: Vec<&Value> = match found {
        Value::Array(xs) => xs.iter().collect(),
        v => vec![v],
    };
    let sub = path.sub_attr.as_deref().or(match found {
        // `emails eq x` and `manager eq id` compare the `value` sub-attribute.
        Value::Array(_) => Some("value"),
        Value::Object(_) => Some("value"),
        _ => None,
    });
    match sub {
        Some(sub) => items.into_iter().filter_map(|v| get_ci(v, sub)).collect(),
        None => items,
    }
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (actual, expected) {
        (Value::String(a), CompValue::Str(b)) => {
            if case_exact {
                Some(a.as_str().cmp(b.as_str()))
            } else {
                Some(a.to_lowercase().cmp(&b.to_lowercase()))
            }
        }
        (Value::Bool(a), CompValue::True) => Some(a.cmp(&true)),
        (Value::Bool(a), CompValue::False) => Some(a.cmp(&false)),
        (Value::Number(a), CompValue::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::Null, CompValue::Null) => Some(Ordering::Equal),
        _ => None,
    };
    let (a, b) = match (actual, expected) {
        (Value::String(a), CompValue::Str(b)) if !case_exact => {
            (a.to_lowercase(), b.to_lowercase())
        }
        (Value::String(a), CompValue::Str(b)) => (a.clone(), b.clone()),
        _ => (String::new(), String::new()),
    };
    match op {
        CompareOp::Eq => ord == Some(Ordering::Equal),
        CompareOp::Ne => ord != Some(Ordering::Equal),
        CompareOp::Co => matches!(actual, Value::String(_)) && a.contains(&b),
        CompareOp::Sw => matches!(actual, Value::String(_)) && a.starts_with(&b),
        CompareOp::Ew => matches!(actual, Value::String(_)) && a.ends_with(&b),
        CompareOp::Gt => ord == Some(Ordering::Greater),
        CompareOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => ord == Some(Ordering::Less),
        CompareOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
    }
}

fn case_exact(path: &AttrPath) -> bool {
    let n = path.name.to_ascii_lowercase();
    n == "id" || n == "externalid"
}

fn attr_matches(exp: &AttrExp, resource: &Value) -> bool {
    match exp {
        AttrExp::Present(path) => select(resource, path).iter().any(|v| {
            !v.is_null() && v.as_str() != Some("") && v.as_array().is_none_or(|a| !a.is_empty())
        }),
        AttrExp::Comparison(path, op, value) => {
            let found = select(resource, path);
            if *op == CompareOp::Ne {
                return !found
                    .iter()
                    .any(|v| compare(v, &CompareOp::Eq, value, case_exact(path)));
            }
            found
                .iter()
                .any(|v| compare(v, op, value, case_exact(path)))
        }
    }
}

/// Whether a resource (as JSON) matches a filter.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Attr(exp) => attr_matches(exp, resource),
        Filter::ValuePath(vp) => {
            let Some(scope) = (match &vp.attr.uri {
                Some(uri) if !uri.eq_ignore_ascii_case(SCHEMA_USER) => get_ci(resource, uri),
                _ => Some(resource),
            }) else {
                return false;
            };
            let items = get_ci(scope, &vp.attr.name).or_else(|| {
                [SCHEMA_ENTERPRISE, SCHEMA_GENESYS]
                    .iter()
                    .find_map(|urn| get_ci(resource, urn).and_then(|e| get_ci(e, &vp.attr.name)))
            });
            match items {
                Some(Value::Array(xs)) => xs.iter().any(|x| val_matches(&vp.filter, x)),
                Some(v @ Value::Object(_)) => val_matches(&vp.filter, v),
                _ => false,
            }
        }
        Filter::Not(inner) => !matches(inner, resource),
        Filter::And(xs) => xs.as_slice().iter().all(|f| matches(f, resource)),
        Filter::Or(xs) => xs.as_slice().iter().any(|f| matches(f, resource)),
    }
}

/// Whether one element of a multi-valued attribute matches a `[...]` filter.
pub fn val_matches(filter: &ValFilter, element: &Value) -> bool {
    match filter {
        ValFilter::Attr(exp) => attr_matches(exp, element),
        ValFilter::Not(inner) => !val_matches(inner, element),
        ValFilter::And(xs) => xs.as_slice().iter().all(|f| val_matches(f, element)),
        ValFilter::Or(xs) => xs.as_slice().iter().any(|f| val_matches(f, element)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_accepts_documented_forms() {
        let q = |s| parse_user_filter(s, false).unwrap();
        assert_eq!(
            q("userName eq a@b.com"),
            UserQuery::UserName("a@b.com".into())
        );
        assert_eq!(
            q(r#"USERNAME EQ "a b@c""#),
            UserQuery::UserName("a b@c".into())
        );
        assert_eq!(q("active eq false"), UserQuery::Active(false));
        assert_eq!(
            q(r#"externalId eq "E\"1""#),
            UserQuery::ExternalId("E\"1".into())
        );
        assert_eq!(
            q("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 7"),
            UserQuery::EmployeeNumber("7".into())
        );
        assert_eq!(
            q(
                r#"urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq "microsoftteams" and value eq "29:x"]"#
            ),
            UserQuery::ExternalIds {
                authority: "microsoftteams".into(),
                value: "29:x".into()
            }
        );
        assert_eq!(
            parse_group_filter("displayname eq Sales", false).unwrap(),
            GroupQuery::DisplayName("Sales".into())
        );
        assert_eq!(
            parse_group_filter("displayName eq Tier 1", false).unwrap(),
            GroupQuery::DisplayName("Tier 1".into())
        );
    }

    #[test]
    fn strict_rejects_everything_else() {
        for f in [
            r#"userName co "a""#,
            r#"title eq "x""#,
            r#"userName eq "a" and active eq true"#,
            "userName eq a and active eq true",
            "userName eq a or userName eq b",
            "meta.lastModified ge 2020-01-01",
            "userName eq",
            "",
            r#"userName eq "unterminated"#,
            // issue 15: only the documented attribute names, not their RFC cousins.
            "emails.value eq a@b.com",
            "emails eq a@b.com",
            "manager.value eq 0b8e2f4d",
        ] {
            let e = parse_user_filter(f, false).unwrap_err();
            assert!(
                matches!(
                    e,
                    ApiError::Scim {
                        scim_type: Some("invalidFilter"),
                        ..
                    }
                ),
                "{f}"
            );
        }
    }

    #[test]
    fn lenient_evaluates_rfc_grammar() {
        let user = json!({"userName": "Ana@x.com", "title": "Agent", "active": true,
            "emails": [{"value": "w@x.com", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}});
        let yes = [
            r#"userName sw "ana" and (title eq "Agent" or title eq "Boss")"#,
            r#"emails[type eq "work" and value co "w@"]"#,
            r#"department eq "sales""#,
            "title pr",
            r#"not (title eq "Boss")"#,
        ];
        for f in yes {
            let UserQuery::Generic(filter) = parse_user_filter(f, true).unwrap() else {
                panic!("{f}")
            };
            assert!(matches(&filter, &user), "{f}");
        }
        let UserQuery::Generic(filter) = parse_user_filter(r#"title ew "x""#, true).unwrap() else {
            panic!()
        };
        assert!(!matches(&filter, &user));
        assert!(parse_user_filter(r#"userName eq "a" and ("#, true).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,80}", urn in proptest::sample::select(vec![
            "", "urn:ietf:params:scim:schemas:core:2.0:User", SCHEMA_ENTERPRISE, SCHEMA_GENESYS,
        ])) {
            let f = format!("{urn}{s}");
            let _ = parse_user_filter(&f, false);
            let _ = parse_group_filter(&f, false);
            if let Ok(UserQuery::Generic(g)) = parse_user_filter(&f, true) {
                let _ = matches(&g, &serde_json::json!({"userName": "a", "emails": [{"value": "b"}]}));
            }
        }
    }
}
