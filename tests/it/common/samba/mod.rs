//! A real Active Directory for the tests: a Samba AD domain controller (Debian's
//! `samba`), provisioned by the harness, loaded with users, started as a child and
//! killed on drop. One call gives a running DC ([`SambaDc::start`]); its methods
//! change the directory during a test over LDAPS (`ldapmodify`, `ldapadd`,
//! `ldapdelete`), as an administrator would.
//!
//! Owns the DC's life (provision, certificates, smb.conf, offline load, start,
//! stop) and the LDIF of test users ([`users`]). Does not read the directory the
//! way scimport does: that is `scimport::source::ldap`, which the tests exercise.
//!
//! How it runs:
//! - The domain (realm `CORP.EXAMPLE.COM`, domain `CORP`, `--dns-backend=NONE`, a
//!   generated strong Administrator password, `interfaces = lo`) is provisioned
//!   once into a template under `target/tmp/` (about 7 s) and kept there across
//!   runs; each [`SambaDc::start`] copies the template into a fresh temp dir,
//!   loads the users offline with `ldbadd` into `private/sam.ldb` (fast; adding
//!   over LDAP is about 20 a second) and starts `samba -i -M single` in its own
//!   process group, which drop kills as a whole.
//! - The DC's own self-signed certificate names the host name, so a client that
//!   verifies host names (as ours must) would refuse `127.0.0.1`: the template
//!   holds a test CA ([`SambaDc::ca_pem`]) and a server certificate for
//!   `IP:127.0.0.1, DNS:localhost` that smb.conf points at.
//! - `server services = ldap, cldap`: the default list starts winbindd (not
//!   installed) and samba exits.
//! - Samba binds the fixed ports 389 and 636, so one DC runs at a time on the
//!   machine: a DC holds an exclusive `flock` on `/tmp/scimport-samba-dc.lock`
//!   while it lives (tests that need AD, in this process or another, serialise on
//!   it), and the ports are checked free before start (a clear panic if not).
//! - Debian packages: `samba samba-ad-provision samba-dsdb-modules
//!   samba-vfs-modules ldb-tools ldap-utils openssl` (without the three
//!   `samba-*` extras, which `samba` only recommends, provisioning fails).
//!   Missing binaries panic with that line; AD tests never skip.
//!
//! What Samba 4.17 returns that a reader must cope with (checked with `ldapsearch`
//! against this harness, and by `ad_source`):
//! - A subtree search from the domain root `DC=corp,DC=example,DC=com` returns,
//!   besides the entries, a continuation reference (a search result reference,
//!   not an error) to `ldaps://corp.example.com/CN=Configuration,DC=corp,DC=example,DC=com`:
//!   a host name that does not resolve here, so a reader that chased it would fail.
//!   With `--dns-backend=NONE` there are no `DomainDnsZones`/`ForestDnsZones`
//!   partitions, so Configuration is the only one; a DC provisioned with
//!   `--dns-backend=SAMBA_INTERNAL` (checked once by hand) returns three:
//!   `CN=Configuration`, `DC=DomainDnsZones` and `DC=ForestDnsZones`, as real AD does.
//!   Searches under `OU=Staff` return no references.
//! - Attribute names come back in AD's spelling whatever case was asked:
//!   `sAMAccountName`, `userPrincipalName`, `objectGUID`, `userAccountControl`,
//!   `employeeID`, `givenName`, `sn`, `displayName`, `mail`, `title`, `department`,
//!   `manager`, `telephoneNumber`, `mobile`, `distinguishedName`, `whenChanged`.
//! - `objectGUID` is 16 raw bytes (`objectGUID:: base64` in LDIF); its string form
//!   (what `ldbsearch` on `sam.ldb` prints, [`SambaDc::object_guid`]) is the
//!   Microsoft byte order: the first three groups little-endian, e.g. bytes
//!   `7d 87 01 85 7e 12 58 4a a0 d0 …` print as `8501877d-127e-4a58-a0d0-…`.
//! - `userAccountControl` is a decimal string: 544 (NORMAL_ACCOUNT |
//!   PASSWD_NOTREQD) for an enabled test user, 546 once disabled (the 0x2 bit).
//! - `manager` holds the manager's full DN, `CN=Grace Hopper,OU=Staff,DC=corp,…`;
//!   AD checks that the DN exists, so managers are loaded first.
//! - A deleted and re-added account (same DN, sAMAccountName, mail, employeeID)
//!   gets a new `objectGUID`.
//! - Simple binds over plain `ldap://` are refused (`ldap server require strong
//!   auth` defaults to yes): `Strong(er) authentication required (8)`,
//!   `BindSimple: Transport encryption required.`. LDAPS on 636 and StartTLS on
//!   389 work. Anonymous searches get `Operations error (1)`, `Operation
//!   unavailable without authentication`. A wrong password is `Invalid credentials
//!   (49)` with AD's `data 52e` text. Without the test CA the TLS handshake fails.
//! - Paged results (1.2.840.113556.1.4.319) are supported; an unpaged search
//!   returns every entry (Samba has no 1,000-entry cap by default), so paging is
//!   exercised with a small page size.

#![allow(dead_code)]

mod process;
mod template;
pub mod users;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use process::DcKiller;
pub use users::UserSpec;

/// The domain's naming context.
pub const DOMAIN_DN: &str = "DC=corp,DC=example,DC=com";
/// Where the test users live.
pub const STAFF_DN: &str = "OU=Staff,DC=corp,DC=example,DC=com";
/// The DNS name of the domain (users' UPN suffix).
pub const DNS_DOMAIN: &str = "corp.example.com";
/// The Administrator's DN (the bind DN the tests use).
pub const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=corp,DC=example,DC=com";
/// The LDAPS URL of the running DC (the port is fixed by Samba).
pub const LDAPS_URL: &str = "ldaps://127.0.0.1:636";
/// The plain LDAP URL of the running DC (StartTLS, or refused simple binds).
pub const LDAP_URL: &str = "ldap://127.0.0.1:389";

/// A running Samba AD DC with its own copy of the domain; stopped on drop.
pub struct SambaDc {
    run: process::Running,
    dir: tempfile::TempDir,
    password: String,
}

impl SambaDc {
    /// Provisions (once, cached) and starts a DC whose `OU=Staff` holds `users`
    /// (loaded before start, managers first). Blocks while another DC runs.
    pub fn start(users: &[UserSpec]) -> SambaDc {
        let template = template::Template::get();
        let lock = process::DcLock::acquire();
        let dir = tempfile::Builder::new()
            .prefix("scimport-samba-")
            .tempdir()
            .expect("a temp dir for the DC");
        template.copy_to(dir.path());
        let ldif = users::ldif(users);
        let ldif_path = dir.path().join("users.ldif");
        std::fs::write(&ldif_path, ldif).expect("write users.ldif");
        let sam = dir.path().join("dc/private/sam.ldb");
        let out = run(Command::new("ldbadd").arg("-H").arg(&sam).arg(&ldif_path));
        assert!(
            out.status.success(),
            "ldbadd of the test users failed\n{}",
            show(&out)
        );
        let run = process::Running::start(dir.path(), lock);
        SambaDc {
            run,
            dir,
            password: template.password.clone(),
        }
    }

    /// `ldaps://127.0.0.1:636`.
    pub fn ldaps_url(&self) -> String {
        LDAPS_URL.to_string()
    }

    /// `ldap://127.0.0.1:389` (for StartTLS, and to see simple binds refused).
    pub fn ldap_url(&self) -> String {
        LDAP_URL.to_string()
    }

    /// The PEM file of the test CA that signed the DC's LDAPS certificate.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The Administrator's DN, for a simple bind.
    pub fn bind_dn(&self) -> String {
        ADMIN_DN.to_string()
    }

    /// The Administrator's UPN (`Administrator@corp.example.com`), which AD also
    /// accepts as a simple-bind name.
    pub fn bind_upn(&self) -> String {
        format!("Administrator@{DNS_DOMAIN}")
    }

    /// The Administrator's password (generated when the template was provisioned).
    pub fn password(&self) -> String {
        self.password.clone()
    }

    /// `OU=Staff,DC=corp,DC=example,DC=com`, where the users are.
    pub fn base_dn(&self) -> String {
        STAFF_DN.to_string()
    }

    /// `DC=corp,DC=example,DC=com`, the domain root (searches from it meet
    /// continuation references).
    pub fn domain_dn(&self) -> String {
        DOMAIN_DN.to_string()
    }

    /// The DC's working directory (smb.conf under `dc/etc`, its log in `samba.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A handle that kills the DC from anywhere (e.g. a reader's progress
    /// callback, to lose the server in the middle of a read).
    pub fn killer(&self) -> DcKiller {
        self.run.killer()
    }

    /// Kills the DC now (the ports are free when this returns); later calls to the
    /// helpers fail. The lock is held until drop.
    pub fn kill(&mut self) {
        self.run.stop();
    }

    /// A reader spec for this DC: `OU=Staff` over LDAPS, verified with the test
    /// CA, bound as Administrator, every `user` entry, the reader's default page
    /// size and every attribute.
    pub fn ldap_spec(&self) -> scimport::source::ldap::LdapSpec {
        let mut spec = scimport::source::ldap::LdapSpec::new(LDAPS_URL, STAFF_DN);
        spec.filter = "(objectClass=user)".to_string();
        spec.ca_file = Some(self.ca_pem());
        spec.bind = Some(scimport::source::ldap::LdapBind {
            dn: ADMIN_DN.to_string(),
            password: secrecy::SecretString::from(self.password.clone()),
        });
        spec
    }

    /// The `scimport sync` arguments that read this DC (`--source`, `--base-dn`,
    /// `--ldap-filter`, `--ldap-ca`); the bind comes from [`SambaDc::sync_env`].
    pub fn sync_args(&self) -> Vec<String> {
        vec![
            "--source".into(),
            LDAPS_URL.into(),
            "--base-dn".into(),
            STAFF_DN.into(),
            "--ldap-filter".into(),
            "(objectClass=user)".into(),
            "--ldap-ca".into(),
            self.ca_pem().display().to_string(),
        ]
    }

    /// `SCIMPORT_LDAP_BIND_DN` and `SCIMPORT_LDAP_PASSWORD` for a `scimport sync`
    /// child process (`cmd.envs(dc.sync_env())`).
    pub fn sync_env(&self) -> [(&'static str, String); 2] {
        [
            ("SCIMPORT_LDAP_BIND_DN", ADMIN_DN.to_string()),
            ("SCIMPORT_LDAP_PASSWORD", self.password.clone()),
        ]
    }

    /// Disables `sam` (userAccountControl 546: the ACCOUNTDISABLE bit 0x2).
    pub fn disable(&self, sam: &str) {
        self.set_attr(sam, "userAccountControl", "546");
    }

    /// Enables `sam` again (userAccountControl 544).
    pub fn enable(&self, sam: &str) {
        self.set_attr(sam, "userAccountControl", "544");
    }

    /// Replaces `attr` of `sam` with `value` (one value).
    pub fn set_attr(&self, sam: &str, attr: &str, value: &str) {
        let dn = self.dn_of(sam);
        self.modify(&format!(
            "dn: {dn}\nchangetype: modify\nreplace: {attr}\n{}\n-\n",
            users::attr_line(attr, value)
        ));
    }

    /// Removes every value of `attr` from `sam`.
    pub fn clear_attr(&self, sam: &str, attr: &str) {
        let dn = self.dn_of(sam);
        self.modify(&format!(
            "dn: {dn}\nchangetype: modify\nreplace: {attr}\n-\n"
        ));
    }

    /// Deletes the account `sam`.
    pub fn delete(&self, sam: &str) {
        let dn = self.dn_of(sam);
        let out = self.ldap_tool("ldapdelete", &[&dn], None);
        assert!(out.status.success(), "ldapdelete {dn}\n{}", show(&out));
    }

    /// Adds one user over LDAPS (its manager, if any, must exist); returns when
    /// the DC has acknowledged the add.
    pub fn add_user(&self, user: &UserSpec) {
        let manager_dn = user.manager.as_deref().map(|m| self.dn_of(m));
        let ldif = user.ldif(manager_dn.as_deref());
        let out = self.ldap_tool("ldapadd", &[], Some(&ldif));
        assert!(out.status.success(), "ldapadd {}\n{}", user.sam, show(&out));
    }

    /// Adds several users in one `ldapadd` (managers must come first or exist;
    /// about 20 adds a second: load large lists with [`SambaDc::start`] instead).
    pub fn add_users(&self, users: &[UserSpec]) {
        let ldif: String = users
            .iter()
            .map(|u| {
                let manager_dn = u.manager.as_deref().map(|m| {
                    users
                        .iter()
                        .find(|o| o.sam == m)
                        .map(UserSpec::dn)
                        .unwrap_or_else(|| self.dn_of(m))
                });
                u.ldif(manager_dn.as_deref())
            })
            .collect();
        let out = self.ldap_tool("ldapadd", &[], Some(&ldif));
        assert!(
            out.status.success(),
            "ldapadd of {} users\n{}",
            users.len(),
            show(&out)
        );
    }

    /// Applies an LDIF change record (`changetype: modify` etc.) over LDAPS.
    pub fn modify(&self, ldif: &str) {
        let out = self.ldap_tool("ldapmodify", &[], Some(ldif));
        assert!(out.status.success(), "ldapmodify\n{ldif}\n{}", show(&out));
    }

    /// The DN of the account `sam` (asked of the DC).
    pub fn dn_of(&self, sam: &str) -> String {
        let text = self.search(DOMAIN_DN, &format!("(sAMAccountName={sam})"), &["1.1"]);
        let dns: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("dn: "))
            .collect();
        assert_eq!(dns.len(), 1, "one account named {sam}:\n{text}");
        dns[0].to_string()
    }

    /// The objectGUID of `sam` as the DC itself renders it (`ldbsearch` on the
    /// DC's sam.ldb: lower-case, Microsoft byte order).
    pub fn object_guid(&self, sam: &str) -> String {
        let sam_ldb = self.dir.path().join("dc/private/sam.ldb");
        let out = run(Command::new("ldbsearch").arg("-H").arg(&sam_ldb).args([
            "-b",
            STAFF_DN,
            &format!("(sAMAccountName={sam})"),
            "objectGUID",
        ]));
        assert!(
            out.status.success(),
            "ldbsearch objectGUID of {sam}\n{}",
            show(&out)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let guids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("objectGUID: "))
            .collect();
        assert_eq!(guids.len(), 1, "one objectGUID for {sam}:\n{text}");
        guids[0].trim().to_string()
    }

    /// `ldapsearch` over LDAPS as Administrator; its LDIF output (unwrapped).
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> String {
        let mut args = vec!["-LLL", "-o", "ldif-wrap=no", "-b", base, filter];
        args.extend_from_slice(attrs);
        let out = self.ldap_tool("ldapsearch", &args, None);
        assert!(out.status.success(), "ldapsearch {filter}\n{}", show(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs an ldap-utils tool over LDAPS as Administrator, verifying the DC with
    /// the test CA; the password goes through a file (`-y`), not the command line.
    fn ldap_tool(&self, tool: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(tool);
        cmd.env("LDAPTLS_CACERT", self.ca_pem())
            .env("LDAPTLS_REQCERT", "demand")
            .args(["-x", "-H", LDAPS_URL, "-D", ADMIN_DN, "-y"])
            .arg(self.dir.path().join("password"))
            .args(args);
        match stdin {
            None => run(&mut cmd),
            Some(text) => run_with_stdin(&mut cmd, text),
        }
    }
}

/// Runs `cmd` to completion; a missing binary panics with the install line.
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| missing(cmd, e))
}

fn run_with_stdin(cmd: &mut Command, text: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| missing(cmd, e));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("write to the tool's stdin");
    child.wait_with_output().expect("wait for the tool")
}

/// The Debian packages the harness needs.
pub const PACKAGES: &str =
    "samba samba-ad-provision samba-dsdb-modules samba-vfs-modules ldb-tools ldap-utils openssl";

fn missing(cmd: &Command, e: std::io::Error) -> ! {
    panic!(
        "cannot run {:?} ({e}): the Samba AD tests need `apt-get install -y --no-install-recommends {PACKAGES}` (as root)",
        cmd.get_program()
    )
}

/// A finished command's status and output, for assertion messages.
pub(crate) fn show(out: &Output) -> String {
    super::show(out)
}
