//! Where `tracing` events go: one subscriber, installed once by [`install`], writing
//! to stderr. The level comes from `--verbose` (warnings only by default; `-v` adds
//! scimport's info lines, `-vv` its debug lines) unless `RUST_LOG` is set, which wins.
//! A line is written while the progress bar is suspended ([`attach`]), so a warning
//! never lands in the middle of a redrawn bar.
//!
//! Owns the subscriber and the link to the progress bar on screen. Does not decide
//! what is logged (each module does) nor print results (see `printer`). No scimport
//! event should carry a token or a request header (HTTP calls go to the audit log),
//! and every formatted line still passes the redactor (`secrets`) before it is
//! written, so server text quoted in a warning cannot leak one; other crates stay at
//! warn unless `RUST_LOG` asks.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, WeakProgressBar};
use parking_lot::Mutex;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The environment variable whose directives replace `--verbose` when set.
pub const ENV: &str = "RUST_LOG";

/// The progress bar on screen, if any; log lines suspend it while they are written.
/// Weak: a finished or dropped bar must not be kept alive (nor redrawn) by logging.
#[derive(Default)]
pub struct BarSlot(Mutex<Option<WeakProgressBar>>);

impl std::fmt::Debug for BarSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BarSlot")
            .field("attached", &self.0.lock().is_some())
            .finish()
    }
}

impl BarSlot {
    /// An empty slot.
    pub const fn new() -> Self {
        Self(Mutex::new(None))
    }

    /// Makes log lines suspend `bar` while they are written (the latest bar wins).
    pub fn attach(&self, bar: &ProgressBar) {
        *self.0.lock() = Some(bar.downgrade());
    }

    /// The attached bar, while it is alive, visible and not finished.
    fn on_screen(&self) -> Option<ProgressBar> {
        let bar = self.0.lock().as_ref().and_then(WeakProgressBar::upgrade)?;
        (!bar.is_hidden() && !bar.is_finished()).then_some(bar)
    }
}

/// The process's slot: the progress bars of `import` and `validate` attach here.
static PROGRESS: BarSlot = BarSlot::new();

/// Makes log lines suspend `bar` while they are written (the latest bar attached wins).
pub fn attach(bar: &ProgressBar) {
    PROGRESS.attach(bar);
}

/// The filter for `verbose` (the count of `-v`) when `rust_log` is unset or empty:
/// scimport's own events at warn, info, debug or trace; other crates at warn, since
/// their debug output is noise to a user (and `RUST_LOG` reaches them when needed).
pub fn default_directives(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "warn,scimport=info",
        2 => "warn,scimport=debug",
        _ => "warn,scimport=trace",
    }
}

/// The filter to install, and the reason `rust_log` was ignored when it could not be
/// parsed (then `verbose` decides, and the reason is logged as a warning).
pub fn filter(verbose: u8, rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    let fallback = || EnvFilter::new(default_directives(verbose));
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => (fallback(), None),
        Some(dirs) => match EnvFilter::builder().parse(dirs) {
            Ok(f) => (f, None),
            Err(e) => (fallback(), Some(format!("{ENV} ignored ({e}): `{dirs}`"))),
        },
    }
}

/// Installs the stderr subscriber for the process. A second call (an embedding
/// program or a test that already set one) leaves the first in place.
pub fn install(verbose: u8) {
    let rust_log = std::env::var(ENV).ok();
    let ansi = std::io::stderr().is_terminal();
    let (subscriber, ignored) = subscriber(
        verbose,
        rust_log.as_deref(),
        StderrSuspendingBar::default(),
        ansi,
    );
    if subscriber.try_init().is_ok()
        && let Some(why) = ignored
    {
        tracing::warn!("{why}");
    }
}

/// The subscriber [`install`] sets: the filter, then one line per event through
/// `writer` (with the event's target once the user asked for detail).
fn subscriber(
    verbose: u8,
    rust_log: Option<&str>,
    writer: StderrSuspendingBar,
    ansi: bool,
) -> (
    impl tracing::Subscriber + Send + Sync + 'static,
    Option<String>,
) {
    let (filter, ignored) = filter(verbose, rust_log);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .without_time()
        .with_target(verbose >= 2 || rust_log.is_some());
    (
        tracing_subscriber::registry().with(filter).with(layer),
        ignored,
    )
}

/// Makes a [`LineWriter`] per event (the `MakeWriter` of the fmt layer).
#[derive(Debug, Clone)]
pub struct StderrSuspendingBar {
    slot: &'static BarSlot,
    #[cfg(test)]
    memory: Option<std::sync::Arc<Mutex<Vec<String>>>>,
}

impl Default for StderrSuspendingBar {
    fn default() -> Self {
        Self {
            slot: &PROGRESS,
            #[cfg(test)]
            memory: None,
        }
    }
}

impl<'a> MakeWriter<'a> for StderrSuspendingBar {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            buf: Vec::with_capacity(256),
            slot: self.slot,
            #[cfg(test)]
            memory: self.memory.clone(),
        }
    }
}

/// Collects one formatted event and writes it in one go when dropped: with the
/// attached progress bar suspended (cleared, then redrawn below the line) when one
/// is on screen, straight to stderr otherwise.
#[derive(Debug)]
pub struct LineWriter {
    buf: Vec<u8>,
    slot: &'static BarSlot,
    /// Tests: lines go here (as `log <line>`) instead of stderr.
    #[cfg(test)]
    memory: Option<std::sync::Arc<Mutex<Vec<String>>>>,
}

impl LineWriter {
    fn emit(&self) {
        let buf: std::borrow::Cow<'_, [u8]> = match std::str::from_utf8(&self.buf) {
            Ok(text) => match crate::secrets::redact(text) {
                std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(&self.buf),
                std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(o.into_bytes()),
            },
            Err(_) => crate::secrets::scrub_bytes(&self.buf),
        };
        #[cfg(test)]
        if let Some(m) = &self.memory {
            let line = String::from_utf8_lossy(&buf);
            m.lock().push(format!("log {}", line.trim_end()));
            return;
        }
        // A closed stderr has nowhere to report to: the line is dropped.
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&buf);
        let _ = err.flush();
    }
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        match self.slot.on_screen() {
            Some(bar) => bar.suspend(|| self.emit()),
            None => self.emit(),
        }
    }
}

#[cfg(test)]
mod tests;
