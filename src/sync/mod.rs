//! `sync`: keep a tenant equal to a source (a full HR export, or an LDAP / Active
//! Directory directory), the engine's second caller after `import`.
//!
//! One sync: lock and read the target's state (`state`); a directory is read
//! whole into a snapshot first (`snapshot`); read the source once to
//! learn every row's key, anchor and DN and whether the read finished (`survey`);
//! refuse the whole run before any write when the source cannot be trusted, and
//! decide re-created accounts, leavers and the deactivation guard (`decide`);
//! then run the engine over the source again plus one row per leaver (`feed`),
//! planning against the tenant (a full run) or against the state alone (an
//! incremental run: no tenant read, calls only for changes), with the sync's part
//! in each row (`hook`: conflict policies, acknowledgements); finally record what
//! the tenant acknowledged in the state (`run`). Nothing here sends a call: the
//! engine does.

mod decide;
mod feed;
mod hook;
mod matching;
mod run;
mod snapshot;
mod state;
mod survey;

pub use decide::{AnchorPolicy, DeactivateLimit, Decisions, Guards, decide, known_index, refusal};
pub use feed::SyncFeed;
pub use hook::{Ack, SyncHook};
pub use matching::{AttributeMatch, attribute_match};
pub use run::{Mode, SourceSpec, SyncConfig, SyncError, SyncReport, sync, sync_with};
pub use state::{Entry, State, StateError, StateLock, default_path, desired_hash, key_of};
pub use survey::{RowInfo, Survey, survey};
