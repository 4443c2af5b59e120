//! Builds the SCIM `filter` expressions the client sends, with values escaped as
//! JSON strings (RFC 7644 §3.4.2.2) so that no value (a quote, a backslash,
//! ` or `, `]`) can change the filter's structure. Parsing filters is the
//! emulator's business (`emulator`), not this module's.

/// `attr eq "value"`, the value quoted and escaped.
pub fn eq(attr: &str, value: &str) -> String {
    format!("{attr} eq {}", quote(value))
}

/// The Genesys complex form matching one external id under an authority:
/// `urn:...:genesys:purecloud:2.0:User:externalIds[authority eq "A" and value eq "V"]`.
pub fn external_ids(authority: &str, value: &str) -> String {
    format!(
        "{}:externalIds[authority eq {} and value eq {}]",
        crate::scim::model::SCHEMA_GENESYS,
        quote(authority),
        quote(value)
    )
}

/// A value as a JSON string literal: `"` and `\` escaped, control characters as
/// `\n`, `\t` or `\u00XX`; everything else verbatim.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter};

    fn parse_eq(filter: &str) -> (String, String) {
        let parsed: Filter = filter.parse().expect("filter parses");
        match parsed {
            Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v))) => {
                (path.to_string(), v)
            }
            other => panic!("not a single eq comparison: {other:?} from {filter}"),
        }
    }

    #[test]
    fn plain_value_is_quoted() {
        assert_eq!(eq("userName", "a@b.com"), r#"userName eq "a@b.com""#);
    }

    #[test]
    fn issue_5_injection_values_stay_one_comparison() {
        for v in [
            r#"x" or userName pr or userName eq "y"#,
            r"back\slash",
            r#"trailing\"#,
            "a] or [b",
            r#"" or "" eq ""#,
            "new\nline\ttab\u{1}",
            "ünïcødé@exämple.com",
        ] {
            let (attr, got) = parse_eq(&eq("externalId", v));
            assert_eq!(attr, "externalId");
            assert_eq!(got, v);
        }
    }

    #[test]
    fn external_ids_form_escapes_both_values() {
        let f = external_ids("microsoft\"teams", r"v\1");
        assert!(f.ends_with(r#"externalIds[authority eq "microsoft\"teams" and value eq "v\\1"]"#));
        let parsed: Filter = f.parse().expect("parses");
        assert!(matches!(parsed, Filter::ValuePath(_)), "{parsed:?}");
    }

    proptest! {
        #[test]
        fn any_value_round_trips_as_one_eq(v in any::<String>()) {
            let (attr, got) = parse_eq(&eq("userName", &v));
            prop_assert_eq!(attr, "userName");
            prop_assert_eq!(got, v);
        }

        #[test]
        fn quote_is_valid_json(v in any::<String>()) {
            let back: String = serde_json::from_str(&quote(&v)).unwrap();
            prop_assert_eq!(back, v);
        }
    }
}
