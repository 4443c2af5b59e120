//! The one redactor: every secret the process knows (the client secret, each bearer
//! token issued during the run, and later the LDAP bind password and the webhook
//! secret) is registered here by value, and [`redact`] replaces it, in any of its
//! spellings (see [`forms`]), with `***` wherever text leaves the process: stderr,
//! the audit log, the journal, the ledger, failed.csv and summary.json. It also
//! applies the pattern rules ([`patterns`]: `Bearer x`, `client_secret=x`, URL
//! passwords), which catch secrets nobody registered. Server text gets the whole of
//! [`redact`] where it is made into an error (auth and API errors); the high-volume
//! sinks (ledger, journal, failed.csv) then apply the cheaper [`scrub`] (values only)
//! as a second line, and the audit log, stderr and summary.json apply [`redact`].
//!
//! A leaf: it imports no other scimport module, so every layer may call it. The
//! registry is process-wide ([`global`]) because a process works on one run and the
//! log formatter and printer have no run at hand; tests use their own [`Registry`].
//!
//! Short values: a value under [`MIN_LEN`] bytes is not registered (masking every
//! `abc` in a run's output would hide more than it protects, and no token is that
//! short), except the configured client secret, which is always scrubbed however
//! short: it is the one credential a user typed, and leaking it is worse than
//! over-masking (a 3-character secret masks those 3 characters wherever they occur
//! in outside text; Genesys issues 43-character secrets, so in practice this never
//! shows). What scimport itself makes and tools read back (hashes such as the audit
//! head, run ids, counts) is not passed through the redactor, so even such a secret
//! cannot corrupt it: callers redact free text, not whole files.
//!
//! Cost: text is scanned once by an Aho-Corasick automaton over all forms (built
//! again only when a value is added); with nothing registered it is not scanned.

pub mod forms;
pub mod patterns;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use parking_lot::RwLock;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Values shorter than this (in bytes) are not registered, except a client secret.
pub const MIN_LEN: usize = 6;

/// Which credential a value is (for the rules above and for `Debug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretKind {
    /// The OAuth client secret of the target (also hidden as `base64(id:secret)`).
    ClientSecret,
    /// A bearer token the token endpoint issued.
    BearerToken,
    /// The LDAP bind password of a directory source.
    LdapBindPassword,
    /// The secret that signs webhook deliveries.
    WebhookSecret,
}

impl SecretKind {
    /// A stable name (`client_secret`, `bearer_token`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client_secret",
            SecretKind::BearerToken => "bearer_token",
            SecretKind::LdapBindPassword => "ldap_bind_password",
            SecretKind::WebhookSecret => "webhook_secret",
        }
    }

    /// Whether a value of this kind is scrubbed however short it is.
    fn always_scrubbed(self) -> bool {
        matches!(self, SecretKind::ClientSecret)
    }
}

/// A set of secret values and the automaton that finds any of their forms.
pub struct Registry {
    state: RwLock<State>,
}

struct State {
    /// Registered values with their kind (to count them and skip repeats).
    values: BTreeSet<(SecretKind, String)>,
    /// Every form of every value.
    forms: BTreeSet<String>,
    /// Finds `forms` (longest first at a position); `None` while there are none.
    matcher: Option<Arc<AhoCorasick>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.read();
        let kinds: Vec<&str> = st.values.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Registry")
            .field("values", &kinds)
            .field("forms", &st.forms.len())
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry.
    pub const fn new() -> Registry {
        Registry {
            state: RwLock::new(State {
                values: BTreeSet::new(),
                forms: BTreeSet::new(),
                matcher: None,
            }),
        }
    }

    /// Registers `value` as a secret of `kind`; false when it was skipped (empty,
    /// shorter than [`MIN_LEN`] for a kind other than the client secret) or known.
    pub fn register(&self, kind: SecretKind, value: &str) -> bool {
        self.add(kind, value, &[])
    }

    /// Registers the client secret, with `client_id:client_secret` (the payload of
    /// the Basic header, also form-encoded as RFC 6749 §2.3.1 asks) for base64.
    pub fn register_client(&self, client_id: &str, client_secret: &str) -> bool {
        let form = |s: &str| forms::percent_encoded(s, b"*-._", true, true);
        let basic = vec![
            format!("{client_id}:{client_secret}"),
            format!("{}:{}", form(client_id), form(client_secret)),
        ];
        self.add(SecretKind::ClientSecret, client_secret, &basic)
    }

    fn add(&self, kind: SecretKind, value: &str, extra_base64: &[String]) -> bool {
        if value.is_empty() || (value.len() < MIN_LEN && !kind.always_scrubbed()) {
            return false;
        }
        let mut st = self.state.write();
        if !st.values.insert((kind, value.to_string())) {
            return false;
        }
        let before = st.forms.len();
        st.forms.extend(forms::forms(value, extra_base64));
        if st.forms.len() != before {
            let matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(st.forms.iter())
                .expect("a few hundred literal patterns fit the automaton's limits");
            st.matcher = Some(Arc::new(matcher));
        }
        true
    }

    /// How many values are registered.
    pub fn len(&self) -> usize {
        self.state.read().values.len()
    }

    /// Whether no value is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn matcher(&self) -> Option<Arc<AhoCorasick>> {
        self.state.read().matcher.clone()
    }

    /// `s` with every registered value, in any form, replaced by [`MASK`]
    /// (borrowed when none occurs).
    pub fn scrub<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let Some(ac) = self.matcher() else {
            return Cow::Borrowed(s);
        };
        if !ac.is_match(s) {
            return Cow::Borrowed(s);
        }
        let mut out = String::with_capacity(s.len());
        let mut pos = 0;
        for m in ac.find_iter(s) {
            out.push_str(&s[pos..m.start()]);
            out.push_str(MASK);
            pos = m.end();
        }
        out.push_str(&s[pos..]);
        Cow::Owned(out)
    }

    /// [`Registry::scrub`] over bytes (a formatted log line that may not be UTF-8).
    pub fn scrub_bytes<'a>(&self, b: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(ac) = self.matcher() else {
            return Cow::Borrowed(b);
        };
        if !ac.is_match(b) {
            return Cow::Borrowed(b);
        }
        let mut out = Vec::with_capacity(b.len());
        let mut pos = 0;
        for m in ac.find_iter(b) {
            out.extend_from_slice(&b[pos..m.start()]);
            out.extend_from_slice(MASK.as_bytes());
            pos = m.end();
        }
        out.extend_from_slice(&b[pos..]);
        Cow::Owned(out)
    }

    /// [`Registry::scrub`], then the pattern rules of [`patterns::redact`].
    pub fn redact<'a>(&self, s: &'a str) -> Cow<'a, str> {
        match self.scrub(s) {
            Cow::Borrowed(b) => patterns::redact(b),
            Cow::Owned(o) => Cow::Owned(patterns::redact(&o).into_owned()),
        }
    }

    /// [`Registry::redact`] applied to every string (and object key) inside `v`.
    pub fn redact_json(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                if let Cow::Owned(o) = self.redact(s) {
                    *s = o;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.redact_json(i)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    self.redact_json(&mut val);
                    map.insert(self.redact(&k).into_owned(), val);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The process's registry.
static GLOBAL: Registry = Registry::new();

/// The process's registry (what [`register`] fills and [`redact`] reads).
pub fn global() -> &'static Registry {
    &GLOBAL
}

/// Registers `value` in the process's registry (see [`Registry::register`]).
pub fn register(kind: SecretKind, value: &str) -> bool {
    GLOBAL.register(kind, value)
}

/// Registers the client credentials in the process's registry (see
/// [`Registry::register_client`]).
pub fn register_client(client_id: &str, client_secret: &str) -> bool {
    GLOBAL.register_client(client_id, client_secret)
}

/// `s` with the process's secrets and the pattern rules' matches masked.
pub fn redact(s: &str) -> Cow<'_, str> {
    GLOBAL.redact(s)
}

/// `s` with the process's secrets masked (values only: cheap where text is already
/// redacted at its source and volume matters, such as the ledger's error column).
pub fn scrub(s: &str) -> Cow<'_, str> {
    GLOBAL.scrub(s)
}

/// `b` with the process's secrets masked (values only: for formatted log lines).
pub fn scrub_bytes(b: &[u8]) -> Cow<'_, [u8]> {
    GLOBAL.scrub_bytes(b)
}

/// Every string inside `v` redacted with the process's registry.
pub fn redact_json(v: &mut serde_json::Value) {
    GLOBAL.redact_json(v)
}

#[cfg(test)]
mod tests;
