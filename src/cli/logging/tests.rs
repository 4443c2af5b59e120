//! Logging tests: which events each verbosity lets through, `RUST_LOG` winning (or
//! being refused with a reason), and log lines written with the progress bar cleared.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, TermLike};
use parking_lot::Mutex;

use super::*;

type Lines = Arc<Mutex<Vec<String>>>;

/// A writer into `lines`, with a slot of its own (tests run in parallel).
fn writer(lines: &Lines) -> (StderrSuspendingBar, &'static BarSlot) {
    let slot: &'static BarSlot = Box::leak(Box::new(BarSlot::new()));
    let w = StderrSuspendingBar {
        slot,
        memory: Some(lines.clone()),
    };
    (w, slot)
}

/// Emits one event per level for scimport and for a dependency; returns the lines.
fn logged(verbose: u8, rust_log: Option<&str>) -> Vec<String> {
    let lines = Lines::default();
    let (w, _) = writer(&lines);
    let (sub, _) = subscriber(verbose, rust_log, w, false);
    tracing::subscriber::with_default(sub, || {
        tracing::warn!(target: "scimport::ledger", "ours-warn");
        tracing::info!(target: "scimport::apply", "ours-info");
        tracing::debug!(target: "scimport::validate", "ours-debug");
        tracing::warn!(target: "hyper::proto", "dep-warn");
        tracing::info!(target: "hyper::proto", "dep-info");
        tracing::debug!(target: "hyper::proto", "dep-debug");
    });
    let got = lines.lock().clone();
    got.iter()
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

#[test]
fn verbosity_and_rust_log_choose_what_is_shown() {
    let cases: &[(u8, Option<&str>, &[&str])] = &[
        (0, None, &["ours-warn", "dep-warn"]),
        (1, None, &["ours-warn", "ours-info", "dep-warn"]),
        (
            2,
            None,
            &["ours-warn", "ours-info", "ours-debug", "dep-warn"],
        ),
        (
            7,
            None,
            &["ours-warn", "ours-info", "ours-debug", "dep-warn"],
        ),
        // Blank RUST_LOG counts as unset.
        (1, Some("  "), &["ours-warn", "ours-info", "dep-warn"]),
        // RUST_LOG wins over -v, both ways.
        (2, Some("error"), &[]),
        (
            0,
            Some("scimport=debug"),
            &["ours-warn", "ours-info", "ours-debug"],
        ),
        (0, Some("hyper=info"), &["dep-warn", "dep-info"]),
    ];
    for (verbose, rust_log, want) in cases {
        assert_eq!(
            logged(*verbose, *rust_log),
            *want,
            "-v x{verbose}, RUST_LOG={rust_log:?}"
        );
    }
}

#[test]
fn an_unparsable_rust_log_falls_back_to_verbose_and_says_why() {
    let (_, why) = filter(1, Some("scimport=[{"));
    let why = why.expect("a reason");
    assert!(why.contains("RUST_LOG ignored"), "{why}");
    assert!(why.contains("scimport=[{"), "{why}");
    assert_eq!(
        logged(1, Some("scimport=[{")),
        ["ours-warn", "ours-info", "dep-warn"]
    );
    assert!(filter(1, Some("scimport=debug")).1.is_none());
}

/// A terminal that records what is drawn, in the same list as the log lines.
#[derive(Debug, Clone)]
struct Recorder(Lines);

impl TermLike for Recorder {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.lock().push(format!("up {n}"));
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.lock().push(format!("draw {s}"));
        Ok(())
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        if !s.is_empty() {
            self.0.lock().push(format!("draw {s}"));
        }
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.lock().push("clear".into());
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Draws a bar, logs a warning (with the bar attached or not) and returns what the
/// terminal saw, cursor moves left out.
fn draw_then_log(attach: bool) -> Vec<String> {
    let lines = Lines::default();
    let bar = ProgressBar::with_draw_target(
        Some(10),
        ProgressDrawTarget::term_like(Box::new(Recorder(lines.clone()))),
    );
    bar.tick();
    let (w, slot) = writer(&lines);
    if attach {
        slot.attach(&bar);
    }
    let (sub, _) = subscriber(0, None, w, false);
    tracing::subscriber::with_default(sub, || tracing::warn!("careful"));
    let seen = lines.lock().clone();
    seen.into_iter().filter(|l| !l.starts_with("up ")).collect()
}

#[test]
fn a_log_line_clears_the_bar_first_and_the_bar_comes_back_below_it() {
    let seen = draw_then_log(true);
    let at = seen
        .iter()
        .position(|l| l.starts_with("log ") && l.contains("careful"))
        .expect("the line was logged");
    assert!(seen[..at].iter().any(|l| l.contains("0/10")), "{seen:?}");
    assert_eq!(seen[at - 1], "clear", "{seen:?}");
    assert!(
        seen[at + 1..].iter().any(|l| l.contains("0/10")),
        "{seen:?}"
    );

    // The same without attaching: the line lands right after the bar, uncleared.
    let seen = draw_then_log(false);
    let at = seen
        .iter()
        .position(|l| l.starts_with("log "))
        .expect("logged");
    assert!(seen[at - 1].contains("0/10"), "{seen:?}");
    assert_eq!(at, seen.len() - 1, "{seen:?}");
}

#[test]
fn a_finished_or_dropped_bar_is_not_redrawn_by_a_log_line() {
    let lines = Lines::default();
    let bar = ProgressBar::with_draw_target(
        Some(10),
        ProgressDrawTarget::term_like(Box::new(Recorder(lines.clone()))),
    );
    bar.tick();
    let (w, slot) = writer(&lines);
    slot.attach(&bar);
    bar.finish_and_clear();
    let (sub, _) = subscriber(0, None, w.clone(), false);
    let before = lines.lock().len();
    tracing::subscriber::with_default(sub, || tracing::warn!("after finish"));
    let after: Vec<String> = lines.lock()[before..].to_vec();
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(after[0].starts_with("log "), "{after:?}");

    drop(bar);
    assert!(slot.on_screen().is_none());
}

#[test]
fn issue_14_a_logged_line_quoting_a_registered_secret_is_masked() {
    let secret = "logging-unit-secret+/=9";
    crate::secrets::register(crate::secrets::SecretKind::BearerToken, secret);
    let lines = Lines::default();
    let (w, _) = writer(&lines);
    let (sub, _) = subscriber(0, None, w, false);
    tracing::subscriber::with_default(sub, || {
        tracing::warn!(target: "scimport::apply", "server said: {secret}");
        tracing::warn!(target: "scimport::apply", "Authorization: Bearer unregistered-tok");
    });
    let got = lines.lock().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].ends_with("server said: ***"), "{got:?}");
    assert!(got[1].ends_with("Bearer ***"), "{got:?}");
}
