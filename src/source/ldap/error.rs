//! What can go wrong reading a directory, worded for the person who runs scimport:
//! each message names the URL and says what to do. No variant holds the bind
//! password, and text that comes from the server or the LDAP library goes through
//! `secrets::redact` before it is stored here.

/// A directory read that failed. A read either returns every entry or one of these.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    /// The URL is not `ldap://HOST[:PORT]` or `ldaps://HOST[:PORT]`.
    #[error(
        "{url}: not an LDAP URL; use ldap://HOST:PORT or ldaps://HOST:PORT (no path, no user, no query): {problem}"
    )]
    BadUrl {
        /// The URL as given (redacted).
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Options that do not go together (e.g. `--starttls` with `ldaps://`).
    #[error("{url}: {problem}")]
    Usage {
        /// The directory URL.
        url: String,
        /// What to change.
        problem: String,
    },
    /// The `--ldap-filter` is not a valid RFC 4515 filter.
    #[error(
        "{url}: the LDAP filter {filter:?} is not valid (RFC 4515), e.g. \"(objectClass=person)\""
    )]
    Filter {
        /// The directory URL.
        url: String,
        /// The filter as given.
        filter: String,
    },
    /// The `--ldap-ca` file cannot be read or holds no PEM certificate.
    #[error("{url}: --ldap-ca {path}: {problem}")]
    CaFile {
        /// The directory URL.
        url: String,
        /// The CA file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// No connection (refused, unreachable, TLS handshake failed, StartTLS refused).
    #[error("{url}: cannot connect: {problem}; {hint}")]
    Connect {
        /// The directory URL.
        url: String,
        /// What failed.
        problem: String,
        /// What to do about it.
        hint: String,
    },
    /// The bind was refused.
    #[error("{url}: bind as {dn:?} refused: {problem}; {hint}")]
    Bind {
        /// The directory URL.
        url: String,
        /// The bind DN (never the password).
        dn: String,
        /// What the server said.
        problem: String,
        /// What to do about it.
        hint: String,
    },
    /// The server answered the search with an error.
    #[error("{url}: search under {base_dn:?} failed: {message} (LDAP result {code}); {hint}")]
    Search {
        /// The directory URL.
        url: String,
        /// The base DN searched.
        base_dn: String,
        /// The LDAP result code.
        code: u32,
        /// The server's diagnostic (redacted), or the code's name.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// The server stopped at its size limit: the read is not the whole directory.
    #[error(
        "{url}: the server stopped at its size limit after {entries} entries, so the directory read is incomplete; lower --page-size (now {page_size}) below the server's limit or raise the limit for the bind account"
    )]
    SizeLimit {
        /// The directory URL.
        url: String,
        /// Entries read before the limit.
        entries: u64,
        /// The page size asked for.
        page_size: u32,
    },
    /// The read started but did not finish (connection lost, timeout, garbled reply).
    #[error(
        "{url}: the directory read did not finish after {entries} entries: {problem}; nothing was used from it, run again once the server is reachable"
    )]
    Incomplete {
        /// The directory URL.
        url: String,
        /// Entries read before it stopped.
        entries: u64,
        /// What happened.
        problem: String,
    },
}

impl LdapError {
    /// True when the directory was (or may have been) reachable but the read did not
    /// return every entry: connection, bind, search, size limit, lost connection.
    /// False for configuration mistakes found before any connection (URL, options,
    /// filter, CA file). Either way no `Directory` exists; a sync refuses the run.
    pub fn incomplete_read(&self) -> bool {
        match self {
            LdapError::BadUrl { .. }
            | LdapError::Usage { .. }
            | LdapError::Filter { .. }
            | LdapError::CaFile { .. } => false,
            LdapError::Connect { .. }
            | LdapError::Bind { .. }
            | LdapError::Search { .. }
            | LdapError::SizeLimit { .. }
            | LdapError::Incomplete { .. } => true,
        }
    }
}

/// The name of an LDAP result code (RFC 4511 appendix A).
pub(crate) fn result_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "unknown",
    }
}

/// Text from the server or the LDAP library, safe to keep in an error.
pub(crate) fn clean(text: &str) -> String {
    crate::secrets::redact(text).into_owned()
}
