//! Test users for the Samba DC and their LDIF: one `UserSpec` per account, the
//! `ldbadd` file that loads a list (the `OU=Staff` unit, then managers before
//! their reports), and a deterministic staff generator.
//!
//! Pure: builds text, runs nothing.

use std::collections::{HashMap, HashSet};

use super::{DNS_DOMAIN, STAFF_DN};

/// One AD account under `OU=Staff`. Its CN is `"{given} {sn}"`, so keep those
/// pairs unique within a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    /// `sAMAccountName` (the UPN is `{sam}@corp.example.com`).
    pub sam: String,
    /// `givenName`.
    pub given: String,
    /// `sn`.
    pub sn: String,
    /// `mail`.
    pub mail: String,
    /// `employeeID` (left out when empty).
    pub employee_id: String,
    /// `title` (left out when empty).
    pub title: String,
    /// `department` (left out when empty).
    pub department: String,
    /// The manager's `sam` (written as the manager's DN).
    pub manager: Option<String>,
    /// Loaded disabled (userAccountControl 546 instead of 544).
    pub disabled: bool,
    /// Further attributes, e.g. `("telephoneNumber", "+1 415 555 0100")`.
    pub extra: Vec<(String, String)>,
}

impl UserSpec {
    /// A user with a mail of `{given}.{sn}@corp.example.com` (lower case) and
    /// nothing else set.
    pub fn new(sam: &str, given: &str, sn: &str) -> UserSpec {
        UserSpec {
            sam: sam.to_string(),
            given: given.to_string(),
            sn: sn.to_string(),
            mail: format!(
                "{}.{}@{DNS_DOMAIN}",
                given.to_lowercase(),
                sn.to_lowercase()
            ),
            employee_id: String::new(),
            title: String::new(),
            department: String::new(),
            manager: None,
            disabled: false,
            extra: Vec::new(),
        }
    }

    /// `n` users `user0001…`, employee ids `E0001…`, titles and departments
    /// cycling; user 1 has no manager, user i > 1 reports to user `i / 4` (a tree
    /// three levels deep for 23 users).
    pub fn staff(n: usize) -> Vec<UserSpec> {
        const FIRST: [&str; 8] = [
            "Ana", "Ben", "Chloe", "Dev", "Eva", "Farid", "Grace", "Hugo",
        ];
        const DEPT: [&str; 4] = ["Support", "Sales", "Billing", "Claims"];
        const TITLE: [&str; 3] = ["Agent", "Senior Agent", "Team Lead"];
        (1..=n)
            .map(|i| {
                let mut u = UserSpec::new(
                    &format!("user{i:04}"),
                    FIRST[i % FIRST.len()],
                    &format!("Staff{i:04}"),
                );
                u.employee_id = format!("E{i:04}");
                u.title = TITLE[i % TITLE.len()].to_string();
                u.department = DEPT[i % DEPT.len()].to_string();
                u.manager = (i > 1).then(|| format!("user{:04}", (i / 4).max(1)));
                u
            })
            .collect()
    }

    /// `CN={given} {sn}`.
    pub fn cn(&self) -> String {
        format!("{} {}", self.given, self.sn)
    }

    /// The entry's DN under `OU=Staff`.
    pub fn dn(&self) -> String {
        format!("CN={},{STAFF_DN}", escape_rdn(&self.cn()))
    }

    /// `userPrincipalName`.
    pub fn upn(&self) -> String {
        format!("{}@{DNS_DOMAIN}", self.sam)
    }

    /// The add record for this user, `manager_dn` being its manager's DN.
    pub fn ldif(&self, manager_dn: Option<&str>) -> String {
        let mut out = format!("dn: {}\nobjectClass: user\n", self.dn());
        let mut put = |attr: &str, value: &str| {
            if !value.is_empty() {
                out.push_str(&attr_line(attr, value));
                out.push('\n');
            }
        };
        put("sAMAccountName", &self.sam);
        put("userPrincipalName", &self.upn());
        put("displayName", &self.cn());
        put("givenName", &self.given);
        put("sn", &self.sn);
        put("mail", &self.mail);
        put("employeeID", &self.employee_id);
        put("title", &self.title);
        put("department", &self.department);
        put("manager", manager_dn.unwrap_or_default());
        put(
            "userAccountControl",
            if self.disabled { "546" } else { "544" },
        );
        for (attr, value) in &self.extra {
            put(attr, value);
        }
        out.push('\n');
        out
    }
}

/// The `ldbadd` file for `users`: `OU=Staff`, then every user after its manager.
/// Panics on a manager outside the list or a manager cycle (load those, then set
/// `manager` with `SambaDc::set_attr`).
pub fn ldif(users: &[UserSpec]) -> String {
    let by_sam: HashMap<&str, &UserSpec> = users.iter().map(|u| (u.sam.as_str(), u)).collect();
    assert_eq!(
        by_sam.len(),
        users.len(),
        "duplicate sAMAccountName in the user list"
    );
    let mut out = format!("dn: {STAFF_DN}\nobjectClass: organizationalUnit\nou: Staff\n\n");
    let mut done: HashSet<&str> = HashSet::new();
    for user in users {
        let mut chain = Vec::new();
        let mut cur = Some(user);
        while let Some(u) = cur.filter(|u| !done.contains(u.sam.as_str())) {
            assert!(
                !chain.iter().any(|c: &&UserSpec| c.sam == u.sam),
                "manager cycle through {}: load it, then set manager with SambaDc::set_attr",
                u.sam
            );
            chain.push(u);
            cur = u.manager.as_deref().map(|m| {
                *by_sam
                    .get(m)
                    .unwrap_or_else(|| panic!("{}'s manager {m} is not in the list", u.sam))
            });
        }
        for u in chain.into_iter().rev() {
            let manager_dn = u.manager.as_deref().map(|m| by_sam[m].dn());
            out.push_str(&u.ldif(manager_dn.as_deref()));
            done.insert(u.sam.as_str());
        }
    }
    out
}

/// `attr: value`, or `attr:: base64` when LDIF cannot carry the value as is.
pub fn attr_line(attr: &str, value: &str) -> String {
    let safe = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ');
    if safe {
        format!("{attr}: {value}")
    } else {
        use base64::Engine;
        format!(
            "{attr}:: {}",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// Escapes the characters RFC 4514 reserves in an RDN value.
fn escape_rdn(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[test]
fn managers_come_before_their_reports() {
    let mut users = UserSpec::staff(3);
    users.reverse();
    let text = ldif(&users);
    let pos = |sam: &str| text.find(&format!("sAMAccountName: {sam}\n")).expect(sam);
    assert!(text.starts_with("dn: OU=Staff,"));
    assert!(pos("user0001") < pos("user0002"));
    assert!(pos("user0001") < pos("user0003"));
    assert_eq!(text.matches("objectClass: user\n").count(), 3);
    assert!(text.contains("manager: CN=Ben Staff0001,OU=Staff,DC=corp,DC=example,DC=com\n"));
}

#[test]
fn non_ascii_values_are_base64() {
    assert_eq!(attr_line("sn", "Lima"), "sn: Lima");
    assert_eq!(attr_line("sn", "Müller"), "sn:: TcO8bGxlcg==");
}
