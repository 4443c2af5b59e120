//! The running `samba` process and the lock that keeps one DC at a time on the
//! machine (Samba's ports 389 and 636 are fixed).
//!
//! Owns spawning samba in its own process group, waiting until LDAPS accepts
//! (polled with a deadline), and killing the whole group. Does not touch the
//! directory's content (see the parent module).

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The file other test processes (other worktrees, CI jobs) lock too.
const LOCK_FILE: &str = "/tmp/scimport-samba-dc.lock";
/// The pid of the running DC (its process group), so an orphan left by a test
/// process that was killed (Ctrl-C does not reach samba's own group) is found and
/// stopped by the next one.
const PID_FILE: &str = "/tmp/scimport-samba-dc.pid";
/// How long to wait for another process's DC to finish.
const LOCK_WAIT: Duration = Duration::from_secs(20 * 60);
/// How long samba may take to accept on 636 (it takes about half a second).
const START_WAIT: Duration = Duration::from_secs(60);

/// Held while a DC lives: an exclusive `flock` on [`LOCK_FILE`]. Each acquire opens
/// the file anew, and flock locks belong to the open file, so two threads of one
/// test process exclude each other as two processes do (and the DC stays `Send`).
pub struct DcLock {
    _file: File,
}

impl DcLock {
    /// Waits for the machine's one DC slot (released when the holder's DC drops,
    /// also when its test panics, or when its process dies).
    pub fn acquire() -> DcLock {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK_FILE)
            .unwrap_or_else(|e| panic!("open {LOCK_FILE}: {e}"));
        let deadline = Instant::now() + LOCK_WAIT;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            assert!(
                Instant::now() < deadline,
                "another test process has held {LOCK_FILE} (its Samba DC) for {LOCK_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        kill_orphan();
        for port in [389, 636] {
            if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
                panic!(
                    "port {port} on 127.0.0.1 is taken ({e}): the Samba DC needs 389 and 636 free \
                     (another samba or slapd? see `ss -ltnp | grep -E ':(389|636)'`)"
                );
            }
        }
        DcLock { _file: file }
    }
}

/// With the lock held no live test owns a DC, so a samba named in the pid file
/// (`pid` line, then its directory) is an orphan: kill its group, wait until its
/// ports are free, and remove its directory.
fn kill_orphan() {
    let Ok(text) = std::fs::read_to_string(PID_FILE) else {
        return;
    };
    let mut lines = text.lines();
    let Some(pid) = lines.next().and_then(|s| s.trim().parse::<i32>().ok()) else {
        let _ = std::fs::remove_file(PID_FILE);
        return;
    };
    let dir = lines
        .next()
        .filter(|d| d.contains("/scimport-samba-"))
        .map(str::to_string);
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    if exe.file_name().is_some_and(|n| n == "samba") {
        // SAFETY: a signal to the group of a samba our harness started.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while [389, 636]
            .iter()
            .any(|p| TcpListener::bind(("127.0.0.1", *p)).is_err())
        {
            assert!(
                Instant::now() < deadline,
                "the orphaned samba {pid} still holds 389/636"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let _ = std::fs::remove_file(PID_FILE);
}

/// Kills the DC's process group; cloneable and `Send`, for use from a callback.
#[derive(Clone)]
pub struct DcKiller {
    pgid: i32,
    killed: Arc<std::sync::atomic::AtomicBool>,
}

impl DcKiller {
    /// SIGKILL to every process of the DC (idempotent).
    pub fn kill(&self) {
        if !self.killed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // SAFETY: a signal to the process group we created for samba.
            unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        }
    }
}

/// A started samba; the lock is released after the process is reaped.
pub struct Running {
    child: Child,
    killer: DcKiller,
    log: std::path::PathBuf,
    _lock: DcLock,
}

impl Running {
    /// Starts `samba -i -M single` on `dir/dc/etc/smb.conf` in a new process group
    /// and waits until 127.0.0.1:636 accepts.
    pub fn start(dir: &Path, lock: DcLock) -> Running {
        let log = dir.join("samba.log");
        let out = File::create(&log).expect("create samba.log");
        let err = out.try_clone().expect("clone samba.log");
        let child = Command::new("samba")
            .args(["-i", "-M", "single", "-s"])
            .arg(dir.join("dc/etc/smb.conf"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start samba ({e}): the Samba AD tests need `apt-get install -y --no-install-recommends {}`",
                    super::PACKAGES
                )
            });
        let pgid = i32::try_from(child.id()).expect("a pid fits i32");
        std::fs::write(PID_FILE, format!("{pgid}\n{}\n", dir.display()))
            .expect("write the DC pid file");
        let mut running = Running {
            child,
            killer: DcKiller {
                pgid,
                killed: Arc::new(false.into()),
            },
            log,
            _lock: lock,
        };
        running.wait_ready();
        running
    }

    fn wait_ready(&mut self) {
        let addr: SocketAddr = ([127, 0, 0, 1], 636).into();
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "samba exited before listening: {status}\n{}",
                    self.log_text()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "samba did not accept on 636 within {START_WAIT:?}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The DC's log so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A killer for the group.
    pub fn killer(&self) -> DcKiller {
        self.killer.clone()
    }

    /// Kills the group and reaps samba.
    pub fn stop(&mut self) {
        self.killer.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(PID_FILE);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}
