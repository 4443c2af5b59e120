//! What a sync shows its user when it ends: why it was refused, or the run's
//! summary (import's) with the sync's own lines (mode, leavers, guards, state), and
//! the exact command for the next step.

use crate::cli::Printer;
use crate::cli::import::report::{NextSteps, print_summary};
use crate::sync::{Mode, SyncReport};

/// Prints a sync's end.
pub(super) fn print(printer: &Printer, r: &SyncReport, args: &super::Args, again: &str) {
    if let Some(why) = &r.refused {
        printer.error(&format!("sync refused before any write: {why}"));
        printer.out(&format!(
            "nothing was sent and the state is unchanged ({}); once the source is right, run again: {again}",
            r.state_path.display()
        ));
        return;
    }
    let mode = match r.mode {
        Mode::First => "first sync of this target: the tenant was read",
        Mode::Full => "full: the tenant was read",
        Mode::Incremental => "incremental: planned against the state, no tenant read",
    };
    printer.out(&format!("sync ({mode}); source: {} entries", r.source_rows));
    if let Some((pages, referrals)) = r.directory {
        printer.out(&format!(
            "directory: {pages} pages read, {referrals} continuation references skipped"
        ));
    }
    if let Some(run) = &r.run {
        let resume = if args.resume.is_some() {
            again.to_string()
        } else {
            format!("{again} --resume {}", run.dir.id)
        };
        let next = NextSteps {
            resume: Some(resume),
            retry_failed: Some(again.to_string()),
            ..NextSteps::default()
        };
        print_summary(printer, run, &next);
    }
    let held = if r.held.is_some() { " (held)" } else { "" };
    printer.out(&format!(
        "leavers: {}{held}; missing but waiting for --absent-runs {}: {}; re-created accounts: {}",
        r.leavers, args.absent_runs, r.waiting, r.anchor_changed
    ));
    if let Some(a) = r.attributes
        && let Some(share) = a.share()
    {
        printer.out(&format!(
            "attributes already matching: {:.1}% ({} of {} compared, on {} users)",
            share * 100.0,
            a.matching,
            a.compared,
            a.users
        ));
    }
    for c in &r.manager_cycles {
        printer.out(&format!("manager cycle (reported, not followed): {c}"));
    }
    if let Some(why) = &r.held {
        printer.error(&format!("deactivations held: {why}"));
        let base = super::command_line(
            std::env::args().skip(1),
            &[("--allow-mass-deactivation", false), ("--reason", true)],
        );
        printer.out(&format!(
            "to deactivate them: {base} --allow-mass-deactivation --reason 'confirmed by <your name>'"
        ));
    }
    if r.state_saved {
        printer.out(&format!("state: {}", r.state_path.display()));
    } else if args.dry_run {
        printer.out(&format!(
            "dry run: the state is unchanged ({})",
            r.state_path.display()
        ));
    }
    if let Some(run) = &r.run
        && !run.audit_head.is_empty()
    {
        printer.out_verbatim(&format!("audit head sha256:{}", run.audit_head));
    }
}
