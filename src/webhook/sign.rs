//! The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of
//! `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64-decoded
//! part of a `whsec_<base64>` secret. Signs and checks; never prints the key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a Standard Webhooks secret.
pub const PREFIX: &str = "whsec_";

/// Why a secret was refused. Never quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// It does not start with `whsec_`.
    #[error("the webhook secret must look like whsec_<base64> (it does not start with whsec_)")]
    NoPrefix,
    /// The part after `whsec_` is not base64, or is empty.
    #[error(
        "the webhook secret must look like whsec_<base64> (the part after whsec_ is not non-empty base64)"
    )]
    NotBase64,
}

/// A signing key (the decoded secret). `Debug` shows nothing of it.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>` (surrounding blanks ignored).
    pub fn parse(raw: &str) -> Result<WebhookSecret, SecretError> {
        let b64 = raw
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(SecretError::NoPrefix)?;
        let key = STANDARD.decode(b64).map_err(|_| SecretError::NotBase64)?;
        if key.is_empty() {
            return Err(SecretError::NotBase64);
        }
        Ok(WebhookSecret { key })
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value for these exact bytes: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(id, &timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// Whether any of the space-separated `v1,<base64>` signatures in `header`
    /// matches (compared in constant time).
    pub fn matches(&self, id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
        header.split_whitespace().any(|sig| {
            let Some(b64) = sig.strip_prefix("v1,") else {
                return false;
            };
            let Ok(tag) = STANDARD.decode(b64) else {
                return false;
            };
            self.mac(id, timestamp, body).verify_slice(&tag).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification (and its libraries' tests).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specifications_example() {
        let s = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(s.sign(SPEC_ID, SPEC_TS, SPEC_BODY.as_bytes()), SPEC_SIG);
        assert!(s.matches(SPEC_ID, "1614265330", SPEC_BODY.as_bytes(), SPEC_SIG));
        let several = format!("v1,bm90IGl0 {SPEC_SIG} v2,x");
        assert!(s.matches(SPEC_ID, "1614265330", SPEC_BODY.as_bytes(), &several));
        assert!(!s.matches(SPEC_ID, "1614265331", SPEC_BODY.as_bytes(), SPEC_SIG));
        assert!(!s.matches(SPEC_ID, "1614265330", b"{\"test\": 1}", SPEC_SIG));
    }

    #[test]
    fn refuses_secrets_without_the_prefix_or_base64() {
        assert_eq!(
            WebhookSecret::parse("default-secret").unwrap_err(),
            SecretError::NoPrefix
        );
        assert_eq!(
            WebhookSecret::parse("whsec_").unwrap_err(),
            SecretError::NotBase64
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!").unwrap_err(),
            SecretError::NotBase64
        );
        let s = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(format!("{s:?}"), "WebhookSecret(***)");
    }
}
