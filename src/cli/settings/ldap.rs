//! The LDAP bind of a sync's directory source: SCIMPORT_LDAP_BIND_DN and
//! SCIMPORT_LDAP_PASSWORD from the config file (`ldap_bind_dn`, `ldap_password`),
//! `.env` or the environment (highest wins), never from a flag. The password is
//! known to the redactor as soon as it is read.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use super::{SettingsError, Sources, TargetArgs, read_files};

/// Environment variable holding the DN a sync binds as.
pub const ENV_LDAP_BIND_DN: &str = "SCIMPORT_LDAP_BIND_DN";
/// Environment variable holding its password.
pub const ENV_LDAP_PASSWORD: &str = "SCIMPORT_LDAP_PASSWORD";

/// A bind DN and its password.
#[derive(Debug, Clone)]
pub struct LdapCredentials {
    /// The DN (or, for Active Directory, `user@domain`).
    pub dn: String,
    /// The password.
    pub password: SecretString,
}

/// The LDAP bind, if any is configured; `Ok(None)` binds anonymously. A DN without
/// a password (or the reverse) is an error naming the missing variable.
pub fn ldap_credentials(
    args: &TargetArgs,
    sources: &Sources,
) -> Result<Option<LdapCredentials>, SettingsError> {
    let (file, dotenv) = read_files(args, sources)?;
    let get =
        |m: &HashMap<String, String>, k: &str| m.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let dn = get(&sources.env, ENV_LDAP_BIND_DN)
        .or_else(|| get(&dotenv, ENV_LDAP_BIND_DN))
        .or(file.ldap_bind_dn);
    let password = get(&sources.env, ENV_LDAP_PASSWORD)
        .or_else(|| get(&dotenv, ENV_LDAP_PASSWORD))
        .or_else(|| file.ldap_password.map(|p| p.expose_secret().to_string()));
    if let Some(p) = &password {
        crate::secrets::register(crate::secrets::SecretKind::LdapBindPassword, p);
    }
    match (dn, password) {
        (None, None) => Ok(None),
        (Some(dn), Some(p)) => Ok(Some(LdapCredentials {
            dn,
            password: SecretString::from(p),
        })),
        (Some(_), None) => Err(SettingsError::MissingCredential {
            name: ENV_LDAP_PASSWORD,
        }),
        (None, Some(_)) => Err(SettingsError::MissingCredential {
            name: ENV_LDAP_BIND_DN,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(pairs: &[(&str, &str)]) -> Sources {
        Sources {
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dotenv_dir: None,
        }
    }

    #[test]
    fn issue_16_ldap_bind_comes_from_the_environment_in_pairs() {
        let args = TargetArgs::default();
        assert!(ldap_credentials(&args, &sources(&[])).unwrap().is_none());
        let both = sources(&[
            (ENV_LDAP_BIND_DN, "cn=sync,dc=example,dc=test"),
            (ENV_LDAP_PASSWORD, "Qv7-ldap-bind-unit-secret"),
        ]);
        let c = ldap_credentials(&args, &both).unwrap().unwrap();
        assert_eq!(c.dn, "cn=sync,dc=example,dc=test");
        assert_eq!(c.password.expose_secret(), "Qv7-ldap-bind-unit-secret");
        assert_eq!(
            crate::secrets::scrub("pw Qv7-ldap-bind-unit-secret").as_ref(),
            "pw ***"
        );
        let half = sources(&[(ENV_LDAP_BIND_DN, "cn=x")]);
        let e = ldap_credentials(&args, &half).unwrap_err().to_string();
        assert!(e.contains(ENV_LDAP_PASSWORD), "{e}");
    }
}
