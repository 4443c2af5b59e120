//! [`Delivery`]: where a row's webhook event stands (ledger column `webhook`).
//! Only the spelling lives here; the journal tracks it and the ledger writes it.

use serde::{Deserialize, Serialize};

/// How a row's webhook event ended. Rows that sent no event have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// The receiver acknowledged it (2xx).
    Delivered,
    /// Every attempt failed (or the receiver refused it for good); the row's own
    /// outcome is unaffected.
    Failed,
    /// Not acknowledged yet: `--resume` sends it again.
    Pending,
}

impl Delivery {
    /// The ledger spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
            Delivery::Pending => "pending",
        }
    }
}
