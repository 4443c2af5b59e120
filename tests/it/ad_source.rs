//! The LDAP source against a real Active Directory: a Samba AD DC started by
//! `common::samba` (one at a time; these tests serialise on it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use scimport::source::ldap::{Directory, LdapBind, LdapError, LdapSpec, read_directory};
use secrecy::SecretString;

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

/// The attributes the tests ask for (the mapping's columns, in practice).
const ATTRS: [&str; 9] = [
    "sAMAccountName",
    "userPrincipalName",
    "objectGUID",
    "userAccountControl",
    "mail",
    "employeeID",
    "title",
    "department",
    "manager",
];

/// 23 users: more than four pages of five.
const STAFF: usize = 23;

/// A search of `OU=Staff` over LDAPS as Administrator, verified with the test CA,
/// five entries a page.
fn spec(dc: &SambaDc) -> LdapSpec {
    let mut spec = dc.ldap_spec();
    spec.page_size = 5;
    spec.attributes = ATTRS.iter().map(|a| a.to_string()).collect();
    spec.timeout = Duration::from_secs(30);
    spec
}

async fn read(spec: &LdapSpec) -> Result<Directory, LdapError> {
    read_directory(spec, &|_| {}).await
}

/// The records of `dir` by sAMAccountName, each as column → value.
fn by_sam(dir: &Directory) -> BTreeMap<String, BTreeMap<String, String>> {
    dir.records
        .iter()
        .map(|r| {
            let cols: BTreeMap<String, String> = dir
                .header
                .iter()
                .cloned()
                .zip(r.fields.iter().cloned())
                .collect();
            let sam = cols
                .get("sAMAccountName")
                .unwrap_or_else(|| panic!("no sAMAccountName column in {:?}", dir.header))
                .clone();
            (sam, cols)
        })
        .collect()
}

/// `col` of the user `sam`, with the header in the message when it is missing.
fn col<'a>(users: &'a BTreeMap<String, BTreeMap<String, String>>, sam: &str, col: &str) -> &'a str {
    let user = users.get(sam).unwrap_or_else(|| panic!("{sam} not read"));
    user.get(col)
        .unwrap_or_else(|| panic!("{sam} has no column {col}: {:?}", user.keys()))
}

#[tokio::test]
async fn ldaps_with_the_ca_reads_every_staff_user_in_pages() {
    let users = UserSpec::staff(STAFF);
    let dc = SambaDc::start(&users);
    let seen = AtomicU64::new(0);
    let dir = read_directory(&spec(&dc), &|n| {
        seen.fetch_max(n, Ordering::SeqCst);
    })
    .await
    .unwrap_or_else(|e| panic!("read over LDAPS with the CA: {}", chain(&e)));
    let got = by_sam(&dir);
    let want: Vec<String> = users.iter().map(|u| u.sam.clone()).collect();
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), want);
    assert_eq!(dir.records.len(), STAFF, "each entry once");
    assert!(
        dir.pages >= 5,
        "23 entries at 5 a page take 5 pages, got {}",
        dir.pages
    );
    assert_eq!(dir.referrals_skipped, 0, "no references under OU=Staff");
    assert!(seen.load(Ordering::SeqCst) > 0, "progress was reported");
    for u in &users {
        assert_eq!(col(&got, &u.sam, "dn"), u.dn());
        assert_eq!(col(&got, &u.sam, "mail"), u.mail);
        assert_eq!(col(&got, &u.sam, "employeeID"), u.employee_id);
        assert_eq!(col(&got, &u.sam, "userPrincipalName"), u.upn());
    }
}

#[tokio::test]
async fn ldaps_without_the_ca_is_refused() {
    let dc = SambaDc::start(&UserSpec::staff(2));
    let mut spec = spec(&dc);
    spec.ca_file = None;
    let err = read(&spec)
        .await
        .expect_err("a DC whose certificate no trusted CA signed is refused");
    let text = chain(&err).to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("tls"),
        "the error names TLS or the certificate: {text}"
    );
}

#[tokio::test]
async fn a_search_from_the_domain_root_skips_continuation_references() {
    let users = UserSpec::staff(4);
    let dc = SambaDc::start(&users);
    let mut spec = spec(&dc);
    spec.base_dn = dc.domain_dn();
    spec.filter = "(&(objectClass=user)(sAMAccountName=user*))".to_string();
    let dir = read(&spec)
        .await
        .unwrap_or_else(|e| panic!("references are skipped, not errors: {}", chain(&e)));
    assert!(
        dir.referrals_skipped > 0,
        "Samba refers to CN=Configuration from the domain root"
    );
    assert_eq!(by_sam(&dir).len(), users.len());
}

#[tokio::test]
async fn object_guid_is_the_string_the_dc_reports() {
    let users = UserSpec::staff(3);
    let dc = SambaDc::start(&users);
    let dir = read(&spec(&dc)).await.expect("read");
    let got = by_sam(&dir);
    for u in &users {
        let guid = col(&got, &u.sam, "objectGUID");
        assert_eq!(guid, dc.object_guid(&u.sam), "{}", u.sam);
        assert_eq!(guid, guid.to_lowercase());
    }
}

#[tokio::test]
async fn a_disabled_account_is_not_enabled() {
    let mut users = UserSpec::staff(4);
    users[2].disabled = true; // loaded disabled
    let dc = SambaDc::start(&users);
    dc.disable("user0004"); // disabled during the test
    let got = by_sam(&read(&spec(&dc)).await.expect("read"));
    for (sam, uac, enabled) in [
        ("user0001", "544", "true"),
        ("user0002", "544", "true"),
        ("user0003", "546", "false"),
        ("user0004", "546", "false"),
    ] {
        assert_eq!(col(&got, sam, "userAccountControl"), uac, "{sam}");
        assert_eq!(col(&got, sam, "accountEnabled"), enabled, "{sam}");
    }
    dc.enable("user0004");
    let got = by_sam(&read(&spec(&dc)).await.expect("read"));
    assert_eq!(col(&got, "user0004", "accountEnabled"), "true");
}

#[tokio::test]
async fn manager_holds_the_managers_dn() {
    let users = UserSpec::staff(9);
    let dc = SambaDc::start(&users);
    let got = by_sam(&read(&spec(&dc)).await.expect("read"));
    assert_eq!(col(&got, "user0001", "manager"), "");
    // user i reports to user i / 4: a chain user0009 → user0002 → user0001.
    assert_eq!(col(&got, "user0009", "manager"), dc.dn_of("user0002"));
    assert_eq!(col(&got, "user0002", "manager"), dc.dn_of("user0001"));
    assert_eq!(col(&got, "user0002", "manager"), users[0].dn());
}

#[tokio::test]
async fn a_re_created_account_has_a_new_object_guid() {
    let users = UserSpec::staff(3);
    let dc = SambaDc::start(&users);
    let before = by_sam(&read(&spec(&dc)).await.expect("read"));
    dc.delete("user0003");
    dc.add_user(&users[2]);
    let after = by_sam(&read(&spec(&dc)).await.expect("read"));
    for c in ["dn", "mail", "employeeID", "userPrincipalName", "manager"] {
        assert_eq!(
            col(&before, "user0003", c),
            col(&after, "user0003", c),
            "{c}"
        );
    }
    assert_ne!(
        col(&before, "user0003", "objectGUID"),
        col(&after, "user0003", "objectGUID"),
        "same account name, mail and employeeID, but a new objectGUID"
    );
    assert_eq!(
        col(&after, "user0003", "objectGUID"),
        dc.object_guid("user0003")
    );
    assert_eq!(
        col(&before, "user0002", "objectGUID"),
        col(&after, "user0002", "objectGUID"),
        "the others keep theirs"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_bind_error_that_does_not_show_it() {
    let dc = SambaDc::start(&UserSpec::staff(2));
    let wrong = "Wr0ng-Pa55word-q7Zk";
    let mut spec = spec(&dc);
    spec.bind = Some(LdapBind {
        dn: dc.bind_dn(),
        password: SecretString::from(wrong.to_string()),
    });
    let err = read(&spec).await.expect_err("a wrong password is refused");
    let text = format!("{} {err:?}", chain(&err));
    assert!(matches!(err, LdapError::Bind { .. }), "{text}");
    assert!(!text.contains(wrong), "the password leaked: {text}");
}

#[tokio::test]
async fn a_simple_bind_over_plain_ldap_is_refused_and_starttls_works() {
    let dc = SambaDc::start(&UserSpec::staff(2));
    let mut spec = spec(&dc);
    spec.url = dc.ldap_url();
    let err = read(&spec)
        .await
        .expect_err("AD refuses a simple bind without transport encryption");
    assert!(matches!(err, LdapError::Bind { .. }), "{}", chain(&err));
    spec.starttls = true;
    let dir = read(&spec)
        .await
        .unwrap_or_else(|e| panic!("StartTLS with the CA: {}", chain(&e)));
    assert_eq!(dir.records.len(), 2);
}

/// The DC killed after the first page: the read is an error, never a short
/// directory (a sync must not take the entries it saw for the whole).
#[tokio::test]
async fn a_dc_killed_in_the_middle_of_the_read_is_an_incomplete_read() {
    let dc = SambaDc::start(&UserSpec::staff(STAFF));
    let killer = dc.killer();
    let first_page = AtomicU64::new(0);
    let err = read_directory(&spec(&dc), &|n| {
        if first_page
            .compare_exchange(0, n, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            killer.kill();
        }
    })
    .await
    .expect_err("the DC died before the last page");
    let seen = first_page.load(Ordering::SeqCst);
    assert!(
        seen > 0 && seen < STAFF as u64,
        "killed after a page of {seen}"
    );
    assert!(err.incomplete_read(), "{}", chain(&err));
}

/// fixtures/ad-mapping.toml over a real AD read: every row maps without error,
/// the anchor is the DC's objectGUID, a disabled account is inactive, the
/// manager is a DN, a blank phone is no error and a set one is mapped.
#[tokio::test]
async fn the_ad_mapping_fixture_maps_a_samba_read() {
    let mut users = UserSpec::staff(6);
    users[3].disabled = true;
    users[4]
        .extra
        .push(("telephoneNumber".into(), "(415) 555-0104".into()));
    users[4].mail = "Mixed.Case@CORP.example.com".into();
    let dc = SambaDc::start(&users);
    let mapping = scimport::mapping::Mapping::load(&crate::common::fixture("ad-mapping.toml"))
        .expect("fixtures/ad-mapping.toml loads");
    let mut spec = spec(&dc);
    spec.attributes = mapping.columns().iter().map(|c| c.to_string()).collect();
    spec.attributes.push("sAMAccountName".into());
    let dir = read(&spec).await.expect("read");
    let header = scimport::source::Header::new(dir.header.clone());
    let bound = mapping
        .bind(&header, None)
        .unwrap_or_else(|missing| panic!("columns missing from {:?}: {missing:?}", dir.header));
    let sam_at = dir
        .header
        .iter()
        .position(|h| h == "sAMAccountName")
        .expect("sAMAccountName column");
    let mut mapped = BTreeMap::new();
    for r in &dir.records {
        let fields: Vec<&str> = r.fields.iter().map(String::as_str).collect();
        let (du, errors) = bound.map(r.row, &fields);
        assert!(errors.is_empty(), "row {}: {errors:?}", r.row);
        mapped.insert(r.fields[sam_at].clone(), du);
    }
    assert_eq!(mapped.len(), users.len());
    for u in &users {
        let du = &mapped[&u.sam];
        assert_eq!(du.external_id(), Some(u.employee_id.as_str()), "{}", u.sam);
        assert_eq!(
            du.user_name(),
            Some(u.mail.to_lowercase().as_str()),
            "{}",
            u.sam
        );
        assert_eq!(du.anchor.as_deref(), Some(dc.object_guid(&u.sam).as_str()));
        assert_eq!(du.user.active, Some(!u.disabled), "{}", u.sam);
        assert_eq!(du.user.display_name.as_deref(), Some(u.cn().as_str()));
    }
    let manager = |sam: &str| {
        mapped[sam]
            .user
            .enterprise
            .as_ref()
            .and_then(|e| e.manager.as_ref())
            .map(|m| m.value.clone())
    };
    assert_eq!(manager("user0005"), Some(dc.dn_of("user0001")));
    let phones = &mapped["user0005"].user.phone_numbers;
    assert!(
        phones
            .iter()
            .any(|p| p.kind.as_deref() == Some("work") && p.value.contains("4155550104")),
        "{phones:?}"
    );
}

/// A DC can move to another thread (e.g. into `spawn_blocking` or a task).
#[test]
fn harness_dc_is_send() {
    fn send<T: Send>() {}
    send::<SambaDc>();
}

/// More users than one page at the reader's default page size (500): 1,200 users
/// come back in three pages, each once.
#[tokio::test]
async fn more_users_than_a_default_page_read_in_pages() {
    let users = UserSpec::staff(1200);
    let dc = SambaDc::start(&users);
    let mut spec = dc.ldap_spec();
    spec.attributes = vec!["sAMAccountName".into(), "objectGUID".into()];
    let dir = read(&spec).await.expect("read 1,200 users");
    assert_eq!(spec.page_size, 500);
    assert_eq!(dir.records.len(), 1200);
    assert_eq!(by_sam(&dir).len(), 1200, "each user once");
    assert!(
        dir.pages >= 3,
        "1,200 at 500 a page is 3 pages, got {}",
        dir.pages
    );
}
