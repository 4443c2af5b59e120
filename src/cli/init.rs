//! `scimport init [--from INPUT]`: writes a commented starter mapping file. With
//! `--from`, the input's header is read and each column that looks like a known HR
//! field (`email`, `first_name`, `hire_date`, ...) is mapped to its SCIM attribute;
//! the rest are listed in a comment. Without it, a complete example is written.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{ExitStatus, Printer};
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
    (
        "name.givenName",
        &["firstname", "givenname", "first", "forename"],
        "path = \"name.givenName\"",
    ),
    (
        "name.familyName",
        &["lastname", "familyname", "surname", "last"],
        "path = \"name.familyName\"",
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

/// A commented starter mapping for an input with these columns.
pub fn starter_mapping(columns: &[String], source: &str) -> String {
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
        used[i] = true;
        mapped.push(attr);
        if *attr == "name.givenName" {
            first_last.0 = Some(col);
        }
        if *attr == "name.familyName" {
            first_last.1 = Some(col);
        }
        out.push_str(&format!(
            "\n[[field]]\n{body}\ncolumn = {}\n",
            toml_str(col)
        ));
        if *attr == "userName" {
            out.push_str(&format!(
                "\n[[field]]\npath = 'emails[type eq \"work\"].value'\ncolumn = {}\ncase = \"lower\"\n",
                toml_str(col)
            ));
        }
        if *attr == "externalId" {
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
    let text = starter_mapping(&columns, &source);
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

    #[test]
    fn example_mapping_is_valid_and_complete() {
        let cols: Vec<String> = crate::mapping::EXAMPLE_HEADER
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = starter_mapping(&cols, "test");
        let m = Mapping::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(m.fields().len(), 19, "{text}");
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
        let text = starter_mapping(&cols, "t");
        assert!(text.contains("column = \"Mail\""));
        assert!(text.contains("column = \"Full Name\""));
        assert!(text.contains("Columns not mapped: Cost Center"));
        assert!(text.contains("keys = [\"userName\"]"));
        Mapping::from_toml_str(&text).unwrap();
    }
}
