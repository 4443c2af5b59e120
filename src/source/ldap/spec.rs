//! What to read from a directory ([`LdapSpec`]) and checking it before any
//! connection: the URL's form, option combinations, the page size. Connecting
//! lives in `connect`, reading in `read`.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::error::{LdapError, clean};

/// The default `--page-size` (RFC 2696 paged results).
pub const DEFAULT_PAGE_SIZE: u32 = 500;
/// The default timeout of one operation (connect, bind, each page).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default `--ldap-filter`.
pub const DEFAULT_FILTER: &str = "(objectClass=person)";

/// What to read from a directory and how.
#[derive(Debug, Clone)]
pub struct LdapSpec {
    /// `ldap://HOST:PORT` or `ldaps://HOST:PORT` (anything else: [`LdapError::BadUrl`]).
    pub url: String,
    /// The base DN of the subtree search (`--base-dn`).
    pub base_dn: String,
    /// The search filter (`--ldap-filter`).
    pub filter: String,
    /// Upgrade an `ldap://` connection with StartTLS (`--starttls`).
    pub starttls: bool,
    /// PEM CA certificates to verify the server with (`--ldap-ca`); without it the
    /// platform's roots. Verification is never off.
    pub ca_file: Option<PathBuf>,
    /// Entries per page (`--page-size`, RFC 2696).
    pub page_size: u32,
    /// Simple bind credentials; `None` binds anonymously.
    pub bind: Option<LdapBind>,
    /// Attributes to request; empty asks for all user attributes (`*`).
    pub attributes: Vec<String>,
    /// The timeout of one operation (connect, bind, each page).
    pub timeout: Duration,
}

impl LdapSpec {
    /// A spec for `url` and `base_dn` with the defaults (filter, page size, timeout),
    /// anonymous, all attributes, no StartTLS, platform roots.
    pub fn new(url: impl Into<String>, base_dn: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            base_dn: base_dn.into(),
            filter: DEFAULT_FILTER.to_string(),
            starttls: false,
            ca_file: None,
            page_size: DEFAULT_PAGE_SIZE,
            bind: None,
            attributes: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Simple bind credentials (`SCIMPORT_LDAP_BIND_DN`, `SCIMPORT_LDAP_PASSWORD`).
#[derive(Debug, Clone)]
pub struct LdapBind {
    /// The bind DN (or, for Active Directory, `user@domain`).
    pub dn: String,
    /// The password; registered with `secrets` before use, never formatted.
    pub password: SecretString,
}

/// A checked URL: whether TLS is on from the start, and the normalised URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `ldaps://`.
    pub tls: bool,
    /// `scheme://host:port` (default ports 389 / 636 filled in).
    pub url: String,
}

/// Checks the URL and the options against each other.
pub(crate) fn check(spec: &LdapSpec) -> Result<Endpoint, LdapError> {
    let endpoint = parse_url(&spec.url)?;
    if endpoint.tls && spec.starttls {
        return Err(LdapError::Usage {
            url: endpoint.url,
            problem: "--starttls is for ldap:// URLs; an ldaps:// connection is TLS from the start, drop --starttls".into(),
        });
    }
    if spec.page_size == 0 || spec.page_size > i32::MAX as u32 {
        return Err(LdapError::Usage {
            url: endpoint.url,
            problem: format!(
                "--page-size {} is out of range; use 1 to 2147483647 (500 by default; Active Directory serves at most 1000)",
                spec.page_size
            ),
        });
    }
    if spec.timeout.is_zero() {
        return Err(LdapError::Usage {
            url: endpoint.url,
            problem: "the LDAP timeout must be above zero".into(),
        });
    }
    Ok(endpoint)
}

/// `ldap://HOST[:PORT][/]` or `ldaps://HOST[:PORT][/]`.
pub(crate) fn parse_url(url: &str) -> Result<Endpoint, LdapError> {
    let bad = |problem: &str| LdapError::BadUrl {
        url: clean(url),
        problem: problem.to_string(),
    };
    let lower = url.to_ascii_lowercase();
    let (tls, rest) = if lower.starts_with("ldaps://") {
        (true, &url["ldaps://".len()..])
    } else if lower.starts_with("ldap://") {
        (false, &url["ldap://".len()..])
    } else {
        return Err(bad("the scheme must be ldap:// or ldaps://"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(bad("the host is missing"));
    }
    if rest.contains('@') {
        return Err(bad(
            "credentials do not go in the URL; set SCIMPORT_LDAP_BIND_DN and SCIMPORT_LDAP_PASSWORD",
        ));
    }
    if rest.contains(['/', '?', '#', ' ']) {
        return Err(bad(
            "a path, query or space is not allowed; give the base DN with --base-dn and the filter with --ldap-filter",
        ));
    }
    let (host, port) = split_host_port(rest).map_err(|p| bad(&p))?;
    let port = port.unwrap_or(if tls { 636 } else { 389 });
    let scheme = if tls { "ldaps" } else { "ldap" };
    Ok(Endpoint {
        tls,
        url: format!("{scheme}://{host}:{port}"),
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return Err("an IPv6 address needs its closing ]".into());
        };
        let after = &inner[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("expected :PORT after ]")?),
        };
        (&s[..end + 2], port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err("the host is missing".into());
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("the port {p:?} is not a number from 1 to 65535")),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_normalised() {
        let ok = |u: &str| {
            parse_url(u)
                .map(|e| (e.tls, e.url))
                .map_err(|e| e.to_string())
        };
        assert_eq!(ok("ldap://dc1:3890"), Ok((false, "ldap://dc1:3890".into())));
        assert_eq!(ok("LDAPS://dc1/"), Ok((true, "ldaps://dc1:636".into())));
        assert_eq!(
            ok("ldap://127.0.0.1"),
            Ok((false, "ldap://127.0.0.1:389".into()))
        );
        assert_eq!(
            ok("ldaps://[::1]:1636"),
            Ok((true, "ldaps://[::1]:1636".into()))
        );
        for bad in [
            "http://dc1",
            "ldap://",
            "ldapi:///run/slapd.sock",
            "ldap://dc1:0",
            "ldap://dc1:x",
            "ldap://dc1/dc=example",
            "ldap://[::1",
            "dc1:389",
        ] {
            assert!(
                matches!(parse_url(bad), Err(LdapError::BadUrl { .. })),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_not_repeated() {
        let err = parse_url("ldap://admin:hunter2secret@dc1:389").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LdapError::BadUrl { .. }));
        assert!(!text.contains("hunter2secret"), "{text}");
        assert!(text.contains("SCIMPORT_LDAP_PASSWORD"), "{text}");
    }

    #[test]
    fn starttls_with_ldaps_and_a_zero_page_are_usage_errors() {
        let mut spec = LdapSpec::new("ldaps://dc1", "dc=x");
        spec.starttls = true;
        assert!(matches!(check(&spec), Err(LdapError::Usage { .. })));
        let mut spec = LdapSpec::new("ldap://dc1", "dc=x");
        spec.page_size = 0;
        let err = check(&spec).unwrap_err();
        assert!(!err.incomplete_read());
        assert!(err.to_string().contains("--page-size"), "{err}");
    }
}
