//! Tidy checks run by `cargo test -p xtask`: house rules that are cheaper to test than to review.

use std::path::{Path, PathBuf};

use crate::root;

/// Directories that hold the project's own Rust code.
const RUST_DIRS: &[&str] = &["host", "testbed", "xtask", "loadgen", "extractor-sdk", "extractors"];

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

/// The host's Rust files under `dir` (relative to `host/src`), with their text.
fn host_sources(dir: &str) -> Vec<(String, String)> {
    let base = root().join("host/src");
    let mut files = Vec::new();
    rust_files(&base.join(dir), &mut files);
    files
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(&base).unwrap_or(&p).display().to_string(),
                std::fs::read_to_string(&p).unwrap_or_default(),
            )
        })
        .collect()
}

/// The API reads stream state through `streams`, never through the jobs that write it.
#[test]
fn the_api_imports_nothing_from_jobs() {
    let api = host_sources("api");
    assert!(api.len() > 5, "found only {} api sources; is the walk broken?", api.len());
    let offenders: Vec<String> =
        api.into_iter().filter(|(_, text)| text.contains("jobs::")).map(|(path, _)| path).collect();
    assert!(offenders.is_empty(), "api modules importing from jobs: {offenders:?}");
}

/// Store keys are spelled in one module, `store::keys`.
#[test]
fn store_keys_are_spelled_once() {
    let prefixes = ["\"cand:", "\"health:", "\"refresh:", "\"poll-leader\"", "{session}:{source}\""];
    let offenders: Vec<String> = host_sources("")
        .into_iter()
        .filter(|(path, _)| path != "store/keys.rs")
        .filter(|(_, text)| {
            // Tests of the store's own mechanics may use any key; production code may not.
            let code = text.split("#[cfg(test)]").next().unwrap_or(text);
            prefixes.iter().any(|p| code.contains(p))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(offenders.is_empty(), "store keys spelled outside store/keys.rs: {offenders:?}");
}

/// Tasks and threads are started only where ARCHITECTURE.md's invariant says (a new place must
/// be added there, and here, on purpose).
#[test]
fn spawns_only_where_the_architecture_says() {
    const ALLOWED: &[&str] = &[
        "lib.rs",              // spawn_jobs: the background loops of jobs/
        "serve.rs",            // one task per connection
        "extract/engine.rs",   // the epoch ticker; a guest call's isolated thread
        "extract/host_api.rs", // a guest's fetch, aborted at the call's deadline
        "extract/registry.rs", // compiles on the blocking pool
        "relay/mod.rs",        // large rewrites on the blocking pool
        "relay/upstream.rs",   // a shared segment fetch's filler
    ];
    let spawns = ["tokio::spawn", "thread::spawn", "Builder::new().name(", "spawn_blocking", ".spawn(async"];
    let offenders: Vec<String> = host_sources("")
        .into_iter()
        .filter(|(path, _)| !path.starts_with("jobs/") && !ALLOWED.contains(&path.as_str()))
        .filter(|(_, text)| {
            let code = text.split("#[cfg(test)]").next().unwrap_or(text);
            spawns.iter().any(|s| code.contains(s))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        offenders.is_empty(),
        "tasks or threads started outside the places ARCHITECTURE.md names: {offenders:?}"
    );
}

/// The playlist rewriter is pure: it uses nothing that could do I/O (only `std` collections and
/// `url`), so what an upstream sends cannot make it block or reach out.
#[test]
fn the_playlist_rewriter_does_no_io() {
    let (_, text) =
        host_sources("relay").into_iter().find(|(path, _)| path == "relay/playlist.rs").expect("playlist.rs");
    let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
    let imports: Vec<&str> = code.lines().filter(|l| l.starts_with("use ")).collect();
    assert!(!imports.is_empty(), "no imports found; is this still the rewriter?");
    let pure = |l: &&str| {
        l.starts_with("use std::ops") || l.starts_with("use std::borrow") || l.starts_with("use url::")
    };
    let impure: Vec<&&str> = imports.iter().filter(|l| !pure(l)).collect();
    assert!(impure.is_empty(), "relay/playlist.rs imports beyond std data types and url: {impure:?}");
    for io in ["tokio::", "std::fs", "std::net", "reqwest", "crate::"] {
        assert!(!code.contains(io), "relay/playlist.rs mentions {io}");
    }
}

/// `config` may name the schedule's types; `schedule` knows nothing of `config` (no cycle).
#[test]
fn the_schedule_does_not_depend_on_the_configuration() {
    let schedule = host_sources("schedule");
    assert!(schedule.len() > 3, "found only {} schedule sources", schedule.len());
    let offenders: Vec<String> = schedule
        .into_iter()
        .filter(|(_, text)| {
            text.contains("crate::config")
                || text.contains("config::{")
                || text.contains("use crate::{\n    config")
        })
        .map(|(path, _)| path)
        .collect();
    assert!(offenders.is_empty(), "schedule modules importing config: {offenders:?}");
}

/// `unsafe` code in the host lives where the architecture names it: the shared-memory segments
/// (`relay::shm`) and the compiled-plugin cache's `deserialize` (`extract::cache`).
#[test]
fn unsafe_code_lives_only_where_the_architecture_says() {
    let allowed = ["relay/shm.rs", "extract/cache.rs"];
    let sources = host_sources("");
    assert!(sources.len() > 20, "found only {} host sources; is the walk broken?", sources.len());
    let offenders: Vec<String> = sources
        .into_iter()
        .filter(|(path, text)| {
            !allowed.contains(&path.as_str())
                && text.lines().any(|l| {
                    let code = l.split("//").next().unwrap_or("");
                    code.contains("unsafe {") || code.contains("unsafe fn") || code.contains("unsafe impl")
                })
        })
        .map(|(path, _)| path)
        .collect();
    assert!(offenders.is_empty(), "unsafe code outside {allowed:?}: {offenders:?}");
}
