//! [`WebhookOutbox`]: the engine's `Outbox` for Standard Webhooks: turns rows'
//! final states into events (one delivery each, or batches of `batch`), and
//! hands journaled deliveries to the background [`Delivery`].

use futures::future::BoxFuture;
use parking_lot::Mutex;

use super::WebhookSecret;
use super::deliver::{Delivery, DeliveryOptions, WebhookError};
use super::event::{self, UserEvent};
use crate::apply::sink::{DeliveryReply, Outbox};
use crate::journal::OutboxItem;
use crate::ledger::LedgerRow;

/// Webhook events for a run, delivered to one URL.
pub struct WebhookOutbox {
    /// Events per delivery (1: one event each).
    batch: usize,
    /// A batch being filled: rows and their events.
    held: Mutex<(Vec<u64>, Vec<UserEvent>)>,
    delivery: Delivery,
}

impl WebhookOutbox {
    /// Starts delivering to `url` (checked: https, or http to loopback) on the
    /// current tokio runtime. `secret` `None` sends unsigned deliveries
    /// (`--webhook-unsigned`); `batch` events per delivery (at least 1).
    pub fn start(
        url: &str,
        secret: Option<WebhookSecret>,
        batch: usize,
        opts: DeliveryOptions,
    ) -> Result<WebhookOutbox, WebhookError> {
        let url = super::deliver::check_url(url)?;
        Ok(WebhookOutbox {
            batch: batch.max(1),
            held: Mutex::new((Vec::new(), Vec::new())),
            delivery: Delivery::start(url, secret, opts)?,
        })
    }

    fn take(&self, run_id: &str, held: &mut (Vec<u64>, Vec<UserEvent>)) -> OutboxItem {
        let rows = std::mem::take(&mut held.0);
        let events = std::mem::take(&mut held.1);
        event::batch(run_id, rows, &events, chrono::Utc::now())
    }
}

impl Outbox for WebhookOutbox {
    fn items(&self, run_id: &str, row: &LedgerRow) -> Vec<OutboxItem> {
        let Some(ev) = UserEvent::for_row(run_id, row) else {
            return Vec::new();
        };
        if self.batch == 1 {
            return vec![event::single(run_id, row.row, &ev)];
        }
        let mut held = self.held.lock();
        held.0.push(row.row);
        held.1.push(ev);
        if held.0.len() < self.batch {
            return Vec::new();
        }
        vec![self.take(run_id, &mut held)]
    }

    fn flush(&self, run_id: &str) -> Vec<OutboxItem> {
        let mut held = self.held.lock();
        if held.0.is_empty() {
            return Vec::new();
        }
        vec![self.take(run_id, &mut held)]
    }

    fn deliver(&self, item: OutboxItem, done: DeliveryReply) {
        self.delivery.send(item, done);
    }

    fn drain(&self) -> BoxFuture<'_, bool> {
        Box::pin(self.delivery.drain())
    }
}
