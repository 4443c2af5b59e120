//! Request and status counters behind `GET /emulator/stats` and
//! [`EmulatorHandle::stats`](super::EmulatorHandle::stats); `POST /emulator/reset`
//! empties them.
//!
//! Owns counting only; user counts come from the store at read time.

use std::collections::BTreeMap;

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

/// Requests by method, responses by status, dropped connections.
type Counts = (BTreeMap<String, u64>, BTreeMap<u16, u64>, u64);

/// Live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    inner: Mutex<Counts>,
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

impl Counters {
    /// Counts a request by method.
    pub fn request(&self, method: &str) {
        let mut g = self.inner.lock();
        match g.0.get_mut(method) {
            Some(n) => *n += 1,
            None => {
                g.0.insert(method.to_string(), 1);
            }
        }
    }
    /// Counts a response status.
    pub fn status(&self, status: u16) {
        *self.inner.lock().1.entry(status).or_default() += 1;
    }
    /// Counts a dropped connection.
    pub fn dropped(&self) {
        self.inner.lock().2 += 1;
    }
    /// Empties every counter.
    pub fn reset(&self) {
        *self.inner.lock() = Default::default();
    }
    /// A snapshot with the given user counts.
    pub fn snapshot(&self, users: UserCounts) -> Stats {
        let g = self.inner.lock();
        let mut requests: BTreeMap<String, u64> =
            METHODS.iter().map(|m| (m.to_string(), 0)).collect();
        requests.extend(g.0.iter().map(|(k, v)| (k.clone(), *v)));
        Stats {
            requests,
            status: g.1.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            users,
            dropped: g.2,
        }
    }
}
