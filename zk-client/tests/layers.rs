//! The crate's module layers (drawn in the crate docs, "Layers") are what the
//! code does: every `crate::…` or `super::…` path in a module of `src/`
//! (outside its `#[cfg(test)]` part) names a module of its own layer or of
//! a layer below. A module not declared here fails the test, so a new file
//! has to be placed in the diagram.

use std::path::{Path, PathBuf};

/// Bottom up; the modules of one entry may use each other.
const LAYERS: &[&[&str]] = &[
    // base
    &["error"],
    &["event", "config", "chroot", "create"],
    // transport
    &["transport"],
    // session: what the task shares with the handles, its parts, the task
    // (its state and driver loop), the task's phases, the module root
    &["session::state", "session::submit"],
    &[
        "session::pending",
        "session::watches",
        "session::persistent",
        "session::probe",
    ],
    &["session::task"],
    &["session::hunt", "session::handshake", "session::live"],
    &["session"],
    // handles
    &["request"],
    &["watch", "persistent", "retry"],
    &["client"],
    &["txn"],
    &["builder"],
];

/// The layer of a module path (`session::live::x` → its entry's index).
fn layer_of(module: &[String]) -> Option<usize> {
    let two = module
        .iter()
        .take(2)
        .cloned()
        .collect::<Vec<_>>()
        .join("::");
    let one = module.first()?.clone();
    for key in [two, one] {
        if let Some(i) = LAYERS.iter().position(|l| l.contains(&key.as_str())) {
            return Some(i);
        }
    }
    None
}

/// The module path of a source file (`src/session/mod.rs` → `session`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands what follows `crate::` or `super::` into the module paths it
/// names, two segments deep (enough to find a layer): `a::{b, c::D}` →
/// `a::b`, `a::c`.
fn expand(rest: &str, prefix: Vec<String>, depth: usize, out: &mut Vec<Vec<String>>) {
    let rest = rest.trim_start();
    if depth == 0 || rest.is_empty() {
        out.push(prefix);
        return;
    }
    if let Some(inner) = rest.strip_prefix('{') {
        // The balanced group, split at its top-level commas.
        let (mut level, mut start, mut items) = (0usize, 0usize, Vec::new());
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => level += 1,
                '}' if level == 0 => {
                    items.push(&inner[start..i]);
                    break;
                }
                '}' => level -= 1,
                ',' if level == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        for item in items.into_iter().filter(|i| !i.trim().is_empty()) {
            expand(item, prefix.clone(), depth, out);
        }
        return;
    }
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() || ident == "self" {
        out.push(prefix);
        return;
    }
    let mut next = prefix;
    next.push(ident.clone());
    match rest[ident.len()..].strip_prefix("::") {
        Some(after) => expand(after, next, depth - 1, out),
        None => out.push(next),
    }
}

/// The modules `code` (of module `me`) refers to through `crate::` and `super::`.
fn references(me: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Whole text, so that `use` groups over several lines are read whole.
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        expand(&code[i + "crate::".len()..], Vec::new(), 2, &mut out);
    }
    for (i, _) in code.match_indices("super::") {
        if code[..i].ends_with("super::") {
            continue; // counted from the first `super::`
        }
        let mut base = me.to_vec();
        let mut rest = &code[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        let mut found = Vec::new();
        expand(rest, Vec::new(), 2, &mut found);
        out.extend(found.into_iter().map(|p| {
            let mut full = base.clone();
            full.extend(p);
            full
        }));
    }
    out
}

/// The code of a file without comments and without its test module.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        code.push_str(line.split(" //").next().unwrap_or(""));
        code.push('\n');
    }
    code
}

/// Every upward import of the crate, as "module -> module" lines.
fn violations(src: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    files.sort();
    let mut bad = Vec::new();
    for file in files {
        let me = module_of(src, &file);
        if me.is_empty() || me == ["lib"] {
            continue; // the crate root declares and re-exports everything
        }
        let Some(mine) = layer_of(&me) else {
            bad.push(format!(
                "{}: module not in LAYERS (place it in the diagram)",
                me.join("::")
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file)?;
        for target in references(&me, &code_of(&text)) {
            if target.is_empty() {
                continue;
            }
            if let Some(theirs) = layer_of(&target) {
                if theirs > mine {
                    bad.push(format!(
                        "{} (layer {mine}) uses {} (layer {theirs})",
                        me.join("::"),
                        target.join("::")
                    ));
                }
            }
        }
    }
    Ok(bad)
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() -> std::io::Result<()> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src)?;
    assert!(bad.is_empty(), "upward imports:\n{}", bad.join("\n"));
    Ok(())
}

#[test]
fn the_scanner_sees_grouped_relative_and_inline_paths() {
    let me = vec!["session".to_owned(), "live".to_owned()];
    let code = "use super::{task::Task, submit::Work};\n\
                use crate::{client::Client,\n    error::{Error, Result}};\n\
                let x = crate::config::CONFIG_NODE;\n";
    let mut got: Vec<String> = references(&me, code)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "client::Client",
            "config::CONFIG_NODE",
            "error::Error",
            "error::Result",
            "session::submit::Work",
            "session::task::Task",
        ]
    );
}
