//! A tiny HTTP/1.1 proxy in front of the real emulator that misbehaves on user
//! creates (`POST …/users`) and forwards everything else (token, lookups,
//! groups) untouched. Once healed ([`Proxy::heal`]) it forwards everything, so a
//! later `--resume` (which must name the same --api-url) reaches the same tenant
//! and can prove that no user was created twice.
//!
//! One request per connection: the proxy answers with `Connection: close`, so
//! every request the client sends opens a connection the proxy can inspect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with a create.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Never answers (holds the connection until the client gives up); nothing
    /// reaches the tenant.
    Hang,
    /// Answers 503 at once; nothing reaches the tenant.
    Unavailable,
    /// Drops the connection without an answer; nothing reaches the tenant.
    Drop,
    /// Forwards the create (the user is created), then drops the connection
    /// without an answer; lookups by filter after the first create answer 503,
    /// so the client cannot adopt what it created: only a resume can.
    LandThenDrop,
    /// Answers 503 to the first `n` creates, then forwards.
    UnavailableFirst(usize),
}

/// A running proxy.
pub struct Proxy {
    url: String,
    hung: watch::Receiver<usize>,
    creates: Arc<AtomicUsize>,
    healed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:port`).
    pub async fn start(upstream: &str, fault: Fault) -> Proxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream address");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (hung_tx, hung) = watch::channel(0usize);
        let hung_tx = Arc::new(hung_tx);
        let creates = Arc::new(AtomicUsize::new(0));
        let counter = creates.clone();
        let healed = Arc::new(AtomicBool::new(false));
        let heal = healed.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (hung_tx, counter) = (hung_tx.clone(), counter.clone());
                let fault = (!heal.load(Ordering::SeqCst)).then_some(fault);
                tokio::spawn(async move {
                    serve(sock, upstream, fault, &hung_tx, &counter).await;
                });
            }
        });
        Proxy {
            url,
            hung,
            creates,
            healed,
            task,
        }
    }

    /// From now on, forwards everything.
    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }

    /// The URL to pass as `--api-url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates received so far.
    pub fn creates(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }

    /// Waits until `n` creates are being held (Hang).
    pub async fn wait_hung(&self, n: usize) {
        let mut rx = self.hung.clone();
        rx.wait_for(|h| *h >= n).await.expect("proxy running");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request read off a connection.
struct Incoming {
    head: String,
    body: Vec<u8>,
    method: String,
    path: String,
}

async fn read_request(sock: &mut TcpStream) -> Option<Incoming> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut body = buf[end..].to_vec();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut first = head.lines().next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    Some(Incoming {
        head,
        body,
        method,
        path,
    })
}

async fn serve(
    mut sock: TcpStream,
    upstream: SocketAddr,
    fault: Option<Fault>,
    hung: &watch::Sender<usize>,
    creates: &AtomicUsize,
) {
    let Some(req) = read_request(&mut sock).await else {
        return;
    };
    let route = req
        .path
        .split('?')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_create = req.method == "POST" && route.ends_with("/users");
    let is_lookup = req.method == "GET" && req.path.contains("filter=");
    if is_create {
        creates.fetch_add(1, Ordering::SeqCst);
    }
    let Some(fault) = fault else {
        let mut answer = Vec::new();
        forward(&req, upstream, &mut answer).await;
        let _ = sock.write_all(&answer).await;
        let _ = sock.shutdown().await;
        return;
    };
    if is_create {
        let n = creates.load(Ordering::SeqCst);
        match fault {
            Fault::Hang => {
                hung.send_modify(|h| *h += 1);
                // Hold the connection until the client gives up on it.
                let mut sink = [0u8; 1024];
                while matches!(sock.read(&mut sink).await, Ok(k) if k > 0) {}
                return;
            }
            Fault::Unavailable => return unavailable(&mut sock).await,
            Fault::Drop => return,
            Fault::UnavailableFirst(first) if n <= first => return unavailable(&mut sock).await,
            Fault::LandThenDrop => {
                let mut discard = Vec::new();
                forward(&req, upstream, &mut discard).await;
                return; // dropped: no answer
            }
            Fault::UnavailableFirst(_) => {}
        }
    }
    // Lookups after the first create (the adoption look-ups; the prefetch came
    // before) fail, so only a resume can find what landed.
    if is_lookup && matches!(fault, Fault::LandThenDrop) && creates.load(Ordering::SeqCst) > 0 {
        return unavailable(&mut sock).await;
    }
    let mut answer = Vec::new();
    forward(&req, upstream, &mut answer).await;
    let _ = sock.write_all(&answer).await;
    let _ = sock.shutdown().await;
}

async fn unavailable(sock: &mut TcpStream) {
    let body = r#"{"status":"503","detail":"service unavailable"}"#;
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// Sends `req` upstream with `Connection: close` and reads the whole answer.
async fn forward(req: &Incoming, upstream: SocketAddr, answer: &mut Vec<u8>) {
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        return;
    };
    let mut head: String = req
        .head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| {
            !l.to_ascii_lowercase().starts_with("connection:")
                && !l.to_ascii_lowercase().starts_with("keep-alive:")
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    head.push_str("Connection: close\r\n\r\n");
    if up.write_all(head.as_bytes()).await.is_err() || up.write_all(&req.body).await.is_err() {
        return;
    }
    let _ = up.read_to_end(answer).await;
}
