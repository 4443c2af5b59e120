//! Issue 14, bounded inputs and answers: records longer than `--max-record-bytes`
//! become one `record_too_large` row each (also inside a `.csv.gz` bomb, with the
//! process's peak memory measured), and a server streaming an endless body fails
//! the rows with a clear message instead of exhausting memory.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use scimport::emulator::{EmulatorConfig, spawn};
use scimport::ledger::{Outcome, read_ledger};
use scimport::model::{Action, ErrorKind};

use crate::common::{self, HR_HEADER, fixture, hr_rows, last_run, read_json};

/// What a measured child did: exit code, stdout, stderr, peak RSS in MiB.
struct Measured {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_mib: u64,
}

/// Runs `cmd` to its end and reads its own peak RSS (`wait4`'s rusage: this child
/// only, not the other tests' children).
#[expect(clippy::zombie_processes, reason = "wait4 below reaps the child")]
fn run_measured(mut cmd: Command, dir: &Path) -> Measured {
    let out_path = dir.join("child.stdout");
    let err_path = dir.join("child.stderr");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn scimport");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our unreaped child; the pointers are to live locals.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        code,
        stdout: std::fs::read_to_string(out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(err_path).unwrap_or_default(),
        // Linux reports ru_maxrss in KiB.
        peak_mib: usage.ru_maxrss as u64 / 1024,
    }
}

fn show(m: &Measured) -> String {
    format!(
        "exit {:?}, peak {} MiB\nstdout:\n{}\nstderr:\n{}",
        m.code, m.peak_mib, m.stdout, m.stderr
    )
}

#[test]
fn issue_14_csv_gz_bomb_is_one_row_error_and_memory_stays_flat() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bomb.csv.gz");
    let rows = hr_rows(4);
    let field = 96usize << 20;
    {
        let f = std::fs::File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        writeln!(gz, "{HR_HEADER}").unwrap();
        writeln!(gz, "{}", rows[0]).unwrap();
        // Row 2: a 96 MiB title (a quoted field, line breaks inside) in a ~100 KB gzip.
        write!(gz, "E000002,Ben,Okafor,b@example.com,,,\"").unwrap();
        let chunk = vec![b'A'; 1 << 20];
        for i in 0..field >> 20 {
            gz.write_all(&chunk).unwrap();
            if i % 7 == 0 {
                gz.write_all(b"\n").unwrap();
            }
        }
        writeln!(gz, "\",Support,EMEA,,2023-04-01,active,Lisbon,,,,").unwrap();
        writeln!(gz, "{}", rows[2]).unwrap();
        writeln!(gz, "{}", rows[3]).unwrap();
        gz.finish().unwrap();
    }
    let gz_len = std::fs::metadata(&path).unwrap().len();
    assert!(gz_len < 2 << 20, "the bomb is small: {gz_len} bytes");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimport"));
    cmd.arg("validate")
        .arg(&path)
        .arg("--mapping")
        .arg(fixture("mapping.toml"))
        .args(["--output", "json"]);
    let m = run_measured(cmd, tmp.path());
    assert_eq!(m.code, Some(1), "{}", show(&m));
    let v: serde_json::Value = serde_json::from_str(&m.stdout).expect("json summary");
    assert_eq!(v["rows"], 4, "{v}");
    assert_eq!(v["valid"], 3, "{v}");
    assert_eq!(v["invalid"], 1, "{v}");
    assert_eq!(v["error_kinds"][0]["kind"], "record_too_large", "{v}");
    assert!(
        m.peak_mib < 150,
        "peak RSS {} MiB for a 96 MiB field",
        m.peak_mib
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_import_record_too_large_is_one_failed_ledger_row() {
    let emu = spawn(EmulatorConfig::default()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let rows = hr_rows(4);
    // Row 2 has a 6 KB quoted title with line breaks; the limit is 4 KiB.
    let long = "Agent\n".repeat(1000);
    let bad = rows[1].replacen(",Agent,", &format!(",\"{long}\","), 1);
    let text = format!(
        "{HR_HEADER}\n{}\n{bad}\n{}\n{}\n",
        rows[0], rows[2], rows[3]
    );
    let input = tmp.path().join("in.csv");
    std::fs::write(&input, text).unwrap();
    let runs = tmp.path().join("runs");
    let mapping = fixture("mapping.toml");
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            input.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--max-record-bytes",
            "4KiB",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let run = last_run(&runs);
    let ledger = read_ledger(&run.join("ledger.parquet")).unwrap();
    assert_eq!(ledger.len(), 4, "one ledger row per input row: {ledger:?}");
    let r2 = ledger.iter().find(|r| r.row == 2).expect("row 2");
    assert_eq!(r2.error_kind, Some(ErrorKind::RecordTooLarge), "{r2:?}");
    let err = r2.error.as_deref().unwrap_or_default();
    assert!(
        err.contains("more than the limit of 4096 bytes") && err.contains("--max-record-bytes"),
        "{err}"
    );
    for r in ledger.iter().filter(|r| r.row != 2) {
        assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
        assert_eq!(r.action, Action::Create, "{r:?}");
    }
    let summary = read_json(&run.join("summary.json"));
    assert_eq!(summary["error_kinds"]["record_too_large"], 1, "{summary}");
    let failed = std::fs::read_to_string(run.join("failed.csv")).unwrap();
    assert!(failed.contains("record_too_large"), "{failed}");
}

/// A server that answers every request with 200 and a body that never ends
/// (until the client hangs up).
fn endless_body_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                // Read the request head; the body (if any) is ignored.
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let start = "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\n\
                             connection: close\r\n\r\n{\"Resources\":[\"";
                if conn.write_all(start.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                while conn.write_all(&chunk).is_ok() {}
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_endless_response_body_stops_the_run_with_a_clear_error() {
    // Tokens from the emulator, every API call to the endless server.
    let emu = spawn(EmulatorConfig::default()).await.expect("emulator");
    let api = endless_body_server();
    let tmp = tempfile::tempdir().unwrap();
    let input = common::write_csv(tmp.path(), "in.csv", &hr_rows(3));
    let runs = tmp.path().join("runs");
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.arg("import")
        .arg(&input)
        .arg("--mapping")
        .arg(fixture("mapping.toml"))
        .args(["--rate", "off", "--lookup", "filter", "--timeout", "20"])
        .args(["--api-url", &api, "--login-url", &emu.url(), "--runs-dir"])
        .arg(&runs);
    let dir = tmp.path().to_path_buf();
    let m = tokio::task::spawn_blocking(move || run_measured(cmd, &dir))
        .await
        .expect("join");
    // The tenant read before any row meets the flood: the run stops (exit 3),
    // says why, and leaves every row pending for a resume.
    assert_eq!(m.code, Some(3), "{}", show(&m));
    assert!(
        m.stdout
            .contains("the server sent more than 16 MiB in one response"),
        "{}",
        show(&m)
    );
    assert!(
        m.peak_mib < 200,
        "peak RSS {} MiB against an endless body",
        m.peak_mib
    );
    let run = last_run(&runs);
    let ledger = read_ledger(&run.join("ledger.parquet")).unwrap();
    assert_eq!(ledger.len(), 3, "{ledger:?}");
    for r in &ledger {
        assert_eq!(r.outcome, Outcome::Pending, "{r:?}");
    }
}

#[test]
fn issue_14_exploding_replacement_is_value_too_large_in_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let mapping = std::fs::read_to_string(fixture("mapping.toml")).unwrap();
    let with = "b".repeat(8000);
    let mapping = mapping.replacen(
        "path = \"title\"\ncolumn = \"title\"\n",
        &format!("path = \"title\"\ncolumn = \"title\"\nreplace = [{{ pattern = \"a\", with = \"{with}\" }}]\n"),
        1,
    );
    assert!(
        mapping.contains(&with),
        "the title field gets the replacement"
    );
    let mapping_path = tmp.path().join("mapping.toml");
    std::fs::write(&mapping_path, mapping).unwrap();
    let rows = hr_rows(3);
    // Row 2's title: a 50 KB cell of `a`, 400 MB once replaced.
    let bad = rows[1].replacen(",Agent,", &format!(",{},", "a".repeat(50_000)), 1);
    let input = common::write_csv(
        tmp.path(),
        "in.csv",
        &[rows[0].clone(), bad, rows[2].clone()],
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimport"));
    cmd.arg("validate")
        .arg(&input)
        .arg("--mapping")
        .arg(&mapping_path)
        .args(["--output", "json"]);
    let m = run_measured(cmd, tmp.path());
    assert_eq!(m.code, Some(1), "{}", show(&m));
    let v: serde_json::Value = serde_json::from_str(&m.stdout).expect("json summary");
    assert_eq!(v["invalid"], 1, "{v}");
    assert_eq!(v["error_kinds"][0]["kind"], "value_too_large", "{v}");
    assert!(m.peak_mib < 150, "peak RSS {} MiB", m.peak_mib);
}

/// A proxy in front of the emulator that answers every user lookup by filter with
/// an endless 200 body, and passes every other request through.
fn flooding_proxy(upstream: String) -> String {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let upstream = upstream.clone();
            std::thread::spawn(move || proxy_connection(conn, &upstream));
        }
    });
    format!("http://{addr}")
}

fn proxy_connection(mut conn: std::net::TcpStream, upstream: &str) {
    loop {
        // The request head, then its body by Content-Length.
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(p) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&req[..head_end]).to_string();
        let body_len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        while req.len() < head_end + body_len {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        if head.starts_with("GET /api/v2/scim/v2/users?") && head.contains("filter=") {
            let start = "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\n\
                         connection: close\r\n\r\n{\"Resources\":[\"";
            if conn.write_all(start.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            while conn.write_all(&chunk).is_ok() {}
            return;
        }
        // Pass it through on a fresh upstream connection that closes after the answer.
        let Ok(mut up) = std::net::TcpStream::connect(upstream) else {
            return;
        };
        let mut fwd = req[..head_end - 2].to_vec();
        fwd.extend_from_slice(b"connection: close\r\n\r\n");
        fwd.extend_from_slice(&req[head_end..]);
        let mut answer = Vec::new();
        if up.write_all(&fwd).is_err() || up.read_to_end(&mut answer).is_err() {
            return;
        }
        if conn.write_all(&answer).is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_endless_lookup_answers_fail_each_row_with_a_clear_error() {
    let emu = spawn(EmulatorConfig::default()).await.expect("emulator");
    let api = flooding_proxy(emu.url());
    let tmp = tempfile::tempdir().unwrap();
    let input = common::write_csv(tmp.path(), "in.csv", &hr_rows(3));
    let runs = tmp.path().join("runs");
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.arg("import")
        .arg(&input)
        .arg("--mapping")
        .arg(fixture("mapping.toml"))
        .args(["--rate", "off", "--lookup", "filter", "--timeout", "20"])
        .args(["--api-url", &api, "--login-url", &emu.url(), "--runs-dir"])
        .arg(&runs);
    let dir = tmp.path().to_path_buf();
    let m = tokio::task::spawn_blocking(move || run_measured(cmd, &dir))
        .await
        .expect("join");
    assert_eq!(m.code, Some(1), "{}", show(&m));
    // Bounded, not small: up to three lookups read at once, each up to the 16 MiB
    // body cap into a buffer that may double once (32 MiB), over a base of about
    // 100 MiB; measured 147 to 202 MiB depending on how the reads overlap. An
    // unbounded read of the endless answer would pass 1 GiB within the timeout.
    assert!(m.peak_mib < 256, "peak RSS {} MiB", m.peak_mib);
    let ledger = read_ledger(&last_run(&runs).join("ledger.parquet")).unwrap();
    assert_eq!(ledger.len(), 3, "{ledger:?}");
    for r in &ledger {
        assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
        assert_eq!(r.error_kind, Some(ErrorKind::Decode), "{r:?}");
        let err = r.error.as_deref().unwrap_or_default();
        assert!(err.contains("more than 16 MiB"), "row {}: {err}", r.row);
    }
}
