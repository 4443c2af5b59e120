//! The webhook settings: `webhook_url` from the config file (`--webhook-url`
//! wins), and the signing secret SCIMPORT_WEBHOOK_SECRET from the config file
//! (`webhook_secret`), `.env` or the environment (highest wins), never from a
//! flag and with no default. The secret is known to the redactor as soon as it is
//! read, and checked to be `whsec_<base64>`.

use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::{SettingsError, Sources, TargetArgs, read_files};
use crate::webhook::{SecretError, WebhookSecret};

pub use crate::webhook::ENV_WEBHOOK_SECRET;

/// The webhook URL and secret as configured (either may be missing).
#[derive(Debug)]
pub struct WebhookSettings {
    /// `webhook_url` of the config file.
    pub url: Option<String>,
    /// The secret, parsed; `Err` when one is set but malformed.
    pub secret: Option<Result<WebhookSecret, SecretError>>,
}

/// Reads the webhook settings from the config file, `.env` and the environment.
pub fn webhook_settings(
    args: &TargetArgs,
    sources: &Sources,
) -> Result<WebhookSettings, SettingsError> {
    let (file, dotenv) = read_files(args, sources)?;
    let get =
        |m: &HashMap<String, String>, k: &str| m.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let raw = get(&sources.env, ENV_WEBHOOK_SECRET)
        .or_else(|| get(&dotenv, ENV_WEBHOOK_SECRET))
        .or_else(|| file.webhook_secret.map(|s| s.expose_secret().to_string()));
    if let Some(s) = &raw {
        crate::secrets::register(crate::secrets::SecretKind::WebhookSecret, s.trim());
        if let Some(b64) = s.trim().strip_prefix(crate::webhook::sign::PREFIX) {
            crate::secrets::register(crate::secrets::SecretKind::WebhookSecret, b64);
        }
    }
    Ok(WebhookSettings {
        url: file.webhook_url,
        secret: raw.map(|s| WebhookSecret::parse(&s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_17_webhook_secret_comes_from_the_environment_and_is_redacted() {
        let sources = |pairs: &[(&str, &str)]| Sources {
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dotenv_dir: None,
        };
        let args = TargetArgs::default();
        let none = webhook_settings(&args, &sources(&[])).unwrap();
        assert!(none.secret.is_none() && none.url.is_none());
        let secret = "whsec_d2ViaG9vay11bml0LXRlc3Qtc2VjcmV0";
        let got = webhook_settings(&args, &sources(&[(ENV_WEBHOOK_SECRET, secret)])).unwrap();
        assert!(matches!(got.secret, Some(Ok(_))));
        assert_eq!(
            crate::secrets::scrub(&format!("s={secret}")).as_ref(),
            "s=***"
        );
        let bad =
            webhook_settings(&args, &sources(&[(ENV_WEBHOOK_SECRET, "default-secret")])).unwrap();
        assert!(matches!(bad.secret, Some(Err(SecretError::NoPrefix))));
    }

    #[test]
    fn issue_17_webhook_url_and_secret_come_from_the_config_file_below_the_environment() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("scimport.toml");
        std::fs::write(
            &file,
            "webhook_url = \"https://hr.example.com/hook\"\nwebhook_secret = \"whsec_Y29uZmlnLWZpbGUtc2VjcmV0\"\n",
        )
        .unwrap();
        let args = TargetArgs {
            config: Some(file),
            ..TargetArgs::default()
        };
        let none = Sources {
            env: HashMap::new(),
            dotenv_dir: None,
        };
        let got = webhook_settings(&args, &none).unwrap();
        assert_eq!(got.url.as_deref(), Some("https://hr.example.com/hook"));
        let from_file = got.secret.unwrap().unwrap();
        assert_eq!(
            crate::secrets::scrub("whsec_Y29uZmlnLWZpbGUtc2VjcmV0").as_ref(),
            "***"
        );
        // The environment wins over the file.
        let env = Sources {
            env: HashMap::from([(
                ENV_WEBHOOK_SECRET.to_string(),
                "whsec_ZW52aXJvbm1lbnQtc2VjcmV0".to_string(),
            )]),
            dotenv_dir: None,
        };
        let from_env = webhook_settings(&args, &env)
            .unwrap()
            .secret
            .unwrap()
            .unwrap();
        let sig = |s: &WebhookSecret| s.sign("msg_1", 1, b"{}");
        assert_ne!(sig(&from_file), sig(&from_env));
        assert_eq!(
            sig(&from_env),
            sig(&WebhookSecret::parse("whsec_ZW52aXJvbm1lbnQtc2VjcmV0").unwrap())
        );
    }
}
