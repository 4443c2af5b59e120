//! Email syntax as Genesys needs it for `userName` and the work email: a plain
//! `local@domain.tld` address (no quoted local parts, no IP literals, a dot in the
//! domain), checked by hand because this is the hot loop.

/// Checks an (already trimmed, lower-cased where wanted) address; `Err` says what
/// is wrong in a few words.
pub fn check_email(s: &str) -> Result<(), &'static str> {
    if plain_ok(s.as_bytes()) {
        return Ok(());
    }
    judge(s)
}

/// Bytes allowed before the `@`.
const LOCAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric();
        i += 1;
    }
    let extra = b"!#$%&'*+/=?^_`{|}~.-";
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
};

/// One pass that accepts the usual address (`name.x@example.com`) and nothing that
/// [`judge`] would refuse; anything else goes to [`judge`] for the verdict and the
/// reason.
fn plain_ok(s: &[u8]) -> bool {
    if s.is_empty() || s.len() > 254 {
        return false;
    }
    let Some(at) = memchr::memchr(b'@', s) else {
        return false;
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.is_empty() || local.len() > 64 || local[0] == b'.' || local[local.len() - 1] == b'.' {
        return false;
    }
    let mut prev = 0u8;
    for &b in local {
        if !LOCAL[b as usize] || (b == b'.' && prev == b'.') {
            return false;
        }
        prev = b;
    }
    if domain.len() > 253 {
        return false;
    }
    // One pass over the domain: every byte a letter, digit, `-` or a dot ending a
    // label; each label 1 to 63 bytes, not starting or ending with `-`.
    let label_ok =
        |l: &[u8]| !l.is_empty() && l.len() <= 63 && l[0] != b'-' && l[l.len() - 1] != b'-';
    let mut start = 0;
    let mut labels = 1;
    for (i, &b) in domain.iter().enumerate() {
        if b == b'.' {
            if !label_ok(&domain[start..i]) {
                return false;
            }
            labels += 1;
            start = i + 1;
        } else if !DOMAIN[b as usize] {
            return false;
        }
    }
    let last = &domain[start..];
    labels >= 2 && label_ok(last) && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
}

/// Bytes allowed in a domain label.
const DOMAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'-';
        i += 1;
    }
    t
};

/// The full check, rule by rule, naming the first rule broken.
fn judge(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is empty");
    }
    if s.len() > 254 {
        return Err("is longer than 254 characters");
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err("has no @");
    };
    if local.is_empty() {
        return Err("has nothing before the @");
    }
    if local.contains('@') {
        return Err("has more than one @");
    }
    if local.len() > 64 {
        return Err("has more than 64 characters before the @");
    }
    if !s.is_ascii() {
        return Err("contains non-ASCII characters");
    }
    if s.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err("contains a space");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("has a misplaced dot before the @");
    }
    let local_ok = local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    if !local_ok {
        return Err("has a character not allowed before the @");
    }
    if domain.is_empty() {
        return Err("has no domain after the @");
    }
    if domain.len() > 253 {
        return Err("has a domain longer than 253 characters");
    }
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        labels += 1;
        if label.is_empty() {
            return Err("has an empty part in the domain (a misplaced dot)");
        }
        if label.len() > 63 {
            return Err("has a domain part longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a domain part starting or ending with -");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("has a character not allowed in the domain");
        }
        last = label;
    }
    if labels < 2 {
        return Err("has no dot in the domain");
    }
    let tld_ok = (last.len() >= 2 && last.bytes().all(|b| b.is_ascii_alphabetic()))
        || last.starts_with("xn--");
    if !tld_ok {
        return Err("has an invalid top-level domain");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for e in [
            "ana.lima@example.com",
            "a@b.co",
            "first+tag@sub.example.org",
            "o'brien@example.ie",
            "x_y-z@xn--bcher-kva.example",
        ] {
            assert_eq!(check_email(e), Ok(()), "{e}");
        }
    }

    #[test]
    fn rejects_bad_addresses() {
        for e in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "a@b..com",
            "a@-b.com",
            "a@b-.com",
            "a@b.c",
            "a@b.c0m",
            "\"q\"@b.com",
            "a@[192.168.0.1]",
            "jos\u{e9}@b.com",
            "a,b@c.com",
        ] {
            assert!(check_email(e).is_err(), "{e}");
        }
        let long = format!("{}@b.com", "a".repeat(65));
        assert!(check_email(&long).is_err());
    }

    proptest::proptest! {
        /// The one-pass fast path never accepts what the full check refuses.
        #[test]
        fn fast_path_accepts_only_what_judge_accepts(s in "[a-zA-Z0-9.@+_'-]{0,24}(\\.[a-z0-9-]{0,4}){0,2}|[a-z.]{1,6}@[a-z0-9.-]{0,12}") {
            if plain_ok(s.as_bytes()) {
                proptest::prop_assert_eq!(judge(&s), Ok(()));
            }
        }

        /// And for the usual shape it gives the same verdict as the full check.
        #[test]
        fn fast_path_agrees_on_usual_shapes(s in "[a-z]{1,8}(\\.[a-z0-9]{1,5})?@[a-z]{1,8}\\.[a-z]{2,4}") {
            proptest::prop_assert_eq!(plain_ok(s.as_bytes()), judge(&s).is_ok());
        }
    }
}
