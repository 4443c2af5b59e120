//! `scimport schema extend --file EXT.toml [--check]`: validate an extension schema
//! (RFC 7643 §7), check it against the target's discovery documents, and deploy it
//! with `POST /Schemas` where the target accepts schema creation. Exit 0 deployed
//! (or, with `--check`, deployable), 2 on any problem or a refusing target.
//!
//! Thin: validation and checks are `scim::schema::extend`'s, the call is the API
//! façade's. Genesys Cloud's schemas are read-only: against a Genesys host the
//! command refuses without a call and names the built-in attributes to use instead.

use std::path::PathBuf;

use anyhow::Context;

use super::{ExitStatus, Printer, TargetArgs, fetch, parse};
use crate::apply::api::ApiOptions;
use crate::engine::DiscoveryPaths;
use crate::scim::schema::extend::{ExtensionFile, GENESYS_ALTERNATIVES, check_against};
use crate::scim::target::Profile;

/// Arguments of `scimport schema extend`.
#[derive(Debug, clap::Args)]
pub struct ExtendArgs {
    /// The extension file (TOML: `id` = a URN, `name`, `description`, and
    /// `[[attribute]]` tables; see docs/schema.md and fixtures/extension.toml).
    #[arg(long, value_name = "EXT.toml")]
    pub file: PathBuf,
    /// Validate the file and check it against the target, and write nothing.
    #[arg(long)]
    pub check: bool,
    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// What to tell someone whose target will not create schemas.
fn refusal(why: &str) -> Vec<String> {
    let mut lines = vec![
        format!("{why}: Genesys Cloud's SCIM schemas are read-only (GET /schemas serves seven fixed schemas)."),
        "The tutorials' `POST /Schemas` and their `urn:ietf:params:scim:schemas:extension:genesyscloud:2.0:User:customAttributes` extension do not exist.".into(),
        "Nothing was deployed. Built-in attributes that can hold such data (map them in the mapping file):".into(),
    ];
    let width = GENESYS_ALTERNATIVES
        .iter()
        .map(|a| a.0.len())
        .max()
        .unwrap_or(0);
    for (path, what) in GENESYS_ALTERNATIVES {
        lines.push(format!("  {path:width$}  {what}"));
    }
    lines
}

/// Runs `scimport schema extend`.
pub fn run(args: ExtendArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let ext =
        ExtensionFile::from_toml(&text).with_context(|| format!("in {}", args.file.display()))?;
    let mut problems = ext.validate();
    let target = super::settings::resolve(&args.target)?.context(
        "no target: give --api-url or --region (or a --config file / .env that names one)",
    )?;
    let url = target.api_url.clone();
    if target.profile == Profile::Genesys && !target.is_emulator {
        for p in &problems {
            printer.error(&format!("problem: {p}"));
        }
        for line in refusal(&format!("{url} is Genesys Cloud")) {
            printer.error(&line);
        }
        return Ok(ExitStatus::Error);
    }
    let discovery = parse(&fetch(&args.target)?)?;
    problems.extend(check_against(&ext, &discovery));
    if !problems.is_empty() {
        for p in &problems {
            printer.error(&format!("problem: {p}"));
        }
        printer.error(&format!(
            "{} problem(s) in {}; nothing deployed",
            problems.len(),
            args.file.display()
        ));
        return Ok(ExitStatus::Error);
    }
    if args.check {
        printer.out(&format!(
            "ok: {} ({} attribute(s)) is valid and fits {url}; whether the target accepts \
             schema creation is known only when deploying",
            ext.id,
            ext.attributes.len()
        ));
        return Ok(ExitStatus::Success);
    }
    let created = super::super::args::with_api(&target, ApiOptions::default(), async |api| {
        let path = DiscoveryPaths::for_profile(target.profile).schemas;
        api.create_schema(path, &ext.to_json())
            .await
            .with_context(|| format!("cannot deploy {} on {url}", ext.id))
    })?;
    match created {
        None => {
            for line in refusal(&format!(
                "{url} does not accept schema creation (POST /Schemas)"
            )) {
                printer.error(&line);
            }
            Ok(ExitStatus::Error)
        }
        Some(_) => {
            // RFC 7644 has no write on /ResourceTypes: the server must list the
            // extension on the User itself, or mappings to it will not pass.
            let after = parse(&fetch(&args.target)?)?;
            if !after.offers("User", &ext.id) {
                printer.error(&format!(
                    "warning: {url} created {} but its User resource type does not list it; \
                     the pre-flight will refuse mappings to its attributes",
                    ext.id
                ));
            }
            printer.out(&format!(
                "deployed {} on {url}; map its attributes as `{}:<attribute>` (with `type` for \
                 non-string ones)",
                ext.id, ext.id
            ));
            Ok(ExitStatus::Success)
        }
    }
}
