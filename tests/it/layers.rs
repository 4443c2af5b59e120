//! The layering rules of STYLE.md, checked over the source tree: nothing outside
//! `src/cli/` imports `crate::cli`, the top-level modules import each other without
//! a cycle, and neither do the files of one folder.
//!
//! Reads `src/` as text: every `crate::a::b` and `super::b` path (use trees
//! expanded one level) outside test code
//! (files named `tests.rs`, folders named `tests`, and whatever follows a file's
//! first `#[cfg(test)]`) is an edge. Crude next to a compiler, but it fails exactly
//! when someone adds an import that points back up the pipeline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module: its path from the crate root (`["apply", "run"]`).
type Module = Vec<String>;

struct Source {
    module: Module,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&root).expect("under src/");
            let mut module: Module = rel
                .with_extension("")
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|l| l == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                return None;
            }
            let mut text = std::fs::read_to_string(&path).expect("a readable source file");
            if let Some(i) = text.find("#[cfg(test)]") {
                text.truncate(i);
            }
            // Comments are not imports.
            let text = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            Some(Source { module, text })
        })
        .collect()
}

/// Every path after `prefix` (`crate::` or `super::`) as its segments, with use
/// trees expanded one level deep (`crate::a::{b::c, d}` gives `a::b::c` and `a::d`).
fn paths(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| ident(c) || c == ':') {
            continue;
        }
        let head: String = rest
            .chars()
            .take_while(|c| ident(*c) || *c == ':')
            .collect();
        let base: Vec<String> = head
            .split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        let after = &rest[head.len()..];
        match after.strip_prefix('{') {
            Some(group) if head.is_empty() || head.ends_with("::") => {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let mut path = base.clone();
                    path.extend(
                        item.trim()
                            .split("::")
                            .map(|p| p.trim().trim_matches(|c: char| !ident(c)).to_string())
                            .filter(|p| !p.is_empty()),
                    );
                    if !path.is_empty() {
                        out.push(path);
                    }
                }
            }
            _ if !base.is_empty() => out.push(base),
            _ => {}
        }
    }
    out
}

/// Nodes that lie on a cycle, one set per strongly connected component.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = graph
        .keys()
        .chain(graph.values().flat_map(|s| s.iter()))
        .collect();
    let reaches = |from: &String, to: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            for m in graph.get(n).into_iter().flatten() {
                if m == to {
                    return true;
                }
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
        false
    };
    let mut out: Vec<BTreeSet<String>> = Vec::new();
    for n in &nodes {
        if out.iter().any(|c| c.contains(*n)) {
            continue;
        }
        let component: BTreeSet<String> = nodes
            .iter()
            .filter(|m| reaches(n, m) && reaches(m, n))
            .map(|m| m.to_string())
            .collect();
        if !component.is_empty() {
            out.push(component);
        }
    }
    out
}

#[test]
fn nothing_outside_cli_imports_cli() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|s| s.module[0] != "cli")
        .filter(|s| paths(&s.text, "crate::").iter().any(|p| p[0] == "cli"))
        .map(|s| s.module.join("::"))
        .collect();
    assert!(offenders.is_empty(), "import crate::cli: {offenders:?}");
}

#[test]
fn secrets_is_a_leaf_every_layer_can_call() {
    let mut seen = false;
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|s| s.module[0] == "secrets")
        .inspect(|_| seen = true)
        .flat_map(|s| paths(&s.text, "crate::"))
        .filter(|p| p[0] != "secrets")
        .map(|p| p.join("::"))
        .collect();
    assert!(seen, "the scan found src/secrets");
    assert!(offenders.is_empty(), "secrets imports {offenders:?}");
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources() {
        for p in paths(&s.text, "crate::") {
            if p[0] != s.module[0] {
                graph
                    .entry(s.module[0].clone())
                    .or_default()
                    .insert(p[0].clone());
            }
        }
    }
    assert!(graph.contains_key("apply"), "the scan found the modules");
    assert_eq!(cycles(&graph), Vec::<BTreeSet<String>>::new(), "{graph:#?}");
}

#[test]
fn files_of_one_folder_import_each_other_without_a_cycle() {
    let sources = sources();
    let known: BTreeSet<Module> = sources.iter().map(|s| s.module.clone()).collect();
    // One graph per folder: its direct children, by name.
    let mut graphs: BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for s in &sources {
        let Some((name, folder)) = s.module.split_last() else {
            continue;
        };
        let mut edge = |to: String| {
            let mut child = folder.to_vec();
            child.push(to.clone());
            if to != *name && known.contains(&child) {
                graphs
                    .entry(folder.to_vec())
                    .or_default()
                    .entry(name.clone())
                    .or_default()
                    .insert(to);
            }
        };
        for p in paths(&s.text, "super::") {
            edge(p[0].clone());
        }
        for p in paths(&s.text, "crate::") {
            // crate::<folder>::<sibling>::...
            if p.len() > folder.len() && p[..folder.len()] == *folder {
                edge(p[folder.len()].clone());
            }
        }
    }
    assert!(!graphs.is_empty(), "the scan found sibling imports");
    let found: BTreeMap<String, Vec<BTreeSet<String>>> = graphs
        .iter()
        .map(|(folder, g)| (folder.join("/"), cycles(g)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    assert!(found.is_empty(), "import cycles between files: {found:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("c".into()).or_default().insert("d".into());
    let c = cycles(&g);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0], ["a", "b", "c"].map(String::from).into());
    let p = paths(
        "use crate::{a::x, b};\nlet y = crate::c::d;\nuse crate::e::{f::G, h};",
        "crate::",
    );
    let want: Vec<Vec<String>> = [
        &["a", "x"][..],
        &["b"],
        &["c", "d"],
        &["e", "f", "G"],
        &["e", "h"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(p, want);
}
