//! Resolves a run's inputs once: a new run, a `--resume` of a stopped one, or a
//! `--retry-failed` over another run's failed rows.

use super::*;

pub(super) fn resolve(args: &Args, target: Option<&Target>) -> anyhow::Result<Resolved> {
    let format = args.format.map(Format::from);
    let delimiter = match args.delimiter {
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => bail!("--delimiter {c:?} is not a single ASCII character"),
        None => None,
    };
    let target_name = target
        .map(|t| t.api_url.clone())
        .unwrap_or_else(|| "embedded-emulator".into());
    if let Some(id) = &args.resume {
        let dir = RunDir::open(&args.runs_dir, id)?;
        let (journal, state) = Journal::open(&dir.journal_path())?;
        if state.meta.target != target_name {
            bail!(
                "run {} was against {}, not {target_name}; give the same --region/--api-url to resume it",
                dir.id,
                state.meta.target
            );
        }
        if state.meta.dry_run {
            bail!(
                "run {} was a dry run: nothing to resume (run it again)",
                dir.id
            );
        }
        let input_path = args.input.clone().unwrap_or(state.meta.input.clone());
        let now = file_sha256(&input_path);
        if !state.meta.input_sha256.is_empty() && !now.is_empty() && now != state.meta.input_sha256
        {
            bail!(
                "{} changed since run {} started; resuming would mix two exports. Start a new run instead",
                input_path.display(),
                dir.id
            );
        }
        let audit = AuditLog::open_append(&dir.audit_path())?;
        let in_flight = state
            .in_flight
            .iter()
            .map(|(row, i)| (*row, i.action))
            .collect();
        let done_rows = state
            .done
            .iter()
            .filter(|(_, r)| r.outcome != Outcome::Pending)
            .map(|(row, r)| (*row, r.clone()))
            .collect();
        let input = InputSpec {
            path: args.input.clone().unwrap_or(state.meta.input.clone()),
            format,
            delimiter,
            row_column: state.meta.row_column.clone(),
        };
        let only_rows = state
            .meta
            .only_rows
            .clone()
            .map(|v| v.into_iter().collect());
        return Ok(Resolved {
            mapping_path: args.mapping.clone().unwrap_or(state.meta.mapping.clone()),
            dir,
            input,
            only_rows,
            journal,
            audit,
            done_rows,
            in_flight,
            resumed: true,
        });
    }
    let (input, mapping_path, only_rows) = if let Some(prev) = &args.retry_failed {
        retry_source(args, prev, format, delimiter)?
    } else {
        let Some(input) = args.input.clone() else {
            bail!("give the HR export to import (or --resume RUN_ID / --retry-failed RUN_ID)");
        };
        let Some(mapping) = args.mapping.clone() else {
            bail!("give --mapping FILE (scimport init writes a starter one)");
        };
        (
            InputSpec {
                path: input,
                format,
                delimiter,
                row_column: None,
            },
            mapping,
            None,
        )
    };
    if input.path != Path::new("-") && !input.path.exists() {
        bail!("input {} does not exist", input.path.display());
    }
    let dir = RunDir::create(&args.runs_dir).with_context(|| {
        format!(
            "cannot create a run directory under {}",
            args.runs_dir.display()
        )
    })?;
    let meta = RunMeta {
        run_id: dir.id.clone(),
        input: input.path.clone(),
        input_sha256: file_sha256(&input.path),
        mapping: mapping_path.clone(),
        target: target_name,
        dry_run: args.dry_run,
        created_at: chrono::Utc::now(),
        args: std::env::args().collect(),
        row_column: input.row_column.clone(),
        only_rows: only_rows.as_ref().map(|s: &HashSet<u64>| {
            let mut v: Vec<u64> = s.iter().copied().collect();
            v.sort_unstable();
            v
        }),
    };
    let journal = Journal::create(&dir.journal_path(), &meta)?;
    let mut audit = AuditLog::create(&dir.audit_path(), &dir.id)?;
    if args.dry_run {
        // A dry run writes nothing to the tenant, so nothing needs the log on disk line
        // by line; a buffered log keeps a million-row plan cheap.
        audit.set_flush_policy(crate::audit::FlushPolicy::Buffered(256 * 1024));
    }
    Ok(Resolved {
        dir,
        input,
        mapping_path,
        only_rows,
        journal,
        audit,
        done_rows: Default::default(),
        in_flight: Default::default(),
        resumed: false,
    })
}

/// Removes the directory of a new run that failed before its first row.
pub(super) fn discard_new_run(dir: &RunDir, resumed: bool) {
    if !resumed {
        let _ = std::fs::remove_dir_all(&dir.root);
    }
}

/// SHA-256 of a file, empty for stdin or an unreadable file.
pub(super) fn file_sha256(path: &Path) -> String {
    if path == Path::new("-") {
        return String::new();
    }
    RunMeta::hash_input(path).unwrap_or_default()
}

/// Where a --retry-failed run reads its rows: the previous run's failed.csv if the
/// user edited it (its hash differs from the one recorded), else the original input
/// restricted to the failed rows.
fn retry_source(
    args: &Args,
    prev: &str,
    format: Option<Format>,
    delimiter: Option<u8>,
) -> anyhow::Result<(InputSpec, PathBuf, Option<HashSet<u64>>)> {
    let dir = RunDir::open(&args.runs_dir, prev)?;
    let summary = RunSummary::read(&dir.summary_path()).with_context(|| {
        format!(
            "run {} has no summary.json (did it finish? try --resume)",
            dir.id
        )
    })?;
    let rows = ledger::read_verdicts(&dir.ledger_path())?;
    let failed: HashSet<u64> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Invalid))
        .map(|r| r.row)
        .collect();
    if failed.is_empty() {
        bail!("run {} has no failed or invalid rows to retry", dir.id);
    }
    let original_input = summary
        .details
        .get("input")
        .and_then(|v| v.as_str())
        .map(PathBuf::from);
    let mapping = args
        .mapping
        .clone()
        .or_else(|| {
            summary
                .details
                .get("mapping")
                .and_then(|v| v.as_str())
                .map(PathBuf::from)
        })
        .context("give --mapping FILE")?;
    let recorded = summary
        .details
        .get("failed_csv_sha256")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let failed_csv = dir.failed_path();
    let edited = failed_csv.exists() && file_sha256(&failed_csv) != recorded;
    if edited || original_input.as_ref().is_none_or(|p| !p.exists()) {
        if !failed_csv.exists() {
            bail!(
                "run {} has neither its input nor failed.csv any more",
                dir.id
            );
        }
        let spec = InputSpec {
            path: failed_csv,
            format: Some(Format::Csv),
            delimiter: Some(b','),
            row_column: Some("row".into()),
        };
        return Ok((spec, mapping, Some(failed)));
    }
    let spec = InputSpec {
        path: args
            .input
            .clone()
            .or(original_input)
            .context("the original input is unknown")?,
        format,
        delimiter,
        row_column: None,
    };
    Ok((spec, mapping, Some(failed)))
}
