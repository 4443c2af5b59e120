//! The LDAP source against a real Active Directory: a Samba AD DC started by
//! `common::samba` (one at a time; these tests serialise on it).

use crate::common::samba::{SambaDc, UserSpec};

/// The harness itself: users loaded offline are served over LDAPS with the test
/// CA, managers as DNs, and a re-created account gets a new objectGUID.
#[test]
fn harness_serves_users_over_ldaps() {
    let mut users = UserSpec::staff(3);
    users[2].disabled = true;
    let dc = SambaDc::start(&users);
    let text = dc.search(
        &dc.base_dn(),
        "(sAMAccountName=user0003)",
        &["userAccountControl", "manager", "employeeID"],
    );
    assert!(text.contains("userAccountControl: 546"), "{text}");
    assert!(text.contains("employeeID: E0003"), "{text}");
    assert!(
        text.contains("manager: CN=Ben Staff0001,OU=Staff,DC=corp,DC=example,DC=com"),
        "{text}"
    );
    let before = dc.object_guid("user0002");
    assert_eq!(before.len(), 36, "{before}");
    dc.delete("user0002");
    dc.add_user(&users[1]);
    let after = dc.object_guid("user0002");
    assert_ne!(before, after, "a re-created account has a new objectGUID");
    dc.disable("user0001");
    let text = dc.search(
        &dc.base_dn(),
        "(sAMAccountName=user0001)",
        &["userAccountControl"],
    );
    assert!(text.contains("userAccountControl: 546"), "{text}");
}
