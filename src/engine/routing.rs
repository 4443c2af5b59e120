//! The pre-flight's routing part (issue 17): when the mapping writes skills or
//! languages to Genesys, read the tenant's catalogue once (`GET
//! /api/v2/routing/skills` and `/api/v2/routing/languages`, every page, through
//! the run's API façade: paced, retried and audited like every call), stop the
//! run before row 1 when the mapping file names a skill or language the tenant
//! lacks (every one, with the closest names), and hand the catalogue on so each
//! row's own names are checked before its write ([`screen_rows`]).
//!
//! The judgement is `skills::catalogue`'s. A target whose catalogue cannot be
//! read gets a warning and no check in `auto` mode; `require` makes that an
//! error. A target that does not list its languages (404) has its languages left
//! unchecked, with a warning.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::error::EngineError;
use super::preflight::PreflightMode;
use crate::apply::api::{Api, ApiError};
use crate::apply::sink::RunSink;
use crate::mapping::Mapping;
use crate::scim::model::RoutingSkill;
use crate::scim::target::Profile;
use crate::skills::{Catalogue, Kind};
use crate::validate::Prepared;

/// The catalogue's page size (Genesys's largest for these listings is 100 and up).
const PAGE_SIZE: u64 = 100;

/// What the routing pre-flight found.
#[derive(Debug, Default)]
pub(super) struct RoutingCheck {
    /// The catalogue, when it was read (rows are screened against it).
    pub catalogue: Option<Arc<Catalogue>>,
    /// Remarks that did not stop the run.
    pub warnings: Vec<String>,
    /// GETs sent.
    pub calls: u64,
}

/// Reads the catalogue and checks the mapping's own names; `Err` stops the run.
pub(super) async fn routing_preflight(
    api: &Api,
    sink: &RunSink,
    mode: PreflightMode,
    mapping: &Mapping,
) -> Result<RoutingCheck, EngineError> {
    let mut out = RoutingCheck::default();
    let writes = mapping
        .fields()
        .iter()
        .any(|f| Kind::of(&f.target).is_some());
    if mode == PreflightMode::Off || !writes || api.profile() != Profile::Genesys {
        return Ok(out);
    }
    let unreadable =
        |what: &str, e: &ApiError| format!("the tenant's routing {what} could not be read ({e})");
    let skills = api
        .platform_list::<RoutingSkill>(None, "/api/v2/routing/skills", PAGE_SIZE)
        .await;
    let skills = match skills {
        Ok(p) => {
            out.calls += p.calls;
            p.entities
                .into_iter()
                .map(|s| s.name)
                .collect::<BTreeSet<_>>()
        }
        Err(e) => {
            out.calls += 1;
            let why = unreadable("skills", &e);
            if mode == PreflightMode::Require {
                sink.note(&format!("preflight: failed: {why}")).await;
                return Err(EngineError::PreflightUnavailable { why });
            }
            let warning = format!(
                "{why}, so skill and language names were not checked before sending \
                 (--preflight require makes this an error)"
            );
            tracing::warn!("{warning}");
            sink.note(&format!("preflight: routing catalogue skipped: {why}"))
                .await;
            out.warnings.push(warning);
            return Ok(out);
        }
    };
    let languages = api
        .platform_list::<RoutingSkill>(None, "/api/v2/routing/languages", PAGE_SIZE)
        .await;
    let languages = match languages {
        Ok(p) => {
            out.calls += p.calls;
            Some(p.entities.into_iter().map(|s| s.name).collect())
        }
        Err(e) => {
            out.calls += 1;
            let warning = format!(
                "{}, so routing language names were not checked before sending",
                unreadable("languages", &e)
            );
            tracing::warn!("{warning}");
            out.warnings.push(warning);
            None
        }
    };
    let catalogue = Catalogue { skills, languages };
    let unknown = catalogue.check_mapping(mapping);
    if !unknown.is_empty() {
        let listed: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        sink.note(&format!("preflight: failed: {}", listed.join(" | ")))
            .await;
        return Err(EngineError::UnknownRouting { unknown: listed });
    }
    sink.note(&format!(
        "preflight: routing catalogue read ({} skills, {} languages; {} calls): every \
         name of the mapping exists",
        catalogue.skills.len(),
        catalogue
            .languages
            .as_ref()
            .map_or_else(|| "unlisted".to_string(), |l| l.len().to_string()),
        out.calls
    ))
    .await;
    out.catalogue = Some(Arc::new(catalogue));
    Ok(out)
}

/// Passes `chunks` on, failing every valid row that names a skill or language
/// the catalogue lacks (`unknown_skill`, `unknown_language`) before it can be
/// planned or sent.
pub(super) fn screen_rows(
    catalogue: Arc<Catalogue>,
    mut chunks: mpsc::Receiver<Vec<Prepared>>,
) -> mpsc::Receiver<Vec<Prepared>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        while let Some(mut chunk) = chunks.recv().await {
            for p in &mut chunk {
                if let Ok(du) = &p.result {
                    let errors = catalogue.check_user(du);
                    if !errors.is_empty() {
                        p.result = Err(errors);
                    }
                }
            }
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    rx
}
