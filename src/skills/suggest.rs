//! The closest existing names to an unknown one: Genesys's skill and language
//! names are case-sensitive, so `billing` for `Billing` must be suggested, and a
//! typo (`Biling`) too. Pure.

/// At most this many suggestions.
const MAX_SUGGESTIONS: usize = 3;

/// The names of `known` closest to `name`: a case-insensitive match first, then
/// names within a small edit distance (a third of the name's length, at least 2),
/// nearest first, at most three.
pub fn closest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Vec<String> {
    let want = name.trim().to_lowercase();
    let limit = (want.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .filter(|k| *k != name)
        .filter_map(|k| {
            let d = distance(&want, &k.to_lowercase());
            (d <= limit).then_some((d, k))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, k)| k.to_string())
        .collect()
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let swap = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = swap.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOGUE: [&str; 8] = [
        "Billing",
        "Sales",
        "Retention",
        "Technical Support",
        "Claims",
        "Collections",
        "Onboarding",
        "VIP",
    ];

    #[test]
    fn a_case_difference_is_suggested_first() {
        assert_eq!(closest("billing", CATALOGUE), vec!["Billing"]);
        assert_eq!(closest("vip", CATALOGUE), vec!["VIP"]);
        assert_eq!(
            closest("technical support", CATALOGUE),
            vec!["Technical Support"]
        );
    }

    #[test]
    fn typos_are_suggested_nearest_first() {
        assert_eq!(closest("Biling", CATALOGUE), vec!["Billing"]);
        assert_eq!(closest("Retension", CATALOGUE), vec!["Retention"]);
        assert_eq!(
            closest("Technical Suport", CATALOGUE),
            vec!["Technical Support"]
        );
        assert_eq!(closest("Sale", CATALOGUE), vec!["Sales"]);
    }

    #[test]
    fn nothing_close_suggests_nothing() {
        assert!(closest("Underwriting", CATALOGUE).is_empty());
        assert!(closest("Xy", CATALOGUE).is_empty());
    }

    #[test]
    fn distance_is_levenshtein() {
        for (a, b, d) in [
            ("", "", 0),
            ("abc", "", 3),
            ("kitten", "sitting", 3),
            ("flaw", "lawn", 2),
            ("ñandú", "nandu", 2),
        ] {
            assert_eq!(distance(a, b), d, "{a} {b}");
            assert_eq!(distance(b, a), d, "{b} {a}");
        }
    }
}
