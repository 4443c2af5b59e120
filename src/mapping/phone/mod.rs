//! Phone numbers: normalising what HR systems hold (`(415) 555-0123`,
//! `06 1234 5678`, `+44 (0)20 ...`, `555-0100 x12`) to E.164 (`+14155550123`)
//! or, with an extension, a tel-URI (`tel:+14155550123;ext=12`), and judging
//! the result.
//!
//! Owns the one verdict on a phone number, [`normalize_phone`]: the mapping's
//! transform, the quick verdict of `validate` ([`phone_ok`]) and the rules
//! ([`is_valid_phone`]) all call it, so they cannot disagree. Parsing is
//! libphonenumber's (the `phonenumber` crate and its metadata): national
//! prefixes, trunk zeros kept in international form (Italy), mobile tokens
//! (Argentina's `15` → `9`) and extensions are its rules, not ours. What is
//! ours: `tel:` URIs (the crate does not read `+14155550123;ext=2044`), `00`
//! as an international prefix in every country (HR exports write `0044 ...`
//! even where the local prefix is `011`), and the length check below. Does not
//! know mapping files; `mapping` resolves a country name once with [`country`].

use std::fmt::Write as _;
use std::str::FromStr;

use phonenumber::metadata::DATABASE;
use phonenumber::{Metadata, PhoneNumber, country::Id};

/// A country whose national numbers can be read: an ISO 3166 alpha-2 code that
/// libphonenumber has metadata for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(Id);

/// The country of an ISO 3166 alpha-2 code (any case; `UK` is taken for `GB`,
/// as mapping files have always allowed); `None` when libphonenumber does not
/// know it (a configuration error).
pub fn country(code: &str) -> Option<Country> {
    let c = code.trim().to_ascii_uppercase();
    let c = if c == "UK" { "GB".to_string() } else { c };
    let id = Id::from_str(&c).ok()?;
    DATABASE.by_id(id.as_ref()).map(|_| Country(id))
}

/// Why a value is not a phone number; shown after the value (`` `x` is ...``).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing libphonenumber reads as a number.
    #[error("is not a phone number (digits, spaces and -().+, maybe an extension like x12)")]
    NotANumber,
    /// A `tel:` value that is not `tel:+<digits>[;ext=<digits>]`.
    #[error("is not a valid tel URI (tel:+<digits>[;ext=<digits>])")]
    BadTelUri,
    /// `+` followed by no known country calling code.
    #[error("does not start with a known country calling code")]
    UnknownCountryCode,
    /// A local number: the area code is missing.
    #[error("is a local number without its area code; add the area code or +<country code>")]
    LocalOnly,
    /// Its `+` form reads as another number (only odd inputs, such as runs of
    /// zeros, do).
    #[error("reads as another number once written as +<country code><number>")]
    Unstable,
    /// Too few or too many digits for the country.
    #[error("has {digits} digits after +{code}, which no number of +{code} has")]
    WrongLength {
        /// The country calling code.
        code: u16,
        /// The digits after it.
        digits: usize,
    },
}

/// Normalises a phone number, reading numbers without `+` as numbers of
/// `country`: E.164, or a tel-URI when it has an extension. `Err` says what is
/// wrong.
pub fn normalize_phone(input: &str, country: Country) -> Result<String, PhoneError> {
    let mut out = String::new();
    normalize_into(input, Some(country.0), &mut out)?;
    Ok(out)
}

/// Whether [`normalize_phone`] accepts `input`.
pub fn phone_ok(input: &str, country: Country) -> bool {
    normalize_into(input, Some(country.0), &mut String::new()).is_ok()
}

/// Whether `s` is a phone value as Genesys takes it: a number in the very form
/// [`normalize_phone`] gives (E.164, or a tel-URI with an extension).
pub fn is_valid_phone(s: &str) -> bool {
    let mut out = String::with_capacity(s.len());
    normalize_into(s, None, &mut out).is_ok() && out == s
}

/// The one verdict: `country` reads numbers without `+` (`None`: only
/// international numbers are read). A number read from a cell must read back as
/// itself from what it becomes, or it is refused: the crate reads a few odd
/// inputs (runs of zeros) differently in their `+` form, and [`is_valid_phone`]
/// would then refuse what this accepted.
fn normalize_into(input: &str, country: Option<Id>, out: &mut String) -> Result<(), PhoneError> {
    format_into(input, country, out)?;
    if country.is_some() {
        let mut again = String::with_capacity(out.len());
        if format_into(out, None, &mut again).is_err() || again != *out {
            return Err(PhoneError::Unstable);
        }
    }
    Ok(())
}

/// Parses `input` and writes its normal form into `out` (emptied first).
fn format_into(input: &str, country: Option<Id>, out: &mut String) -> Result<(), PhoneError> {
    out.clear();
    let (number, ext) = parse(input, country)?;
    if ext.is_some() {
        out.push_str("tel:");
    }
    write!(out, "+{}{}", number.code, number.national).expect("a String takes writes");
    if let Some(e) = ext {
        out.push_str(";ext=");
        out.push_str(&e);
    }
    Ok(())
}

/// A checked number: its calling code and national number (digits, with any
/// leading zeros: E.164 is `+`, the one and then the other).
struct Number {
    code: u16,
    national: String,
}

impl Number {
    /// What the crate read, once its length is checked. Not the crate's own
    /// formatter: in E.164 mode it still runs the national format patterns.
    fn checked(n: &PhoneNumber) -> Result<Self, PhoneError> {
        let number = Number {
            code: n.code().value(),
            national: n.national().to_string(),
        };
        check_length(number.code, &number.national)?;
        Ok(number)
    }
}

/// Parses and checks a number: the number and its extension (digits).
fn parse(input: &str, country: Option<Id>) -> Result<(Number, Option<String>), PhoneError> {
    let s = crate::mapping::transform::trim_str(input);
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tel:")) {
        let (number, ext) = split_tel(&s[4..]).ok_or(PhoneError::BadTelUri)?;
        let n = match already_e164(number) {
            Some(n) => n,
            None => {
                let n = phonenumber::parse(None, number).map_err(|_| PhoneError::BadTelUri)?;
                Number::checked(&n)?
            }
        };
        return Ok((n, ext.map(str::to_string)));
    }
    if let Some(n) = already_e164(s) {
        return Ok((n, None));
    }
    let read = |s: &str, country| {
        let n = phonenumber::parse(country, s).map_err(|e| match e {
            phonenumber::ParseError::InvalidCountryCode => PhoneError::UnknownCountryCode,
            _ => PhoneError::NotANumber,
        })?;
        // A marker with no digits after it (`555 0123 x`) is no extension.
        let ext = n
            .extension()
            .map(|e| e.to_string())
            .filter(|e| !e.is_empty());
        Ok((Number::checked(&n)?, ext))
    };
    // A number written with `+` carries its country, and the crate misreads
    // some of them when given a country as well (`+44 1100000` with US fails).
    let country = if s.starts_with('+') { None } else { country };
    match read(s, country) {
        Ok(n) => Ok(n),
        // `00` is the international prefix of most of the world; libphonenumber
        // honours only the country's own (`011` in North America).
        Err(e) => match s.strip_prefix("00") {
            Some(rest) if country.is_some() => read(&format!("+{rest}"), None).map_err(|_| e),
            _ => Err(e),
        },
    }
}

/// A value already in E.164 form (`+`, then only digits) whose national number
/// has a possible length and does not start with its country's national prefix
/// or a 0 (a trunk prefix the crate would strip): the crate would give it back
/// unchanged, so it is not parsed. The crate spends 2 to 13 µs on a number
/// (its regexes); `scripts/bench-validate` measures what this saves. Anything
/// else: `None`, for the crate.
fn already_e164(s: &str) -> Option<Number> {
    let digits = s.strip_prefix('+')?;
    if !(2..=17).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Calling codes are a prefix code: at most one of the first 1 to 3 digits is one.
    (1..=3).find_map(|k| {
        let code: u16 = digits.get(..k)?.parse().ok()?;
        let regions = DATABASE.by_code(&code)?;
        let national = &digits[k..];
        // What the crate would strip as a national prefix or carrier code
        // (China's `1100...`, Russia's `8`), or a leading 0 (a trunk prefix
        // almost everywhere; Italy keeps it): the crate decides.
        // The main country's rules (listed first) only: the others of a shared
        // code strip only their national prefix or a local number completed
        // with an area code, which the length check refuses anyway; each rule
        // checked costs a lock in the crate's regex cache (a property test
        // holds the shortcut to the crate).
        let stripped = regions.iter().take(1).any(|m| {
            m.national_prefix()
                .is_some_and(|p| !p.is_empty() && national.starts_with(p))
                || m.national_prefix_for_parsing()
                    .is_some_and(|r| r.find(national).is_some_and(|f| f.start() == 0))
        });
        if stripped || national.starts_with('0') {
            return None;
        }
        check_length(code, national).ok()?;
        Some(Number {
            code,
            national: national.to_string(),
        })
    })
}

/// Splits a global tel-URI's body (`+1-415-555-0123;ext=12`) into its number
/// and extension; `None` when it is not one (RFC 3966 visual separators only;
/// `ext` is the one parameter a phone value may carry).
fn split_tel(body: &str) -> Option<(&str, Option<&str>)> {
    let mut parts = body.split(';');
    let number = parts.next()?;
    let digits = number.strip_prefix('+')?;
    let ok = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'(' | b')'));
    if !ok {
        return None;
    }
    let mut ext = None;
    for p in parts {
        let (k, v) = p.split_once('=')?;
        let digits_only = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        if !k.eq_ignore_ascii_case("ext") || !digits_only || ext.is_some() {
            return None;
        }
        ext = Some(v);
    }
    Some((number, ext))
}

/// libphonenumber's "possible number" test: the national number has a length
/// some number of the calling code's main country has (the one the metadata
/// lists first: the US for +1, GB for +44). Not its "valid number" test, which
/// also matches the number against the ranges allocated when the metadata was
/// cut: a real number in a newer range would then keep a person out of
/// Genesys, while a wrong length is surely a typo.
fn check_length(code: u16, national: &str) -> Result<(), PhoneError> {
    let main = DATABASE
        .by_code(&code)
        .and_then(|m| m.into_iter().next())
        .ok_or(PhoneError::UnknownCountryCode)?;
    let len = u16::try_from(national.len()).unwrap_or(u16::MAX);
    match possible(main, len) {
        Possible::Yes => Ok(()),
        Possible::LocalOnly => Err(PhoneError::LocalOnly),
        Possible::No => Err(PhoneError::WrongLength {
            code,
            digits: national.len(),
        }),
    }
}

/// What a national number's length allows.
enum Possible {
    Yes,
    LocalOnly,
    No,
}

/// Whether some kind of number of `meta`'s country has `len` digits. The crate
/// leaves the general description's lengths empty; libphonenumber's metadata
/// builder makes them the union of the number types', as here.
fn possible(meta: &Metadata, len: u16) -> Possible {
    let d = meta.descriptors();
    let kinds = [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ];
    let mut local = false;
    for k in kinds.into_iter().flatten() {
        if k.possible_length().contains(&len) {
            return Possible::Yes;
        }
        local |= k.possible_local_length().contains(&len);
    }
    if local {
        Possible::LocalOnly
    } else {
        Possible::No
    }
}

#[cfg(test)]
mod tests;
