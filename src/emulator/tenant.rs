//! The tenant: its catalogue (skills, languages, roles, groups, divisions), the
//! `--tenant` JSON file, deterministic `--seed-users`, and the `--state` file.
//!
//! Owns what exists before any request arrives and how the whole tenant is saved and
//! reloaded. Does not serve anything (see `routes`).

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::errors::EmulatorError;
use super::store::{GroupSlot, Slot, Store, UserState, encode};
use crate::scim::model::{EnterpriseUser, GenesysUser, MultiValue, Proficiency, RoleRef, User};

/// What a tenant file (`--tenant FILE`) holds: names only; ids are derived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    /// Routing skill names (case-sensitive).
    pub skills: Vec<String>,
    /// Routing language names (case-sensitive).
    pub languages: Vec<String>,
    /// Role names; `employee` is given to every new user.
    pub roles: Vec<String>,
    /// Group display names; groups exist only from here.
    pub groups: Vec<String>,
    /// Division names; new users land in the first one.
    pub divisions: Vec<String>,
    /// OAuth client id -> the permissions its roles grant (e.g.
    /// `["directory:user:add", "directory:user:edit"]`); a client not listed has every
    /// permission.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clients: BTreeMap<String, Vec<String>>,
}

impl Default for TenantFile {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        Self {
            skills: v(&[
                "Billing",
                "Sales",
                "Retention",
                "Technical Support",
                "Claims",
                "Collections",
                "Onboarding",
                "VIP",
            ]),
            languages: v(&["English", "Spanish", "French", "German", "Portuguese"]),
            roles: v(&[
                "employee",
                "Agent",
                "Supervisor",
                "Quality Evaluator",
                "Admin",
            ]),
            groups: v(&[
                "Support Team",
                "Sales Team",
                "Tier 1",
                "Tier 2",
                "Night Shift",
            ]),
            divisions: v(&["Home", "North America", "EMEA", "APAC"]),
            clients: BTreeMap::new(),
        }
    }
}

impl TenantFile {
    /// Reads a tenant file.
    pub fn load(path: &Path) -> Result<Self, EmulatorError> {
        let err = |detail: String| EmulatorError::Load {
            what: "tenant",
            path: path.to_path_buf(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| err(e.to_string()))
    }
}

/// A named catalogue entry with a stable id.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueItem {
    /// Stable id derived from the kind and name.
    pub id: Uuid,
    /// The name.
    pub name: String,
}

/// The tenant's catalogue, ready for lookups.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    /// The file it came from (kept for `--state`).
    pub file: TenantFile,
    /// Skills with ids, in file order.
    pub skills: Vec<CatalogueItem>,
}

/// A stable UUID for a named thing.
pub(crate) fn stable_id(kind: &str, name: &str) -> Uuid {
    let digest = Sha256::digest(format!("{kind}:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Catalogue {
    /// Builds lookups from a tenant file.
    pub fn new(file: TenantFile) -> Self {
        let skills = file
            .skills
            .iter()
            .map(|n| CatalogueItem {
                id: stable_id("skill", n),
                name: n.clone(),
            })
            .collect();
        Self { file, skills }
    }
    /// Whether a skill exists (case-sensitive).
    pub fn has_skill(&self, name: &str) -> bool {
        self.file.skills.iter().any(|s| s == name)
    }
    /// Whether a language exists (case-sensitive).
    pub fn has_language(&self, name: &str) -> bool {
        self.file.languages.iter().any(|s| s == name)
    }
    /// Whether a role exists (by exact name).
    pub fn has_role(&self, name: &str) -> bool {
        self.file.roles.iter().any(|s| s == name)
    }
    /// Whether a division exists (by exact name).
    pub fn has_division(&self, name: &str) -> bool {
        self.file.divisions.iter().any(|s| s == name)
    }
    /// The division new users get.
    pub fn default_division(&self) -> Option<&str> {
        self.file.divisions.first().map(String::as_str)
    }
    /// The groups the catalogue starts with.
    pub(crate) fn initial_groups(&self, now_ms: i64) -> Vec<GroupSlot> {
        self.file
            .groups
            .iter()
            .map(|n| GroupSlot {
                id: stable_id("group", n),
                display_name: n.clone(),
                external_id: None,
                members: Default::default(),
                version: 1,
                modified_ms: now_ms,
            })
            .collect()
    }
}

const FIRST: &[&str] = &[
    "Ana", "Ben", "Chloe", "David", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Julia", "Kenji",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Lima", "Okafor", "Schmidt", "Tanaka", "Garcia", "Novak", "Dubois", "Kowalski", "Haddad",
    "Silva", "Jensen", "Rossi", "Murphy", "Nguyen", "Patel", "Kim", "Costa", "Larsen", "Moreau",
    "Fischer",
];
const TITLES: &[&str] = &[
    "Agent",
    "Senior Agent",
    "Team Lead",
    "Supervisor",
    "Analyst",
];
const DEPTS: &[&str] = &["Support", "Sales", "Billing", "Claims", "Operations"];

/// One deterministic, realistic user number `i`.
fn make_user(i: u64, cat: &Catalogue, rng: &mut SmallRng) -> User {
    let first = FIRST[(i % FIRST.len() as u64) as usize];
    let last = LAST[((i / FIRST.len() as u64) % LAST.len() as u64) as usize];
    let mut skills = Vec::new();
    if !cat.file.skills.is_empty() {
        let k = rng.random_range(0..cat.file.skills.len());
        skills.push(Proficiency {
            name: cat.file.skills[k].clone(),
            proficiency: f64::from(rng.random_range(1..=5u8)),
        });
    }
    let languages = cat
        .file
        .languages
        .first()
        .map(|l| {
            vec![Proficiency {
                name: l.clone(),
                proficiency: 5.0,
            }]
        })
        .unwrap_or_default();
    let mut roles: Vec<RoleRef> = cat
        .file
        .roles
        .iter()
        .take(2)
        .map(|r| RoleRef { value: r.clone() })
        .collect();
    roles.sort();
    User {
        external_id: Some(format!("EMP-{i:07}")),
        user_name: Some(format!(
            "{}.{}.{i}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        display_name: Some(format!("{first} {last}")),
        title: Some(TITLES[(i % TITLES.len() as u64) as usize].into()),
        active: Some(true),
        phone_numbers: vec![MultiValue {
            value: format!("+1415{:07}", i % 10_000_000),
            kind: Some("work".into()),
            primary: true,
        }],
        roles,
        enterprise: Some(EnterpriseUser {
            employee_number: Some(format!("{i:07}")),
            department: Some(DEPTS[(i % DEPTS.len() as u64) as usize].into()),
            division: cat
                .file
                .divisions
                .get((i % cat.file.divisions.len().max(1) as u64) as usize)
                .cloned(),
            manager: None,
            date_hire: Some(format!(
                "20{:02}-{:02}-{:02}",
                10 + i % 15,
                1 + i % 12,
                1 + i % 28
            )),
        }),
        genesys: Some(GenesysUser {
            routing_skills: skills,
            routing_languages: languages,
            external_ids: Vec::new(),
        }),
        ..User::default()
    }
}

/// Users are generated in parallel chunks, each from its own generator seeded by
/// `rng` and its index (so the result does not depend on scheduling), then indexed in
/// order.
const SEED_CHUNK: u64 = 65_536;

/// Adds `n` deterministic, realistic users (ids from `rng`).
pub(crate) fn seed_users(store: &mut Store, cat: &Catalogue, n: u64, rng: &mut SmallRng) {
    use rayon::prelude::*;
    let now = super::store::now_ms();
    let base: u64 = rng.random();
    store.reserve(n as usize);
    let mut start = 0;
    while start < n {
        let end = (start + SEED_CHUNK).min(n);
        let prepared: Vec<_> = (start..end)
            .into_par_iter()
            .map(|i| {
                let mut r = SmallRng::seed_from_u64(base ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let user = make_user(i, cat, &mut r);
                let id = uuid::Builder::from_random_bytes(r.random()).into_uuid();
                (id, super::store::Prepared::new(&user))
            })
            .collect();
        for (id, p) in prepared {
            // Generated names carry the index, so they never clash; a clash with a
            // reloaded state is skipped rather than fatal.
            let _ = store.insert_prepared(id, p, now);
        }
        start = end;
    }
}

/// The `--state` file: the whole tenant.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateFile {
    pub tenant: TenantFile,
    pub users: Vec<StateUser>,
    pub groups: Vec<StateGroup>,
    /// Extension schemas deployed under `--schema-extensions` (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<serde_json::Value>,
}

/// A user in the state file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateUser {
    pub id: Uuid,
    pub state: UserState,
    pub version: u64,
    pub modified_ms: i64,
    pub user: User,
}

/// A group in the state file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateGroup {
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<Uuid>,
    pub version: u64,
    pub modified_ms: i64,
}

/// Saves the tenant as JSON (written to a temporary file, then renamed).
pub(crate) fn save_state(
    path: &Path,
    cat: &Catalogue,
    store: &Store,
    extensions: Vec<serde_json::Value>,
) -> Result<(), EmulatorError> {
    let state = StateFile {
        extensions,
        tenant: cat.file.clone(),
        users: store
            .users
            .iter()
            .enumerate()
            .map(|(i, s)| StateUser {
                id: s.id,
                state: s.state,
                version: s.version,
                modified_ms: s.modified_ms,
                user: store.writable(i as u32),
            })
            .collect(),
        groups: store
            .groups
            .iter()
            .map(|g| StateGroup {
                id: g.id,
                display_name: g.display_name.clone(),
                external_id: g.external_id.clone(),
                members: g
                    .members
                    .iter()
                    .map(|&m| store.users[m as usize].id)
                    .collect(),
                version: g.version,
                modified_ms: g.modified_ms,
            })
            .collect(),
    };
    let save = |source| EmulatorError::Save {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(save)?;
    let mut out = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut out, &state).map_err(|e| save(e.into()))?;
    std::io::Write::flush(&mut out).map_err(save)?;
    std::fs::rename(&tmp, path).map_err(save)
}

/// Loads a state file into an empty store; returns its catalogue and deployed
/// extension schemas.
pub(crate) fn load_state(
    path: &Path,
    store: &mut Store,
) -> Result<(Catalogue, Vec<serde_json::Value>), EmulatorError> {
    let err = |detail: String| EmulatorError::Load {
        what: "state",
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let state: StateFile =
        serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| err(e.to_string()))?;
    let mut by_id = std::collections::HashMap::new();
    for u in state.users {
        let idx = store
            .restore(Slot {
                id: u.id,
                doc: encode(&u.user),
                version: u.version,
                modified_ms: u.modified_ms,
                state: u.state,
            })
            .map_err(|e| err(format!("{e:?}")))?;
        by_id.insert(u.id, idx);
    }
    store.groups = state
        .groups
        .into_iter()
        .map(|g| GroupSlot {
            id: g.id,
            display_name: g.display_name,
            external_id: g.external_id,
            members: g
                .members
                .iter()
                .filter_map(|m| by_id.get(m).copied())
                .collect(),
            version: g.version,
            modified_ms: g.modified_ms,
        })
        .collect();
    Ok((Catalogue::new(state.tenant), state.extensions))
}

/// A random generator, seeded when `seed` is set.
pub(crate) fn rng(seed: Option<u64>) -> SmallRng {
    match seed {
        Some(s) => SmallRng::seed_from_u64(s),
        None => SmallRng::from_os_rng(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic_and_unique() {
        let cat = Catalogue::new(TenantFile::default());
        let mut a = Store::default();
        let mut b = Store::default();
        seed_users(&mut a, &cat, 2_000, &mut rng(Some(7)));
        seed_users(&mut b, &cat, 2_000, &mut rng(Some(7)));
        assert_eq!(a.users.len(), 2_000);
        assert_eq!(a.active, 2_000);
        assert_eq!(a.users[1999].id, b.users[1999].id);
        assert_eq!(a.users[5].doc, b.users[5].doc);
    }

    #[test]
    fn state_round_trips() {
        let cat = Catalogue::new(TenantFile::default());
        let mut a = Store::default();
        seed_users(&mut a, &cat, 10, &mut rng(Some(1)));
        a.groups = cat.initial_groups(0);
        a.groups[0].members.insert(3);
        a.delete(4, 5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        save_state(&path, &cat, &a, Vec::new()).unwrap();
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("extensions")
        );
        let mut b = Store::default();
        let (cat2, exts) = load_state(&path, &mut b).unwrap();
        assert_eq!(cat2, cat);
        assert!(exts.is_empty());
        let ext = serde_json::json!({"id": "urn:acme:x:User", "name": "X", "attributes": []});
        save_state(&path, &cat, &a, vec![ext.clone()]).unwrap();
        assert_eq!(load_state(&path, &mut Store::default()).unwrap().1, [ext]);
        assert_eq!(b.users.len(), 10);
        assert_eq!(b.deleted, 1);
        assert!(b.groups[0].members.contains(&3));
        assert_eq!(b.render(3), a.render(3));
    }
}
