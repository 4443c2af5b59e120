//! `scimport sync` from a real OpenLDAP server (issue 16): paging over more entries
//! than a page, joiner, mover, leaver, a disabled account, managers given as DNs,
//! delta runs, and the refusals (bind failure, the server killed in the middle of
//! the read), each ending with nobody deactivated.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{Bench, count, tally};
use crate::common::slapd::{self, PEOPLE_DN, Slapd, SlapdOptions};

/// A mapping of the generated people (see `slapd::push_person`).
const LDAP_MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]
anchor = "objectGUID"

[[field]]
path = "externalId"
column = "employeeID"

[[field]]
path = "userName"
column = "mail"

[[field]]
path = "displayName"
column = "cn"

[[field]]
path = "title"
column = "title"
blank = "clear"

[[field]]
path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
column = "department"
blank = "clear"

[[field]]
path = "active"
column = "accountEnabled"

[[field]]
path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
column = "manager"
"#;

fn bound() -> SlapdOptions {
    SlapdOptions {
        require_bind: true,
        ..SlapdOptions::default()
    }
}

fn creds(s: &Slapd) -> [(&'static str, &'static str); 2] {
    [
        ("SCIMPORT_LDAP_BIND_DN", s.admin_dn()),
        ("SCIMPORT_LDAP_PASSWORD", s.admin_password()),
    ]
}

fn ldap_source(url: &str) -> [&str; 8] {
    [
        "--source",
        url,
        "--base-dn",
        PEOPLE_DN,
        "--ldap-filter",
        "(objectClass=inetOrgPerson)",
        "--page-size",
        "40",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_an_ldap_sync_pages_and_follows_joiners_movers_leavers_and_disabled_accounts() {
    let s = Slapd::start_with(&slapd::people_ldif(130), bound());
    let b = Bench::new().await;
    std::fs::write(b.dir.path().join("mapping.toml"), LDAP_MAPPING).expect("mapping");
    let url = s.url();
    let env = creds(&s);

    let r = b.sync_from(&ldap_source(&url), &env, &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.text().contains("source: 130 entries"), "{}", r.text());
    assert!(
        r.text().contains("4 pages read"),
        "more entries than one page: {}",
        r.text()
    );
    let t = tally(&r.ledger());
    // Every 25th person is disabled in the directory: not created.
    assert_eq!(count(&t, "create", "succeeded"), 125, "{t:?}");
    // Managers given as DNs: E000120's manager is E000012, whose is E000001.
    assert_eq!(b.manager_of("E000120"), b.user("E000012").user.id);
    assert_eq!(b.manager_of("E000012"), b.user("E000001").user.id);
    // No password in anything the run wrote.
    let run = r.run.clone().expect("run");
    for f in ["audit.jsonl", "summary.json", "journal.jsonl"] {
        let text = std::fs::read_to_string(run.join(f)).unwrap_or_default();
        assert!(
            !text.contains(s.admin_password()),
            "{f} holds the bind password"
        );
    }
    assert!(!r.text().contains(s.admin_password()));

    // Mover, disabled account, leaver, joiner.
    s.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: title\ntitle: Team Lead\n\n\
         dn: {}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n\
         dn: {}\nchangetype: delete\n\n",
        slapd::person_dn(3),
        slapd::person_dn(4),
        slapd::person_dn(129),
    ));
    let mut joiner = String::new();
    slapd::push_person(&mut joiner, 131);
    let joiner = joiner.replacen('\n', "\nchangetype: add\n", 1);
    s.modify(&joiner);
    b.reset_requests();
    let r = b.sync_from(&ldap_source(&url), &env, &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let rows = r.ledger();
    let t = tally(&rows);
    assert_eq!(count(&t, "update", "succeeded"), 1, "{t:?}");
    assert_eq!(count(&t, "deactivate", "succeeded"), 2, "{t:?}");
    assert_eq!(count(&t, "create", "succeeded"), 1, "{t:?}");
    let sent = b.requests();
    assert_eq!(
        sent.get("GET"),
        None,
        "an incremental run reads nothing: {sent:?}"
    );
    assert_eq!(sent.get("PATCH"), Some(&3), "{sent:?}");
    assert_eq!(b.user("E000003").user.title.as_deref(), Some("Team Lead"));
    assert_eq!(
        b.user("E000004").state,
        scimport::emulator::UserState::Inactive
    );
    assert_eq!(
        b.user("E000129").state,
        scimport::emulator::UserState::Inactive
    );
    assert_eq!(
        b.user("E000131").state,
        scimport::emulator::UserState::Active
    );
    let leaver = rows
        .iter()
        .find(|l| l.external_id.as_deref() == Some("E000129"))
        .expect("leaver");
    assert!(
        scimport::model::input_row(leaver.row).is_none(),
        "a leaver has no input row"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_failed_bind_or_a_server_killed_mid_read_refuses_the_sync() {
    let s = Arc::new(Slapd::start_with(&slapd::people_ldif(240), bound()));
    let b = Bench::new().await;
    std::fs::write(b.dir.path().join("mapping.toml"), LDAP_MAPPING).expect("mapping");
    let url = s.url();
    let r = b.sync_from(&ldap_source(&url), &creds(&s), &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let active = |b: &Bench| b.tenant().values().filter(|v| v.1).count();
    let before = active(&b);
    b.reset_requests();

    // A wrong password: refused, nothing sent, nobody deactivated.
    let wrong = [
        ("SCIMPORT_LDAP_BIND_DN", s.admin_dn()),
        ("SCIMPORT_LDAP_PASSWORD", "Wr0ng-bind-pw-91x"),
    ];
    let r = b.sync_from(&ldap_source(&url), &wrong, &[]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    assert!(!r.text().contains("Wr0ng-bind-pw-91x"), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());

    // The server dies after a few pages of the read.
    let proxy = KillingProxy::start(s.clone(), &url, 20_000).await;
    let r = b.sync_from(&ldap_source(&proxy.url), &creds(&s), &[]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    assert!(proxy.forwarded() >= 20_000, "the read had started");
    assert!(r.text().contains("did not finish"), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());
    assert_eq!(active(&b), before, "nobody deactivated");
}

/// A TCP proxy to an LDAP server that kills the server once it has forwarded
/// `after` bytes of answers: a server dying in the middle of a read, at a point
/// that does not depend on timing.
struct KillingProxy {
    url: String,
    forwarded: Arc<AtomicU64>,
}

impl KillingProxy {
    async fn start(server: Arc<Slapd>, upstream: &str, after: u64) -> KillingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ldap://{}", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("ldap://").to_string();
        let forwarded = Arc::new(AtomicU64::new(0));
        let count = forwarded.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let Ok(mut up) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (server, count) = (server.clone(), count.clone());
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.split();
                    let (mut ur, mut uw) = up.split();
                    let to_server = tokio::io::copy(&mut cr, &mut uw);
                    let to_client = async {
                        let mut buf = vec![0u8; 4096];
                        loop {
                            let n = match ur.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            if count.fetch_add(n as u64, Ordering::SeqCst) + n as u64 >= after {
                                server.kill();
                                break;
                            }
                        }
                    };
                    tokio::select! {
                        _ = to_server => {}
                        _ = to_client => {}
                    }
                });
            }
        });
        KillingProxy { url, forwarded }
    }

    fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::SeqCst)
    }
}
