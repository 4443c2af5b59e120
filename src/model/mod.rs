//! The leaf types every stage shares: what was done to a row ([`Action`]), how it
//! ended ([`Outcome`]), why it failed ([`RowError`], [`ErrorKind`]), and the paths a
//! row changed
//! ([`FieldPath`]).
//!
//! Imports nothing else of the crate, so `mapping`, `validate`, `plan`, `apply`,
//! `ledger`, `audit` and `journal` can all use it without depending on each other.
//! Holds no behaviour beyond spelling these types; the ledger writes them, the
//! planner and the engine decide them.

pub mod delivery;
pub mod error_kind;
pub mod field_path;
pub mod shell;

pub use delivery::Delivery;
pub use error_kind::ErrorKind;
pub use field_path::{FieldPath, intern};

use serde::{Deserialize, Serialize};

/// Rows from this number up are not input rows: each is a user a sync found missing
/// from its source (a leaver), given a row number of its own so that it flows
/// through the engine, the journal and the sink like any row. The ledger writes
/// their `row` as null.
pub const FIRST_LEAVER_ROW: u64 = 1 << 62;

/// The input row a row number stands for; `None` for a leaver's row.
pub fn input_row(row: u64) -> Option<u64> {
    (row < FIRST_LEAVER_ROW).then_some(row)
}

/// What was (or would be) done to a row's user. Ledger column `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// POST a new user.
    Create,
    /// PATCH an existing user.
    Update,
    /// Set an inactive user active again (possibly with other changes).
    Reactivate,
    /// Set `active=false`.
    Deactivate,
    /// Already equal: no write.
    Skip,
    /// No action decided (invalid row, conflict, not reached).
    None,
}

impl Action {
    /// The ledger spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Reactivate => "reactivate",
            Action::Deactivate => "deactivate",
            Action::Skip => "skip",
            Action::None => "none",
        }
    }
    /// Every action, in summary order.
    pub const ALL: [Action; 6] = [
        Action::Create,
        Action::Update,
        Action::Reactivate,
        Action::Deactivate,
        Action::Skip,
        Action::None,
    ];
    /// Parses the ledger spelling.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How a row ended. Ledger column `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action was applied (or nothing was needed and the row was confirmed).
    Succeeded,
    /// The action was attempted and failed, or the row conflicts with the tenant.
    Failed,
    /// The row did not pass validation; nothing was sent.
    Invalid,
    /// Nothing needed doing (already equal), or a dry run.
    Skipped,
    /// Not attempted yet (run stopped); a resume finishes it.
    Pending,
}

impl Outcome {
    /// The ledger spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Invalid => "invalid",
            Outcome::Skipped => "skipped",
            Outcome::Pending => "pending",
        }
    }
    /// Every outcome, in summary order.
    pub const ALL: [Outcome; 5] = [
        Outcome::Succeeded,
        Outcome::Failed,
        Outcome::Invalid,
        Outcome::Skipped,
        Outcome::Pending,
    ];
    /// Parses the ledger spelling.
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One problem with one input row. A row can have several; none stops the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based data row.
    pub row: u64,
    /// Source column, when the problem comes from one.
    pub column: Option<String>,
    /// SCIM path, when the problem concerns one.
    pub path: Option<String>,
    /// The offending value, shortened.
    pub value: Option<String>,
    /// Stable snake_case kind (`invalid_email`, `missing_required`, `bad_utf8`, ...).
    pub kind: ErrorKind,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl std::fmt::Display for RowError {
    /// `column email (userName): `x@` has no domain after the @; fix: ...` — without
    /// the row number (callers add it where it helps).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.column, &self.path) {
            (Some(c), Some(p)) => write!(f, "column {c} ({p}): ")?,
            (Some(c), None) => write!(f, "column {c}: ")?,
            (None, Some(p)) => write!(f, "{p}: ")?,
            (None, None) => {}
        }
        write!(f, "{}; fix: {}", self.problem, self.fix)
    }
}

/// What a caller (a sync) decided for a row before it is planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// Send nothing: the row ends with this action, outcome and error (a
    /// deactivation held by a guard, a row whose source account was re-created).
    Settle {
        /// The action the row would have taken.
        action: Action,
        /// How it ends.
        outcome: Outcome,
        /// Why, for the ledger's `error_kind`.
        kind: ErrorKind,
        /// Why, in words, for the ledger's `error`.
        reason: String,
        /// The tenant user concerned, when known.
        scim_id: Option<String>,
    },
    /// Retire this tenant user first (set it inactive and move its userName and
    /// externalId aside to these tombstones, so that they are free again), then
    /// plan the row, which then creates a new user.
    Retire {
        /// The user to retire.
        id: String,
        /// Its version, for If-Match.
        version: Option<String>,
        /// The userName it gets.
        user_name: String,
        /// The externalId it gets (when it has one).
        external_id: Option<String>,
    },
    /// Send exactly these saved writes (`import --plan`): nothing is planned.
    Planned(Box<PlannedWrite>),
}

/// One user's writes from a saved plan, as the plan file holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWrite {
    /// Create, update, reactivate or deactivate.
    pub action: Action,
    /// The tenant user (not for a create).
    pub scim_id: Option<String>,
    /// The user's version the plan saw: sent as If-Match.
    pub version: Option<String>,
    /// A create's POST body (JSON).
    pub body: Option<String>,
    /// An update's PATCH operations (JSON each), in order.
    pub ops: Vec<String>,
    /// The paths the plan changes (the ledger's `changed_fields`).
    pub changed: Vec<String>,
    /// The externalId of a manager the same plan creates: set once it exists.
    pub manager: Option<String>,
    /// The user's planned group joins and leaves as the plan records them (the
    /// `groups` row's op, JSON; empty when the plan recorded none), if any.
    pub memberships: Option<String>,
}
