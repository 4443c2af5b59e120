//! Table tests for every step of the value pipeline.

use std::borrow::Cow;

use super::*;
use crate::mapping::{Mapping, Target};
use crate::model::ErrorKind;

/// The resolved field for `path` in a one-field-plus-required mapping.
fn field(extra: &str) -> Mapping {
    let text = format!(
        "keys=[\"userName\"]\n[[field]]\npath=\"userName\"\ncolumn=\"e\"\n[[field]]\npath=\"displayName\"\ncolumn=\"n\"\n[[field]]\n{extra}\n"
    );
    Mapping::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(m: &Mapping, t: Target, raw: &str) -> Result<Value<'static>, TransformError> {
    let f = m.field(&t).unwrap().clone();
    let f: &'static crate::mapping::Field = Box::leak(Box::new(f));
    let list = matches!(
        t.shape(),
        crate::mapping::Shape::List | crate::mapping::Shape::Proficiencies
    );
    apply(f, Cow::Owned(raw.to_string()), list)
}

fn text(s: &str) -> Value<'static> {
    Value::Text(Cow::Owned(s.to_string()))
}

#[test]
fn trim_and_case() {
    let m = field("path=\"title\"\ncolumn=\"t\"\ncase=\"upper\"");
    assert_eq!(run(&m, Target::Title, "  agent  "), Ok(text("AGENT")));
    let m = field("path=\"title\"\ncolumn=\"t\"\ntrim=false");
    assert_eq!(run(&m, Target::Title, " a "), Ok(text(" a ")));
    // userName is always lower-cased.
    let m = field("path=\"title\"\ncolumn=\"t\"");
    assert_eq!(
        run(&m, Target::UserName, " Ana.Lima@Example.COM "),
        Ok(text("ana.lima@example.com"))
    );
}

#[test]
fn blank_semantics() {
    let m = field("path=\"title\"\ncolumn=\"t\"");
    assert_eq!(run(&m, Target::Title, "   "), Ok(Value::Ignore));
    let m = field("path=\"title\"\ncolumn=\"t\"\nblank=\"clear\"");
    assert_eq!(run(&m, Target::Title, ""), Ok(Value::Clear));
    let m = field("path=\"title\"\ncolumn=\"t\"\ndefault=\"Agent\"");
    assert_eq!(run(&m, Target::Title, ""), Ok(text("Agent")));
    let m = field("path=\"roles\"\ncolumn=\"r\"\ndefault=\"employee;Agent\"");
    assert_eq!(
        run(&m, Target::Roles, ""),
        Ok(Value::List(vec![text_cow("employee"), text_cow("Agent")]))
    );
}

fn text_cow(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_string())
}

#[test]
fn regex_replace() {
    let m = field(
        "path=\"externalId\"\ncolumn=\"id\"\nreplace=[{pattern=\"^0+\", with=\"\"}, {pattern=\"-(\\\\d+)$\", with=\"_$1\"}]",
    );
    assert_eq!(run(&m, Target::ExternalId, "000123-7"), Ok(text("123_7")));
}

#[test]
fn value_tables() {
    let m = field(
        "path=\"active\"\ncolumn=\"s\"\ntable={active=\"true\", leave=\"true\", terminated=\"false\"}",
    );
    assert_eq!(run(&m, Target::Active, "Terminated"), Ok(text("false")));
    let e = run(&m, Target::Active, "retired").unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnmappedValue);
    assert!(e.fix.contains("active, leave, terminated"), "{}", e.fix);
    let m = field("path=\"title\"\ncolumn=\"t\"\ntable={a=\"A\"}\nunmapped=\"keep\"");
    assert_eq!(run(&m, Target::Title, "b"), Ok(text("b")));
    let m =
        field("path=\"title\"\ncolumn=\"t\"\ntable={a=\"A\"}\nunmapped=\"blank\"\nblank=\"clear\"");
    assert_eq!(run(&m, Target::Title, "b"), Ok(Value::Clear));
}

#[test]
fn department_to_skills_table_expands_lists() {
    let m = field(
        "path=\"genesys.routingSkills\"\ncolumn=\"department\"\ntable={Support=\"Technical Support:4;Billing:2\", Sales=\"Sales:5\"}",
    );
    assert_eq!(
        run(&m, Target::RoutingSkills, "support"),
        Ok(Value::List(vec![
            text_cow("Technical Support:4"),
            text_cow("Billing:2")
        ]))
    );
}

#[test]
fn split_lists() {
    let m = field("path=\"roles\"\ncolumn=\"r\"\nsplit=\"|\"");
    assert_eq!(
        run(&m, Target::Roles, " employee | Agent ||"),
        Ok(Value::List(vec![text_cow("employee"), text_cow("Agent")]))
    );
    assert_eq!(run(&m, Target::Roles, " | "), Ok(Value::Ignore));
}

#[test]
fn booleans() {
    for (s, b) in [
        ("true", true),
        ("Yes", true),
        ("1", true),
        ("FALSE", false),
        ("n", false),
    ] {
        assert_eq!(parse_bool(s), Ok(b), "{s}");
    }
    assert_eq!(
        parse_bool("maybe").unwrap_err().kind,
        ErrorKind::InvalidBoolean
    );
}

#[test]
fn dates_to_iso() {
    let f: Vec<String> = crate::mapping::DEFAULT_DATE_FORMATS
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (s, want) in [
        ("2023-04-17", "2023-04-17"),
        ("2023-04-17T09:30:00Z", "2023-04-17"),
        ("04/17/2023", "2023-04-17"),
        ("17.04.2023", "2023-04-17"),
        ("2023/04/17", "2023-04-17"),
        ("17-Apr-2023", "2023-04-17"),
        ("20230417", "2023-04-17"),
    ] {
        assert_eq!(parse_date(s, &f).as_deref(), Ok(want), "{s}");
    }
    for s in ["2023-02-30", "March 5th 2021", "13/13/2023", ""] {
        assert_eq!(
            parse_date(s, &f).unwrap_err().kind,
            ErrorKind::InvalidDate,
            "{s}"
        );
    }
}

#[test]
fn proficiencies() {
    assert_eq!(
        parse_proficiency("Billing:4", ":", None),
        Ok(("Billing", 4.0))
    );
    assert_eq!(
        parse_proficiency(" Technical Support : 2.5 ", ":", None),
        Ok(("Technical Support", 2.5))
    );
    assert_eq!(
        parse_proficiency("Sales", ":", Some(3.0)),
        Ok(("Sales", 3.0))
    );
    assert_eq!(
        parse_proficiency("Sales", ":", None).unwrap_err().kind,
        ErrorKind::InvalidProficiency
    );
    assert_eq!(
        parse_proficiency("Billing:7", ":", None).unwrap_err().kind,
        ErrorKind::InvalidProficiency
    );
    assert_eq!(
        parse_proficiency("Billing:-1", ":", None).unwrap_err().kind,
        ErrorKind::InvalidProficiency
    );
    assert_eq!(
        parse_proficiency("Billing:x", ":", None).unwrap_err().kind,
        ErrorKind::InvalidProficiency
    );
    assert_eq!(
        parse_proficiency(":3", ":", None).unwrap_err().kind,
        ErrorKind::InvalidListItem
    );
}

#[test]
fn shorten_by_chars() {
    assert_eq!(shorten("abc", 5), "abc");
    assert_eq!(shorten("äöüäöü", 3), "äöü…");
}

#[test]
fn dates_with_parsed_formats_match_dates_with_format_strings() {
    let formats: Vec<String> = crate::mapping::DEFAULT_DATE_FORMATS
        .iter()
        .map(|f| f.to_string())
        .collect();
    let items: Vec<_> = formats
        .iter()
        .map(|f| {
            chrono::format::StrftimeItems::new(f)
                .parse_to_owned()
                .expect("format")
        })
        .collect();
    for v in [
        "2024-02-29",
        "2023-02-29",
        "2024-03-01T08:00:00Z",
        "03/15/2021",
        "3/5/2021",
        "15.03.2021",
        "2021/03/15",
        "15-Mar-2021",
        "20210315",
        "13/45/2021",
        "",
        "yesterday",
        "2021-3-5",
    ] {
        assert_eq!(
            parse_date_with(v, &formats, &items),
            parse_date(v, &formats),
            "{v}"
        );
    }
}

proptest::proptest! {
    /// The eight-bytes-at-a-time case check says what a byte-by-byte one says.
    #[test]
    fn case_check_matches_the_plain_one(s in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
        let upper = s.iter().any(|b| b.is_ascii_uppercase() || !b.is_ascii());
        let lower = s.iter().any(|b| b.is_ascii_lowercase() || !b.is_ascii());
        proptest::prop_assert_eq!(has_case_or_non_ascii(&s, b'A'), upper);
        proptest::prop_assert_eq!(has_case_or_non_ascii(&s, b'a'), lower);
    }
}

#[test]
fn case_check_every_byte_at_every_place() {
    for b in 0..=255u8 {
        for at in 0..9 {
            let mut s = vec![b'0'; 9];
            s[at] = b;
            let want_upper = b.is_ascii_uppercase() || !b.is_ascii();
            let want_lower = b.is_ascii_lowercase() || !b.is_ascii();
            assert_eq!(has_case_or_non_ascii(&s, b'A'), want_upper, "{b} at {at}");
            assert_eq!(has_case_or_non_ascii(&s, b'a'), want_lower, "{b} at {at}");
        }
    }
}

#[test]
fn issue_14_values_in_messages_are_shortened() {
    let long = "x".repeat(1 << 20);
    let short = format!("{}…", "x".repeat(MESSAGE_VALUE_CHARS));
    let p = shorten_values_in(format!("`{long}` is not true or false"), &long);
    assert_eq!(p, format!("`{short}` is not true or false"));
    // A part of the value, quoted: a proficiency item's name.
    let item = format!("{long}:9");
    let p = shorten_values_in(
        format!("proficiency 9 of `{long}` is not between 0 and 5"),
        &item,
    );
    assert_eq!(
        p,
        format!("proficiency 9 of `{short}` is not between 0 and 5")
    );
    assert_eq!(
        shorten_values_in("`ok` is fine".into(), "ok"),
        "`ok` is fine"
    );
}

#[test]
fn issue_14_a_replacement_that_would_explode_is_value_too_large_and_stops_early() {
    // Every `a` of a 50 KB cell becomes 8,000 bytes: 400 MB if built.
    let with = "b".repeat(8000);
    let m = field(&format!(
        "path=\"title\"\ncolumn=\"t\"\nreplace=[{{pattern=\"a\", with=\"{with}\"}}]"
    ));
    let err = run(&m, Target::Title, &"a".repeat(50_000)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ValueTooLarge, "{err:?}");
    assert!(
        err.problem.contains("more than 1048576 bytes"),
        "{}",
        err.problem
    );
    // It stopped one replacement past the cap, not at 400 MB.
    let built: usize = err
        .problem
        .split(" and counting")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}", err.problem));
    assert!(built <= MAX_VALUE_BYTES + 8000, "built {built} bytes");
    // Under the cap, the same replacement is made.
    assert_eq!(
        run(&m, Target::Title, "xax"),
        Ok(Value::Text(Cow::Owned(format!("x{with}x"))))
    );
}

proptest::proptest! {
    /// The capped replacement gives exactly what `replace_all` gives (with group
    /// references, empty matches and `$$`), and fails only past the cap.
    #[test]
    fn issue_14_capped_replace_agrees_with_replace_all(
        v in "[ab1-]{0,20}",
        pat in proptest::sample::select(vec!["a", "a*", "", "(a)(b)?", "-(\\d+)", "^", "b+$"]),
        with in proptest::sample::select(vec!["", "x", "$1", "[$1$2]", "$$", "${1}z", "yy"]),
        cap in 0usize..60,
    ) {
        let re = regex::Regex::new(pat).unwrap();
        let want = re.replace_all(&v, with);
        match replace_capped(&re, &v, with, cap) {
            Ok(None) => proptest::prop_assert!(matches!(want, Cow::Borrowed(_)) && !re.is_match(&v)),
            Ok(Some(got)) => {
                proptest::prop_assert_eq!(&got, &want.into_owned());
                proptest::prop_assert!(got.len() <= cap);
            }
            Err(_) => proptest::prop_assert!(want.len() > cap),
        }
    }
}
