//! `scimport import --plan <run-id>`: checks that a dry run's plan may be applied
//! (a finished dry run against this target, its plan.parquet unaltered), says
//! whether the input or the mapping changed since, and runs the engine over the
//! plan's users ([`PlanSource`]) as a new run of its own. Everything refused here
//! is refused before any call, leaving no run directory (exit 2).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::{Args, Run, resolve};
use crate::apply::plan_file::{self, PLAN_FILE, PlanFile};
use crate::cli::settings::{self, TargetArgs};
use crate::cli::{ExitStatus, Printer};
use crate::engine::{AppliedPlan, Engine, InputChoice, PlanSource, TargetChoice};
use crate::journal::RunMeta;
use crate::ledger::{RunDir, RunLock, RunSummary};
use crate::model::shell::shell_quote;

/// The mapping written next to a plan when the original changed or is gone: the
/// plan is applied with the mapping it was made with (it matches users by its
/// keys).
const PLAN_MAPPING: &str = "plan.mapping.toml";

/// Runs `scimport import --plan <id>`.
pub(super) fn run(args: &Args, id: &str, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let Some(target) = settings::resolve(&args.target)? else {
        bail!(
            "--plan needs the tenant the plan was made against (--region or --api-url): the embedded emulator keeps nothing between runs"
        );
    };
    let webhooks = args.calls.webhook.plan(&args.target)?;
    let dir = RunDir::open(&args.runs_dir, id)?;
    // Held for the whole run: the dry run's files do not change under us.
    let _reading = RunLock::acquire_shared(&dir)?;
    let summary = RunSummary::read(&dir.summary_path()).map_err(|e| {
        anyhow::anyhow!(
            "run {} has no readable summary.json ({e}): it did not finish (stopped or crashed), so its plan may lack rows; plan again with a new --dry-run",
            dir.id
        )
    })?;
    let detail = |k: &str| summary.details.get(k).cloned().unwrap_or_default();
    if detail("dry_run").as_bool() != Some(true) {
        bail!(
            "run {} is not a dry run: only the plan of a dry run (import --dry-run) can be applied",
            dir.id
        );
    }
    if let Some(why) = detail("stopped").as_str() {
        bail!(
            "the dry run {} stopped before planning every row ({why}): its plan is incomplete; plan again with a new --dry-run",
            dir.id
        );
    }
    let was = detail("target").as_str().unwrap_or_default().to_string();
    if was == TargetChoice::Embedded.name() {
        bail!(
            "the dry run {} was planned against the embedded emulator, which is gone: plan against your tenant (--region or --api-url), then apply that plan",
            dir.id
        );
    }
    if was != target.api_url && !args.allow_target_change {
        bail!(
            "the dry run {} planned against {was}, not {}: a plan applies to the tenant it was made against (--allow-target-change if the same tenant now answers at this address)",
            dir.id,
            target.api_url
        );
    }
    let recorded = detail("plan");
    let Some(recorded_sha) = recorded.get("sha256").and_then(|v| v.as_str()) else {
        bail!(
            "the dry run {} recorded no plan in its summary.json (made by an older scimport?): plan again with a new --dry-run",
            dir.id
        );
    };
    let path = dir.root.join(PLAN_FILE);
    // The whole plan is read and its content hash checked before anything is created.
    let file = plan_file::verify(&path)
        .with_context(|| format!("the plan of run {} cannot be applied", dir.id))?;
    if file.sha256 != recorded_sha {
        bail!(
            "the plan of run {} was altered or swapped: {} holds sha256:{}, the dry run recorded sha256:{recorded_sha} in its summary.json; plan again with a new --dry-run",
            dir.id,
            path.display(),
            file.sha256
        );
    }
    for w in changed_since(&file) {
        printer.notice(&format!("warning: {w}"));
    }
    let mapping = mapping_for(&dir, &file)?;
    let mut config = resolve::config(args, Some(target))?;
    config.input = InputChoice::Feed {
        label: path.clone(),
    };
    config.mapping = Some(mapping);
    config.dry_run = false;
    let engine = Engine::try_new(config)?;
    let replan = replan_command(&file, &args.runs_dir, &args.target);
    let note = format!(
        "applying the plan of dry run {} ({}, sha256:{}, {} users, {} rows); input sha256:{}, mapping sha256:{}",
        file.run_id,
        path.display(),
        file.sha256,
        file.users,
        file.rows,
        file.input_sha256,
        file.mapping_sha256
    );
    printer.info(&format!(
        "applying the plan of dry run {}: {} users ({} with group membership changes), sha256:{}",
        file.run_id, file.users, file.membership_users, file.sha256
    ));
    let extras = crate::engine::Extras {
        notes: vec![note],
        applying: Some(AppliedPlan {
            run_id: file.run_id.clone(),
            path: path.clone(),
            sha256: file.sha256.clone(),
            users: file.users,
            replan: replan.clone(),
            ..AppliedPlan::default()
        }),
        ..Default::default()
    };
    let run = Run {
        args,
        embedded: false,
        webhooks,
        extras,
        replan: Some(replan),
    };
    run.execute(engine, PlanSource::new(path, Some(file.users)), printer)
}

/// Whether a resumed run applied a plan (its recorded input is a plan file).
pub(super) fn is_plan(input: &Path) -> bool {
    input.file_name().is_some_and(|n| n == PLAN_FILE)
}

/// The plan a resumed `--plan` run reads again, checked first like a new one
/// (a plan altered since is refused before any call).
pub(super) fn resumed_source(path: &Path) -> anyhow::Result<PlanSource> {
    let file = plan_file::verify(path).context("the plan this run applies cannot be read again")?;
    Ok(PlanSource::new(path.to_path_buf(), Some(file.users)))
}

/// Warnings for an input or mapping that changed (or is gone) since planning.
fn changed_since(file: &PlanFile) -> Vec<String> {
    let mut out = Vec::new();
    for (what, path, was) in [
        ("input", &file.input, &file.input_sha256),
        ("mapping", &file.mapping_path, &file.mapping_sha256),
    ] {
        if was.is_empty() {
            continue;
        }
        match RunMeta::hash_input(path) {
            Err(_) => out.push(format!(
                "the {what} file {} is gone since planning; applying the plan as reviewed",
                path.display()
            )),
            Ok(now) if &now != was => out.push(format!(
                "the {what} file {} changed since planning (sha256:{now}, planned from sha256:{was}); applying the plan as reviewed, not the file as it is now",
                path.display()
            )),
            Ok(_) => {}
        }
    }
    out
}

/// The mapping the plan was made with: the file itself when unchanged, else its
/// text as the plan recorded it, written next to the plan.
fn mapping_for(dir: &RunDir, file: &PlanFile) -> anyhow::Result<PathBuf> {
    if RunMeta::hash_input(&file.mapping_path).is_ok_and(|h| h == file.mapping_sha256) {
        return Ok(file.mapping_path.clone());
    }
    let copy = dir.root.join(PLAN_MAPPING);
    std::fs::write(&copy, &file.mapping_text)
        .with_context(|| format!("cannot write {}", copy.display()))?;
    Ok(copy)
}

/// The dry run that plans again from the same input, mapping and target.
fn replan_command(file: &PlanFile, runs_dir: &Path, target: &TargetArgs) -> String {
    let mut words = vec![format!(
        "scimport import {} --mapping {} --dry-run",
        shell_quote(&file.input.display().to_string()),
        shell_quote(&file.mapping_path.display().to_string())
    )];
    words.extend(target.words());
    if runs_dir != Path::new("runs") {
        words.push(format!(
            "--runs-dir {}",
            shell_quote(&runs_dir.display().to_string())
        ));
    }
    words.join(" ")
}
