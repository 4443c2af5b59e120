//! Opening the connection: the TLS client configuration (the `--ldap-ca` file or
//! the platform's roots; verification and hostname checks are never off), LDAPS or
//! StartTLS, and the simple bind. Every failure becomes an [`LdapError`] that says
//! what to do. The bind password is registered with `secrets` before it is sent.

use std::sync::Arc;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::ExposeSecret;

use super::error::{LdapError, clean, result_name};
use super::spec::{Endpoint, LdapSpec};
use crate::secrets::{self, SecretKind};

/// The trust anchors: every certificate of the CA file, or the platform's roots.
pub(crate) fn root_store(spec: &LdapSpec, url: &str) -> Result<RootCertStore, LdapError> {
    let mut store = RootCertStore::empty();
    match &spec.ca_file {
        Some(path) => {
            let ca_err = |problem: String| LdapError::CaFile {
                url: url.to_string(),
                path: path.display().to_string(),
                problem,
            };
            let bytes = std::fs::read(path).map_err(|e| ca_err(format!("cannot read it: {e}")))?;
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                let cert = cert.map_err(|e| ca_err(format!("not a PEM file: {e}")))?;
                store
                    .add(cert)
                    .map_err(|e| ca_err(format!("a certificate in it is not usable: {e}")))?;
                found += 1;
            }
            if found == 0 {
                return Err(ca_err(
                    "it holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA that signed the directory's certificate".into(),
                ));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                // A platform root rustls cannot parse is one anchor fewer, not a failure.
                let _ = store.add(cert);
            }
        }
    }
    Ok(store)
}

/// The rustls client configuration (ring, safe defaults, verification on).
fn tls_config(store: RootCertStore) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Connects (with TLS as asked), starts driving the connection on the runtime, and
/// binds. Returns the handle for searches.
pub(crate) async fn open(spec: &LdapSpec, endpoint: &Endpoint) -> Result<Ldap, LdapError> {
    let url = endpoint.url.as_str();
    let tls = endpoint.tls || spec.starttls;
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(spec.timeout)
        .set_starttls(spec.starttls);
    if tls {
        let store = root_store(spec, url)?;
        let config = tls_config(store).map_err(|problem| LdapError::Connect {
            url: url.to_string(),
            problem,
            hint: "this build's TLS settings are unusable; report it".into(),
        })?;
        settings = settings.set_config(config);
    }
    let connect = LdapConnAsync::with_settings(settings, url);
    let (conn, mut ldap) = match tokio::time::timeout(spec.timeout, connect).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(connect_error(url, tls, spec.starttls, &e)),
        Err(_) => {
            return Err(LdapError::Connect {
                url: url.to_string(),
                problem: format!("no answer within {} s", spec.timeout.as_secs_f64()),
                hint: "check the host, the port and any firewall between here and the directory"
                    .into(),
            });
        }
    };
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!(error = %clean(&e.to_string()), "LDAP connection ended");
        }
    });
    if let Some(bind) = &spec.bind {
        bind_simple(
            &mut ldap,
            spec,
            url,
            &bind.dn,
            bind.password.expose_secret(),
        )
        .await?;
    }
    Ok(ldap)
}

async fn bind_simple(
    ldap: &mut Ldap,
    spec: &LdapSpec,
    url: &str,
    dn: &str,
    password: &str,
) -> Result<(), LdapError> {
    secrets::register(SecretKind::LdapBindPassword, password);
    let refused = |problem: String, hint: &str| LdapError::Bind {
        url: url.to_string(),
        dn: dn.to_string(),
        problem,
        hint: hint.to_string(),
    };
    if password.is_empty() {
        // An empty password makes a simple bind "unauthenticated" (RFC 4513 §5.1.2),
        // which some servers accept as anonymous: never send one.
        return Err(refused(
            "the password is empty".into(),
            "set SCIMPORT_LDAP_PASSWORD (environment, .env or --config), or unset SCIMPORT_LDAP_BIND_DN to bind anonymously",
        ));
    }
    let res = ldap
        .with_timeout(spec.timeout)
        .simple_bind(dn, password)
        .await
        .map_err(|e| {
            refused(
                clean(&e.to_string()),
                "the directory stopped answering during the bind; check that it is up",
            )
        })?;
    if res.rc == 0 {
        return Ok(());
    }
    let problem = server_text(res.rc, &res.text);
    Err(match res.rc {
        49 => refused(
            problem,
            "check SCIMPORT_LDAP_BIND_DN and SCIMPORT_LDAP_PASSWORD (for Active Directory the DN may also be user@domain)",
        ),
        8 | 13 => refused(
            problem,
            "the server requires an encrypted connection for this bind: use ldaps:// or --starttls",
        ),
        _ => refused(
            problem,
            "check SCIMPORT_LDAP_BIND_DN and SCIMPORT_LDAP_PASSWORD and that the account may bind",
        ),
    })
}

/// `"invalidCredentials (49): <server text>"`, redacted.
pub(crate) fn server_text(rc: u32, text: &str) -> String {
    let text = clean(text.trim());
    if text.is_empty() {
        format!("{} ({rc})", result_name(rc))
    } else {
        format!("{} ({rc}): {text}", result_name(rc))
    }
}

/// A connection failure, with the TLS cases told apart.
fn connect_error(url: &str, tls: bool, starttls: bool, e: &ldap3::LdapError) -> LdapError {
    let problem = clean(&e.to_string());
    let hint = match tls_failure(e) {
        Some(TlsFailure::Certificate(why)) => {
            return LdapError::Connect {
                url: url.to_string(),
                problem: format!("the server's certificate could not be verified ({why})"),
                hint: "pass --ldap-ca with the PEM file of the CA that signed it (verification cannot be turned off), and connect with the host name the certificate names".into(),
            };
        }
        Some(TlsFailure::Other) => {
            "the TLS handshake failed; check that the port speaks TLS (ldaps:// is usually 636, ldap:// with --starttls 389)"
        }
        None if starttls => {
            "check the host and port, and that the server offers StartTLS (or use ldaps://)"
        }
        None if tls => {
            "check the host and port (ldaps:// is usually 636) and that the server is up"
        }
        None => "check the host and port (ldap:// is usually 389) and that the server is up",
    };
    LdapError::Connect {
        url: url.to_string(),
        problem,
        hint: hint.to_string(),
    }
}

enum TlsFailure {
    Certificate(String),
    Other,
}

/// Finds a rustls error in the chain of `e`.
fn tls_failure(e: &ldap3::LdapError) -> Option<TlsFailure> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(t) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(classify(t));
        }
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(classify(t));
        }
        cur = err.source();
    }
    None
}

fn classify(e: &rustls::Error) -> TlsFailure {
    match e {
        rustls::Error::InvalidCertificate(why) => TlsFailure::Certificate(format!("{why:?}")),
        _ => TlsFailure::Other,
    }
}
