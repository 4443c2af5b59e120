//! The LDAP reader (`scimport::source::ldap::read_directory`) against a real slapd:
//! paging past the server's limits, the entry conversions, referrals, binds, TLS
//! (LDAPS and StartTLS with a verified test CA), and reads that must fail whole.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use scimport::source::ldap::{Directory, LdapBind, LdapError, LdapSpec, read_directory};
use secrecy::SecretString;

use crate::common::slapd::{
    self, ADMIN_DN, ADMIN_PASSWORD, BASE_DN, PEOPLE_DN, Slapd, SlapdOptions,
};

fn spec(url: &str) -> LdapSpec {
    let mut s = LdapSpec::new(url, PEOPLE_DN);
    s.timeout = std::time::Duration::from_secs(20);
    s
}

fn admin() -> Option<LdapBind> {
    Some(LdapBind {
        dn: ADMIN_DN.into(),
        password: SecretString::from(ADMIN_PASSWORD.to_string()),
    })
}

async fn read(spec: &LdapSpec) -> Result<Directory, LdapError> {
    read_directory(spec, &|_| {}).await
}

fn column<'a>(dir: &'a Directory, record: usize, name: &str) -> &'a str {
    let at = dir
        .header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", dir.header));
    &dir.records[record].fields[at]
}

fn record_of(dir: &Directory, dn: &str) -> usize {
    dir.records
        .iter()
        .position(|r| r.fields[0] == dn)
        .unwrap_or_else(|| panic!("no entry {dn}"))
}

#[tokio::test]
async fn paging_reads_every_entry_once_past_an_ad_like_page_cap() {
    // The server caps unpaged searches at 1,000 (like AD's MaxPageSize); pages of
    // 100 must still bring all 2,345 people, each once.
    let server = Slapd::start_with(
        &slapd::people_ldif(2345),
        SlapdOptions {
            sizelimit: Some("size.soft=1000 size.hard=1000 size.prtotal=unlimited".into()),
            ..Default::default()
        },
    );
    let mut s = spec(&server.url());
    s.page_size = 100;
    let seen = Mutex::new(Vec::new());
    let dir = read_directory(&s, &|n| seen.lock().unwrap().push(n))
        .await
        .expect("a paged read");
    assert_eq!(dir.records.len(), 2345);
    let dns: HashSet<&str> = dir.records.iter().map(|r| r.fields[0].as_str()).collect();
    assert_eq!(dns.len(), 2345, "every entry exactly once");
    assert!(dns.contains(slapd::person_dn(2345).as_str()));
    assert_eq!(dir.pages, 24);
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 24, "one progress call per page: {seen:?}");
    assert_eq!(seen.first(), Some(&100));
    assert_eq!(seen.last(), Some(&2345));
    let rows: Vec<u64> = dir.records.iter().map(|r| r.row).collect();
    assert_eq!(rows, (1..=2345).collect::<Vec<u64>>());
    assert!(
        dir.records
            .iter()
            .all(|r| r.fields.len() == dir.header.len())
    );
    // The cap is real: the same search without paging stops at 1,000.
    let out = std::process::Command::new("ldapsearch")
        .args([
            "-x",
            "-H",
            &server.url(),
            "-b",
            PEOPLE_DN,
            "(objectClass=person)",
            "dn",
        ])
        .output()
        .expect("run ldapsearch");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Size limit exceeded"), "{text:.400}");
    assert_eq!(text.matches("\ndn: ").count(), 1000);
}

#[tokio::test]
async fn a_total_size_limit_is_an_incomplete_read_not_a_short_directory() {
    let server = Slapd::start_with(
        &slapd::people_ldif(1500),
        SlapdOptions {
            sizelimit: Some("1000".into()),
            ..Default::default()
        },
    );
    let mut s = spec(&server.url());
    s.page_size = 100;
    let err = read(&s).await.expect_err("the server stops at 1,000");
    assert!(matches!(err, LdapError::SizeLimit { .. }), "{err:?}");
    assert!(err.incomplete_read());
    assert!(err.to_string().contains("--page-size"), "{err}");
}

/// Hand-made entries whose converted values the test knows.
fn conversion_seed() -> String {
    let guid = slapd::b64(&[
        0x4a, 0x1d, 0x0e, 0xd2, 0x8e, 0x3b, 0x6f, 0x44, 0xa9, 0x8f, 0x2b, 0x0c, 0x5e, 0x7d, 0x41,
        0x9c,
    ]);
    let mut s = slapd::base_ldif();
    for (uid, uac) in [("enabled", 512), ("disabled", 514), ("nopwd-disabled", 546)] {
        s += &format!(
            "dn: uid={uid},{PEOPLE_DN}\nobjectClass: inetOrgPerson\nobjectClass: adUser\nuid: {uid}\n\
             cn: {uid}\nsn: Person\nuserAccountControl: {uac}\n\n"
        );
    }
    s += &format!(
        "dn: uid=ghopper,{PEOPLE_DN}\nobjectClass: inetOrgPerson\nobjectClass: adUser\nuid: ghopper\n\
         cn: Grace Hopper\nsn: Hopper\nmail: ghopper@example.test\nmail: grace@example.test\n\
         mail: amazing.grace@example.test\nobjectGUID:: {guid}\nmanager: uid=enabled,{PEOPLE_DN}\n\n"
    );
    s += &format!(
        "dn: ou=Elsewhere,{PEOPLE_DN}\nobjectClass: referral\nobjectClass: extensibleObject\nou: Elsewhere\n\
         ref: ldap://elsewhere.example/ou=Elsewhere,{BASE_DN}\n\n"
    );
    s
}

#[tokio::test]
async fn entries_become_records_with_joined_values_guids_and_account_enabled() {
    let server = Slapd::start(&conversion_seed());
    let dir = read(&spec(&server.url())).await.expect("read");
    assert_eq!(dir.records.len(), 4, "{:?}", dir.records);
    assert_eq!(dir.header[0], "dn");
    assert!(
        dir.header.iter().any(|h| h == "accountEnabled"),
        "{:?}",
        dir.header
    );
    let g = record_of(&dir, &format!("uid=ghopper,{PEOPLE_DN}"));
    assert_eq!(
        column(&dir, g, "mail"),
        "ghopper@example.test;grace@example.test;amazing.grace@example.test"
    );
    assert_eq!(
        column(&dir, g, "objectGUID"),
        "d20e1d4a-3b8e-446f-a98f-2b0c5e7d419c"
    );
    assert_eq!(
        column(&dir, g, "manager"),
        format!("uid=enabled,{PEOPLE_DN}")
    );
    assert_eq!(
        column(&dir, g, "accountEnabled"),
        "",
        "no userAccountControl, no verdict"
    );
    for (uid, uac, enabled) in [
        ("enabled", "512", "true"),
        ("disabled", "514", "false"),
        ("nopwd-disabled", "546", "false"),
    ] {
        let r = record_of(&dir, &format!("uid={uid},{PEOPLE_DN}"));
        assert_eq!(column(&dir, r, "userAccountControl"), uac);
        assert_eq!(column(&dir, r, "accountEnabled"), enabled, "{uid}");
        assert_eq!(column(&dir, r, "mail"), "");
    }
    assert_eq!(
        dir.referrals_skipped, 1,
        "the referral is counted, not followed"
    );
}

#[tokio::test]
async fn requested_attributes_shape_the_header() {
    let server = Slapd::start(&conversion_seed());
    let mut s = spec(&server.url());
    s.attributes = ["UID", "mail", "accountEnabled", "objectGUID", "title"]
        .map(String::from)
        .into();
    let dir = read(&s).await.expect("read");
    assert_eq!(
        dir.header,
        [
            "dn",
            "UID",
            "mail",
            "accountEnabled",
            "objectGUID",
            "title",
            "userAccountControl"
        ]
    );
    let g = record_of(&dir, &format!("uid=ghopper,{PEOPLE_DN}"));
    assert_eq!(column(&dir, g, "UID"), "ghopper");
    assert_eq!(
        column(&dir, g, "title"),
        "",
        "asked for, absent everywhere: an empty column"
    );
    let d = record_of(&dir, &format!("uid=disabled,{PEOPLE_DN}"));
    assert_eq!(column(&dir, d, "accountEnabled"), "false");
    assert!(
        !dir.header.iter().any(|h| h == "cn"),
        "cn was not asked for"
    );
}

#[tokio::test]
async fn a_refused_bind_names_the_variables_and_never_the_password() {
    let server = Slapd::start_with(
        &slapd::people_ldif(20),
        SlapdOptions {
            require_bind: true,
            ..Default::default()
        },
    );
    let mut s = spec(&server.url());
    s.bind = Some(LdapBind {
        dn: ADMIN_DN.into(),
        password: SecretString::from("Wrong-Password-4711".to_string()),
    });
    let err = read(&s).await.expect_err("a wrong password");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, LdapError::Bind { .. }), "{text}");
    assert!(err.incomplete_read());
    assert!(!text.contains("Wrong-Password-4711"), "{text}");
    assert!(
        text.contains("SCIMPORT_LDAP_BIND_DN") && text.contains("SCIMPORT_LDAP_PASSWORD"),
        "{text}"
    );
    assert!(text.contains(&server.url()), "{text}");
    // The password is known to the redactor from now on.
    assert!(!scimport::secrets::redact("pw=Wrong-Password-4711").contains("Wrong-Password-4711"));

    s.bind = None;
    let err = read(&s).await.expect_err("an anonymous read sees nothing");
    assert!(matches!(err, LdapError::Search { .. }), "{err:?}");
    assert!(err.to_string().contains("anonymous"), "{err}");
    assert!(err.to_string().contains("SCIMPORT_LDAP_BIND_DN"), "{err}");

    s.bind = admin();
    let dir = read(&s).await.expect("the right password reads");
    assert_eq!(dir.records.len(), 20);

    s.bind = Some(LdapBind {
        dn: ADMIN_DN.into(),
        password: SecretString::from(String::new()),
    });
    let err = read(&s).await.expect_err("an empty password is never sent");
    assert!(matches!(err, LdapError::Bind { .. }), "{err}");
}

#[tokio::test]
async fn a_server_killed_mid_read_gives_an_error_not_a_short_directory() {
    let server = Slapd::start(&slapd::people_ldif(2345));
    let mut s = spec(&server.url());
    s.page_size = 100;
    let pages = AtomicU64::new(0);
    let result = read_directory(&s, &|_| {
        if pages.fetch_add(1, Ordering::SeqCst) == 0 {
            server.kill();
        }
    })
    .await;
    let err = result.expect_err("the read cannot finish");
    assert!(err.incomplete_read(), "{err:?}");
    // SIGSTOP lands asynchronously: slapd may still send the page it was on.
    assert!(
        matches!(err, LdapError::Incomplete { entries, .. } if (100..500).contains(&entries)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("did not finish after 100 entries"),
        "{err}"
    );
    assert_eq!(
        pages.load(Ordering::SeqCst),
        1,
        "no progress after the kill"
    );
    // Nothing listens any more: a new read cannot connect.
    let err = read(&s).await.expect_err("the server is gone");
    assert!(matches!(err, LdapError::Connect { .. }), "{err:?}");
    assert!(err.incomplete_read());
}

#[tokio::test]
async fn a_server_that_stops_answering_mid_read_is_an_incomplete_read() {
    let server = Slapd::start(&slapd::people_ldif(2000));
    let mut s = spec(&server.url());
    s.page_size = 100;
    s.timeout = std::time::Duration::from_secs(2);
    let pages = AtomicU64::new(0);
    let result = read_directory(&s, &|_| {
        if pages.fetch_add(1, Ordering::SeqCst) == 0 {
            server.freeze();
        }
    })
    .await;
    let err = result.expect_err("a hung server cannot finish the read");
    // SIGSTOP lands asynchronously: slapd may still send the page it was on.
    assert!(
        matches!(err, LdapError::Incomplete { entries, .. } if (100..2000).contains(&entries)),
        "{err:?}"
    );
    assert!(err.incomplete_read());
}

#[tokio::test]
async fn changes_made_with_ldapmodify_show_in_the_next_read() {
    let server = Slapd::start(&slapd::people_ldif(3));
    let (mover, leaver) = (slapd::person_dn(2), slapd::person_dn(3));
    server.modify(&format!(
        "dn: {mover}\nchangetype: modify\nreplace: title\ntitle: Supervisor\n-\nreplace: userAccountControl\nuserAccountControl: 546\n\n\
         dn: {leaver}\nchangetype: delete\n"
    ));
    let dir = read(&spec(&server.url())).await.expect("read");
    assert_eq!(dir.records.len(), 2);
    let m = record_of(&dir, &mover);
    assert_eq!(column(&dir, m, "title"), "Supervisor");
    assert_eq!(column(&dir, m, "accountEnabled"), "false");
    assert!(dir.records.iter().all(|r| r.fields[0] != leaver));
}

#[tokio::test]
async fn ldaps_and_starttls_verify_the_server_with_the_given_ca() {
    let server = Slapd::start_with(
        &slapd::people_ldif(30),
        SlapdOptions {
            tls: true,
            ..Default::default()
        },
    );
    // LDAPS with the CA: verified (IP and host name both named by the certificate).
    for url in [server.ldaps_url(), server.ldaps_url_localhost()] {
        let mut s = spec(&url);
        s.ca_file = Some(server.ca_file());
        s.bind = admin();
        let dir = read(&s).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(dir.records.len(), 30);
    }
    // LDAPS without it: the platform roots do not know the test CA.
    let mut s = spec(&server.ldaps_url());
    s.bind = admin();
    let err = read(&s).await.expect_err("an unknown CA is refused");
    assert!(matches!(err, LdapError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("--ldap-ca"), "{err}");
    assert!(err.to_string().contains("could not be verified"), "{err}");
    // StartTLS on the plain port, with and without the CA.
    let mut s = spec(&server.url());
    s.starttls = true;
    s.bind = admin();
    let err = read(&s)
        .await
        .expect_err("StartTLS without the CA is refused");
    assert!(matches!(err, LdapError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("--ldap-ca"), "{err}");
    s.ca_file = Some(server.ca_file());
    let dir = read(&s).await.expect("StartTLS with the CA");
    assert_eq!(dir.records.len(), 30);
    // A CA file that holds no certificate, and one that does not exist.
    let junk = server.dir().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    s.ca_file = Some(junk);
    let err = read(&s).await.expect_err("no certificate in the CA file");
    assert!(matches!(err, LdapError::CaFile { .. }), "{err:?}");
    assert!(!err.incomplete_read());
    s.ca_file = Some(server.dir().join("missing.pem"));
    assert!(matches!(read(&s).await, Err(LdapError::CaFile { .. })));
}

#[tokio::test]
async fn a_wrong_base_dn_or_filter_says_which_option_to_fix() {
    let server = Slapd::start(&slapd::people_ldif(5));
    let mut s = spec(&server.url());
    s.base_dn = format!("ou=Nobody,{BASE_DN}");
    let err = read(&s).await.expect_err("no such base");
    assert!(matches!(err, LdapError::Search { code: 32, .. }), "{err:?}");
    assert!(err.to_string().contains("--base-dn"), "{err}");
    assert!(err.incomplete_read());

    let mut s = spec(&server.url());
    s.filter = "(objectClass=person".into();
    let err = read(&s).await.expect_err("a broken filter");
    assert!(matches!(err, LdapError::Filter { .. }), "{err:?}");
    assert!(!err.incomplete_read());

    let mut s = spec(&server.url());
    s.filter = "(sAMAccountName=U000003)".into();
    let dir = read(&s)
        .await
        .expect("the AD-like schema matches case-insensitively");
    assert_eq!(dir.records.len(), 1);
}

#[tokio::test]
async fn generated_people_carry_the_ad_attributes() {
    let server = Slapd::start(&slapd::people_ldif(30));
    let dir = read(&spec(&server.url())).await.expect("read");
    let r = record_of(&dir, &slapd::person_dn(25));
    let guid = scimport::source::ldap::guid_string(&slapd::guid_bytes(25));
    assert_eq!(column(&dir, r, "objectGUID"), guid);
    assert_eq!(
        column(&dir, r, "accountEnabled"),
        "false",
        "every 25th is disabled"
    );
    assert_eq!(column(&dir, r, "manager"), slapd::person_dn(2));
    assert_eq!(column(&dir, r, "employeeID"), "E000025");
}

#[tokio::test]
async fn the_ad_mapping_fixture_maps_a_directory_read() {
    let mapping = scimport::mapping::Mapping::load(&crate::common::fixture("ad-mapping.toml"))
        .expect("fixtures/ad-mapping.toml loads");
    let server = Slapd::start(&slapd::people_ldif(30));
    let mut s = spec(&server.url());
    // Asking for exactly the mapping's columns gives a header in its spelling.
    s.attributes = mapping.columns().iter().map(|c| c.to_string()).collect();
    let dir = read(&s).await.expect("read");
    let header = scimport::source::Header::new(dir.header.clone());
    let bound = mapping
        .bind(&header, None)
        .unwrap_or_else(|missing| panic!("columns missing from {:?}: {missing:?}", dir.header));
    let mut users = Vec::new();
    for r in &dir.records {
        let fields: Vec<&str> = r.fields.iter().map(String::as_str).collect();
        let (du, errors) = bound.map(r.row, &fields);
        assert!(errors.is_empty(), "row {}: {errors:?}", r.row);
        users.push(du);
    }
    let u = users
        .iter()
        .find(|u| u.external_id() == Some("E000025"))
        .expect("person 25");
    assert_eq!(u.user_name(), Some("u000025@example.test"));
    assert_eq!(u.user.active, Some(false), "userAccountControl 514");
    let guid = scimport::source::ldap::guid_string(&slapd::guid_bytes(25));
    assert_eq!(u.anchor.as_deref(), Some(guid.as_str()));
    let manager = u.user.enterprise.as_ref().and_then(|e| e.manager.as_ref());
    assert_eq!(
        manager.map(|m| m.value.as_str()),
        Some(slapd::person_dn(2).as_str()),
        "the manager's DN, for sync to resolve"
    );
    let enabled = users.iter().filter(|u| u.user.active == Some(true)).count();
    assert_eq!(enabled, 29);
}
