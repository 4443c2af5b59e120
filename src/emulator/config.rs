//! The emulator's options: one struct, [`EmulatorConfig`], filled by the CLI flags of
//! `scimport emulator` or by tests, plus the small value types its flags parse into.
//!
//! Owns parsing of `--rate-limit`, `--latency-ms` and `--version-conflict`. Does not
//! start anything (see `server`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Everything that shapes one emulator instance.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// OAuth client id the token endpoint accepts.
    pub client_id: String,
    /// OAuth client secret the token endpoint accepts.
    pub client_secret: String,
    /// Whether the credentials were generated (printed at start by the CLI).
    pub generated_credentials: bool,
    /// Lifetime of issued tokens, in seconds.
    pub token_ttl_secs: u64,
    /// Requests per minute per OAuth client; `None` means no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// Probability (0..=1) of a random 500/502/503 on a SCIM API request.
    pub fail_rate: f64,
    /// Probability (0..=1) that a SCIM API request's connection is closed unanswered.
    pub drop_rate: f64,
    /// Added latency range in milliseconds on SCIM API requests.
    pub latency_ms: Option<LatencyRange>,
    /// Seed for every random decision (faults, ids, tokens, seeded users).
    pub seed: Option<u64>,
    /// Accept the full RFC 7644 filter grammar instead of only Genesys's `eq` forms.
    pub lenient_filters: bool,
    /// Whether a list page above 25 without `attributes`/`excludedAttributes` is
    /// refused with 429 (Genesys's warning taken at its word) or served.
    pub large_pages: LargePages,
    /// Permissions withdrawn from the emulator's own OAuth client (`--deny`), on top
    /// of what the tenant file grants it.
    pub deny: Vec<String>,
    /// Status returned when `If-Match` does not match.
    pub version_conflict: VersionConflict,
    /// What a user body naming an attribute or schema Genesys lacks gets.
    pub unknown_attributes: UnknownAttributes,
    /// The body shape of 400 answers.
    pub error_shape: ErrorShape,
    /// Tenant catalogue file (JSON); `None` uses the default catalogue.
    pub tenant: Option<PathBuf>,
    /// A `/schemas` answer (a ListResponse or an array of Schema resources) served
    /// instead of the built-in one, to imitate a target whose schema changed. Only
    /// what `/schemas` says changes; the users' handling does not.
    pub schemas: Option<PathBuf>,
    /// Accept `POST /schemas` (custom extension schemas, at most 10, then stored
    /// and returned on users). Off by default: Genesys's schemas are read-only, and
    /// `POST /schemas` answers 405.
    pub schema_extensions: bool,
    /// Number of deterministic users to create at start.
    pub seed_users: u64,
    /// File the tenant is loaded from at start (if present) and saved to on shutdown.
    pub state: Option<PathBuf>,
    /// Largest accepted request body, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// A connection that has not sent a whole request head this long after it opened
    /// (or after its last response, when kept alive) is closed; a request body gets
    /// as long again (408 after it).
    pub header_read_timeout: Duration,
    /// Most connections served at once; further ones wait in the listen backlog
    /// until one closes (at least 1).
    pub max_connections: usize,
    /// On shutdown, how long requests in flight may take to finish before their
    /// connections are cut; `--state` is saved only after that.
    pub drain_timeout: Duration,
    /// Fault injection (`--drop-skill`): skills the platform API's view of a user
    /// (`GET /api/v2/users/{id}/routingskills`) leaves out although SCIM accepted,
    /// echoes and stores them.
    pub drop_skill: Vec<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: id,
            client_secret: secret,
            generated_credentials: true,
            token_ttl_secs: 86_400,
            rate_limit_per_minute: Some(300),
            fail_rate: 0.0,
            drop_rate: 0.0,
            latency_ms: None,
            seed: None,
            lenient_filters: false,
            large_pages: LargePages::Refuse,
            deny: Vec::new(),
            version_conflict: VersionConflict::BadRequest,
            unknown_attributes: UnknownAttributes::Reject,
            error_shape: ErrorShape::Platform,
            tenant: None,
            schemas: None,
            schema_extensions: false,
            seed_users: 0,
            state: None,
            max_body_bytes: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
            drop_skill: Vec::new(),
        }
    }
}

impl EmulatorConfig {
    /// A config for tests: no rate limit, fixed credentials `test-client` /
    /// `test-secret`, no faults, default tenant, free port.
    pub fn for_tests() -> Self {
        Self {
            client_id: "test-client".into(),
            client_secret: "test-secret".into(),
            generated_credentials: false,
            rate_limit_per_minute: None,
            ..Self::default()
        }
    }
}

/// What a list page larger than 25 without `attributes`/`excludedAttributes` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LargePages {
    /// 429 `too.many.requests` (the default: Genesys warns such pages may 429).
    #[default]
    Refuse,
    /// Served like any page (up to `filter.maxResults`).
    Allow,
}

impl FromStr for LargePages {
    type Err = FlagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "refuse" => Ok(Self::Refuse),
            "allow" => Ok(Self::Allow),
            other => Err(FlagError::LargePages(other.to_string())),
        }
    }
}

/// What an `If-Match` mismatch returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionConflict {
    /// 400 SCIM error `invalidVers` (the Genesys parameter text).
    #[default]
    BadRequest,
    /// 409 SCIM error `invalidVers` (the Genesys response table).
    Conflict,
    /// 412 Precondition Failed (RFC 7644 §3.14).
    PreconditionFailed,
}

impl VersionConflict {
    /// The HTTP status of this mode.
    pub fn status(self) -> u16 {
        match self {
            VersionConflict::BadRequest => 400,
            VersionConflict::Conflict => 409,
            VersionConflict::PreconditionFailed => 412,
        }
    }
}

/// What a user body gets when it names an attribute or a schema URN a Genesys user
/// does not have (core `name`, `addresses`, a `customAttributes` extension...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownAttributes {
    /// 400 `invalidSyntax` naming the attribute (the harsher reading; Genesys's own
    /// behaviour is not documented).
    #[default]
    Reject,
    /// Dropped silently: never stored, never returned.
    Ignore,
}

impl FromStr for UnknownAttributes {
    type Err = FlagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "reject" => Ok(Self::Reject),
            "ignore" => Ok(Self::Ignore),
            other => Err(FlagError::UnknownAttributes(other.to_string())),
        }
    }
}

/// The body of a 400 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorShape {
    /// The platform ErrorBody (`code: bad.request`, integer status), which the
    /// Genesys spec declares for 400; the SCIM `scimType` is kept in
    /// `messageParams.scimType`. A 400 `invalidVers` stays a SCIM error (the spec's
    /// If-Match text names that scimType).
    #[default]
    Platform,
    /// RFC 7644 SCIM errors (string status, `scimType`).
    Scim,
}

impl FromStr for ErrorShape {
    type Err = FlagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "scim" => Ok(Self::Scim),
            "platform" => Ok(Self::Platform),
            other => Err(FlagError::ErrorShape(other.to_string())),
        }
    }
}

/// A flag value of the emulator that cannot be read; says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// `--version-conflict` is not 400, 409 or 412.
    #[error("version conflict mode must be 400, 409 or 412, not {0:?}")]
    VersionConflict(String),
    /// `--latency-ms` is not `MIN..MAX` or `N`.
    #[error("latency must be MIN..MAX milliseconds, not {0:?}")]
    Latency(String),
    /// `--latency-ms` with MIN above MAX.
    #[error("latency range {0:?} has MIN above MAX")]
    LatencyOrder(String),
    /// `--large-pages` is not `refuse` or `allow`.
    #[error("large pages mode must be refuse or allow, not {0:?}")]
    LargePages(String),
    /// `--unknown-attributes` is not `reject` or `ignore`.
    #[error("unknown attributes mode must be reject or ignore, not {0:?}")]
    UnknownAttributes(String),
    /// `--error-shape` is not `scim` or `platform`.
    #[error("error shape must be scim or platform, not {0:?}")]
    ErrorShape(String),
    /// `--rate-limit` is not `N/min`, `N/s` or `off`.
    #[error("rate limit must be N/min, N/s or off, not {0:?}")]
    RateLimit(String),
}

impl FromStr for VersionConflict {
    type Err = FlagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "400" => Ok(Self::BadRequest),
            "409" => Ok(Self::Conflict),
            "412" => Ok(Self::PreconditionFailed),
            other => Err(FlagError::VersionConflict(other.to_string())),
        }
    }
}

/// An inclusive latency range in milliseconds (`MIN..MAX` or a single `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyRange {
    /// Smallest added delay.
    pub min: u64,
    /// Largest added delay.
    pub max: u64,
}

impl FromStr for LatencyRange {
    type Err = FlagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| FlagError::Latency(s.to_string()))
        };
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (parse(a)?, parse(b.trim_start_matches('='))?),
            None => {
                let v = parse(s)?;
                (v, v)
            }
        };
        if min > max {
            return Err(FlagError::LatencyOrder(s.to_string()));
        }
        Ok(Self { min, max })
    }
}

/// A parsed `--rate-limit` value: `N/min`, `N/s` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSpec(pub Option<u32>);

impl FromStr for RateLimitSpec {
    type Err = FlagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        let bad = || FlagError::RateLimit(s.to_string());
        let (n, unit) = s.split_once('/').unwrap_or((s, "min"));
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        let per_minute = match unit.trim() {
            "min" | "m" | "minute" => n,
            "s" | "sec" | "second" => n.checked_mul(60).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        Ok(Self(Some(per_minute)))
    }
}

/// A probability flag value that is not a number in 0..=1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbabilityError {
    /// Not a number.
    #[error("expected a probability between 0 and 1, not {0:?}")]
    NotANumber(String),
    /// A number outside 0..=1.
    #[error("probability {0} is outside 0..1")]
    OutOfRange(f64),
}

/// Parses a probability flag value in 0..=1.
pub fn parse_probability(s: &str) -> Result<f64, ProbabilityError> {
    let p: f64 = s
        .trim()
        .parse()
        .map_err(|_| ProbabilityError::NotANumber(s.to_string()))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(ProbabilityError::OutOfRange(p));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_forms() {
        assert_eq!("300/min".parse::<RateLimitSpec>().unwrap().0, Some(300));
        assert_eq!("5/s".parse::<RateLimitSpec>().unwrap().0, Some(300));
        assert_eq!("off".parse::<RateLimitSpec>().unwrap().0, None);
        assert_eq!("120".parse::<RateLimitSpec>().unwrap().0, Some(120));
        assert!("x/min".parse::<RateLimitSpec>().is_err());
        assert!("0/min".parse::<RateLimitSpec>().is_err());
        assert!("3/hour".parse::<RateLimitSpec>().is_err());
    }

    #[test]
    fn latency_forms() {
        assert_eq!(
            "5..20".parse::<LatencyRange>().unwrap(),
            LatencyRange { min: 5, max: 20 }
        );
        assert_eq!(
            "7".parse::<LatencyRange>().unwrap(),
            LatencyRange { min: 7, max: 7 }
        );
        assert!("20..5".parse::<LatencyRange>().is_err());
    }

    #[test]
    fn version_conflict_and_probability() {
        assert_eq!("412".parse::<VersionConflict>().unwrap().status(), 412);
        assert!("500".parse::<VersionConflict>().is_err());
        assert!(parse_probability("1.5").is_err());
        assert_eq!("allow".parse::<LargePages>().unwrap(), LargePages::Allow);
        assert!("yes".parse::<LargePages>().is_err());
        assert_eq!(parse_probability("0.25").unwrap(), 0.25);
    }

    #[test]
    fn unknown_attributes_and_error_shape() {
        assert_eq!("ignore".parse(), Ok(UnknownAttributes::Ignore));
        assert_eq!("reject".parse(), Ok(UnknownAttributes::Reject));
        assert!("drop".parse::<UnknownAttributes>().is_err());
        assert_eq!("scim".parse(), Ok(ErrorShape::Scim));
        assert_eq!("platform".parse(), Ok(ErrorShape::Platform));
        assert!("json".parse::<ErrorShape>().is_err());
    }
}
