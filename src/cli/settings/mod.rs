//! Where a run sends its calls and with which credentials: resolves `--profile`,
//! `--region` or `--api-url`/`--login-url`/`--token-url` into a [`Target`], and
//! GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET into [`Credentials`] or, for a generic
//! RFC 7644 server, SCIMPORT_BEARER_TOKEN into a static bearer token.
//!
//! Precedence, lowest first: config file (`--config FILE`, TOML) < `.env` in the
//! working directory < process environment < command-line flags. The secret is never
//! taken from a command-line argument and has no default. Non-loopback hosts must use
//! https (TLS verification is always on in the client). Does not build the HTTP
//! client (see `apply::api`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser as _;
use secrecy::{ExposeSecret, SecretString};

pub use crate::scim::target::{Credentials, Profile, Target, region_domain, region_names};
use serde::Deserialize;

/// Environment variable holding the OAuth client id.
pub const ENV_CLIENT_ID: &str = "GENESYS_CLIENT_ID";
/// Environment variable holding the OAuth client secret.
pub const ENV_CLIENT_SECRET: &str = "GENESYS_CLIENT_SECRET";
/// Environment variable naming the region (same values as `--region`).
pub const ENV_REGION: &str = "GENESYS_REGION";
/// Environment variable holding the API base URL.
pub const ENV_API_URL: &str = "GENESYS_API_URL";
/// Environment variable holding the login (token) base URL.
pub const ENV_LOGIN_URL: &str = "GENESYS_LOGIN_URL";
/// Environment variable holding a static bearer token (generic profile only).
pub const ENV_BEARER_TOKEN: &str = "SCIMPORT_BEARER_TOKEN";

/// Target flags, meant to be `#[command(flatten)]`ed into a subcommand's `Args`.
/// There is deliberately no flag for the client secret.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// What the target is: `genesys` (Genesys Cloud or its emulator; SCIM under
    /// `<api-url>/api/v2/scim/v2`, OAuth at `<login-url>/oauth/token`) or `generic`
    /// (any RFC 7644 server: `--api-url` is the SCIM base URL itself, the one
    /// `/Users` hangs under; auth is a static bearer token from SCIMPORT_BEARER_TOKEN
    /// or OAuth client credentials at `--token-url`; endpoints come from
    /// `/ResourceTypes`; core attributes and `userName`/`externalId eq` filters
    /// only). Default genesys; the config file may set `profile`.
    #[arg(long, value_name = "PROFILE", value_parser = clap::builder::PossibleValuesParser::new(["genesys", "generic"]).map(|s| if s == "generic" { Profile::Generic } else { Profile::Genesys }))]
    pub profile: Option<Profile>,
    /// Genesys region (e.g. eu-west-1); sets the api and login hosts.
    #[arg(long, conflicts_with = "api_url")]
    pub region: Option<String>,
    /// API base URL (e.g. https://api.mypurecloud.ie or http://127.0.0.1:PORT for an
    /// emulator); with `--profile generic`, the SCIM base URL (e.g.
    /// https://idp.example.com/scim/v2).
    #[arg(long)]
    pub api_url: Option<String>,
    /// OAuth token endpoint for the client-credentials grant (GENESYS_CLIENT_ID /
    /// GENESYS_CLIENT_SECRET). Default `<login-url>/oauth/token` for genesys; with
    /// `--profile generic` it is needed unless SCIMPORT_BEARER_TOKEN is set.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Login base URL; defaults to the api host with `api.` replaced by `login.`,
    /// or the api URL itself for a loopback emulator.
    #[arg(long)]
    pub login_url: Option<String>,
    /// TOML file with profile, client_id, client_secret, bearer_token, region, api_url,
    /// login_url, token_url, webhook_url, webhook_secret (lowest precedence).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl TargetArgs {
    /// The target flags as given, shell-quoted, for a printed next-step command
    /// (never a secret: secrets are never flags).
    pub fn words(&self) -> Vec<String> {
        let q = |s: &str| crate::model::shell::shell_quote(s);
        let mut out = Vec::new();
        if let Some(p) = self.profile {
            out.push(format!("--profile {}", p.as_str()));
        }
        for (flag, value) in [
            ("--region", &self.region),
            ("--api-url", &self.api_url),
            ("--login-url", &self.login_url),
            ("--token-url", &self.token_url),
        ] {
            if let Some(v) = value {
                out.push(format!("{flag} {}", q(v)));
            }
        }
        if let Some(c) = &self.config {
            out.push(format!("--config {}", q(&c.display().to_string())));
        }
        out
    }
}

/// The config file's shape (`--config FILE`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret (keep the file private).
    pub client_secret: Option<SecretString>,
    /// Genesys region name.
    pub region: Option<String>,
    /// API base URL.
    pub api_url: Option<String>,
    /// Login base URL.
    pub login_url: Option<String>,
    /// `genesys` (default) or `generic`.
    pub profile: Option<Profile>,
    /// OAuth token endpoint (`--token-url`).
    pub token_url: Option<String>,
    /// Static bearer token for a generic server (keep the file private).
    pub bearer_token: Option<SecretString>,
    /// The DN a sync binds to its LDAP source as (SCIMPORT_LDAP_BIND_DN).
    pub ldap_bind_dn: Option<String>,
    /// That DN's password (SCIMPORT_LDAP_PASSWORD; keep the file private).
    pub ldap_password: Option<SecretString>,
    /// Where webhook events go (`--webhook-url` wins).
    pub webhook_url: Option<String>,
    /// The webhook signing secret, `whsec_<base64>` (SCIMPORT_WEBHOOK_SECRET; keep
    /// the file private).
    pub webhook_secret: Option<SecretString>,
}

/// Why a target could not be resolved (a usage/configuration error: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("invalid config file {path}: {detail}")]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong (no values are echoed).
        detail: String,
    },
    /// The `.env` file could not be parsed.
    #[error("invalid .env file {path}: {detail}")]
    DotEnv {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Unknown region name.
    #[error("unknown region `{region}`; known regions: {known}")]
    UnknownRegion {
        /// The name given.
        region: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A URL that cannot be used.
    #[error("invalid {what} `{url}`: {problem}")]
    BadUrl {
        /// `api URL` or `login URL`.
        what: &'static str,
        /// The URL given.
        url: String,
        /// Why.
        problem: String,
    },
    /// The options do not fit the profile.
    #[error("{problem}")]
    Profile {
        /// What is wrong and what to do.
        problem: String,
    },
    /// A generic target was given without any way to authenticate.
    #[error(
        "the generic profile needs credentials: set {ENV_BEARER_TOKEN} (a static bearer token; in the environment, a .env file or the --config file as bearer_token, never on the command line), or give --token-url with {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (OAuth client credentials)"
    )]
    MissingGenericAuth,
    /// A target was given but no credentials were found.
    #[error(
        "missing {name}: set it in the environment, a .env file or the --config file (never on the command line)"
    )]
    MissingCredential {
        /// The variable name.
        name: &'static str,
    },
}

/// Everything resolution reads, so tests can supply it without touching the
/// process environment.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Process environment (only the GENESYS_* keys matter).
    pub env: HashMap<String, String>,
    /// Directory whose `.env` is read, if any.
    pub dotenv_dir: Option<PathBuf>,
}

impl Sources {
    /// The real process environment and the current directory.
    pub fn from_process() -> Sources {
        let env = std::env::vars()
            .filter(|(k, _)| {
                k.starts_with("GENESYS_")
                    || k == ENV_BEARER_TOKEN
                    || k.starts_with("SCIMPORT_LDAP_")
                    || k == webhook::ENV_WEBHOOK_SECRET
            })
            .collect();
        Sources {
            env,
            dotenv_dir: std::env::current_dir().ok(),
        }
    }
}

/// Resolves the target from the process environment, `.env` in the working
/// directory and `--config`. `Ok(None)` means no target was given at all (the
/// caller then uses the embedded emulator and says so).
pub fn resolve(args: &TargetArgs) -> Result<Option<Target>, SettingsError> {
    resolve_from(args, &Sources::from_process())
}

/// [`resolve`] with explicit sources (for tests).
pub fn resolve_from(args: &TargetArgs, sources: &Sources) -> Result<Option<Target>, SettingsError> {
    let (file, dotenv) = read_files(args, sources)?;
    // One layer per source, highest precedence first.
    let layers: [Layer; 4] = [
        Layer {
            region: args.region.clone(),
            api_url: args.api_url.clone(),
            login_url: args.login_url.clone(),
            token_url: args.token_url.clone(),
            client_id: None,
            client_secret: None,
            bearer: None,
        },
        Layer::from_map(&sources.env),
        Layer::from_map(&dotenv),
        Layer {
            region: file.region,
            api_url: file.api_url,
            login_url: file.login_url,
            token_url: file.token_url,
            client_id: file.client_id,
            client_secret: file.client_secret.map(|s| s.expose_secret().to_string()),
            bearer: file
                .bearer_token
                .map(|s| s.expose_secret().to_string())
                .filter(|s| !s.trim().is_empty()),
        },
    ];
    let profile = args.profile.or(file.profile).unwrap_or_default();
    if profile == Profile::Generic {
        return resolve_generic(&layers);
    }
    // The highest layer naming a host (region or api URL) decides the host.
    let Some(host_layer) = layers
        .iter()
        .find(|l| l.region.is_some() || l.api_url.is_some())
    else {
        return Ok(None);
    };
    let (api_url, derived_login) = match (&host_layer.api_url, &host_layer.region) {
        (Some(url), _) => {
            let api = check_url("api URL", url)?;
            let login = derive_login(&api);
            (api, login)
        }
        (None, Some(region)) => {
            let domain = region_domain(region).ok_or_else(|| SettingsError::UnknownRegion {
                region: region.clone(),
                known: region_names().join(", "),
            })?;
            (
                format!("https://api.{domain}"),
                Some(format!("https://login.{domain}")),
            )
        }
        (None, None) => unreachable!("host_layer has a region or an api URL"),
    };
    let login_url = match layers.iter().find_map(|l| l.login_url.clone()) {
        Some(url) => check_url("login URL", &url)?,
        None => derived_login.ok_or_else(|| SettingsError::BadUrl {
            what: "login URL",
            url: api_url.clone(),
            problem: "cannot derive the login host from this api host; pass --login-url".into(),
        })?,
    };
    let credentials = client_credentials(&layers)?;
    let is_emulator = is_loopback_url(&api_url);
    let token_endpoint = match layers.iter().find_map(|l| l.token_url.clone()) {
        Some(url) => Some(check_url("token URL", &url)?),
        None => None,
    };
    Ok(Some(Target {
        api_url,
        login_url,
        credentials,
        is_emulator,
        profile: Profile::Genesys,
        token_endpoint,
        bearer: None,
    }))
}

/// The generic profile: `--api-url` is the SCIM base; auth comes from the highest
/// layer that configures any (a bearer token, or a token URL for client
/// credentials); one layer configuring both is ambiguous and refused.
fn resolve_generic(layers: &[Layer; 4]) -> Result<Option<Target>, SettingsError> {
    if let Some(l) = layers.iter().find(|l| l.region.is_some()) {
        let region = l.region.clone().unwrap_or_default();
        return Err(SettingsError::Profile {
            problem: format!(
                "--region ({region}) names a Genesys region; the generic profile needs --api-url, the SCIM base URL the /Users endpoint hangs under"
            ),
        });
    }
    let Some(raw) = layers.iter().find_map(|l| l.api_url.clone()) else {
        return Ok(None);
    };
    let api_url = check_url("api URL", &raw)?;
    let Some(auth) = layers
        .iter()
        .find(|l| l.bearer.is_some() || l.token_url.is_some())
    else {
        return Err(SettingsError::MissingGenericAuth);
    };
    let is_emulator = is_loopback_url(&api_url);
    match (&auth.bearer, &auth.token_url) {
        (Some(_), Some(_)) => Err(SettingsError::Profile {
            problem: format!(
                "both {ENV_BEARER_TOKEN} and a token URL are set at the same level; keep one (a static bearer token, or OAuth client credentials at the token URL)"
            ),
        }),
        (Some(token), None) => Ok(Some(Target {
            login_url: api_url.clone(),
            api_url,
            credentials: Credentials::new("", ""),
            is_emulator,
            profile: Profile::Generic,
            token_endpoint: None,
            // Registered with the redactor here and again by the token cache.
            bearer: {
                crate::secrets::register(crate::secrets::SecretKind::BearerToken, token);
                Some(SecretString::from(token.clone()))
            },
        })),
        (None, Some(url)) => {
            let token_url = check_url("token URL", url)?;
            let credentials = client_credentials(layers)?;
            Ok(Some(Target {
                login_url: api_url.clone(),
                api_url,
                credentials,
                is_emulator,
                profile: Profile::Generic,
                token_endpoint: Some(token_url),
                bearer: None,
            }))
        }
        (None, None) => Err(SettingsError::MissingGenericAuth),
    }
}

/// The OAuth client id and secret from the highest layer that gives each; the
/// secret is known to the redactor from here on, whichever layer gave it.
fn client_credentials(layers: &[Layer]) -> Result<Credentials, SettingsError> {
    let missing = |name| SettingsError::MissingCredential { name };
    let client_id = layers
        .iter()
        .find_map(|l| l.client_id.clone())
        .ok_or(missing(ENV_CLIENT_ID))?;
    let client_secret = layers
        .iter()
        .find_map(|l| l.client_secret.clone())
        .ok_or(missing(ENV_CLIENT_SECRET))?;
    crate::secrets::register_client(&client_id, &client_secret);
    Ok(Credentials {
        client_id,
        client_secret: SecretString::from(client_secret),
    })
}

struct Layer {
    region: Option<String>,
    api_url: Option<String>,
    login_url: Option<String>,
    token_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    bearer: Option<String>,
}

impl Layer {
    fn from_map(map: &HashMap<String, String>) -> Layer {
        let get = |k: &str| map.get(k).filter(|v| !v.trim().is_empty()).cloned();
        Layer {
            region: get(ENV_REGION),
            api_url: get(ENV_API_URL),
            login_url: get(ENV_LOGIN_URL),
            token_url: None,
            client_id: get(ENV_CLIENT_ID),
            client_secret: get(ENV_CLIENT_SECRET),
            bearer: get(ENV_BEARER_TOKEN),
        }
    }
}

/// The `--config` file and the `.env` file, as far as they are given.
fn read_files(
    args: &TargetArgs,
    sources: &Sources,
) -> Result<(ConfigFile, HashMap<String, String>), SettingsError> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let dotenv = match &sources.dotenv_dir {
        Some(dir) => read_dotenv(&dir.join(".env"))?,
        None => HashMap::new(),
    };
    Ok((file, dotenv))
}

fn read_config(path: &Path) -> Result<ConfigFile, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| SettingsError::ParseConfig {
        path: path.to_path_buf(),
        // toml's message quotes the offending line, which could be the secret.
        detail: e.message().to_string(),
    })
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, SettingsError> {
    if !path.is_file() {
        return Ok(HashMap::new());
    }
    let iter = dotenvy::from_path_iter(path).map_err(|e| SettingsError::DotEnv {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let mut map = HashMap::new();
    for item in iter {
        let (k, v) = item.map_err(|_| SettingsError::DotEnv {
            path: path.to_path_buf(),
            detail: "a line could not be parsed".into(),
        })?;
        if k.starts_with("GENESYS_") || k == ENV_BEARER_TOKEN || k == webhook::ENV_WEBHOOK_SECRET {
            map.insert(k, v);
        }
    }
    Ok(map)
}

/// Checks a base URL: http(s), a host, https unless loopback; returns it without a
/// trailing slash.
fn check_url(what: &'static str, raw: &str) -> Result<String, SettingsError> {
    let bad = |problem: &str| SettingsError::BadUrl {
        what,
        url: raw.to_string(),
        problem: problem.to_string(),
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if url.host_str().is_none() {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_url(raw.trim()) => {}
        "http" => return Err(bad("https is required for a non-loopback host")),
        _ => return Err(bad("the scheme must be https")),
    }
    Ok(raw.trim().trim_end_matches('/').to_string())
}

/// `https://api.X` gives `https://login.X`; a loopback URL is its own login host.
fn derive_login(api_url: &str) -> Option<String> {
    if is_loopback_url(api_url) {
        return Some(api_url.to_string());
    }
    let url = reqwest::Url::parse(api_url).ok()?;
    let host = url.host_str()?;
    let rest = host.strip_prefix("api.")?;
    let mut login = url.clone();
    login.set_host(Some(&format!("login.{rest}"))).ok()?;
    Some(login.as_str().trim_end_matches('/').to_string())
}

/// True for `localhost`, 127.0.0.0/8 and `::1`.
pub fn is_loopback_url(raw: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(raw) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

mod ldap;
#[cfg(test)]
mod tests;
pub mod webhook;

pub use ldap::{ENV_LDAP_BIND_DN, ENV_LDAP_PASSWORD, LdapCredentials, ldap_credentials};
