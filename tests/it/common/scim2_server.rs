//! Starts scim2-server (PyPI `scim2-server`, a Python RFC 7644 server no one here
//! wrote) on a loopback port for interop tests, through `$SCIMPORT_PYTHON`.
//! Missing is a failure with the install line, never a skip.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running scim2-server; killed on drop.
pub struct Scim2Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, the SCIM base URL (`/Users` hangs under it).
    pub url: String,
    /// The static bearer token it accepts.
    pub token: String,
}

impl Scim2Server {
    /// Starts a server accepting `token` and waits until it answers.
    pub fn start(token: &str) -> Scim2Server {
        let python = super::python();
        let probe = Command::new(&python)
            .args(["-c", "import scim2_server"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        assert!(
            probe.status.success(),
            "scim2-server is not installed for {python}: run `{python} -m pip install scim2-server` (scripts/test does)\n{}",
            String::from_utf8_lossy(&probe.stderr)
        );
        // A free port: the OS picks it; it is released just before the server binds it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&python)
            .args([
                "-c",
                "import sys; sys.argv[0] = 'scim2-server'; from scim2_server.testserver.cli import main; main()",
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                token,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scim2-server");
        let mut server = Scim2Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            token: token.to_string(),
        };
        server.wait_ready();
        server
    }

    /// Polls `/ServiceProviderConfig` until it answers 200 (the server exiting
    /// first, or not answering within a minute, fails the test).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("scim2-server exited before answering: {status}");
            }
            if matches!(self.raw_get("/ServiceProviderConfig"), Ok((200, _))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "scim2-server did not answer at {}",
                self.url
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// GET `path` (e.g. `/Users?filter=...`, already encoded) with the bearer, as JSON.
    pub fn get(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.raw_get(path).expect("GET from scim2-server");
        assert_eq!(
            status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).expect("JSON from scim2-server")
    }

    /// One HTTP/1.0 GET over a plain socket: (status, body).
    fn raw_get(&self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut sock = std::net::TcpStream::connect(addr)?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            sock,
            "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nAccept: application/scim+json\r\n\r\n",
            self.token
        )?;
        let mut raw = Vec::new();
        sock.read_to_end(&mut raw)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no header end"))?;
        let head = String::from_utf8_lossy(&raw[..split]);
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))?;
        Ok((status, raw[split + 4..].to_vec()))
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
