//! The state every request of one emulator shares ([`Shared`]): its configuration,
//! the tenant's store and catalogue, auth, the rate limit, faults, counters and the
//! id generator.
//!
//! Sits below both `server` (which builds it) and `routes` (which read and change
//! it), so neither has to import the other. Holds no request handling.

use parking_lot::{Mutex, RwLock};
use rand::Rng;
use rand::rngs::SmallRng;

use super::auth::Auth;
use super::config::EmulatorConfig;
use super::faults::Faults;
use super::limit::Limiter;
use super::permissions::Permissions;
use super::stats::{Counters, Stats, UserCounts};
use super::store::Store;
use super::tenant::Catalogue;

/// The OAuth client a request's bearer token belongs to (put in the request's
/// extensions by `server` once the token is verified).
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub String);

impl Shared {
    /// Ok when `caller` holds every permission in `needed` (403 otherwise).
    pub fn require(&self, caller: &Caller, needed: &[&str]) -> Result<(), super::errors::ApiError> {
        self.perms.require(&caller.0, needed)
    }
}

/// State shared by every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub cfg: EmulatorConfig,
    pub store: RwLock<Store>,
    pub cat: Catalogue,
    /// `--schemas`: the Schema resources served instead of the built-in ones.
    pub schemas: Option<Vec<serde_json::Value>>,
    /// `--schema-extensions`: the extension schemas clients deployed.
    pub extensions: super::extensions::Extensions,
    pub auth: Auth,
    pub perms: Permissions,
    pub limiter: Limiter,
    pub faults: Faults,
    pub stats: Counters,
    pub rng: Mutex<SmallRng>,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Shared {
    /// A fresh random UUID from the (possibly seeded) generator.
    pub fn new_id(&self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.lock().random()).into_uuid()
    }
    /// The SCIM base URL.
    pub fn scim_url(&self) -> String {
        format!("{}/api/v2/scim/v2", self.url)
    }
    /// Current statistics.
    pub fn stats(&self) -> Stats {
        let users = {
            let s = self.store.read();
            UserCounts {
                active: s.active,
                inactive: s.inactive,
                deleted: s.deleted,
            }
        };
        self.stats.snapshot(users)
    }
}
