//! The journal as an outbox: an [`OutboxItem`] (one delivery: its stable id, the
//! rows it reports and its exact body) is journaled before it is first sent, and
//! its end (`delivered` or `undeliverable`) once known. Replaying the lines gives
//! the [`OutboxState`]: what a resume must send again, and each row's
//! [`Delivery`] for the ledger. Knows nothing of HTTP or of the body's shape (see
//! `webhook`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::Delivery;

/// One delivery, exactly as it is (re)sent: the same id and bytes every time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The delivery's stable id (a webhook's `webhook-id`).
    pub id: String,
    /// The rows it reports (one, or a batch's).
    pub rows: Vec<u64>,
    /// The body, byte for byte.
    pub body: String,
}

/// A journal line: the receiver acknowledged delivery `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// The delivery's id.
    pub id: String,
    /// Attempts it took (this session's).
    pub attempts: u32,
}

/// A journal line: delivery `id` failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undeliverable {
    /// The delivery's id.
    pub id: String,
    /// Attempts made (this session's).
    pub attempts: u32,
    /// Why the last one failed (redacted).
    pub error: String,
}

/// What the journal says about its deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxState {
    /// Every item, in journal order (an id journaled twice is kept once).
    items: Vec<OutboxItem>,
    /// Each item's index in `items` and where it stands.
    status: HashMap<String, (usize, Delivery)>,
}

impl OutboxState {
    pub(super) fn item(&mut self, item: OutboxItem) {
        if self.status.contains_key(&item.id) {
            return;
        }
        self.status
            .insert(item.id.clone(), (self.items.len(), Delivery::Pending));
        self.items.push(item);
    }

    pub(super) fn ended(&mut self, id: &str, how: Delivery) {
        if let Some((_, s)) = self.status.get_mut(id) {
            // Delivered is final: a later failure of a duplicate send changes nothing.
            if *s != Delivery::Delivered {
                *s = how;
            }
        }
    }

    /// Items with neither a `delivered` nor an `undeliverable` line, in journal
    /// order: what a resume sends again.
    pub fn pending(&self) -> Vec<OutboxItem> {
        self.items
            .iter()
            .filter(|i| {
                self.status
                    .get(&i.id)
                    .is_some_and(|(_, s)| *s == Delivery::Pending)
            })
            .cloned()
            .collect()
    }

    /// Every journaled item.
    pub fn items(&self) -> &[OutboxItem] {
        &self.items
    }

    /// Where each reported row's delivery stands (a row in several items: the
    /// last one).
    pub fn by_row(&self) -> HashMap<u64, Delivery> {
        let mut out = HashMap::new();
        for item in &self.items {
            let s = self
                .status
                .get(&item.id)
                .map_or(Delivery::Pending, |(_, s)| *s);
            for r in &item.rows {
                out.insert(*r, s);
            }
        }
        out
    }

    /// Counts of items by where they stand: (delivered, failed, pending).
    pub fn counts(&self) -> (u64, u64, u64) {
        let mut c = (0, 0, 0);
        for (_, s) in self.status.values() {
            match s {
                Delivery::Delivered => c.0 += 1,
                Delivery::Failed => c.1 += 1,
                Delivery::Pending => c.2 += 1,
            }
        }
        c
    }
}
