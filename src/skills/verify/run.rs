//! Verifying one run: its ledger's users (succeeded or already-equal rows with a
//! tenant user id), what the mapping asked of each (recomputed by mapping the
//! run's recorded input with its recorded mapping; the input must be unchanged,
//! as for `--resume`), and what each user holds, read through `GET
//! /api/v2/users/{id}/routingskills` and `/routinglanguages` (every page) under
//! the façade's limiter and retries. Judging is [`super::compare`]'s.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use futures::StreamExt;

use super::{Checked, VerifyReport, asked, compare, parquet};
use crate::apply::api::{Api, ApiError};
use crate::journal::{Journal, JournalError, RunMeta};
use crate::ledger::{LedgerError, Outcome, RunDir, read_ledger};
use crate::mapping::{DesiredUser, Mapping, MappingError};
use crate::scim::model::{Proficiency, UserRoutingSkill};
use crate::skills::Kind;
use crate::source::InputSpec;
use crate::validate::{ConfigError, PrepareOptions, prepare};

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The run directory.
    pub dir: RunDir,
    /// The target's API URL as the run recorded it (a run against another
    /// target is refused).
    pub target: String,
    /// Page size of the users' listings (Genesys allows up to 100).
    pub page_size: u64,
    /// Users read at once (the limiter sets the pace).
    pub concurrency: usize,
}

/// Why a run could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The run's journal (its recorded input and mapping) could not be read.
    #[error("run {run_id}: cannot read its journal (the run's input and mapping): {source}")]
    Journal {
        /// The run.
        run_id: String,
        /// The cause.
        #[source]
        source: JournalError,
    },
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A dry run wrote nothing to verify.
    #[error("run {run_id} was a dry run: nothing was written, nothing to verify")]
    DryRun {
        /// The run.
        run_id: String,
    },
    /// The run went to another target.
    #[error("run {run_id} went to {was}, not {now}: verify it against its own target")]
    OtherTarget {
        /// The run.
        run_id: String,
        /// Its target.
        was: String,
        /// The target given now.
        now: String,
    },
    /// The input changed since the run, so what it asked cannot be recomputed.
    #[error(
        "{path} changed since run {run_id} read it (SHA-256 differs), so what the run asked cannot be recomputed"
    )]
    InputChanged {
        /// The run.
        run_id: String,
        /// The input.
        path: PathBuf,
    },
    /// The run's mapping cannot be loaded.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The run's input cannot be read again.
    #[error("cannot read the run's input again: {0}")]
    Input(#[from] ConfigError),
    /// A user could not be read back.
    #[error("row {row}: cannot read user {user_id}'s routing {what}: {source}")]
    Read {
        /// The input row.
        row: u64,
        /// The user.
        user_id: String,
        /// `skills` or `languages`.
        what: &'static str,
        /// The cause.
        #[source]
        source: Box<ApiError>,
    },
    /// `skills-verify.parquet` could not be written.
    #[error(transparent)]
    Write(#[from] parquet::WriteError),
}

/// One user to read back.
struct Subject {
    row: u64,
    external_id: Option<String>,
    user_id: String,
    skills: Option<Vec<Proficiency>>,
    languages: Option<Vec<Proficiency>>,
}

/// Verifies the run in `opts.dir` through `api`, writing `skills-verify.parquet`.
pub async fn verify(api: &Api, opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let run_id = opts.dir.id.clone();
    let state =
        Journal::replay(&opts.dir.journal_path()).map_err(|source| VerifyError::Journal {
            run_id: run_id.clone(),
            source,
        })?;
    check_run(&run_id, &state.meta, &opts.target)?;
    let ledger = read_ledger(&opts.dir.ledger_path())?;
    let mut users: HashMap<u64, (Option<String>, String)> = HashMap::new();
    let mut skipped = 0u64;
    for r in ledger {
        match (&r.scim_id, r.outcome) {
            (Some(id), Outcome::Succeeded | Outcome::Skipped) => {
                users.insert(r.row, (r.external_id, id.clone()));
            }
            _ => skipped += 1,
        }
    }
    let desired = recompute(&state.meta, users.keys().copied().collect())?;
    let mut subjects: Vec<Subject> = Vec::new();
    for (row, (external_id, user_id)) in users {
        let Some(du) = desired.get(&row) else {
            skipped += 1;
            continue;
        };
        let skills = asked(du, Kind::Skill).map(<[_]>::to_vec);
        let languages = asked(du, Kind::Language).map(<[_]>::to_vec);
        if skills.is_none() && languages.is_none() {
            skipped += 1;
            continue;
        }
        subjects.push(Subject {
            row,
            external_id,
            user_id,
            skills,
            languages,
        });
    }
    subjects.sort_by_key(|s| s.row);
    let page_size = opts.page_size.max(1);
    let results: Vec<Result<(Vec<Checked>, u64), VerifyError>> = futures::stream::iter(subjects)
        .map(|s| read_back(api, s, page_size))
        .buffered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut report = VerifyReport {
        run_id: run_id.clone(),
        skipped,
        path: opts.dir.root.join(parquet::FILE_NAME),
        ..VerifyReport::default()
    };
    for r in results {
        let (checked, calls) = r?;
        report.users += 1;
        report.calls += calls;
        if checked.iter().all(|c| c.matched) {
            report.matched += 1;
        } else {
            report.mismatched += 1;
        }
        report.checked.extend(checked);
    }
    parquet::write(&report.path, &run_id, &report.checked)?;
    Ok(report)
}

fn check_run(run_id: &str, meta: &RunMeta, target: &str) -> Result<(), VerifyError> {
    if meta.dry_run {
        return Err(VerifyError::DryRun {
            run_id: run_id.into(),
        });
    }
    if meta.target != target {
        return Err(VerifyError::OtherTarget {
            run_id: run_id.into(),
            was: meta.target.clone(),
            now: target.into(),
        });
    }
    let now = RunMeta::hash_input(&meta.input).unwrap_or_default();
    if !meta.input_sha256.is_empty() && now != meta.input_sha256 {
        return Err(VerifyError::InputChanged {
            run_id: run_id.into(),
            path: meta.input.clone(),
        });
    }
    Ok(())
}

/// What the run's mapping asks of each of `rows`, from the run's input.
fn recompute(meta: &RunMeta, rows: HashSet<u64>) -> Result<HashMap<u64, DesiredUser>, VerifyError> {
    let mapping = Mapping::load(&meta.mapping)?;
    let spec = InputSpec {
        row_column: meta.row_column.clone(),
        ..InputSpec::new(meta.input.clone())
    };
    let opts = PrepareOptions {
        only_rows: Some(rows),
        keep_valid_records: false,
        source_hash: false,
        ..PrepareOptions::default()
    };
    let mut out = HashMap::new();
    for chunk in prepare(&spec, &mapping, opts)? {
        for p in chunk.map_err(|e| VerifyError::Input(ConfigError::Source(e)))? {
            if let Ok(du) = p.result {
                out.insert(p.record.row, du);
            }
        }
    }
    Ok(out)
}

/// Reads one user's managed lists and judges them; returns the rows and the
/// GETs sent.
async fn read_back(
    api: &Api,
    s: Subject,
    page_size: u64,
) -> Result<(Vec<Checked>, u64), VerifyError> {
    let mut out = Vec::new();
    let mut calls = 0;
    for (kind, expected, segment) in [
        (Kind::Skill, &s.skills, "routingskills"),
        (Kind::Language, &s.languages, "routinglanguages"),
    ] {
        let Some(expected) = expected else {
            continue;
        };
        let path = format!("/api/v2/users/{}/{segment}", s.user_id);
        let held = api
            .platform_list::<UserRoutingSkill>(Some(s.row), &path, page_size)
            .await
            .map_err(|source| VerifyError::Read {
                row: s.row,
                user_id: s.user_id.clone(),
                what: if kind == Kind::Skill {
                    "skills"
                } else {
                    "languages"
                },
                source: Box::new(source),
            })?;
        calls += held.calls;
        let actual: Vec<Proficiency> = held
            .entities
            .into_iter()
            .map(|h| Proficiency {
                name: h.name,
                proficiency: h.proficiency,
            })
            .collect();
        for (name, exp, act, problem) in compare(expected, &actual) {
            out.push(Checked {
                row: s.row,
                external_id: s.external_id.clone(),
                user_id: s.user_id.clone(),
                kind,
                name,
                expected: exp,
                actual: act,
                matched: problem.is_none(),
                problem,
            });
        }
    }
    Ok((out, calls))
}
