//! `scimport init [--from INPUT]`: writes a commented starter mapping file. With
//! `--from`, the input's header is read and each column that looks like a known HR
//! field (`email`, `first_name`, `hire_date`, ...) is mapped to its SCIM attribute;
//! the rest are listed in a comment. Without it, a complete example is written.
//!
//! It never proposes a path the target lacks: with a target configured
//! (`--region`/`--api-url`, a `--config` file or `.env`), it reads the target's
//! `/schemas` and `/resourcetypes` first (the pre-flight's reading) and leaves out
//! every path they do not offer, saying which; offline, it proposes only paths
//! Genesys offers (no core `name`: first and last names feed `displayName`) and
//! says the target was not read.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::settings::{self, TargetArgs};
use super::{ExitStatus, Printer};
use crate::mapping::Target;
use crate::mapping::preflight::offers;
use crate::scim::schema::Discovery;
use crate::source::input::Input;
use crate::source::{BlockReader, Format};

/// Arguments of `scimport init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Guess the mapping from this input's header (CSV or NDJSON; `-` is stdin).
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Where to write the mapping (`-` for stdout).
    #[arg(long, short, default_value = "mapping.toml")]
    pub output: PathBuf,
    /// The input format (default: detected).
    #[arg(long, value_enum)]
    pub format: Option<super::args::FormatArg>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// The target whose schemas decide which paths are proposed (optional: without
    /// one, init works offline and proposes only paths Genesys offers).
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Column names (normalised: lower case, letters and digits only) that suggest a
/// SCIM attribute, with the attribute's `[[field]]` body.
const GUESSES: &[(&str, &[&str], &str)] = &[
    (
        "externalId",
        &[
            "employeeid",
            "empid",
            "employeenumber",
            "workerid",
            "staffid",
            "personnelnumber",
            "id",
        ],
        "# The HR system's stable id: the first matching key.\npath = \"externalId\"",
    ),
    (
        "userName",
        &[
            "email",
            "mail",
            "emailaddress",
            "workemail",
            "username",
            "upn",
            "login",
        ],
        "# The Genesys login: an email, always trimmed and lower-cased.\npath = \"userName\"",
    ),
    // First and last names only feed the displayName template: Genesys has no
    // core `name` (an empty body proposes no field of their own).
    (
        "name.givenName",
        &["firstname", "givenname", "first", "forename"],
        "",
    ),
    (
        "name.familyName",
        &["lastname", "familyname", "surname", "last"],
        "",
    ),
    (
        "displayName",
        &["displayname", "fullname", "name"],
        "path = \"displayName\"",
    ),
    (
        "title",
        &["title", "jobtitle", "position"],
        "path = \"title\"\nblank = \"clear\"           # a blank cell removes the title",
    ),
    (
        "phoneNumbers.work",
        &[
            "workphone",
            "phone",
            "officephone",
            "telephone",
            "businessphone",
        ],
        "path = 'phoneNumbers[type eq \"work\"].value'   # normalised to E.164 with default_country\nblank = \"clear\"",
    ),
    (
        "phoneNumbers.mobile",
        &["mobilephone", "mobile", "cell", "cellphone"],
        "path = 'phoneNumbers[type eq \"mobile\"].value'\nblank = \"clear\"",
    ),
    (
        "active",
        &["status", "employmentstatus", "active"],
        "path = \"active\"\ntable = { active = \"true\", leave = \"true\", terminated = \"false\" }",
    ),
    (
        "department",
        &["department", "dept"],
        "path = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\"\nblank = \"clear\"",
    ),
    (
        "division",
        &["division"],
        "path = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division\"\ndefault = \"Home\"",
    ),
    (
        "manager",
        &["managerid", "manager", "supervisorid", "manageremployeeid"],
        "# The manager's externalId (employee id); the importer resolves it to a user id.\npath = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager\"\nblank = \"clear\"",
    ),
    (
        "dateHire",
        &["hiredate", "startdate", "datehired", "datehire", "hired"],
        "path = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dateHire\"   # to YYYY-MM-DD",
    ),
    (
        "routingSkills",
        &["skills", "routingskills"],
        "path = \"urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills\"   # \"Billing:4;Sales:3\"\nblank = \"clear\"",
    ),
    (
        "routingLanguages",
        &["languages", "routinglanguages"],
        "path = \"urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingLanguages\"\nblank = \"clear\"",
    ),
    (
        "roles",
        &["roles", "role"],
        "path = \"roles\"   # \"employee;Agent\"",
    ),
    (
        "groups",
        &["groups", "group", "teams"],
        "path = \"groups\"   # group display names; memberships are managed",
    ),
];

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The path a guess's `[[field]]` body writes.
fn body_path(body: &str) -> Option<&str> {
    let rest = body.split("path = ").nth(1)?;
    let quote = rest.chars().next()?;
    rest[1..].split(quote).next()
}

/// Whether the target (when its schemas were read) offers what `body` writes.
fn offered(body: &str, schemas: Option<&Discovery>) -> bool {
    let Some(d) = schemas else {
        return true;
    };
    body_path(body)
        .and_then(|p| Target::parse(p).ok())
        .is_none_or(|t| offers(&t, d))
}

/// A commented starter mapping for an input with these columns. `schemas` is
/// what the target said about itself (`None`: offline); `origin` says which.
pub fn starter_mapping(
    columns: &[String],
    source: &str,
    schemas: Option<&Discovery>,
    origin: &str,
) -> String {
    let mut head = String::new();
    head.push_str(&format!(
        "# scimport mapping file, generated by `scimport init` from {source}.\n\
         # Each [[field]] sets one SCIM attribute from a `column`, a `template` such as\n\
         # \"{{first_name}} {{last_name}}\", or a constant `value`. Options per field: trim,\n\
         # case, replace, table, unmapped, split, blank (ignore | clear | default),\n\
         # default, max_length. See docs/mapping.md.\n\
         version = 1\n\n\
         # Country for phone numbers written without +<country code>.\n\
         default_country = \"US\"\n\n\
         # Date formats tried in order (chrono strftime).\n\
         date_formats = [\"%Y-%m-%d\", \"%m/%d/%Y\"]\n"
    ));
    head.push_str(&format!("\n# {origin}\n"));
    let mut lacking: Vec<&str> = Vec::new();
    let mut out = String::new();
    let mut used = vec![false; columns.len()];
    let mut mapped: Vec<&str> = Vec::new();
    let mut first_last: (Option<&str>, Option<&str>) = (None, None);
    for (attr, names, body) in GUESSES {
        let found = columns
            .iter()
            .enumerate()
            .find(|(i, c)| !used[*i] && names.contains(&normalise(c).as_str()));
        let Some((i, col)) = found else {
            if *attr == "displayName"
                && let (Some(f), Some(l)) = first_last
            {
                out.push_str(&format!(
                    "\n[[field]]\npath = \"displayName\"\ntemplate = \"{{{f}}} {{{l}}}\"\n"
                ));
                mapped.push(attr);
            }
            continue;
        };
        if *attr == "name.givenName" {
            used[i] = true;
            first_last.0 = Some(col);
            continue;
        }
        if *attr == "name.familyName" {
            used[i] = true;
            first_last.1 = Some(col);
            continue;
        }
        if !offered(body, schemas) {
            lacking.push(attr);
            continue;
        }
        used[i] = true;
        mapped.push(attr);
        out.push_str(&format!(
            "\n[[field]]\n{body}\ncolumn = {}\n",
            toml_str(col)
        ));
        if *attr == "userName" && offered("path = 'emails.work'", schemas) {
            out.push_str(&format!(
                "\n[[field]]\npath = 'emails[type eq \"work\"].value'\ncolumn = {}\ncase = \"lower\"\n",
                toml_str(col)
            ));
        }
        if *attr == "externalId" && offered("path = 'enterprise.employeeNumber'", schemas) {
            out.push_str(&format!(
                "\n[[field]]\npath = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber\"\ncolumn = {}\n",
                toml_str(col)
            ));
        }
    }
    for required in ["userName", "displayName"] {
        if !mapped.contains(&required) {
            out.push_str(&format!(
                "\n# TODO: `{required}` is required; no column looked like it.\n# [[field]]\n# path = \"{required}\"\n# column = \"...\"\n"
            ));
        }
    }
    if !lacking.is_empty() {
        out.push_str(&format!(
            "\n# Not proposed, the target does not offer them: {}\n",
            lacking.join(", ")
        ));
    }
    let rest: Vec<&str> = columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(_, c)| c.as_str())
        .collect();
    if !rest.is_empty() {
        out.push_str(&format!("\n# Columns not mapped: {}\n", rest.join(", ")));
    }
    let keys = if mapped.contains(&"externalId") {
        "# Match rows to existing users by externalId first, then userName.\nkeys = [\"externalId\", \"userName\"]\n"
    } else {
        "# Match rows to existing users by userName (map an HR id to externalId and add it\n# first: ids survive email changes).\nkeys = [\"userName\"]\n"
    };
    format!("{head}\n{keys}{out}")
}

/// Reads the target's discovery documents, as the pre-flight does (`None` when it
/// does not serve `/schemas`).
fn read_schemas(target: &crate::scim::Target) -> anyhow::Result<Option<Discovery>> {
    let options = crate::apply::api::ApiOptions::default();
    super::args::with_api(target, options, async |api| {
        let paths = crate::engine::DiscoveryPaths::for_profile(target.profile);
        let got = crate::engine::discover(api, paths)
            .await
            .with_context(|| format!("cannot read the schemas of {}", target.api_url))?;
        Ok(got.discovery)
    })
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Runs `scimport init`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (columns, source) = match &args.from {
        Some(p) => {
            let mut input = Input::open(p, false)?;
            let rdr = input.reader()?;
            let br = BlockReader::try_new(
                rdr,
                input.label(),
                args.format.map(Format::from),
                input.format_hint(),
                None,
                64 * 1024,
                crate::source::DEFAULT_MAX_RECORD_BYTES,
            )?;
            (br.header().names().to_vec(), p.display().to_string())
        }
        None => (
            crate::mapping::EXAMPLE_HEADER
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "the example HR header".to_string(),
        ),
    };
    let target = settings::resolve(&args.target)?;
    let (schemas, origin) = match &target {
        Some(t) => {
            let read = read_schemas(t)?;
            let origin = match &read {
                Some(_) => format!(
                    "Paths checked against the schemas of {}: only what it offers is proposed.",
                    t.api_url
                ),
                None => format!(
                    "{} does not serve /schemas: paths are the ones Genesys offers, unchecked.",
                    t.api_url
                ),
            };
            (read, origin)
        }
        None => (
            None,
            "Written offline (no --region or --api-url): paths are the ones Genesys offers; \
             give a target to check them against its schemas."
                .to_string(),
        ),
    };
    if !origin.starts_with("Paths checked") {
        printer.info(&origin);
    }
    let text = starter_mapping(&columns, &source, schemas.as_ref(), &origin);
    if args.output.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        return Ok(ExitStatus::Success);
    }
    if args.output.exists() && !args.force {
        anyhow::bail!(
            "{} exists; use --force to overwrite or --output to pick another file",
            args.output.display()
        );
    }
    std::fs::write(&args.output, &text)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    printer.info(&format!(
        "wrote {}; check it with `scimport validate INPUT --mapping {}`",
        args.output.display(),
        args.output.display()
    ));
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Mapping;
    use crate::mapping::preflight::check;

    #[test]
    fn example_mapping_is_valid_and_complete() {
        let cols: Vec<String> = crate::mapping::EXAMPLE_HEADER
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = starter_mapping(&cols, "test", None, "offline");
        let m = Mapping::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(m.fields().len(), 17, "{text}");
        // Genesys has no core name: first and last names feed displayName only.
        assert!(!text.contains("name.givenName") && !text.contains("name.familyName"));
        assert!(m.manages_groups());
        assert!(text.contains("template = \"{first_name} {last_name}\""));
        assert!(text.contains("# Columns not mapped: location"));
    }

    #[test]
    fn odd_headers_get_todos() {
        let cols: Vec<String> = ["Mail", "Full Name", "Cost Center"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = starter_mapping(&cols, "t", None, "offline");
        assert!(text.contains("column = \"Mail\""));
        assert!(text.contains("column = \"Full Name\""));
        assert!(text.contains("Columns not mapped: Cost Center"));
        assert!(text.contains("keys = [\"userName\"]"));
        Mapping::from_toml_str(&text).unwrap();
    }

    #[test]
    fn issue_15_a_path_the_target_lacks_is_not_proposed() {
        use crate::scim::schema::{parse_resource_types, parse_schemas};
        let mut all = crate::emulator::schemas::all_schemas("http://x");
        // A target whose User has no title and no enterprise extension.
        all[0]["attributes"]
            .as_array_mut()
            .expect("attributes")
            .retain(|a| a["name"] != "title");
        let rts = crate::emulator::schemas::resource_types("http://x");
        let mut rts = serde_json::json!({ "Resources": rts });
        rts["Resources"][0]["schemaExtensions"]
            .as_array_mut()
            .expect("extensions")
            .retain(|e| e["schema"] != crate::scim::model::SCHEMA_ENTERPRISE);
        let d = Discovery {
            schemas: parse_schemas(&serde_json::json!({ "Resources": all })).expect("schemas"),
            resource_types: Some(parse_resource_types(&rts).expect("rts")),
            patch_supported: None,
        };
        let cols: Vec<String> = crate::mapping::EXAMPLE_HEADER
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = starter_mapping(&cols, "t", Some(&d), "checked");
        let m = Mapping::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let paths: Vec<&str> = m.fields().iter().map(|f| f.path.as_str()).collect();
        assert!(!paths.contains(&"title"), "{text}");
        assert!(!paths.iter().any(|p| p.contains("enterprise")), "{text}");
        assert!(
            text.contains("# Not proposed, the target does not offer them: title, department"),
            "{text}"
        );
        assert_eq!(check(&m, &d).problems, [], "{text}");
    }
}
