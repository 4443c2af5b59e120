//! Issue 18: a dry run's plan.parquet, read by pyarrow and DuckDB, and `import
//! --plan <run-id>` applying exactly that plan (the real binary against the
//! emulator over loopback): exactly the planned writes, users changed since
//! planning left alone as `plan_stale`, an altered plan refused before any call.
//!
//! `mod.rs` holds the shared tenant and input ([`Setup`]); `file` checks the plan
//! file and the dry run's summary, `apply` the exact apply and its refusals,
//! `engine` what --plan shares with any run (deferred managers, resume),
//! `members` the planned group memberships.

mod apply;
mod engine;
mod file;
mod members;

use std::path::{Path, PathBuf};
use std::process::Output;

use scimport::emulator::{EmulatorConfig, EmulatorHandle, UserState, spawn};
use serde_json::Value;

use crate::common::{self, last_run, show};

pub(super) const HEADER: &str = "employee_id,first_name,last_name,email,title,department,status";

pub(super) const MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]

[[field]]
path = "externalId"
column = "employee_id"

[[field]]
path = "userName"
column = "email"

[[field]]
path = "displayName"
template = "{first_name} {last_name}"

[[field]]
path = "title"
column = "title"
blank = "clear"

[[field]]
path = "active"
column = "status"
table = { active = "true", terminated = "false" }

[[field]]
path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
column = "department"
blank = "clear"
"#;

/// Row `i`: `E00i`, with this title and department.
pub(super) fn row(i: u32, title: &str, dept: &str) -> String {
    format!("E00{i},Ana{i},Lima,ana{i}@example.com,{title},{dept},active")
}

pub(super) fn write_csv(dir: &Path, name: &str, rows: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    p
}

/// A tenant holding users 1-4, and an input that changes user 1's title, user 2's
/// title and department, leaves 3 and 4 alone and adds 5, 6 and 7: 3 creates, 2
/// updates (3 field changes), 2 unchanged.
pub(super) struct Setup {
    pub emu: EmulatorHandle,
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub runs: PathBuf,
    pub mapping: PathBuf,
    pub input: PathBuf,
}

impl Setup {
    pub async fn new() -> Setup {
        let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let runs = dir.join("runs");
        let mapping = dir.join("mapping.toml");
        std::fs::write(&mapping, MAPPING).unwrap();
        let before: Vec<String> = (1..=4).map(|i| row(i, "Agent", "Support")).collect();
        let seed = write_csv(&dir, "seed.csv", &before);
        let s = Setup {
            emu,
            _tmp: tmp,
            input: dir.join("hr.csv"),
            dir,
            runs,
            mapping,
        };
        let out = s
            .import(&[seed.to_str().unwrap(), "--mapping", s.mapping()])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let mut rows = vec![
            row(1, "Team Lead", "Support"),
            row(2, "Manager", "Sales"),
            row(3, "Agent", "Support"),
            row(4, "Agent", "Support"),
        ];
        rows.extend((5..=7).map(|i| row(i, "Agent", "Billing")));
        write_csv(&s.dir, "hr.csv", &rows);
        s
    }

    pub fn mapping(&self) -> &str {
        self.mapping.to_str().unwrap()
    }

    pub async fn import(&self, args: &[&str]) -> Output {
        let url = self.emu.url();
        common::import_at(
            self.emu.client_id(),
            self.emu.client_secret(),
            &url,
            &self.runs,
            args,
        )
        .await
    }

    /// The dry run of the changed input; returns its run directory.
    pub async fn dry_run(&self) -> PathBuf {
        let out = self
            .import(&[
                self.input.to_str().unwrap(),
                "--mapping",
                self.mapping(),
                "--dry-run",
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        last_run(&self.runs)
    }

    pub async fn apply(&self, run: &Path) -> Output {
        let id = run.file_name().unwrap().to_str().unwrap();
        self.import(&["--plan", id]).await
    }

    pub fn calls(&self, method: &str) -> u64 {
        self.emu.stats().requests.get(method).copied().unwrap_or(0)
    }

    /// The live user with this externalId (exactly one).
    pub fn user(&self, x: &str) -> scimport::scim::model::User {
        let found: Vec<_> = self
            .emu
            .users()
            .into_iter()
            .filter(|u| u.state != UserState::Deleted && u.user.external_id.as_deref() == Some(x))
            .collect();
        assert_eq!(found.len(), 1, "users with externalId {x}: {found:?}");
        found[0].user.clone()
    }

    pub async fn scim(&self, method: reqwest::Method, path: &str, body: Value) {
        let token = common::token(&self.emu).await;
        let r = common::http()
            .request(method, format!("{}{path}", self.emu.scim_url()))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .json(&body)
            .send()
            .await
            .expect("scim call");
        assert!(
            r.status().is_success(),
            "{path}: {}",
            r.text().await.unwrap_or_default()
        );
    }
}

pub(super) fn python(script: &str, args: &[&Path]) -> String {
    let out = std::process::Command::new(common::python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python {} (set SCIMPORT_PYTHON): {e}", common::python()));
    assert!(out.status.success(), "{}", show(&out));
    String::from_utf8(out.stdout).unwrap()
}
