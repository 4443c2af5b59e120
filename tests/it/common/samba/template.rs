//! The provisioned domain every DC starts from: made once (about 7 s), kept under
//! `target/tmp/` across test runs, copied for each start.
//!
//! Owns provisioning, the test CA and server certificate, the Administrator
//! password and the smb.conf patch. Absolute paths occur only in smb.conf (checked:
//! nothing in the ldb files names the directory), so a copy works once smb.conf's
//! paths are rewritten from the directory it was provisioned in (kept in `origin`)
//! to the copy's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{run, show};

/// Bump when the template's content changes, so stale caches are not used.
const VERSION: &str = "v1";

/// A provisioned, never started domain directory.
pub struct Template {
    root: PathBuf,
    origin: String,
    /// The Administrator's password.
    pub password: String,
}

impl Template {
    /// The template of this test binary, provisioned on first use (or found in
    /// `target/tmp/` from an earlier run).
    pub fn get() -> &'static Template {
        static TEMPLATE: OnceLock<Template> = OnceLock::new();
        TEMPLATE.get_or_init(|| {
            let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("samba-dc-template-{VERSION}"));
            if !root.join("ready").exists() {
                provision(&root);
            }
            let read = |name: &str| {
                std::fs::read_to_string(root.join(name))
                    .unwrap_or_else(|e| panic!("{}/{name}: {e}", root.display()))
            };
            Template {
                origin: read("origin"),
                password: read("password"),
                root,
            }
        })
    }

    /// Copies the template to `dir` (which exists and is empty) and points its
    /// smb.conf at `dir`.
    pub fn copy_to(&self, dir: &Path) {
        let out = run(Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(self.root.join("."))
            .arg(dir));
        assert!(out.status.success(), "copy the DC template\n{}", show(&out));
        let conf = dir.join("dc/etc/smb.conf");
        let text = std::fs::read_to_string(&conf).expect("read smb.conf");
        let here = dir.to_str().expect("a UTF-8 temp dir");
        std::fs::write(&conf, text.replace(&self.origin, here)).expect("write smb.conf");
    }
}

/// Provisions into a sibling temp dir, then renames it to `root`, so a half-made
/// template is never used and two test processes racing both end with one.
fn provision(root: &Path) {
    let parent = root.parent().expect("target/tmp");
    std::fs::create_dir_all(parent).expect("create target/tmp");
    let work = tempfile::Builder::new()
        .prefix("samba-dc-provisioning-")
        .tempdir_in(parent)
        .expect("a temp dir to provision in");
    let dir = work.path();
    let origin = dir.to_str().expect("a UTF-8 path").to_string();
    let password = strong_password();
    let out = run(Command::new("samba-tool")
        .args([
            "domain",
            "provision",
            "--realm=CORP.EXAMPLE.COM",
            "--domain=CORP",
            "--server-role=dc",
            "--dns-backend=NONE",
            "--option=interfaces=lo",
            "--option=bind interfaces only=yes",
        ])
        .arg(format!("--adminpass={password}"))
        .arg(format!("--targetdir={origin}/dc")));
    assert!(
        out.status.success(),
        "samba-tool domain provision failed (the AD tests need `apt-get install -y --no-install-recommends {}`)\n{}",
        super::PACKAGES,
        show(&out)
    );
    make_certificates(dir);
    patch_smb_conf(dir);
    std::fs::write(dir.join("password"), &password).expect("write password");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("password"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod password");
    std::fs::write(dir.join("origin"), &origin).expect("write origin");
    std::fs::write(dir.join("ready"), "").expect("write ready");
    let made = work.keep();
    if std::fs::rename(&made, root).is_err() {
        // Another process finished first: use its template, drop ours.
        let _ = std::fs::remove_dir_all(&made);
        assert!(
            root.join("ready").exists(),
            "could not move the provisioned template to {}",
            root.display()
        );
    }
}

/// A test CA and a server certificate for 127.0.0.1/localhost signed by it (ten
/// years, since the template is cached).
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = run(Command::new("openssl").current_dir(dir).args(args));
        assert!(out.status.success(), "openssl {args:?}\n{}", show(&out));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "3650",
        "-subj",
        "/CN=scimport test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("write san.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "3650",
        "-extfile",
        "san.ext",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("srv.key"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod srv.key");
}

/// Only the LDAP services, TLS from our certificate, the log in the directory.
fn patch_smb_conf(dir: &Path) {
    let conf = dir.join("dc/etc/smb.conf");
    let text = std::fs::read_to_string(&conf).expect("read smb.conf");
    let d = dir.display();
    let mut out = String::new();
    let mut patched = false;
    for line in text.lines() {
        let key = line.trim_start();
        if key.starts_with("server services") {
            out.push_str(&format!(
                "\tserver services = ldap, cldap\n\ttls enabled = yes\n\ttls keyfile = {d}/srv.key\n\ttls certfile = {d}/srv.pem\n\ttls cafile =\n"
            ));
            patched = true;
        } else if key.starts_with("log file") {
            out.push_str(&format!("\tlog file = {d}/samba.log.%m\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(
        patched,
        "no `server services` line in {}:\n{text}",
        conf.display()
    );
    std::fs::write(&conf, out).expect("write smb.conf");
}

/// 24 random letters and digits plus one of each class AD's complexity rule asks for.
fn strong_password() -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let body: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("Sc1m-{body}")
}
