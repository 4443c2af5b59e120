//! Standard Webhooks to the HR system: one event per user outcome (or batches of
//! them), signed the way receivers' libraries verify (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), delivered
//! at least once through the run's journal.
//!
//! [`event`] decides which rows send what and builds the bodies; [`sign`] holds
//! the `whsec_` secret and the signature; [`deliver`] is the background delivery
//! (its own HTTP client, a bounded queue, retries with backoff); [`outbox`] is the
//! engine's `Outbox` made of those parts; [`verify`] checks a delivery the way a
//! receiver would (`scimport webhook verify`). The journal lines and the ledger's
//! `webhook` column are the sink's and the journal's; nothing here writes files.

pub mod deliver;
pub mod event;
pub mod outbox;
pub mod sign;
pub mod verify;

pub use deliver::{DeliveryOptions, WebhookError};
pub use event::EventType;
pub use outbox::WebhookOutbox;
pub use sign::{SecretError, WebhookSecret};

/// The environment variable (also `.env`, or `webhook_secret` in the config file)
/// holding the signing secret, as `whsec_<base64>`.
pub const ENV_WEBHOOK_SECRET: &str = "SCIMPORT_WEBHOOK_SECRET";
