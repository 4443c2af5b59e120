//! [`PlanSource`]: the desired users of `import --plan`, read from a dry run's
//! plan.parquet. Each row carries its saved writes as a
//! [`Directive::Planned`](crate::model::Directive), so the engine sends them as
//! they are instead of planning. The content hash is checked again as the rows
//! stream: a plan changed after the caller verified it stops the run.
//!
//! Does not decide whether a plan may be applied (see `cli::import`); sending is
//! `apply`'s.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::error::InputError;
use super::source::{DesiredSource, Feed, SourceHead};
use crate::apply::plan_file::{PlanReader, PlannedUser};
use crate::mapping::{DesiredUser, Mapping};
use crate::model::{Directive, FIRST_LEAVER_ROW, PlannedWrite};
use crate::scim::model::{EnterpriseUser, ManagerRef, User};
use crate::source::Record;
use crate::validate::{Keys, Prepared};

/// Users per chunk.
const USERS_PER_CHUNK: usize = 1024;

/// The users of a saved plan, in the plan's order.
#[derive(Debug, Clone)]
pub struct PlanSource {
    path: PathBuf,
    users: Option<u64>,
}

impl PlanSource {
    /// The plan at `path`, holding `users` users when known (sizes the lookup).
    pub fn new(path: PathBuf, users: Option<u64>) -> Self {
        PlanSource { path, users }
    }
}

/// The desired user that carries one planned user's writes.
fn desired(u: PlannedUser, leaver: &mut u64) -> Prepared {
    let row = u.row.unwrap_or_else(|| {
        *leaver += 1;
        FIRST_LEAVER_ROW + *leaver
    });
    let manager = u.deferred_manager().map(str::to_string);
    // The user's own PATCH operations; its memberships go to the group pass.
    let (members, own): (Vec<_>, Vec<_>) = u.changes.into_iter().partition(|c| c.is_membership());
    let changed: Vec<String> = own
        .iter()
        .filter(|c| c.op.is_some())
        .map(|c| c.path.clone())
        .collect();
    let write = PlannedWrite {
        action: u.action,
        scim_id: u.scim_id,
        version: u.version,
        body: u.body,
        ops: own.into_iter().filter_map(|c| c.op).collect(),
        changed,
        manager: manager.clone(),
        memberships: members.into_iter().next().map(|c| c.op.unwrap_or_default()),
    };
    let d = DesiredUser {
        row,
        user: User {
            external_id: u.external_id,
            user_name: u.user_name,
            // Named so that the engine holds the row while its manager's create is
            // under way, and the POST can carry the manager (one call, not two).
            enterprise: manager.map(|m| EnterpriseUser {
                manager: Some(ManagerRef {
                    value: m,
                    ..ManagerRef::default()
                }),
                ..EnterpriseUser::default()
            }),
            ..User::default()
        },
        directive: Some(Box::new(Directive::Planned(Box::new(write)))),
        ..DesiredUser::default()
    };
    Prepared {
        record: Record {
            row,
            fields: Vec::new(),
        },
        result: Ok(d),
        keys: Keys::default(),
    }
}

impl DesiredSource for PlanSource {
    fn start(self, _mapping: Arc<Mapping>) -> Feed {
        let (tx, chunks) = mpsc::channel(2);
        let (head_tx, head) = oneshot::channel();
        let (end_tx, end) = oneshot::channel();
        std::thread::spawn(move || {
            let mut reader = match PlanReader::open(&self.path) {
                Ok(r) => r,
                Err(e) => {
                    let _ = head_tx.send(Err(InputError::Other(Box::new(e))));
                    return;
                }
            };
            let _ = head_tx.send(Ok(SourceHead {
                header: Vec::new(),
                expected_rows: self.users,
            }));
            let mut leaver = 0;
            let mut chunk = Vec::with_capacity(USERS_PER_CHUNK);
            loop {
                match reader.next_user() {
                    Ok(Some(u)) => {
                        chunk.push(desired(u, &mut leaver));
                        if chunk.len() == USERS_PER_CHUNK
                            && tx.blocking_send(std::mem::take(&mut chunk)).is_err()
                        {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = end_tx.send(Err(InputError::Other(Box::new(e))));
                        return;
                    }
                }
            }
            if !chunk.is_empty() && tx.blocking_send(chunk).is_err() {
                return;
            }
            let end = reader
                .finish()
                .map(|_| ())
                .map_err(|e| InputError::Other(Box::new(e)));
            let _ = end_tx.send(end);
        });
        Feed { head, chunks, end }
    }
}
