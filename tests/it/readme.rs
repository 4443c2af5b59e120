//! Issue 19 item 15: the commands the README and docs/ show cannot rot. Every
//! `scimport …` command line in a fenced block parses with today's flags (the
//! real command-line definition, `scimport::cli::Cli`); the two commands the
//! README opens with run in `quickstart.rs` and CI.

use clap::Parser;

/// Splits a command line into words the way a POSIX shell would for these lines
/// (single and double quotes, backslash escapes; no expansion).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                has = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                has = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                has = true;
                cur.push(c);
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

/// The `scimport` command lines of fenced blocks in `text`, continuation lines
/// joined, comments and shell prefixes (`$ `, `VAR=… `, `… | `) removed, with
/// their line numbers.
fn commands(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        if raw.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            continue;
        }
        let line = raw.trim();
        if let Some((n, mut acc)) = pending.take() {
            let line = line.split(" # ").next().unwrap_or(line).trim();
            acc.push(' ');
            acc.push_str(line.trim_end_matches('\\'));
            if line.ends_with('\\') {
                pending = Some((n, acc));
            } else {
                out.push((n, acc));
            }
            continue;
        }
        let Some(start) = command_start(line) else {
            continue;
        };
        let cmd = &line[start..];
        let cmd = cmd.split(" # ").next().unwrap_or(cmd).trim();
        if cmd.ends_with('\\') {
            pending = Some((i + 1, cmd.trim_end_matches('\\').trim_end().to_string()));
        } else {
            out.push((i + 1, cmd.to_string()));
        }
    }
    out
}

/// Where the `scimport` command starts on a line, if the line runs one.
fn command_start(line: &str) -> Option<usize> {
    let line_start = line.strip_prefix("$ ").map_or(0, |_| 2);
    let rest = &line[line_start..];
    // `$B` is the Quick start's name for the built binary.
    if rest.starts_with("scimport ") || rest.starts_with("$B ") {
        return Some(line_start);
    }
    // `VAR=value scimport …` or `… | scimport …`.
    for sep in [" scimport ", "| scimport "] {
        if let Some(i) = rest.find(sep) {
            let before = &rest[..i];
            let env_only = !before.is_empty()
                && before
                    .split_whitespace()
                    .all(|w| w.contains('=') && !w.starts_with('-'));
            if env_only || sep.starts_with('|') {
                return Some(line_start + i + sep.len() - "scimport ".len());
            }
        }
    }
    None
}

/// Placeholders made concrete: `<run-id>` and the like become `latest`, `...`
/// becomes a value.
fn concrete(word: String) -> String {
    if word.starts_with('<') && word.ends_with('>') {
        "latest".into()
    } else if word == "..." {
        "http://127.0.0.1:1".into()
    } else {
        word
    }
}

#[test]
fn issue_19_every_documented_command_parses_with_todays_flags() {
    let mut files = vec![std::path::PathBuf::from("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir("docs")
        .expect("docs/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut checked = 0;
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (line, cmd) in commands(&text) {
            let argv: Vec<String> = words(&cmd.replacen("$B ", "scimport ", 1))
                .into_iter()
                .map(concrete)
                .collect();
            checked += 1;
            if let Err(e) = scimport::cli::Cli::try_parse_from(&argv) {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                broken.push(format!("{}:{line}: {cmd}\n    {first}", file.display()));
            }
        }
    }
    assert!(
        checked >= 30,
        "only {checked} commands found: the extraction broke"
    );
    assert!(
        broken.is_empty(),
        "commands that no longer parse:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_extraction_finds_continued_prefixed_and_piped_commands() {
    let text = "```\nscimport sync --source ldaps://x \\\n  --ldap-ca ca.pem   # note\nSECRET=whsec_x scimport webhook verify --secret-env SECRET\ncapture | scimport webhook verify --secret-env S\n(see `scimport x`)\n```\nscimport outside a block\n";
    let got: Vec<String> = commands(text).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        got,
        [
            "scimport sync --source ldaps://x --ldap-ca ca.pem",
            "scimport webhook verify --secret-env SECRET",
            "scimport webhook verify --secret-env S",
        ]
    );
    assert_eq!(
        words("a 'b c' \"d \\\"e\\\"\" f\\ g"),
        ["a", "b c", "d \"e\"", "f g"]
    );
}
