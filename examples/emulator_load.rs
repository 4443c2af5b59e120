//! A small HTTP/1.1 load generator for `scripts/bench-emulator`: keep-alive
//! connections, one request in flight per connection, raw sockets so the client costs
//! little of the 2 cores it shares with the server.
//!
//! Usage: `emulator_load URL CLIENT_ID CLIENT_SECRET get|post CONNECTIONS SECONDS [SERVER_PID]`.
//! Prints one line: `mode=get requests=N seconds=S rate=R/s non2xx=M`, plus, when the
//! server's pid is given, the CPU time each side spent per request and the rate
//! those costs allow on 2 dedicated cores (the machine is shared, so the observed
//! rate understates what the emulator can serve).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// User plus system CPU seconds of a process, from /proc.
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 per second on Linux.
    Some((utime + stime) / 100.0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sends one request and reads one response; returns the status.
async fn round_trip(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    stream.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 && args.len() != 8 {
        eprintln!(
            "usage: emulator_load URL CLIENT_ID CLIENT_SECRET get|post CONNECTIONS SECONDS [SERVER_PID]"
        );
        std::process::exit(2);
    }
    let (url, id, secret, mode) = (&args[1], &args[2], &args[3], args[4].clone());
    let connections: usize = args[5].parse()?;
    let seconds: u64 = args[6].parse()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{url}/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_string();
    let list: serde_json::Value = http
        .get(format!(
            "{url}/api/v2/scim/v2/users?count=200&attributes=id"
        ))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = list["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if mode == "get" && ids.is_empty() {
        return Err("no users to GET: start the emulator with --seed-users".into());
    }
    let addr = url.trim_start_matches("http://").to_string();
    let done = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ids = Arc::new(ids);
    let run = std::process::id();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (addr, token, mode) = (addr.clone(), token.clone(), mode.clone());
        let (done, bad, stop, ids) = (done.clone(), bad.clone(), stop.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            stream.set_nodelay(true).ok();
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let request = if mode == "get" {
                    let id = &ids[(c * 7919 + i) % ids.len()];
                    format!(
                        "GET /api/v2/scim/v2/users/{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
                    )
                } else {
                    let body = format!(
                        r#"{{"userName":"load.{run}.{c}.{i}@example.com","displayName":"Load {c} {i}","externalId":"L-{run}-{c}-{i}","title":"Agent","phoneNumbers":[{{"value":"+14155550123","type":"work"}}],"urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User":{{"routingSkills":[{{"name":"Billing","proficiency":3}}]}}}}"#
                    );
                    format!(
                        "POST /api/v2/scim/v2/users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                };
                match round_trip(&mut stream, request.as_bytes(), &mut buf).await {
                    Ok(status) => {
                        if !(200..300).contains(&status) {
                            bad.fetch_add(1, Ordering::Relaxed);
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        bad.fetch_add(1, Ordering::Relaxed);
                        stream = TcpStream::connect(&addr).await.expect("reconnect");
                    }
                }
                i += 1;
            }
        }));
    }
    // Warm up for a second, then measure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server_pid = args.get(7).cloned();
    let cpu = |pid: Option<&str>| cpu_secs(pid.unwrap_or("self"));
    let (server0, client0) = (server_pid.as_deref().and_then(|p| cpu(Some(p))), cpu(None));
    let start_count = done.load(Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let n = done.load(Ordering::Relaxed) - start_count;
    let secs = start.elapsed().as_secs_f64();
    let (server1, client1) = (server_pid.as_deref().and_then(|p| cpu(Some(p))), cpu(None));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "mode={mode} connections={connections} requests={n} seconds={secs:.1} rate={:.0}/s non2xx={}",
        n as f64 / secs,
        bad.load(Ordering::Relaxed)
    );
    if let (Some(s0), Some(s1), Some(c0), Some(c1)) = (server0, server1, client0, client1)
        && n > 0
    {
        let server_us = (s1 - s0) * 1e6 / n as f64;
        let client_us = (c1 - c0) * 1e6 / n as f64;
        println!(
            "  cpu per request: server {server_us:.1} us, load generator {client_us:.1} us; \
             2 dedicated cores allow {:.0}/s with this generator, {:.0}/s for the server alone",
            2e6 / (server_us + client_us),
            2e6 / server_us
        );
    }
    Ok(())
}
