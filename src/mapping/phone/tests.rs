use super::*;

fn c(code: &str) -> Country {
    country(code).expect("a known country")
}

fn norm(input: &str, code: &str) -> Result<String, PhoneError> {
    normalize_phone(input, c(code))
}

/// Forms the hand-written normaliser already got right keep their output.
#[test]
fn normalises_common_forms() {
    let cases = [
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("1-415-555-0123", "US", "+14155550123"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("415-555-0123 x204", "US", "tel:+14155550123;ext=204"),
        ("+1 415 555 0123 ext. 7", "US", "tel:+14155550123;ext=7"),
        (
            "+1 415 555 0123 EXTENSION 12",
            "US",
            "tel:+14155550123;ext=12",
        ),
        ("(415) 555-0123 X9 ", "US", "tel:+14155550123;ext=9"),
        ("415 555 0123 #33", "US", "tel:+14155550123;ext=33"),
        (
            "tel:+14155550123;ext=2044",
            "US",
            "tel:+14155550123;ext=2044",
        ),
        ("tel:+14155550123", "US", "+14155550123"),
        ("  +351 21 123 4567 ", "US", "+351211234567"),
        ("+49 30 4002067", "US", "+49304002067"),
        // An unallocated London range: the length is right, so it passes (see
        // `check_length`).
        ("+44 20 2234 4353", "US", "+442022344353"),
    ];
    for (input, code, want) in cases {
        assert_eq!(norm(input, code).as_deref(), Ok(want), "{input}");
    }
}

/// Numbers the hand-written table got wrong (each of these failed with it):
/// what libphonenumber makes of them.
#[test]
fn national_rules_of_each_country() {
    let cases = [
        // Italy keeps its leading 0 in international form.
        ("06 1234 5678", "IT", "+390612345678"),
        ("347 123 4567", "IT", "+393471234567"),
        // The trunk 0 written in brackets after the country code is dropped.
        ("+44 (0)20 7946 0958", "GB", "+442079460958"),
        ("+49 (0)30 1234567", "DE", "+49301234567"),
        ("+33 (0)1 42 68 53 00", "FR", "+33142685300"),
        // Argentina: a national mobile (0 area 15 number) becomes +54 9 area number.
        ("011 15-2345-6789", "AR", "+5491123456789"),
        ("11 15 2345 6789", "AR", "+5491123456789"),
        ("+54 11 2345 6789", "AR", "+541123456789"),
        // Brazil: the carrier code after the trunk 0 is dropped.
        ("0 21 11 91234 5678", "BR", "+5511912345678"),
        // North America's own international prefix.
        ("011 44 20 7946 0958", "US", "+442079460958"),
        // Countries the table did not know, with their own trunk prefixes.
        ("8 495 123-45-67", "RU", "+74951234567"),
        ("06 1 234 5678", "HU", "+3612345678"),
    ];
    for (input, code, want) in cases {
        assert_eq!(norm(input, code).as_deref(), Ok(want), "{input} ({code})");
    }
}

/// Numbers the table let through, with a length no number of their country has.
#[test]
fn wrong_lengths_are_rejected() {
    let cases = [
        ("+1 212 555 01", "US"),
        ("+1 415 555 0123 4", "US"),
        ("+44 20 7946 09581", "GB"),
        // Mexico dropped the mobile `1` after +52 (and the `044` prefix) in 2019.
        ("+52 1 55 1234 5678", "MX"),
        ("044 55 1234 5678", "MX"),
    ];
    for (input, code) in cases {
        assert!(
            matches!(norm(input, code), Err(PhoneError::WrongLength { .. })),
            "{input}: {:?}",
            norm(input, code)
        );
    }
    assert_eq!(norm("55 1234 5678", "MX").as_deref(), Ok("+525512345678"));
    assert_eq!(norm("555-0123", "US"), Err(PhoneError::LocalOnly));
}

#[test]
fn rejects_what_is_no_number() {
    for (input, code) in [
        ("call me", "US"),
        ("+1 415 555 0123 4567 8901", "US"),
        ("+0 123 4567", "US"),
        ("12ab34", "GB"),
        ("tel:14155550123", "US"),
        ("tel:+1415;ext", "US"),
        ("tel:+14155550123;isub=1", "US"),
        ("tel:+14155550123;ext=1;ext=2", "US"),
        // A multi-byte character across byte 4 (the `tel:` test once panicked).
        ("<*qé*!", "US"),
        ("teé5555", "US"),
        ("555-01", "US"),
    ] {
        assert!(norm(input, code).is_err(), "{input}");
        assert!(!phone_ok(input, c(code)), "{input}");
    }
    assert_eq!(norm("tel:1", "US"), Err(PhoneError::BadTelUri));
}

/// The message reads after the value, as the row error shows it.
#[test]
fn messages_say_what_is_wrong() {
    let e = norm("+1 212 555 01", "US").expect_err("too short");
    assert_eq!(
        format!("`+1 212 555 01` {e}"),
        "`+1 212 555 01` has 8 digits after +1, which no number of +1 has"
    );
}

#[test]
fn results_are_in_their_final_form() {
    assert!(is_valid_phone("+14155550123"));
    assert!(is_valid_phone("+390612345678"));
    assert!(is_valid_phone("tel:+14155550123;ext=2044"));
    assert!(!is_valid_phone("14155550123"));
    assert!(!is_valid_phone("+1 415 555 0123"));
    assert!(!is_valid_phone("tel:+1-415-555-0123;ext=2044"));
    assert!(!is_valid_phone("tel:+14155550123"));
    assert!(!is_valid_phone("+1415555012345678"));
    assert!(!is_valid_phone("teé+14155550123"));
}

#[test]
fn countries() {
    assert_eq!(country("us"), country("US"));
    assert_eq!(country("UK"), country("GB"));
    assert!(country("RU").is_some());
    assert!(country("XX").is_none());
    assert!(country("").is_none());
    assert!(country("USA").is_none());
}

/// The property below on the odd inputs that broke it once (the crate reads
/// some of them differently in their `+` form, or with a country given).
#[test]
fn odd_inputs_keep_the_paths_in_agreement() {
    for (input, code) in [
        ("001000000", "US"),
        ("01000", "GB"),
        ("01100000", "GB"),
        ("01000000x", "GB"),
        ("+10000000010x", "US"),
        ("00000000001", "FR"),
    ] {
        let out = normalize_phone(input, c(code));
        assert_eq!(out.is_ok(), phone_ok(input, c(code)), "{input}");
        if let Ok(out) = out {
            assert!(is_valid_phone(&out), "{input} -> {out}");
        }
    }
    assert_eq!(norm("00000000001", "FR"), Err(PhoneError::Unstable));
}

proptest::proptest! {
    /// Whatever normalising accepts is valid as it stands, and normalising it
    /// again changes nothing: the quick verdict of `validate` (`phone_ok` on the
    /// cell) and the rules (`is_valid_phone` on the mapped value) agree.
    #[test]
    fn a_normalised_number_is_always_valid(
        input in proptest::prop_oneof![
            "(tel:)?[+]?[0-9 ().#xXet/-]{0,24}[a-z]{0,3}[0-9]{0,4}",
            " ?(\\+|00|0|011|1|tel:\\+|)[0-9]{1,4}([ ./-]?[(]?[0-9]{2,4}[)]?){1,4}( ?(x|X|ext\\.?|EXT|extension|#) ?[0-9]{0,4})? ?",
        ],
        code in proptest::sample::select(vec!["US", "GB", "FR", "IE", "IT", "DE", "AR", "MX", "BR", "RU", "JP", "IN"]),
    ) {
        let country = c(code);
        let out = normalize_phone(&input, country);
        proptest::prop_assert_eq!(out.is_ok(), phone_ok(&input, country));
        if let Ok(out) = out {
            proptest::prop_assert!(is_valid_phone(&out), "{input:?} -> {out:?}");
            proptest::prop_assert_eq!(normalize_phone(&out, c("US")), Ok(out.clone()));
        }
    }
}

proptest::proptest! {
    /// The E.164 shortcut gives what the crate gives, whenever it answers.
    #[test]
    fn the_e164_shortcut_agrees_with_the_crate(
        s in proptest::prop_oneof!["[+][1-9][0-9]{6,14}", "[+](1|44|33|49|39|7|54|52|55|86|61|262|590|599|47|358|212|290)[1-9][0-9]{5,11}"],
    ) {
        if let Some(n) = already_e164(&s) {
            let p = phonenumber::parse(None, &s);
            proptest::prop_assert!(p.is_ok(), "{s}: {p:?}");
            let p = p.expect("checked");
            proptest::prop_assert_eq!(p.code().value(), n.code);
            proptest::prop_assert_eq!(p.national().to_string(), n.national);
        }
    }
}
