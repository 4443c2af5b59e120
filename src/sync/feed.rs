//! [`SyncFeed`]: the desired users a sync hands the engine: the source's rows
//! (read again from the file, or from the directory's snapshot) with what the sync
//! decided for them applied, then one row per leaver.
//!
//! Per source row: a sync manages `active` (a row with no `active` mapped is
//! active: being in the source means being employed), a manager given as a DN
//! (an LDAP source) becomes that entry's externalId, and the sync's directive for
//! the row (anchor changed) is attached. Deciding those is `decide`'s.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::engine::{DesiredSource, Feed, FileSource, SourceHead};
use crate::mapping::{DesiredUser, Mapping};
use crate::model::Directive;
use crate::source::InputSpec;
use crate::validate::Prepared;

/// The source's rows, then the leavers.
pub struct SyncFeed {
    /// The source's rows.
    pub file: FileSource,
    /// Directives by row.
    pub directives: HashMap<u64, Directive>,
    /// The DN of each entry (lower-cased) to its externalId.
    pub dn_to_external_id: HashMap<String, String>,
    /// The leavers' rows, after the source's.
    pub leavers: Vec<DesiredUser>,
}

impl SyncFeed {
    /// What the sync changes in one of the source's rows.
    fn adjust(
        p: &mut Prepared,
        directives: &mut HashMap<u64, Directive>,
        dns: &HashMap<String, String>,
    ) {
        let Ok(d) = &mut p.result else {
            return;
        };
        if d.user.active.is_none() {
            d.user.active = Some(true);
        }
        if let Some(m) = d.user.enterprise.as_mut().and_then(|e| e.manager.as_mut())
            && let Some(x) = dns.get(&m.value.to_ascii_lowercase())
        {
            m.value = x.clone();
        }
        if let Some(dir) = directives.remove(&d.row) {
            d.directive = Some(Box::new(dir));
        }
    }
}

impl DesiredSource for SyncFeed {
    fn start(self, mapping: Arc<Mapping>) -> Feed {
        let SyncFeed {
            file,
            mut directives,
            dn_to_external_id,
            leavers,
        } = self;
        let inner = file.start(mapping);
        let (tx, chunks) = mpsc::channel(2);
        let (head_tx, head) = oneshot::channel();
        let (end_tx, end) = oneshot::channel();
        let extra = leavers.len() as u64;
        tokio::spawn(async move {
            let Feed {
                head: inner_head,
                chunks: mut inner_chunks,
                end: inner_end,
            } = inner;
            match inner_head.await {
                Ok(Ok(h)) => {
                    let _ = head_tx.send(Ok(SourceHead {
                        header: h.header,
                        expected_rows: h.expected_rows.map(|n| n + extra),
                    }));
                }
                Ok(Err(e)) => {
                    let _ = head_tx.send(Err(e));
                    return;
                }
                Err(_) => return,
            }
            while let Some(mut chunk) = inner_chunks.recv().await {
                for p in &mut chunk {
                    SyncFeed::adjust(p, &mut directives, &dn_to_external_id);
                }
                if tx.send(chunk).await.is_err() {
                    return;
                }
            }
            if let Ok(Err(e)) = inner_end.await {
                let _ = end_tx.send(Err(e));
                return;
            }
            for chunk in leavers.chunks(1024) {
                let rows: Vec<Prepared> = chunk
                    .iter()
                    .map(|d| Prepared {
                        record: crate::source::Record {
                            row: d.row,
                            fields: Vec::new(),
                        },
                        result: Ok(d.clone()),
                        keys: Default::default(),
                    })
                    .collect();
                if tx.send(rows).await.is_err() {
                    return;
                }
            }
            let _ = end_tx.send(Ok(()));
        });
        Feed { head, chunks, end }
    }

    fn reread(&self) -> Option<InputSpec> {
        self.file.reread()
    }
}
