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
    let joiners = vec![UserSpec::new("joiner1", "Jo", "Iner"), {
        let mut u = UserSpec::new("joiner2", "Jay", "Iner");
        u.manager = Some("joiner1".to_string());
        u
    }];
    dc.add_users(&joiners);
    assert_eq!(dc.dn_of("joiner2"), joiners[1].dn());
    let text = dc.search(&dc.base_dn(), "(sAMAccountName=joiner2)", &["manager"]);
    assert!(
        text.contains(&format!("manager: {}", joiners[0].dn())),
        "{text}"
    );
    dc.disable("user0001");
    let text = dc.search(
        &dc.base_dn(),
        "(sAMAccountName=user0001)",
        &["userAccountControl"],
    );
    assert!(text.contains("userAccountControl: 546"), "{text}");
}

/// The harness's certificate is one a verifying rustls client (what the reader's
/// ldap3 uses) accepts with the test CA and refuses without it: the TLS handshake
/// on 636 succeeds (then HTTP fails, LDAP being no HTTP) or fails on the
/// certificate.
#[tokio::test]
async fn harness_ldaps_certificate_verifies_with_rustls() {
    let dc = SambaDc::start(&UserSpec::staff(1));
    let url = "https://127.0.0.1:636/";
    let pem = std::fs::read(dc.ca_pem()).expect("read ca.pem");
    let ca = reqwest::Certificate::from_pem(&pem).expect("a PEM certificate");
    let _ = crate::common::http();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("a client trusting the test CA");
    let err = trusting.get(url).send().await.expect_err("LDAP is no HTTP");
    let text = chain(&err);
    assert!(
        !err.is_connect() && !text.to_lowercase().contains("certificate"),
        "the handshake succeeds with the CA: {text}"
    );
    let err = crate::common::http()
        .get(url)
        .send()
        .await
        .expect_err("the test CA is no public CA");
    let text = chain(&err);
    assert!(
        err.is_connect() && text.to_lowercase().contains("certificate"),
        "the handshake fails on the certificate without the CA: {text}"
    );
}

/// An error and its sources, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}
