use super::*;
use crate::scim::model::GenesysUser;

fn p(name: &str, proficiency: f64) -> Proficiency {
    Proficiency {
        name: name.into(),
        proficiency,
    }
}

#[test]
fn equal_lists_match_whatever_the_order() {
    let got = compare(
        &[p("Billing", 4.0), p("Sales", 3.0)],
        &[p("Sales", 3.0), p("Billing", 4.0)],
    );
    assert_eq!(
        got,
        vec![
            ("Billing".into(), Some(4.0), Some(4.0), None),
            ("Sales".into(), Some(3.0), Some(3.0), None),
        ]
    );
}

#[test]
fn missing_unexpected_and_proficiency_are_told_apart() {
    let got = compare(
        &[p("Billing", 4.0), p("Sales", 3.0), p("VIP", 2.0)],
        &[p("Sales", 2.5), p("billing", 4.0), p("Claims", 1.0)],
    );
    assert_eq!(
        got,
        vec![
            // Names are case-sensitive: `billing` is not `Billing`.
            ("Billing".into(), Some(4.0), None, Some(Problem::Missing)),
            (
                "Sales".into(),
                Some(3.0),
                Some(2.5),
                Some(Problem::Proficiency)
            ),
            ("VIP".into(), Some(2.0), None, Some(Problem::Missing)),
            ("Claims".into(), None, Some(1.0), Some(Problem::Unexpected)),
            ("billing".into(), None, Some(4.0), Some(Problem::Unexpected)),
        ]
    );
}

#[test]
fn nothing_asked_and_nothing_held_is_no_row() {
    assert!(compare(&[], &[]).is_empty());
}

#[test]
fn a_row_asks_its_list_none_after_clear_and_nothing_when_unmanaged() {
    let mut du = DesiredUser::default();
    assert_eq!(asked(&du, Kind::Skill), None);
    du.user.genesys = Some(GenesysUser {
        routing_skills: vec![p("Billing", 4.0)],
        ..GenesysUser::default()
    });
    assert_eq!(asked(&du, Kind::Skill), Some(&[p("Billing", 4.0)][..]));
    assert_eq!(asked(&du, Kind::Language), None);
    du.clear.push(Kind::Language.target().path());
    assert_eq!(asked(&du, Kind::Language), Some(&[][..]));
}
