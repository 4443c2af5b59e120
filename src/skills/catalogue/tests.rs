use super::*;
use crate::scim::model::{GenesysUser, Proficiency, User};

fn catalogue() -> Catalogue {
    let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    Catalogue {
        skills: set(&["Billing", "Sales", "Technical Support", "VIP"]),
        languages: Some(set(&["English", "German"])),
    }
}

const MAPPING: &str = r#"
keys = ["userName"]
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "name"
[[field]]
path = "genesys.routingSkills"
column = "department"
table = { Sales = "Sales:3;billing:2", Support = "Technical Suport:4", Desk = "Billing:1" }
[[field]]
path = "genesys.routingSkills"
value = "billing:1"
[[field]]
path = "genesys.routingLanguages"
column = "languages"
default = "Englsh:5"
"#;

#[test]
fn every_name_of_the_file_is_collected_once_per_field() {
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let names: Vec<(Kind, String)> = mapping_names(&m)
        .into_iter()
        .map(|n| (n.kind, n.name))
        .collect();
    assert_eq!(
        names,
        vec![
            (Kind::Skill, "Billing".to_string()),
            (Kind::Skill, "Sales".to_string()),
            (Kind::Skill, "Technical Suport".to_string()),
            (Kind::Skill, "billing".to_string()),
            (Kind::Skill, "billing".to_string()),
            (Kind::Language, "Englsh".to_string()),
        ]
    );
}

#[test]
fn every_unknown_name_is_named_once_with_its_fields_and_the_closest_names() {
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let unknown = catalogue().check_mapping(&m);
    let got: Vec<(&str, Vec<String>, Vec<String>)> = unknown
        .iter()
        .map(|u| (u.name.as_str(), u.fields.clone(), u.suggestions.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "Technical Suport",
                vec!["[[field]] #3 (department)".to_string()],
                vec!["Technical Support".to_string()]
            ),
            (
                "billing",
                vec![
                    "[[field]] #3 (department)".to_string(),
                    "[[field]] #4".to_string()
                ],
                vec!["Billing".to_string()]
            ),
            (
                "Englsh",
                vec!["[[field]] #5 (languages)".to_string()],
                vec!["English".to_string()]
            ),
        ]
    );
    let text = unknown[1].to_string();
    assert!(text.contains("skill `billing`"), "{text}");
    assert!(text.contains("did you mean `Billing`?"), "{text}");
}

#[test]
fn languages_are_not_judged_when_the_target_does_not_list_them() {
    let m = Mapping::from_toml_str(MAPPING).unwrap();
    let cat = Catalogue {
        languages: None,
        ..catalogue()
    };
    assert!(cat.check_mapping(&m).iter().all(|u| u.kind == Kind::Skill));
}

#[test]
fn a_row_naming_unknown_names_gets_one_error_each() {
    let p = |n: &str| Proficiency {
        name: n.into(),
        proficiency: 3.0,
    };
    let du = DesiredUser {
        row: 7,
        user: User {
            genesys: Some(GenesysUser {
                routing_skills: vec![p("Sales"), p("sales"), p("Underwriting")],
                routing_languages: vec![p("English"), p("german")],
                ..GenesysUser::default()
            }),
            ..User::default()
        },
        ..DesiredUser::default()
    };
    let errors = catalogue().check_user(&du);
    let got: Vec<(ErrorKind, Option<&str>, &str)> = errors
        .iter()
        .map(|e| (e.kind, e.value.as_deref(), e.fix.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                ErrorKind::UnknownSkill,
                Some("sales"),
                "did you mean `Sales`? (fix the name, or create the skill in Genesys first)"
            ),
            (
                ErrorKind::UnknownSkill,
                Some("Underwriting"),
                "fix: use an existing skill, or create the skill in Genesys first"
            ),
            (
                ErrorKind::UnknownLanguage,
                Some("german"),
                "did you mean `German`? (fix the name, or create the language in Genesys first)"
            ),
        ]
    );
    assert!(errors.iter().all(|e| e.row == 7));
    let clean = DesiredUser::default();
    assert!(catalogue().check_user(&clean).is_empty());
}
