//! `scimport schema pull|diff|extend`: save the target's discovery documents
//! (`/Schemas`, `/ResourceTypes`, `/ServiceProviderConfig`) as a baseline, and
//! report how the target (or another saved copy) has drifted from it. Exit 1 on
//! breaking drift, 0 otherwise, 2 when the documents cannot be read. `extend`
//! (in `extend.rs`) deploys a custom extension schema where the target allows it.
//!
//! Thin: reading goes through the pre-flight's API façade, comparing is
//! `scim::schema::drift`.

mod extend;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use super::args::with_api;
use super::settings::{self, TargetArgs};
use super::{ExitStatus, Printer};
use crate::apply::api::{Api, ApiOptions};
use crate::engine::DiscoveryPaths;
use crate::scim::schema::drift::{self, Drift};
use crate::scim::schema::{Discovery, baseline};

/// The files a baseline directory holds.
const SCHEMAS: &str = baseline::SCHEMAS_FILE;
const RESOURCE_TYPES: &str = baseline::RESOURCE_TYPES_FILE;
const SPC: &str = baseline::SPC_FILE;

/// `scimport schema ...`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Save the target's /Schemas, /ResourceTypes and /ServiceProviderConfig as
    /// schemas.json, resource_types.json and service_provider_config.json.
    Pull(PullArgs),
    /// Compare a saved baseline with the live target (or another saved
    /// directory): attributes added or removed, type, multiValued, mutability,
    /// required and canonicalValues changes. Exit 1 on breaking drift (something
    /// removed, retyped, turned readOnly/immutable, or newly required), 0 otherwise.
    Diff(DiffArgs),
    /// Validate a custom extension schema (EXT.toml: a URN `id`, `name`,
    /// `[[attribute]]` tables) against RFC 7643 and the target (URN taken, names
    /// clashing with core or other extensions, types the target lacks, the cap of
    /// 10), then deploy it with POST /Schemas where the target accepts schema
    /// creation (`scimport emulator --schema-extensions`). Genesys Cloud's schemas
    /// are read-only: it refuses (exit 2) and lists built-in attributes to use.
    /// `--check` writes nothing. Exit 0 ok, 2 problems or refused.
    Extend(extend::ExtendArgs),
}

/// Arguments of `scimport schema pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The directory to write (created if missing; its three files are replaced).
    #[arg(long, default_value = "schema-baseline")]
    pub out: PathBuf,
    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `--output` of `scimport schema diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// One line per change, breaking ones marked.
    #[default]
    Text,
    /// `{"breaking": bool, "changes": [{path, kind, before, after, breaking}]}`.
    Json,
}

/// Arguments of `scimport schema diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The baseline directory `schema pull` wrote.
    #[arg(long)]
    pub baseline: PathBuf,
    /// Compare with this directory instead of the live target.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The target (when `--against` is not given).
    #[command(flatten)]
    pub target: TargetArgs,
}

/// The three documents as the target sent them (`None`: not served).
struct Raw {
    schemas: Value,
    resource_types: Option<Value>,
    spc: Option<Value>,
}

fn fetch(args: &TargetArgs) -> anyhow::Result<Raw> {
    let target = settings::resolve(args)?.context(
        "no target: give --api-url or --region (or a --config file / .env that names one)",
    )?;
    with_api(&target, ApiOptions::default(), async |api| {
        let paths = DiscoveryPaths::for_profile(target.profile);
        let url = target.api_url.to_string();
        let schemas = read(api, paths.schemas, &url)
            .await?
            .with_context(|| format!("{url} does not serve {}", paths.schemas))?;
        Ok(Raw {
            schemas,
            resource_types: read(api, paths.resource_types, &url).await?,
            spc: read(api, paths.service_provider_config, &url).await?,
        })
    })
}

async fn read(api: &Api, path: &str, url: &str) -> anyhow::Result<Option<Value>> {
    api.discover(path)
        .await
        .with_context(|| format!("cannot read {path} of {url}"))
}

fn write_json(dir: &Path, name: &str, doc: &Value) -> anyhow::Result<()> {
    let path = dir.join(name);
    let mut text = serde_json::to_string_pretty(doc).context("cannot encode JSON")?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn parse(raw: &Raw) -> anyhow::Result<Discovery> {
    Ok(baseline::parse_documents(
        &raw.schemas,
        raw.resource_types.as_ref(),
        raw.spc.as_ref(),
    )?)
}

fn load_dir(dir: &Path) -> anyhow::Result<Discovery> {
    Ok(baseline::load(dir)?)
}

fn pull(args: PullArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let raw = fetch(&args.target)?;
    // Refuse to save what a later diff could not read.
    parse(&raw)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    write_json(&args.out, SCHEMAS, &raw.schemas)?;
    let mut saved = vec![SCHEMAS];
    for (name, doc) in [(RESOURCE_TYPES, &raw.resource_types), (SPC, &raw.spc)] {
        if let Some(doc) = doc {
            write_json(&args.out, name, doc)?;
            saved.push(name);
        }
    }
    printer.out(&format!(
        "saved {} in {}",
        saved.join(", "),
        args.out.display()
    ));
    Ok(ExitStatus::Success)
}

fn print_text(drift: &Drift, printer: &Printer) {
    if drift.is_empty() {
        printer.out("no drift");
        return;
    }
    for c in &drift.changes {
        let mark = if c.breaking { "BREAKING" } else { "        " };
        let values = match (&c.before, &c.after) {
            (Some(b), Some(a)) => format!(": {b} -> {a}"),
            _ => String::new(),
        };
        printer.out(&format!("{mark} {} {}{values}", c.kind.as_str(), c.path));
    }
    let breaking = drift.breaking().count();
    printer.out(&format!(
        "{} change(s), {breaking} breaking",
        drift.changes.len()
    ));
}

fn diff(args: DiffArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let baseline = load_dir(&args.baseline)?;
    let current = match &args.against {
        Some(dir) => load_dir(dir)?,
        None => parse(&fetch(&args.target)?)?,
    };
    let drift = drift::diff(&baseline, &current);
    match args.output {
        Output::Text => print_text(&drift, printer),
        Output::Json => {
            let doc = serde_json::json!({
                "breaking": drift.is_breaking(),
                "changes": drift.changes,
            });
            printer.out(&serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(if drift.is_breaking() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Runs `scimport schema ...`.
pub fn run(cmd: Command, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cmd {
        Command::Pull(args) => pull(args, printer),
        Command::Diff(args) => diff(args, printer),
        Command::Extend(args) => extend::run(args, printer),
    }
}
