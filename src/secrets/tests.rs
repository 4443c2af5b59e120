//! Registry tests: every form of a value is masked, short values are skipped except
//! the client secret, ordinary text is left alone (borrowed).

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::*;

/// A secret whose encodings all differ from it: `+ / = & " \` and a space.
const SECRET: &str = "a+b/c=d&e \"q\\z";

fn registry() -> Registry {
    let r = Registry::new();
    assert!(r.register_client("my-client", SECRET));
    r
}

fn assert_masked(r: &Registry, leaked: &str) {
    let text = format!("error: invalid_client: got <{leaked}> in the request");
    let got = r.scrub(&text);
    assert_eq!(
        got, "error: invalid_client: got <***> in the request",
        "form {leaked:?}"
    );
}

#[test]
fn raw_value_is_masked() {
    assert_masked(&registry(), SECRET);
}

#[test]
fn url_encoded_forms_are_masked() {
    let r = registry();
    for form in [
        // application/x-www-form-urlencoded (space as +, upper hex)
        "a%2Bb%2Fc%3Dd%26e+%22q%5Cz",
        // RFC 3986, lower hex
        "a%2bb%2fc%3dd%26e%20%22q%5cz",
        // encodeURIComponent
        "a%2Bb%2Fc%3Dd%26e%20%22q%5Cz",
    ] {
        assert_masked(&r, form);
    }
}

#[test]
fn base64_of_the_value_and_of_the_basic_payload_are_masked() {
    let r = registry();
    let basic = format!("my-client:{SECRET}");
    for form in [
        STANDARD.encode(SECRET),
        URL_SAFE_NO_PAD.encode(SECRET),
        STANDARD.encode(&basic),
        URL_SAFE_NO_PAD.encode(&basic),
    ] {
        assert_masked(&r, &form);
    }
}

#[test]
fn json_escaped_form_is_masked() {
    let r = registry();
    let json = serde_json::json!({ "echo": SECRET }).to_string();
    assert!(json.contains(r#"\"q\\z"#), "{json}");
    let got = r.scrub(&json);
    assert_eq!(got, r#"{"echo":"***"}"#);
}

#[test]
fn json_with_non_ascii_escaped_is_masked() {
    let r = Registry::new();
    r.register(SecretKind::LdapBindPassword, "pässwörd-🔑");
    for form in [
        r"p\u00e4ssw\u00f6rd-\ud83d\udd11",
        r"p\u00E4ssw\u00F6rd-\uD83D\uDD11",
        "p%C3%A4ssw%C3%B6rd-%F0%9F%94%91",
    ] {
        assert_masked(&r, form);
    }
}

#[test]
fn redact_json_masks_strings_and_keys() {
    let r = registry();
    let mut v = serde_json::json!({ "stopped": format!("x {SECRET} y"), SECRET: [SECRET, 1] });
    r.redact_json(&mut v);
    assert_eq!(
        v,
        serde_json::json!({ "stopped": "x *** y", "***": ["***", 1] })
    );
}

#[test]
fn bytes_are_masked_like_text() {
    let r = registry();
    let line = format!("WARN token endpoint said {SECRET}\n");
    assert_eq!(
        r.scrub_bytes(line.as_bytes()).as_ref(),
        b"WARN token endpoint said ***\n"
    );
}

#[test]
fn short_values_are_skipped_but_not_a_short_client_secret() {
    let r = Registry::new();
    assert!(!r.register(SecretKind::BearerToken, "abc"));
    assert!(!r.register(SecretKind::WebhookSecret, ""));
    assert!(r.is_empty());
    assert_eq!(r.scrub("abc"), "abc");
    assert!(r.register_client("id", "pw"));
    assert_eq!(r.scrub("the pw leaked"), "the *** leaked");
    assert!(
        !r.register_client("id", ""),
        "an empty secret has nothing to hide"
    );
}

#[test]
fn every_kind_registers_and_repeats_are_ignored() {
    let r = Registry::new();
    for (kind, value) in [
        (SecretKind::BearerToken, "tok-123456"),
        (SecretKind::LdapBindPassword, "ldap-pass-1"),
        (SecretKind::WebhookSecret, "whsec_abcdef"),
    ] {
        assert!(r.register(kind, value), "{}", kind.as_str());
        assert!(!r.register(kind, value));
        assert_eq!(r.scrub(&format!("[{value}]")), "[***]");
    }
    assert_eq!(r.len(), 3);
    let debug = format!("{r:?}");
    assert!(!debug.contains("tok-123456"), "{debug}");
}

#[test]
fn longest_form_wins_and_matches_do_not_overlap() {
    let r = Registry::new();
    r.register(SecretKind::BearerToken, "secret-one");
    r.register(SecretKind::BearerToken, "secret-one-two");
    assert_eq!(r.scrub("secret-one-two secret-one"), "*** ***");
}

#[test]
fn redact_adds_the_pattern_rules() {
    let r = registry();
    assert_eq!(
        r.redact(&format!("Authorization: Bearer unregistered {SECRET}")),
        "Authorization: Bearer *** ***"
    );
}

#[test]
fn ordinary_text_is_borrowed() {
    let r = registry();
    for s in ["HTTP 409: uniqueness", "userName already taken", ""] {
        assert!(matches!(r.scrub(s), Cow::Borrowed(_)), "{s}");
        assert!(matches!(r.redact(s), Cow::Borrowed(_)), "{s}");
    }
    let empty = Registry::new();
    assert!(matches!(empty.scrub(SECRET), Cow::Borrowed(_)));
}
