//! A throwaway OpenLDAP server for tests: Debian's slapd on free loopback ports,
//! with a generated `slapd.conf` (core, cosine, inetOrgPerson and a small AD-like
//! schema), the seed LDIF loaded offline with `slapadd -q`, and `slapd -d 0` kept in
//! the foreground as a child that is killed on drop. Optional: binds required,
//! LDAPS and StartTLS with a test CA made by `openssl`, a `sizelimit` line. Also
//! generates N realistic people as LDIF for larger tests and benchmarks.
//!
//! A missing binary is a loud panic, never a skipped test.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The suffix every seed lives under.
pub const BASE_DN: &str = "dc=example,dc=test";
/// Where the generated people live.
pub const PEOPLE_DN: &str = "ou=People,dc=example,dc=test";
/// The root DN (full rights, also when binds are required).
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=test";
/// The root DN's password.
pub const ADMIN_PASSWORD: &str = "slapd-admin-Secret-7f3c";

/// The AD-like attributes slapd lacks (with equality rules, unlike Debian's
/// msuser.schema), see rust-stack.md section 4.
const AD_LITE_SCHEMA: &str = "\
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.4 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.5 NAME 'memberOf' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
attributetype ( 1.3.6.1.4.1.55555.1.6 NAME 'employeeID' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.7 NAME 'department' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'adUser' SUP top AUXILIARY MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ objectGUID $ memberOf $ employeeID $ department ) )
";

/// How to run the server.
#[derive(Debug, Clone, Default)]
pub struct SlapdOptions {
    /// Refuse anonymous reads: only bound users (and the root DN) may search.
    pub require_bind: bool,
    /// Also listen on LDAPS and offer StartTLS, with a certificate for 127.0.0.1
    /// signed by a test CA ([`Slapd::ca_file`]).
    pub tls: bool,
    /// A `sizelimit` line's value, verbatim; `None` is `unlimited` (e.g. `"1000"` caps every search at
    /// 1,000 entries in total; `"size.soft=1000 size.hard=1000 size.prtotal=unlimited"`
    /// caps unpaged searches only, as Active Directory's MaxPageSize does).
    pub sizelimit: Option<String>,
}

/// A running slapd, killed (SIGKILL) and cleaned up on drop.
pub struct Slapd {
    dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
    port: u16,
    tls_port: Option<u16>,
}

/// Panics with an install hint when `bin` is not on this machine.
pub fn require(bin: &str, package: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        let p = Path::new(dir).join(bin);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{bin} is not installed, and this test needs a real LDAP server: apt-get install -y --no-install-recommends {package}"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `ca.pem` and a server certificate for 127.0.0.1/localhost in `dir`.
pub fn make_test_ca(dir: &Path) {
    let openssl = require("openssl", "openssl");
    let p = |f: &str| dir.join(f).display().to_string();
    run(
        Command::new(&openssl)
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=scimport test CA",
                "-keyout",
                &p("ca.key"),
                "-out",
                &p("ca.pem"),
            ]),
        "openssl (CA)",
    );
    run(
        Command::new(&openssl)
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ])
            .args(["-keyout", &p("server.key"), "-out", &p("server.csr")]),
        "openssl (server key)",
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("write san.ext");
    run(
        Command::new(&openssl)
            .args(["x509", "-req", "-days", "2", "-in", &p("server.csr")])
            .args([
                "-CA",
                &p("ca.pem"),
                "-CAkey",
                &p("ca.key"),
                "-CAcreateserial",
            ])
            .args(["-out", &p("server.pem"), "-extfile", &p("san.ext")]),
        "openssl (server certificate)",
    );
}

impl Slapd {
    /// A server with `seed` loaded, anonymous reads allowed, plain LDAP only.
    pub fn start(seed: &str) -> Slapd {
        Slapd::start_with(seed, SlapdOptions::default())
    }

    /// A server with `seed` loaded and the given options.
    pub fn start_with(seed: &str, opts: SlapdOptions) -> Slapd {
        let slapd = require("slapd", "slapd ldap-utils");
        let slapadd = require("slapadd", "slapd ldap-utils");
        require("ldapmodify", "ldap-utils");
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::create_dir(d.join("db")).expect("db dir");
        std::fs::write(d.join("ad-lite.schema"), AD_LITE_SCHEMA).expect("schema");
        if opts.tls {
            make_test_ca(d);
        }
        std::fs::write(d.join("slapd.conf"), config(d, &opts)).expect("slapd.conf");
        std::fs::write(d.join("seed.ldif"), seed).expect("seed.ldif");
        run(
            Command::new(slapadd)
                .arg("-q")
                .arg("-f")
                .arg(d.join("slapd.conf"))
                .arg("-l")
                .arg(d.join("seed.ldif")),
            "slapadd",
        );
        // A free port can be taken between probing and slapd's bind: try again.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let tls_port = opts.tls.then(free_port);
            match spawn(&slapd, d, port, tls_port) {
                Ok(child) => {
                    return Slapd {
                        dir,
                        child: Mutex::new(Some(child)),
                        port,
                        tls_port,
                    };
                }
                Err(e) => last = e,
            }
        }
        panic!("slapd did not start: {last}");
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:PORT` (TLS mode only).
    pub fn ldaps_url(&self) -> String {
        let port = self
            .tls_port
            .expect("start the server with SlapdOptions { tls: true }");
        format!("ldaps://127.0.0.1:{port}")
    }

    /// `ldaps://localhost:PORT`: the certificate names `localhost` too.
    pub fn ldaps_url_localhost(&self) -> String {
        let port = self
            .tls_port
            .expect("start the server with SlapdOptions { tls: true }");
        format!("ldaps://localhost:{port}")
    }

    /// The test CA that signed the server's certificate (TLS mode only).
    pub fn ca_file(&self) -> PathBuf {
        assert!(
            self.tls_port.is_some(),
            "start the server with SlapdOptions {{ tls: true }}"
        );
        self.dir.path().join("ca.pem")
    }

    /// The server's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The root DN.
    pub fn admin_dn(&self) -> &'static str {
        ADMIN_DN
    }

    /// The root DN's password.
    pub fn admin_password(&self) -> &'static str {
        ADMIN_PASSWORD
    }

    /// Kills the server now (SIGKILL) and reaps it.
    pub fn kill(&self) {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut child) = guard.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, as
    /// with a hung directory. Drop (SIGKILL) still ends it.
    pub fn freeze(&self) {
        let guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let child = guard.as_ref().expect("the server is running");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) with our own child's pid and a valid signal number.
        let rc = unsafe { libc::kill(pid, libc::SIGSTOP) };
        assert_eq!(rc, 0, "SIGSTOP slapd: {}", std::io::Error::last_os_error());
    }

    /// Applies `ldif` (changetype records) as the root DN with `ldapmodify`.
    pub fn modify(&self, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args([
                "-x",
                "-H",
                &self.url(),
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ldapmodify");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(ldif.as_bytes())
            .expect("write to ldapmodify");
        let out = child.wait_with_output().expect("ldapmodify output");
        assert!(
            out.status.success(),
            "ldapmodify failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn config(d: &Path, opts: &SlapdOptions) -> String {
    let d = d.display();
    let mut c = format!(
        "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {d}/ad-lite.schema
pidfile {d}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
tool-threads 2
"
    );
    if opts.tls {
        c += &format!(
            "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n"
        );
    }
    // slapd's own default (500, also over paged results) would stop any larger
    // test at 500 entries: no limit unless the test asks for one.
    let limit = opts.sizelimit.as_deref().unwrap_or("unlimited");
    c += &format!("sizelimit {limit}\n");
    c += &format!(
        "database mdb
maxsize 4294967296
suffix \"{BASE_DN}\"
rootdn \"{ADMIN_DN}\"
rootpw {ADMIN_PASSWORD}
directory {d}/db
checkpoint 0 0
dbnosync
index objectClass,uid,mail,sAMAccountName eq
"
    );
    if opts.require_bind {
        c += "access to attrs=userPassword by anonymous auth by self read by * none\n";
        c += "access to * by users read by anonymous auth by * none\n";
    }
    c
}

/// Starts slapd in the foreground and waits until every port accepts.
fn spawn(slapd: &Path, d: &Path, port: u16, tls_port: Option<u16>) -> Result<Child, String> {
    let mut urls = format!("ldap://127.0.0.1:{port}/");
    if let Some(p) = tls_port {
        write!(urls, " ldaps://127.0.0.1:{p}/").expect("write to a String");
    }
    let log = std::fs::File::create(d.join("slapd.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(slapd)
        .args(["-d", "0", "-f"])
        .arg(d.join("slapd.conf"))
        .args(["-h", &urls])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot run slapd: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let ports: Vec<u16> = std::iter::once(port).chain(tls_port).collect();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(d.join("slapd.log")).unwrap_or_default();
            return Err(format!("slapd exited ({status}):\n{log}"));
        }
        if ports
            .iter()
            .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("slapd did not accept connections within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The suffix and `ou=People` entries.
pub fn base_ldif() -> String {
    format!(
        "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: People\n\n"
    )
}

/// The 16 `objectGUID` bytes of generated person `i` (seeded, so tests can predict
/// the GUID string).
pub fn guid_bytes(i: usize) -> [u8; 16] {
    let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out
}

/// The DN of generated person `i`.
pub fn person_dn(i: usize) -> String {
    format!("uid=u{i:06},{PEOPLE_DN}")
}

/// The `userAccountControl` of generated person `i`: every 25th is disabled (514).
pub fn person_uac(i: usize) -> u32 {
    if i.is_multiple_of(25) { 514 } else { 512 }
}

/// One generated person (1-based `i`) as an LDIF record, appended to `out`: uid,
/// cn, sn, givenName, mail, employeeNumber, employeeID, title, ou, department,
/// manager (person `(i-1)/10` for i > 10), sAMAccountName, userPrincipalName,
/// userAccountControl, objectGUID.
pub fn push_person(out: &mut String, i: usize) {
    const FIRST: [&str; 8] = [
        "Ana", "Ben", "Chloe", "Dev", "Eva", "Farid", "Grace", "Hugo",
    ];
    const LAST: [&str; 8] = [
        "Lima", "Okafor", "Martin", "Patel", "Rossi", "Haddad", "Hopper", "Weber",
    ];
    const DEPT: [&str; 4] = ["Support", "Sales", "Billing", "Claims"];
    let (f, l) = (FIRST[i % 8], LAST[(i / 8) % 8]);
    let dept = DEPT[i % 4];
    let _ = write!(
        out,
        "dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: adUser\nuid: u{i:06}\ncn: {f} {l} {i}\n\
         sn: {l}\ngivenName: {f}\nmail: u{i:06}@example.test\nemployeeNumber: E{i:06}\n\
         employeeID: E{i:06}\ntitle: Agent\nou: {dept}\ndepartment: {dept}\n\
         sAMAccountName: u{i:06}\nuserPrincipalName: u{i:06}@example.test\nuserAccountControl: {uac}\n",
        dn = person_dn(i),
        uac = person_uac(i),
    );
    if i > 10 {
        let _ = writeln!(out, "manager: {}", person_dn(i / 10));
    }
    let _ = writeln!(out, "objectGUID:: {}\n", b64(&guid_bytes(i)));
}

/// The base entries plus `n` generated people (`u000001` ..).
pub fn people_ldif(n: usize) -> String {
    let mut out = base_ldif();
    out.reserve(n * 520);
    for i in 1..=n {
        push_person(&mut out, i);
    }
    out
}

/// Standard base64 with padding (LDIF's `attr::` form).
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
