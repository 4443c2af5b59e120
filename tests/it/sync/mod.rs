//! `scimport sync` end to end (issue 16): the real binary against the in-process
//! emulator, with file sources here and directory sources (slapd, Samba AD) in
//! their own files. Helpers: a small HR file with an anchor column, a mapping
//! for it, and one call that runs a sync and reads back what it left.

mod ad;
mod anchors;
mod delta;
mod ldap;
mod resume;
mod safety;

use std::path::{Path, PathBuf};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, UserState, spawn};
use scimport::ledger::{LedgerRow, read_ledger};

use crate::common;

/// The mapping the file tests use: keys externalId then userName, the anchor in
/// column `guid`, no groups (so an unchanged incremental run needs no call).
pub const MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]
anchor = "guid"

[[field]]
path = "externalId"
column = "id"

[[field]]
path = "userName"
column = "email"

[[field]]
path = "displayName"
template = "{first} {last}"

[[field]]
path = 'emails[type eq "work"].value'
column = "email"
primary = true

[[field]]
path = "title"
column = "title"
blank = "clear"

[[field]]
path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
column = "dept"
blank = "clear"

[[field]]
path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
column = "manager"
"#;

/// The header of the test files.
pub const HEADER: &str = "id,guid,email,first,last,title,dept,manager";

/// One person of the test files.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Employee id (externalId).
    pub id: String,
    /// The source account's immutable id (anchor).
    pub guid: String,
    /// Email (userName).
    pub email: String,
    /// Title.
    pub title: String,
    /// Department.
    pub dept: String,
    /// The manager's employee id.
    pub manager: String,
}

/// `n` people, `P0001`..; everyone after the first reports to `P0001`.
pub fn people(n: usize) -> Vec<Person> {
    (1..=n)
        .map(|i| Person {
            id: format!("P{i:04}"),
            guid: format!("9d2b7c1e-0000-4000-8000-{i:012}"),
            email: format!("person{i}@example.com"),
            title: "Agent".into(),
            dept: ["Support", "Sales", "Billing"][i % 3].into(),
            manager: if i == 1 {
                String::new()
            } else {
                "P0001".into()
            },
        })
        .collect()
}

/// The CSV text of `people`.
pub fn csv(people: &[Person]) -> String {
    let mut s = format!("{HEADER}\n");
    for p in people {
        let first = p.email.split('@').next().unwrap_or("x");
        s.push_str(&format!(
            "{},{},{},{first},Tester,{},{},{}\n",
            p.id, p.guid, p.email, p.title, p.dept, p.manager
        ));
    }
    s
}

/// A test's working directory, emulator and paths.
pub struct Bench {
    /// The emulator.
    pub emu: EmulatorHandle,
    /// The temporary directory (runs, state, source, mapping).
    pub dir: tempfile::TempDir,
}

/// What one sync left.
pub struct Ran {
    /// The process's output.
    pub out: std::process::Output,
    /// The run directory, when the run got that far.
    pub run: Option<PathBuf>,
}

impl Ran {
    /// The exit code.
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    /// The run's ledger.
    pub fn ledger(&self) -> Vec<LedgerRow> {
        let run = self
            .run
            .as_ref()
            .unwrap_or_else(|| panic!("no run\n{}", common::show(&self.out)));
        read_ledger(&run.join("ledger.parquet")).expect("ledger")
    }
    /// The run's summary.json.
    pub fn summary(&self) -> serde_json::Value {
        let run = self
            .run
            .as_ref()
            .unwrap_or_else(|| panic!("no run\n{}", common::show(&self.out)));
        common::read_json(&run.join("summary.json"))
    }
    /// Everything printed, and the ledger's errors when there is a ledger.
    pub fn text(&self) -> String {
        let mut s = common::show(&self.out);
        if let Some(run) = &self.run
            && let Ok(rows) = read_ledger(&run.join("ledger.parquet"))
        {
            for r in rows.iter().filter(|r| r.error.is_some()).take(10) {
                s.push_str(&format!(
                    "\nrow {} {:?}: {:?}",
                    r.row, r.error_kind, r.error
                ));
            }
        }
        s
    }
}

impl Bench {
    /// An emulator with no rate limit and an empty working directory holding the
    /// test mapping.
    pub async fn new() -> Bench {
        Bench::with(EmulatorConfig::for_tests()).await
    }

    /// [`Bench::new`] with this emulator.
    pub async fn with(cfg: EmulatorConfig) -> Bench {
        let emu = spawn(cfg).await.expect("emulator");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mapping.toml"), MAPPING).expect("mapping");
        Bench { emu, dir }
    }

    /// The runs directory.
    pub fn runs(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    /// Writes the source file.
    pub fn source(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("hr.csv");
        std::fs::write(&p, text).expect("source");
        p
    }

    /// Runs `scimport sync` over the source file with `extra` flags.
    pub fn sync(&self, extra: &[&str]) -> Ran {
        let source = self.dir.path().join("hr.csv").display().to_string();
        self.sync_from(&["--source", &source], &[], extra)
    }

    /// The `scimport sync` command over the source file, not started.
    pub fn command(
        &self,
        source: &[&str],
        env: &[(&str, &str)],
        extra: &[&str],
    ) -> std::process::Command {
        let mut cmd = common::scimport(self.emu.client_id(), self.emu.client_secret());
        cmd.current_dir(self.dir.path())
            .env_remove("SCIMPORT_LDAP_BIND_DN")
            .env_remove("SCIMPORT_LDAP_PASSWORD")
            .envs(env.iter().copied())
            .arg("sync")
            .args(source)
            .arg("--mapping")
            .arg(self.dir.path().join("mapping.toml"))
            .args(["--api-url", &self.emu.url(), "--rate", "off", "--quiet"])
            .arg("--runs-dir")
            .arg(self.runs())
            .args(extra);
        cmd
    }

    /// Runs `scimport sync` with these source flags, environment and `extra` flags.
    pub fn sync_from(&self, source: &[&str], env: &[(&str, &str)], extra: &[&str]) -> Ran {
        let before = runs_in(&self.runs());
        let out = tokio::task::block_in_place(|| {
            self.command(source, env, extra)
                .output()
                .expect("run scimport sync")
        });
        let after = runs_in(&self.runs());
        let run = after.into_iter().find(|r| !before.contains(r));
        Ran { out, run }
    }

    /// The tenant's users by externalId: (userName, active, title).
    pub fn tenant(&self) -> std::collections::BTreeMap<String, (String, bool, Option<String>)> {
        self.emu
            .users()
            .into_iter()
            .filter(|u| u.state != UserState::Deleted)
            .filter_map(|u| {
                let x = u.user.external_id.clone()?;
                let name = u.user.user_name.clone().unwrap_or_default();
                Some((
                    x,
                    (name, u.state == UserState::Active, u.user.title.clone()),
                ))
            })
            .collect()
    }

    /// The tenant user with this externalId (the active one when there are several).
    pub fn user(&self, x: &str) -> scimport::emulator::StoredUser {
        let mut all: Vec<_> = self
            .emu
            .users()
            .into_iter()
            .filter(|u| u.user.external_id.as_deref() == Some(x))
            .collect();
        all.sort_by_key(|u| u.state != UserState::Active);
        all.into_iter()
            .next()
            .unwrap_or_else(|| panic!("no user {x}"))
    }

    /// The manager id of the tenant user with this externalId.
    pub fn manager_of(&self, x: &str) -> Option<String> {
        self.user(x)
            .user
            .enterprise
            .and_then(|e| e.manager)
            .map(|m| m.value)
    }

    /// Requests the emulator received per method since the last reset.
    pub fn requests(&self) -> std::collections::BTreeMap<String, u64> {
        self.emu
            .stats()
            .requests
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Forgets the request counts.
    pub fn reset_requests(&self) {
        self.emu.reset_stats();
    }
}

pub fn runs_in(runs: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(runs)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .is_some_and(|n| n != "sync-state" && n != ".snapshots")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Ledger rows by action and outcome, e.g. `("update", "succeeded") -> 3`.
pub fn tally(rows: &[LedgerRow]) -> std::collections::BTreeMap<(String, String), usize> {
    let mut m = std::collections::BTreeMap::new();
    for r in rows {
        *m.entry((
            r.action.as_str().to_string(),
            r.outcome.as_str().to_string(),
        ))
        .or_insert(0) += 1;
    }
    m
}

/// Ledger rows with this action and outcome in a [`tally`].
pub fn count(
    t: &std::collections::BTreeMap<(String, String), usize>,
    action: &str,
    outcome: &str,
) -> usize {
    t.get(&(action.to_string(), outcome.to_string()))
        .copied()
        .unwrap_or(0)
}
