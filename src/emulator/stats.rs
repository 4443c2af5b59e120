//! Request and status counters behind `GET /emulator/stats` and
//! [`EmulatorHandle::stats`](super::EmulatorHandle::stats); `POST /emulator/reset`
//! empties them.
//!
//! Owns counting only; user counts come from the store at read time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The emulator's counters, in the shape `GET /emulator/stats` returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Requests by method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`, others as seen).
    pub requests: BTreeMap<String, u64>,
    /// Responses by status code (`"200"`, `"429"`, ...).
    pub status: BTreeMap<String, u64>,
    /// Users by state.
    pub users: UserCounts,
    /// Connections closed without an answer (`--drop-rate`).
    pub dropped: u64,
    /// User slots the list pages examined, in all (what paging costs: a page
    /// examines about `count` slots whatever its startIndex).
    #[serde(default)]
    pub page_slots_examined: u64,
}

/// Users by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserCounts {
    /// Active users.
    pub active: u64,
    /// Inactive users.
    pub inactive: u64,
    /// Soft-deleted users.
    pub deleted: u64,
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Live counters: lock-free for the five SCIM methods and every status code.
#[derive(Debug)]
pub(crate) struct Counters {
    methods: [AtomicU64; 5],
    other_methods: Mutex<BTreeMap<String, u64>>,
    status: Box<[AtomicU64]>,
    dropped: AtomicU64,
    page_slots: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            methods: Default::default(),
            other_methods: Mutex::default(),
            status: (0..600).map(|_| AtomicU64::new(0)).collect(),
            dropped: AtomicU64::new(0),
            page_slots: AtomicU64::new(0),
        }
    }
}

impl Counters {
    /// Counts a request by method.
    pub fn request(&self, method: &str) {
        match METHODS.iter().position(|m| *m == method) {
            Some(i) => {
                self.methods[i].fetch_add(1, Ordering::Relaxed);
            }
            None => {
                *self
                    .other_methods
                    .lock()
                    .entry(method.to_string())
                    .or_default() += 1
            }
        }
    }
    /// Counts a response status.
    pub fn status(&self, status: u16) {
        if let Some(c) = self.status.get(usize::from(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// Counts a dropped connection.
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
    /// Empties every counter.
    pub fn reset(&self) {
        for c in self.methods.iter().chain(self.status.iter()) {
            c.store(0, Ordering::Relaxed);
        }
        self.other_methods.lock().clear();
        self.dropped.store(0, Ordering::Relaxed);
        self.page_slots.store(0, Ordering::Relaxed);
    }

    /// Counts the user slots a list page examined.
    pub fn page_slots(&self, n: u64) {
        self.page_slots.fetch_add(n, Ordering::Relaxed);
    }
    /// A snapshot with the given user counts.
    pub fn snapshot(&self, users: UserCounts) -> Stats {
        let mut requests: BTreeMap<String, u64> = METHODS
            .iter()
            .zip(&self.methods)
            .map(|(m, c)| (m.to_string(), c.load(Ordering::Relaxed)))
            .collect();
        requests.extend(
            self.other_methods
                .lock()
                .iter()
                .map(|(k, v)| (k.clone(), *v)),
        );
        Stats {
            requests,
            status: self
                .status
                .iter()
                .enumerate()
                .filter(|(_, c)| c.load(Ordering::Relaxed) > 0)
                .map(|(code, c)| (code.to_string(), c.load(Ordering::Relaxed)))
                .collect(),
            users,
            dropped: self.dropped.load(Ordering::Relaxed),
            page_slots_examined: self.page_slots.load(Ordering::Relaxed),
        }
    }
}
