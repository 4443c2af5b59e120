//! The tenant a run talks to ([`Target`]: its [`Profile`], API and login base URLs,
//! the OAuth client [`Credentials`] or a static bearer token) and the Genesys region
//! table that turns a region name into those hosts.
//!
//! Plain values: where they come from (flags, environment, `.env`, a config file) is
//! decided by the command line (`cli::settings`); the token cache (`auth`) and the
//! client use them. `Debug` never shows the secret.

use secrecy::{ExposeSecret, SecretString};

/// The SCIM path prefix under a Genesys API host.
pub const SCIM_PREFIX: &str = "/api/v2/scim/v2";

/// The tenant a run talks to.
#[derive(Clone, Debug)]
pub struct Target {
    /// API base, e.g. `https://api.mypurecloud.ie` (no trailing slash, no path).
    pub api_url: String,
    /// Login base, e.g. `https://login.mypurecloud.ie`; the token endpoint is
    /// `<login_url>/oauth/token`. Equal to `api_url` for the emulator.
    pub login_url: String,
    /// OAuth client credentials.
    pub credentials: Credentials,
    /// True when the target is a loopback host (the emulator).
    pub is_emulator: bool,
    /// Genesys Cloud or any RFC 7644 server.
    pub profile: Profile,
    /// The token endpoint when given explicitly (`--token-url`); otherwise
    /// `<login_url>/oauth/token`.
    pub token_endpoint: Option<String>,
    /// A static bearer token (generic profile, `SCIMPORT_BEARER_TOKEN`): when set, no
    /// token is ever requested and `credentials` are unused.
    pub bearer: Option<SecretString>,
}

/// What kind of server the target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Genesys Cloud: SCIM under `/api/v2/scim/v2`, OAuth at `<login>/oauth/token`,
    /// Genesys filters and extension.
    #[default]
    Genesys,
    /// Any RFC 7644 server: the API URL is the SCIM base, endpoints come from
    /// `/ResourceTypes`, core attributes and `userName`/`externalId eq` filters only.
    Generic,
}

impl Profile {
    /// `genesys` or `generic`, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Genesys => "genesys",
            Profile::Generic => "generic",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "genesys" => Ok(Profile::Genesys),
            "generic" => Ok(Profile::Generic),
            other => Err(format!(
                "unknown profile `{other}`: expected genesys or generic"
            )),
        }
    }
}

impl Target {
    /// A target for an emulator at `url` (login on the same host).
    pub fn emulator(url: &str, client_id: &str, client_secret: &str) -> Target {
        let url = url.trim_end_matches('/').to_string();
        Target {
            api_url: url.clone(),
            login_url: url,
            credentials: Credentials::new(client_id, client_secret),
            is_emulator: true,
            profile: Profile::Genesys,
            token_endpoint: None,
            bearer: None,
        }
    }

    /// The token endpoint: `--token-url` when given, else `<login_url>/oauth/token`.
    pub fn token_url(&self) -> String {
        match &self.token_endpoint {
            Some(url) => url.clone(),
            None => format!("{}/oauth/token", self.login_url),
        }
    }

    /// The SCIM base URL the resource paths hang under: `<api_url>/api/v2/scim/v2`
    /// for Genesys, the API URL itself for a generic server.
    pub fn scim_base(&self) -> String {
        let api = self.api_url.trim_end_matches('/');
        match self.profile {
            Profile::Genesys => format!("{api}{SCIM_PREFIX}"),
            Profile::Generic => api.to_string(),
        }
    }
}

/// OAuth client-credentials pair. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    /// OAuth client id (not secret; may appear in logs).
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
}

impl Credentials {
    /// Builds a pair.
    pub fn new(client_id: &str, client_secret: &str) -> Credentials {
        Credentials {
            client_id: client_id.to_string(),
            client_secret: SecretString::from(client_secret.to_string()),
        }
    }

    /// `Basic base64(id:secret)` for the token request.
    pub fn basic_auth_header(&self) -> SecretString {
        use base64::Engine;
        let raw = format!("{}:{}", self.client_id, self.client_secret.expose_secret());
        SecretString::from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish()
    }
}

/// The Genesys region table (reference §6): region name to domain. The API host is
/// `api.<domain>`, the login host `login.<domain>`.
pub fn region_domain(region: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(region.trim()))
        .map(|(_, domain)| *domain)
}

/// Every known region name, for error messages and `--help`.
pub fn region_names() -> Vec<&'static str> {
    REGIONS.iter().map(|(name, _)| *name).collect()
}

const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
];
