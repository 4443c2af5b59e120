#!/usr/bin/env python3
"""Import cycles between the modules of src/: between top-level modules, and between
the files (or sub-folders) of any one folder, at every depth.

Reads `use` trees (grouped imports such as `use crate::apply::{api::Api, run};` and
`use super::{a, b::c};` are expanded) and inline paths (`crate::x::f()`,
`super::x::f()`). Comments and `#[cfg(test)]` modules and files are ignored: tests
may reach anywhere. Prints each level's cycles; exits 1 when there is one, and when
a module outside src/cli/ names crate::cli.

Usage: python3 scripts/layers.py [src]
"""
import os
import re
import sys
from collections import defaultdict

ROOT = sys.argv[1] if len(sys.argv) > 1 else "src"


def module_of(path):
    parts = path[len(ROOT) + 1:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts in (["lib"], ["main"]):
        return ()
    return tuple(parts)


def strip(src):
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r'"(?:\\.|[^"\\])*"', '""', src)
    # #[cfg(test)] items: a braced module, or one item up to `;`/its block.
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", src):
        if m.start() < i:
            continue
        out.append(src[i:m.start()])
        j = m.end()
        while j < len(src) and src[j] not in "{;":
            j += 1
        if j < len(src) and src[j] == "{":
            depth = 0
            while j < len(src):
                depth += {"{": 1, "}": -1}.get(src[j], 0)
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        i = j
    out.append(src[i:])
    return "".join(out)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.strip()
    k = tree.find("{")
    if k < 0:
        return [re.split(r"\s+as\s+", tree)[0].strip()]
    prefix, body = tree[:k], tree[k + 1:tree.rfind("}")]
    items, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    items.append(cur)
    paths = []
    for it in items:
        if it.strip():
            for p in expand(it):
                paths.append(prefix + p if p != "self" else prefix.rstrip(":"))
    return paths


def resolve(mod, path):
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    if segs[0] == "crate":
        base, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = mod
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    return base + tuple(segs)


def main():
    files = []
    for d, _, fs in os.walk(ROOT):
        files += [os.path.join(d, f) for f in fs if f.endswith(".rs")]
    mods = {module_of(f) for f in files}
    edges = defaultdict(set)
    cli_users = []
    for f in sorted(files):
        m = module_of(f)
        if not m or "tests" in m or f.endswith("/tests.rs"):
            continue
        src = strip(open(f).read())
        paths = []
        for u in re.finditer(r"\buse\s+([^;]+);", src):
            paths += expand(u.group(1))
        paths += re.findall(r"\b(?:crate|super|self)(?:::(?:super|[A-Za-z_][A-Za-z_0-9]*))+", src)
        for p in paths:
            t = resolve(m, p)
            if not t:
                continue
            # The longest prefix that is a module of the crate.
            while t and t not in mods:
                t = t[:-1]
            if not t:
                continue
            if t[0] == "cli" and m[0] != "cli":
                cli_users.append(f)
            c = 0
            while c < min(len(m), len(t)) and m[c] == t[c]:
                c += 1
            if c < len(m) and c < len(t):
                edges[m[:c + 1]].add(t[:c + 1])
    bad = False
    by_folder = defaultdict(dict)
    for a, bs in edges.items():
        by_folder[a[:-1]][a] = {b for b in bs if b[:-1] == a[:-1]}
    for folder in sorted(by_folder):
        for comp in sccs(by_folder[folder]):
            bad = True
            name = "/".join(folder) or "(top level)"
            print(f"cycle in {name}: " + " -> ".join("/".join(x) for x in sorted(comp)))
    for f in sorted(set(cli_users)):
        bad = True
        print(f"{f} imports crate::cli")
    if not bad:
        print("no import cycles; nothing outside cli/ imports cli")
    top = {a[0]: sorted(b[0] for b in bs) for a, bs in by_folder[()].items()}
    print("top-level deps:")
    for k in sorted(top):
        print(f"  {k} -> {top[k]}")
    return 1 if bad else 0


def sccs(g):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in set(g) | {w for ws in g.values() for w in ws}:
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
