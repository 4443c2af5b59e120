//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod samba;
pub mod scim2_server;
pub mod slapd;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under fixtures/.
pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(name)
}

/// The Python with pyarrow and duckdb that scripts/test prepares.
pub fn python() -> String {
    std::env::var("SCIMPORT_PYTHON")
        .unwrap_or_else(|_| root().join("target/pyenv/bin/python").display().to_string())
}

/// The header of the HR export fixtures (issue 4 pins it).
pub const HR_HEADER: &str = "employee_id,first_name,last_name,email,work_phone,mobile_phone,title,department,division,manager_id,hire_date,status,location,skills,languages,roles,groups";

/// `n` valid, realistic HR rows (no header), deterministic. Row i's employee id is
/// `E{i:06}`; managers point at earlier rows; every 10th row has no groups.
pub fn hr_rows(n: usize) -> Vec<String> {
    const FIRST: [&str; 8] = [
        "Ana", "Ben", "Chloe", "Dev", "Eva", "Farid", "Grace", "Hugo",
    ];
    const LAST: [&str; 8] = [
        "Lima", "Okafor", "Martin", "Patel", "Rossi", "Haddad", "Hopper", "Weber",
    ];
    const DEPT: [&str; 4] = ["Support", "Sales", "Billing", "Claims"];
    const DIV: [&str; 4] = ["Home", "North America", "EMEA", "APAC"];
    const SKILLS: [&str; 4] = [
        "Billing:4;Sales:3",
        "Technical Support:5",
        "Retention:2;VIP:1",
        "Claims:3",
    ];
    const GROUPS: [&str; 4] = [
        "Support Team;Tier 1",
        "Sales Team",
        "Support Team;Tier 2",
        "Night Shift",
    ];
    (1..=n)
        .map(|i| {
            let f = FIRST[i % 8];
            let l = LAST[(i / 8) % 8];
            let manager = if i > 10 { format!("E{:06}", i % 10 + 1) } else { String::new() };
            let groups = if i % 10 == 0 { "" } else { GROUPS[i % 4] };
            format!(
                "E{i:06},{f},{l},{}.{}.{i}@example.com,+1415555{:04},,Agent,{},{},{manager},2023-04-{:02},active,Lisbon,{},English:5;Spanish:3,Agent,{groups}",
                f.to_lowercase(),
                l.to_lowercase(),
                i % 10000,
                DEPT[i % 4],
                DIV[i % 4],
                i % 28 + 1,
                SKILLS[i % 4],
            )
        })
        .collect()
}

/// Writes a CSV with the HR header and `rows` into `dir/name`; returns its path.
pub fn write_csv(dir: &std::path::Path, name: &str, rows: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from(HR_HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write csv");
    path
}

/// The newest run directory under `runs`.
pub fn last_run(runs: &std::path::Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .expect("runs dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.pop().expect("a run directory")
}

/// Reads a JSON file.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}
/// A finished command's status, stdout and stderr, for assertion messages.
pub fn show(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The scimport binary with the emulator's credentials in its environment.
pub fn scimport(client_id: &str, client_secret: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"));
    cmd.env("GENESYS_CLIENT_ID", client_id)
        .env("GENESYS_CLIENT_SECRET", client_secret)
        .env_remove("RUST_LOG");
    cmd
}

/// A plain reqwest client for tests (installs the ring provider once).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A bearer token from the emulator's token endpoint, as a client would get it.
pub async fn token(emu: &scimport::emulator::EmulatorHandle) -> String {
    let v: serde_json::Value = http()
        .post(format!("{}/oauth/token", emu.url()))
        .basic_auth(emu.client_id(), Some(emu.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// Runs `scimport import ARGS` against `url` (API and login), quietly, with `runs`
/// as the runs dir, off the async runtime's threads; unpaced unless ARGS give
/// `--rate`.
pub async fn import_at(
    client_id: &str,
    client_secret: &str,
    url: &str,
    runs: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = scimport(client_id, client_secret);
    cmd.arg("import").args(args);
    if !args.contains(&"--rate") {
        cmd.args(["--rate", "off"]);
    }
    cmd.args(["--api-url", url, "--login-url", url, "--runs-dir"])
        .arg(runs)
        .arg("--quiet");
    tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join")
}

/// Every user a dry run's plan.parquet holds, its content hash checked.
pub fn plan_users(path: &std::path::Path) -> Vec<scimport::apply::plan_file::PlannedUser> {
    let mut r = scimport::apply::plan_file::PlanReader::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut users = Vec::new();
    while let Some(u) = r.next_user().expect("plan row") {
        users.push(u);
    }
    r.finish().expect("the plan's content hash");
    users
}
