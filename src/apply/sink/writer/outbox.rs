//! The writer's outbox duties: journal each delivery a row's final state makes
//! before handing it over, and journal how each ended (a failure also in the
//! audit log). The deliveries themselves are the outbox's.

use chrono::Utc;

use super::{Rows, Writer};
use crate::apply::sink::{DeliveryEnd, OutboxCounts};
use crate::audit::EventKind;
use crate::audit::event::EventRef;
use crate::journal::{OutboxItem, OutboxState};
use crate::ledger::LedgerRow;

impl Writer {
    /// Outbox: offers a row's first final state; journals and hands over the
    /// deliveries it completes.
    pub(super) fn offer(&mut self, row: &LedgerRow) {
        let Some((outbox, _)) = &self.outbox else {
            return;
        };
        let items = outbox.items(&self.run_id, row);
        self.hand_over(items);
    }

    /// Journals each item, then hands it to the outbox (never the other way round:
    /// a delivery the journal does not hold could not be resent under its id).
    pub(super) fn hand_over(&mut self, items: Vec<OutboxItem>) {
        let (Some((outbox, reply)), Rows::Journal(j)) = (&self.outbox, &mut self.rows) else {
            return;
        };
        for item in items {
            if let Err(e) = j.event(&item) {
                self.status.fail("cannot write the journal", e);
                return;
            }
            outbox.deliver(item, reply.clone());
        }
    }

    /// Journals how a delivery ended; a failure also goes to the audit log.
    pub(super) fn delivery_ended(&mut self, end: &DeliveryEnd) {
        let Rows::Journal(j) = &mut self.rows else {
            return;
        };
        let res = match &end.result {
            Ok(()) => j.delivered(&end.id, end.attempts),
            Err(why) => j.undeliverable(&end.id, end.attempts, why),
        };
        if let Err(e) = res {
            self.status.fail("cannot write the journal", e);
            return;
        }
        if let Err(why) = &end.result {
            let detail = format!(
                "webhook {} undeliverable after {} attempt(s): {why}",
                end.id, end.attempts
            );
            let ev = EventRef {
                detail: Some(&detail),
                ..EventRef::new(EventKind::WebhookFailed, Utc::now())
            };
            self.audit_line(&ev);
        }
    }
}

/// The run's deliveries, when it has an outbox now or its journal holds any.
pub(super) fn counts(state: &OutboxState, with_outbox: bool) -> Option<OutboxCounts> {
    let (delivered, failed, pending) = state.counts();
    (with_outbox || !state.items().is_empty()).then_some(OutboxCounts {
        sent: delivered + failed + pending,
        delivered,
        failed,
        pending,
    })
}
