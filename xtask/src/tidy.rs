//! Tidy checks run by `cargo test -p xtask`: house rules that are cheaper to test than to review.

use std::path::{Path, PathBuf};

use crate::root;

/// Directories that hold the project's own Rust code.
const RUST_DIRS: &[&str] = &["host", "testbed", "xtask", "extractor-sdk", "extractors"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == "node_modules" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every Rust module starts with a `//!` doc saying what it is for.
#[test]
fn every_module_has_a_doc_comment() {
    let root = root();
    let mut files = Vec::new();
    for dir in RUST_DIRS {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "found only {} Rust files; is the walk broken?", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("#!["));
            !first.is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a `//!` doc comment at the top: {missing:#?}");
}

/// The CI entry point is exactly the README's command.
#[test]
fn ci_script_runs_xtask_ci() {
    let script = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run exists");
    assert!(script.lines().any(|l| l.trim() == "exec cargo xtask ci"), "{script}");
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md exists");
    assert!(readme.contains("cargo xtask ci") && readme.contains("cargo xtask demo"));
}
