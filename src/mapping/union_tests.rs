//! Skills and languages from several rules (issue 17): rules of one list path are
//! unioned, the higher proficiency wins on a name both give, and the complete
//! example fixtures/skills-mapping.toml maps hr_export.csv rows as documented.

use super::*;
use crate::scim::model::Proficiency;
use crate::source::Header;

fn skills_fixture() -> Mapping {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/skills-mapping.toml");
    Mapping::load(&path).unwrap()
}

fn header() -> Header {
    Header::new(EXAMPLE_HEADER.iter().map(|s| s.to_string()).collect())
}

/// An hr_export.csv row with the columns the skills rules read.
fn row(dept: &str, title: &str, location: &str, languages: &str) -> Vec<String> {
    let mut r: Vec<String> = vec![String::new(); EXAMPLE_HEADER.len()];
    let mut set = |name: &str, v: &str| {
        let i = EXAMPLE_HEADER.iter().position(|h| *h == name).unwrap();
        r[i] = v.to_string();
    };
    set("employee_id", "E1");
    set("first_name", "Ada");
    set("last_name", "Lovelace");
    set("email", "ada@example.com");
    set("status", "active");
    set("title", title);
    set("department", dept);
    set("location", location);
    set("languages", languages);
    r
}

fn p(name: &str, proficiency: f64) -> Proficiency {
    Proficiency {
        name: name.into(),
        proficiency,
    }
}

fn map(m: &Mapping, fields: &[String]) -> (DesiredUser, Vec<crate::model::RowError>) {
    let h = header();
    let b = m.bind(&h, None).unwrap();
    let f: Vec<&str> = fields.iter().map(String::as_str).collect();
    b.map(1, &f)
}

#[test]
fn the_fixture_combines_department_and_level_and_adds_the_location() {
    let m = skills_fixture();
    // Claims/Team Lead gives Claims:5, Billing:3, Onboarding:3; Remote adds
    // Onboarding:1, which loses to the 3 already there.
    let (du, errors) = map(&m, &row("Claims", "Team Lead", "Remote", "English:5"));
    assert!(errors.is_empty(), "{errors:?}");
    let g = du.user.genesys.unwrap();
    assert_eq!(
        g.routing_skills,
        vec![p("Claims", 5.0), p("Billing", 3.0), p("Onboarding", 3.0)]
    );
    assert_eq!(g.routing_languages, vec![p("English", 5.0)]);
    // Sales/Agent in Singapore: Sales:2 and VIP:3; Berlin's German:4 loses to the
    // export's German:5, Madrid's Spanish is added.
    let (du, errors) = map(
        &m,
        &row("sales", "agent", "Singapore", "English:5;German:5"),
    );
    assert!(errors.is_empty(), "{errors:?}");
    let g = du.user.genesys.unwrap();
    assert_eq!(g.routing_skills, vec![p("Sales", 2.0), p("VIP", 3.0)]);
    let (du, _) = map(&m, &row("Support", "Agent", "Berlin", "English:5;German:5"));
    let g = du.user.genesys.unwrap();
    assert_eq!(
        g.routing_languages,
        vec![p("English", 5.0), p("German", 5.0)]
    );
    assert_eq!(g.routing_skills, vec![p("Technical Support", 2.0)]);
    let (du, _) = map(&m, &row("Support", "Agent", "Madrid", "English:5"));
    let g = du.user.genesys.unwrap();
    assert_eq!(
        g.routing_languages,
        vec![p("English", 5.0), p("Spanish", 4.0)]
    );
}

#[test]
fn a_pair_missing_from_the_combined_table_fails_the_row() {
    let m = skills_fixture();
    let (_, errors) = map(&m, &row("Legal", "Agent", "Remote", "English:5"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, crate::model::ErrorKind::UnmappedValue);
}

#[test]
fn the_fixture_maps_every_row_of_hr_export() {
    let m = skills_fixture();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hr_export.csv");
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = Header::new(r.headers().unwrap().iter().map(String::from).collect());
    let b = m.bind(&h, None).unwrap();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        let f: Vec<&str> = rec.iter().collect();
        let (du, errors) = b.map(i as u64 + 1, &f);
        // hr_export.csv keeps a few broken cells on purpose (`Spanish:abc`);
        // the skills rules themselves fit every row.
        let skills = Target::RoutingSkills.path();
        assert!(
            errors
                .iter()
                .all(|e| e.path.as_deref() != Some(skills.as_str())),
            "row {}: {errors:?}",
            i + 1
        );
        assert!(!du.user.genesys.unwrap().routing_skills.is_empty());
    }
}

const TWO_RULES: &str = r#"
keys = ["userName"]
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "first_name"
[[field]]
path = "genesys.routingSkills"
column = "skills"
blank = "clear"
[[field]]
path = "genesys.routingSkills"
column = "location"
unmapped = "blank"
table = { Remote = "Onboarding:2;Billing:1" }
"#;

#[test]
fn rules_of_one_path_are_unioned_and_the_higher_proficiency_wins() {
    let m = Mapping::from_toml_str(TWO_RULES).unwrap();
    let mut r = row("Sales", "Agent", "Remote", "");
    let skills = EXAMPLE_HEADER.iter().position(|h| *h == "skills").unwrap();
    r[skills] = "Billing:4;Sales:3".into();
    let (du, errors) = map(&m, &r);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        du.user.genesys.unwrap().routing_skills,
        vec![p("Billing", 4.0), p("Sales", 3.0), p("Onboarding", 2.0)]
    );
    // The first rule blank with `clear`, the second gives items: the items are
    // the list, nothing is cleared.
    r[skills] = String::new();
    let (du, _) = map(&m, &r);
    assert!(du.clear.is_empty(), "{:?}", du.clear);
    assert_eq!(
        du.user.genesys.unwrap().routing_skills,
        vec![p("Onboarding", 2.0), p("Billing", 1.0)]
    );
    // Both give nothing: the blank rule's `clear` stands.
    let mut r = row("Sales", "Agent", "Berlin", "");
    r[skills] = String::new();
    let (du, _) = map(&m, &r);
    assert_eq!(du.clear.len(), 1, "{:?}", du.clear);
}

#[test]
fn a_name_twice_in_one_rule_is_still_kept_twice_for_validation() {
    let m = Mapping::from_toml_str(TWO_RULES).unwrap();
    let mut r = row("Sales", "Agent", "Berlin", "");
    let skills = EXAMPLE_HEADER.iter().position(|h| *h == "skills").unwrap();
    r[skills] = "Billing:4;Billing:3".into();
    let (du, _) = map(&m, &r);
    assert_eq!(du.user.genesys.unwrap().routing_skills.len(), 2);
}

#[test]
fn only_skill_and_language_paths_may_repeat_and_they_share_a_policy() {
    let twice_title = "keys = [\"userName\"]\n[[field]]\npath = \"userName\"\ncolumn = \"e\"\n\
        [[field]]\npath = \"displayName\"\ncolumn = \"d\"\n[[field]]\npath = \"title\"\n\
        column = \"a\"\n[[field]]\npath = \"title\"\ncolumn = \"b\"\n";
    let err = Mapping::from_toml_str(twice_title).unwrap_err().to_string();
    assert!(err.contains("`title` is mapped twice"), "{err}");
    let policies = format!("{TWO_RULES}conflict = \"target-wins\"\n");
    let err = Mapping::from_toml_str(&policies).unwrap_err().to_string();
    assert!(err.contains("must share one `conflict` policy"), "{err}");
    let m = Mapping::from_toml_str(TWO_RULES).unwrap();
    let skills_path = Target::RoutingSkills.path();
    let listed = m
        .conflict_policies()
        .into_iter()
        .filter(|(p, _)| *p == skills_path)
        .count();
    assert_eq!(listed, 1);
}
