//! Resolves `scimport import`'s flags once into an [`EngineConfig`]: the target,
//! the pace, the input and which run this is. Checking the run itself (resume,
//! retry) is the engine's.

use anyhow::bail;

use super::Args;
use crate::engine::{EngineConfig, InputChoice, RunKind, TargetChoice};
use crate::scim::target::Target;
use crate::source::Format;

/// The engine's configuration for these flags; `target` is `None` for the embedded
/// emulator.
pub(super) fn config(args: &Args, target: Option<Target>) -> anyhow::Result<EngineConfig> {
    let delimiter = args.delimiter;
    let generic = target
        .as_ref()
        .is_some_and(|t| t.profile == crate::scim::target::Profile::Generic);
    if args.create_groups && !generic {
        bail!(
            "--create-groups needs --profile generic: Genesys SCIM cannot create groups (create them in Genesys first)"
        );
    }
    let kind = match (&args.resume, &args.retry_failed) {
        (Some(id), _) => RunKind::Resume(id.clone()),
        (None, Some(id)) => RunKind::RetryFailed(id.clone()),
        (None, None) => RunKind::New,
    };
    let api = args.calls.api_options(target.is_some())?;
    let concurrency = api.concurrency;
    Ok(EngineConfig {
        target: target.map_or(TargetChoice::Embedded, TargetChoice::Tenant),
        api,
        runs_dir: args.runs_dir.clone(),
        kind,
        input: InputChoice::File {
            path: args.input.clone(),
            format: args.format.map(Format::from),
            delimiter,
        },
        max_record_bytes: args.max_record_bytes,
        mapping: args.mapping.clone(),
        dry_run: args.dry_run,
        lookup: args.lookup.into(),
        concurrency,
        max_patch_ops: args.calls.max_patch_ops.max(1),
        create_groups: args.create_groups,
        args: std::env::args().collect(),
        force_resume: args.force_resume,
        preflight: args.preflight.into(),
        schema_baseline: args.schema_baseline.clone(),
        allow_target_change: args.allow_target_change,
        // A generic server may match path segments exactly: RFC 7644's spelling.
        discovery: crate::engine::DiscoveryPaths::for_profile(if generic {
            crate::scim::target::Profile::Generic
        } else {
            crate::scim::target::Profile::Genesys
        }),
    })
}
