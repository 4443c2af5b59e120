//! The pre-flight: before the first write of a run (new, dry, resumed or retried),
//! read the target's `/schemas`, `/resourcetypes` and `/serviceproviderconfig`
//! once (three row-less GETs through the run's own API façade, so they are paced
//! and audited like every call) and check that the target offers every SCIM path
//! the mapping writes (`mapping::preflight`). Any problem stops the run before
//! row 1, all of them listed. Nothing is cached across runs.
//!
//! Robustness: a target that does not serve `/schemas` (404, 405, 501, or a list
//! of no schema), or that cannot be asked, gets a warning and no check in `auto` mode; `require` makes
//! that an error. A document that is not RFC 7643 is an error in both modes.
//! `off` sends nothing. The verdict goes to the audit log (a note) and to
//! summary.json (`preflight`).

use serde::Serialize;

use super::error::EngineError;
use crate::apply::api::{Api, ApiError};
use crate::apply::sink::RunSink;
use crate::mapping::Mapping;
use crate::mapping::preflight::{check, touching};
use crate::scim::schema::{Discovery, parse_patch_supported, parse_resource_types, parse_schemas};

/// `--preflight auto|require|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreflightMode {
    /// Check when the target describes itself; warn and go on when it does not.
    #[default]
    Auto,
    /// Check, and stop (exit 2) when the target does not describe itself.
    Require,
    /// Send no discovery call, check nothing.
    Off,
}

impl PreflightMode {
    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PreflightMode::Auto => "auto",
            PreflightMode::Require => "require",
            PreflightMode::Off => "off",
        }
    }
}

/// Where the discovery documents hang under the SCIM base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryPaths {
    /// The schemas' list.
    pub schemas: &'static str,
    /// The resource types' list.
    pub resource_types: &'static str,
    /// The service provider's configuration.
    pub service_provider_config: &'static str,
}

impl DiscoveryPaths {
    /// Genesys's spelling (lower case, as its spec writes the segments).
    pub const GENESYS: DiscoveryPaths = DiscoveryPaths {
        schemas: "/schemas",
        resource_types: "/resourcetypes",
        service_provider_config: "/serviceproviderconfig",
    };
    /// RFC 7644 §4's spelling, for servers that match segments exactly.
    pub const RFC: DiscoveryPaths = DiscoveryPaths {
        schemas: "/Schemas",
        resource_types: "/ResourceTypes",
        service_provider_config: "/ServiceProviderConfig",
    };

    /// The spelling a target of `profile` answers to.
    pub fn for_profile(profile: crate::scim::target::Profile) -> DiscoveryPaths {
        match profile {
            crate::scim::target::Profile::Genesys => DiscoveryPaths::GENESYS,
            crate::scim::target::Profile::Generic => DiscoveryPaths::RFC,
        }
    }
}

/// A saved baseline of the target's schemas (`--schema-baseline`), read before
/// the run starts.
#[derive(Debug)]
pub(super) struct Baseline {
    /// The directory it was read from.
    pub dir: std::path::PathBuf,
    /// Its documents.
    pub discovery: Discovery,
}

/// What the comparison with `--schema-baseline` found (summary.json
/// `preflight.schema_baseline`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineReport {
    /// The baseline directory.
    pub dir: String,
    /// Changes since the baseline.
    pub changes: usize,
    /// Breaking ones.
    pub breaking: usize,
    /// Breaking ones the mapping runs into (any stops the run).
    pub touching: usize,
}

/// The pre-flight's verdict, as summary.json records it under `preflight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightReport {
    /// `auto`, `require` or `off`.
    pub mode: &'static str,
    /// `passed`, `skipped` (the target does not describe itself) or `off`.
    pub status: &'static str,
    /// Discovery calls sent.
    pub calls: u64,
    /// Remarks that did not stop the run (why it was skipped, immutable
    /// attributes, values outside canonical lists).
    pub warnings: Vec<String>,
    /// The comparison with `--schema-baseline`, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_baseline: Option<BaselineReport>,
}

/// Runs the pre-flight for `mapping` with `mode`; `Err` stops the run before row 1.
pub(super) async fn preflight(
    api: &Api,
    sink: &RunSink,
    mode: PreflightMode,
    paths: DiscoveryPaths,
    mapping: &Mapping,
    baseline: Option<&Baseline>,
    target: &crate::scim::target::Target,
) -> Result<PreflightReport, EngineError> {
    let mut report = PreflightReport {
        mode: mode.as_str(),
        status: "off",
        calls: 0,
        warnings: Vec::new(),
        schema_baseline: None,
    };
    if mode == PreflightMode::Off && baseline.is_some() {
        return Err(EngineError::BaselineWithoutPreflight);
    }
    if mode == PreflightMode::Off {
        sink.note("preflight: off (--preflight off): the mapping was not checked against the target's schemas").await;
        return Ok(report);
    }
    let result = discover(api, paths).await.map(|got| {
        report.calls = got.calls;
        report.warnings.extend(got.warnings);
        got.discovery
    });
    let discovery = match result {
        Ok(Some(d)) => d,
        Ok(None) | Err(_) => {
            if let Err(DiscoveryError::Failed(e)) = &result {
                report.calls = 1;
                if let Some(refused) = super::contact::refused(e, target) {
                    sink.note(&format!("preflight: failed: {refused}")).await;
                    return Err(refused);
                }
            }
            let why = match result {
                Err(DiscoveryError::Failed(e)) => {
                    format!("{} could not be read ({e})", paths.schemas)
                }
                Err(DiscoveryError::Malformed(e)) => {
                    sink.note(&format!("preflight: failed: {e}")).await;
                    return Err(EngineError::PreflightMalformed { source: e });
                }
                _ => format!(
                    "the target does not serve {} (or lists no schema)",
                    paths.schemas
                ),
            };
            if mode == PreflightMode::Require {
                sink.note(&format!("preflight: failed: {why}")).await;
                return Err(EngineError::PreflightUnavailable { why });
            }
            if baseline.is_some() {
                sink.note(&format!("preflight: failed: {why}")).await;
                return Err(EngineError::BaselineUncompared { why });
            }
            let warning = format!(
                "pre-flight skipped: {why}, so the mapping was not checked against the target's \
                 schemas (--preflight require makes this an error)"
            );
            tracing::warn!("{warning}");
            sink.note(&format!("preflight: skipped: {why}")).await;
            report.status = "skipped";
            report.warnings.push(warning);
            return Ok(report);
        }
    };
    if let Some(b) = baseline {
        compare(sink, &mut report, b, &discovery, mapping).await?;
    }
    let fit = check(mapping, &discovery);
    for w in &fit.warnings {
        tracing::warn!("pre-flight: {w}");
    }
    report.warnings.extend(fit.warnings);
    if !fit.problems.is_empty() {
        let listed: Vec<String> = fit.problems.iter().map(ToString::to_string).collect();
        sink.note(&format!("preflight: failed: {}", listed.join(" | ")))
            .await;
        return Err(EngineError::Preflight { problems: listed });
    }
    report.status = "passed";
    sink.note(&format!(
        "preflight: passed ({} discovery calls; {} warning(s))",
        report.calls,
        report.warnings.len()
    ))
    .await;
    Ok(report)
}

/// Compares the target's documents with the baseline: breaking drift the mapping
/// runs into stops the run; other breaking drift is a warning.
async fn compare(
    sink: &RunSink,
    report: &mut PreflightReport,
    baseline: &Baseline,
    now: &Discovery,
    mapping: &Mapping,
) -> Result<(), EngineError> {
    let drift = crate::scim::schema::drift::diff(&baseline.discovery, now);
    let touches = touching(mapping, &drift);
    let dir = baseline.dir.display().to_string();
    let breaking = drift.breaking().count();
    report.schema_baseline = Some(BaselineReport {
        dir: dir.clone(),
        changes: drift.changes.len(),
        breaking,
        touching: touches.len(),
    });
    if !touches.is_empty() {
        let changes: Vec<String> = touches.iter().map(ToString::to_string).collect();
        sink.note(&format!(
            "preflight: schema drift since {dir}: {}",
            changes.join(" | ")
        ))
        .await;
        return Err(EngineError::SchemaDrift {
            baseline: baseline.dir.clone(),
            changes,
        });
    }
    if breaking > 0 {
        report.warnings.push(format!(
            "the target's schemas changed since the baseline {dir}: {breaking} breaking \
             change(s), none on a path the mapping writes (`scimport schema diff --baseline {}` \
             lists them)",
            crate::model::shell::shell_quote(&dir)
        ));
    }
    sink.note(&format!(
        "preflight: schema baseline {dir}: {} change(s), {breaking} breaking, none the mapping runs into",
        drift.changes.len()
    ))
    .await;
    Ok(())
}

/// Why the discovery documents could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// `/schemas` could not be read (after the façade's retries).
    #[error(transparent)]
    Failed(ApiError),
    /// A document is not RFC 7643.
    #[error(transparent)]
    Malformed(crate::scim::schema::SchemaError),
}

/// What [`discover`] read.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The documents; `None` when the target does not serve `/schemas`.
    pub discovery: Option<Discovery>,
    /// GETs sent.
    pub calls: u64,
    /// Documents that could not be read but were not needed.
    pub warnings: Vec<String>,
}

/// Reads the three discovery documents through `api` (also what `scimport init`
/// asks before proposing paths).
pub async fn discover(api: &Api, paths: DiscoveryPaths) -> Result<Discovered, DiscoveryError> {
    let mut out = Discovered {
        calls: 1,
        ..Discovered::default()
    };
    let Some(doc) = api
        .discover(paths.schemas)
        .await
        .map_err(DiscoveryError::Failed)?
    else {
        return Ok(out);
    };
    let schemas = parse_schemas(&doc).map_err(DiscoveryError::Malformed)?;
    if schemas.is_empty() {
        // A list of no schema describes nothing: as if /schemas were not served.
        return Ok(out);
    }
    // The other two are optional: a server without them is judged by /schemas.
    out.calls += 1;
    let resource_types = match api.discover(paths.resource_types).await {
        Ok(Some(doc)) => Some(parse_resource_types(&doc).map_err(DiscoveryError::Malformed)?),
        Ok(None) => None,
        Err(e) => {
            out.warnings.push(format!(
                "{} could not be read ({e}); extensions were judged by {}",
                paths.resource_types, paths.schemas
            ));
            None
        }
    };
    out.calls += 1;
    let patch_supported = match api.discover(paths.service_provider_config).await {
        Ok(Some(doc)) => parse_patch_supported(&doc).map_err(DiscoveryError::Malformed)?,
        Ok(None) | Err(_) => None,
    };
    out.discovery = Some(Discovery {
        schemas,
        resource_types,
        patch_supported,
    });
    Ok(out)
}
