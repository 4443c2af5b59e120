//! Secrets scrubbed by value (issue 14, item 3), with the real binary against a
//! small local server that echoes each request back in its error text: the client
//! secret (from the environment or a `--config` file) and the bearer token must not
//! reach stdout, stderr or any file of the run (audit.jsonl, journal.jsonl,
//! summary.json, failed.csv, the ledger read with pyarrow) in any form: raw,
//! percent-encoded, base64 (also of `id:secret`), JSON-escaped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::common::{self, hr_rows, write_csv};

const CLIENT_ID: &str = "echo-client";
/// Characters that percent-encoding, base64 and JSON escaping all change.
const SECRET: &str = "Sx9+client/secret=v&w \"q\\z%41";
/// The token the echoing server issues (header-safe, but changed by every encoding).
const TOKEN: &str = "Tk7+bearer/token=v&w\"q\\z%42";
/// Proves the echo reached the output (so a clean output is not an empty one).
const MARKER: &str = "ECHO-MARKER";

/// One request as the server saw it: the head (request line and headers) and body.
struct Request {
    head: String,
    body: String,
}

impl Request {
    fn path(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The whole request, as an echoing server would quote it.
    fn text(&self) -> String {
        format!("{}{}", self.head, self.body)
    }
}

/// Starts a server on loopback answering every request with `respond`; returns its
/// URL and a count of requests served. The accept loop lives as long as the tests.
fn serve(
    respond: impl Fn(&Request) -> (u16, serde_json::Value) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let respond = respond.clone();
            let count = count.clone();
            std::thread::spawn(move || {
                if handle(stream, respond.as_ref()).is_ok() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (url, served)
}

fn handle(
    stream: TcpStream,
    respond: &(dyn Fn(&Request) -> (u16, serde_json::Value) + Send + Sync),
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let req = Request {
        head,
        body: String::new(),
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let req = Request {
        body: String::from_utf8_lossy(&body).into_owned(),
        ..req
    };
    let (status, json) = respond(&req);
    let body = json.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// `s` percent-encoded (letters, digits and `keep` stay; a space is `+` if asked).
fn percent(s: &str, keep: &str, plus: bool, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) {
                char::from(b).to_string()
            } else if b == b' ' && plus {
                "+".to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

/// `s` as it appears inside a JSON string.
fn json_escaped(s: &str) -> String {
    let q = serde_json::to_string(s).expect("a string serialises");
    q[1..q.len() - 1].to_string()
}

/// The spellings of `value` the outputs are searched for.
fn forms(value: &str, basic: Option<&str>) -> Vec<String> {
    let mut out = vec![value.to_string(), json_escaped(value)];
    for (keep, plus) in [("*-._", true), ("-._~", false), ("-_.!~*'()", false)] {
        for upper in [true, false] {
            out.push(percent(value, keep, plus, upper));
        }
    }
    for plain in std::iter::once(value).chain(basic) {
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            out.push(engine.encode(plain));
        }
    }
    out
}

/// What an echoing server writes: the whole request, then `value` in several
/// spellings (none preceded by `Bearer`/`Basic` or a secret-looking name, which the
/// pattern rules would catch anyway).
fn echo(req: &Request, value: &str) -> String {
    format!(
        "{MARKER} you sent: {} | decoded: {value} | as form: {} | as uri: {} | as b64: {} | quoted: {}",
        req.text(),
        percent(value, "*-._", true, true),
        percent(value, "-._~", false, false),
        STANDARD.encode(value),
        serde_json::to_string(value).expect("a string serialises"),
    )
}

/// Everything the run left for a person to read: stdout, stderr, each file in the
/// run directory, and the ledger's cells read back by pyarrow.
fn outputs(out: &std::process::Output, runs: &Path) -> Vec<(String, String)> {
    let mut all = vec![
        (
            "stdout".to_string(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        (
            "stderr".to_string(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
    ];
    // A run refused at its first contact leaves no directory: its output is all.
    if run_dirs(runs) == 0 {
        return all;
    }
    let dir = common::last_run(runs);
    for entry in std::fs::read_dir(&dir).expect("run dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&path).expect("read run file");
        all.push((name, String::from_utf8_lossy(&bytes).into_owned()));
    }
    let ledger = dir.join("ledger.parquet");
    if ledger.exists() {
        let script = "import sys, pyarrow.parquet as pq\n\
                      t = pq.read_table(sys.argv[1])\n\
                      for col in t.columns:\n\
                      \x20   for v in col.to_pylist():\n\
                      \x20       print(v)\n";
        let py = std::process::Command::new(common::python())
            .args(["-c", script])
            .arg(&ledger)
            .output()
            .expect("run python");
        assert!(
            py.status.success(),
            "pyarrow: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        all.push((
            "ledger cells".to_string(),
            String::from_utf8_lossy(&py.stdout).into_owned(),
        ));
    }
    all
}

fn assert_nowhere(outputs: &[(String, String)], what: &str, forms: &[String]) {
    for (name, text) in outputs {
        for form in forms {
            assert!(
                !text.contains(form.as_str()),
                "the {what} leaked into {name} as {form:?}:\n{text}"
            );
        }
    }
}

/// Asserts the echo reached each of `names` (so their cleanliness means something).
/// Run directories under `runs`.
fn run_dirs(runs: &Path) -> usize {
    std::fs::read_dir(runs).map_or(0, |d| d.filter(|e| e.is_ok()).count())
}

fn assert_reached(outputs: &[(String, String)], names: &[&str]) {
    for want in names {
        let text = outputs
            .iter()
            .find(|(n, _)| n == want)
            .map_or("", |(_, t)| t.as_str());
        assert!(text.contains(MARKER), "the echo did not reach {want}");
    }
}

fn import(url: &str, runs: &Path, csv: &Path, config: Option<&Path>) -> std::process::Output {
    let mut cmd = common::scimport(CLIENT_ID, SECRET);
    cmd.arg("import");
    if let Some(cfg) = config {
        cmd.env_remove("GENESYS_CLIENT_ID")
            .env_remove("GENESYS_CLIENT_SECRET")
            .arg("--config")
            .arg(cfg);
    }
    cmd.arg(csv)
        .args(["--mapping", "fixtures/mapping.toml", "--api-url", url])
        .args(["--rate", "off", "--max-attempts", "2", "--timeout", "10"])
        .arg("--runs-dir")
        .arg(runs);
    cmd.output().expect("run scimport")
}

/// A token endpoint that refuses with `status`, quoting the request and the client
/// secret it decoded from the Basic header.
fn echoing_token_endpoint(status: u16) -> (String, Arc<AtomicUsize>) {
    serve(move |req| {
        let basic = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let secret = basic.split_once(':').map_or("", |(_, s)| s).to_string();
        let text = echo(req, &secret);
        let body = if status == 400 {
            serde_json::json!({ "error": "invalid_client", "description": text })
        } else {
            serde_json::json!({ "code": "bad.credentials", "message": text, "status": status })
        };
        (status, body)
    })
}

#[test]
fn issue_14_client_secret_echoed_by_the_token_endpoint_is_scrubbed_everywhere() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(3));
    let cfg = tmp.path().join("scimport.toml");
    std::fs::write(
        &cfg,
        format!(
            "client_id = \"{CLIENT_ID}\"\nclient_secret = \"{}\"\n",
            json_escaped(SECRET)
        ),
    )
    .expect("write config");
    let basic = format!("{CLIENT_ID}:{SECRET}");
    let secret_forms = forms(SECRET, Some(&basic));
    for (status, config) in [(400, None), (401, Some(cfg.as_path())), (500, None)] {
        let (url, served) = echoing_token_endpoint(status);
        let runs = tmp.path().join(format!("runs-{status}"));
        let out = import(&url, &runs, &csv, config);
        assert!(
            served.load(Ordering::SeqCst) > 0,
            "HTTP {status}: no request; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Issue 19: refused credentials or an unavailable login service stop the
        // run at its first contact: exit 2, no run directory.
        assert_eq!(
            out.status.code(),
            Some(2),
            "HTTP {status}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            run_dirs(&runs),
            0,
            "HTTP {status}: a run directory was left"
        );
        let all = outputs(&out, &runs);
        assert_nowhere(
            &all,
            &format!("client secret (HTTP {status})"),
            &secret_forms,
        );
        if status != 500 {
            // A refusal's text is kept (a 5xx's body is not): the echo got through.
            assert_reached(&all, &["stderr"]);
        }
    }
}

#[test]
fn issue_14_bearer_token_echoed_by_the_api_is_scrubbed_everywhere() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Row 10 has no groups and no manager: nothing stops it before its create.
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(10)[9..]);
    let token_forms = forms(TOKEN, None);
    for status in [400, 500] {
        let (url, served) = serve(move |req| {
            if req.path().ends_with("/oauth/token") {
                let body = serde_json::json!({
                    "access_token": TOKEN, "token_type": "bearer", "expires_in": 3600
                });
                return (200, body);
            }
            if req.head.starts_with("GET ") {
                // An empty tenant: reads succeed, so every row goes on to a create.
                let body = serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
                });
                return (200, body);
            }
            let body = serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": status.to_string(),
                "detail": echo(req, TOKEN),
            });
            (status, body)
        });
        let runs = tmp.path().join(format!("runs-{status}"));
        let out = import(&url, &runs, &csv, None);
        assert!(
            served.load(Ordering::SeqCst) > 1,
            "HTTP {status}: no API call"
        );
        assert_ne!(
            out.status.code(),
            Some(0),
            "HTTP {status}: the run cannot succeed"
        );
        let all = outputs(&out, &runs);
        assert_nowhere(&all, &format!("bearer token (HTTP {status})"), &token_forms);
        assert_reached(
            &all,
            &["audit.jsonl", "journal.jsonl", "failed.csv", "ledger cells"],
        );
    }
}
