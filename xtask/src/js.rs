//! JavaScript extractors: `npm ci` where a lock file is newer than its `node_modules`, the SDK's
//! and the extractors' `node --test` suites (replay tests and the shared finder vectors), and
//! each `extractors-js/<name>` built by the SDK (esbuild + ComponentizeJS) to
//! `target/plugins-js/<name>.wasm` — a plugins directory of its own, since the JS examples reuse
//! the Rust ones' plugin ids (`pitwall --demo --plugins-dir target/plugins-js` serves the demo
//! with the JS `demo-site`). The hostile JS guest of the sandbox tests is built by those tests.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use crate::{Result, process::run, root};

/// The JS SDK's directory.
fn sdk() -> PathBuf {
    root().join("extractor-sdk-js")
}

/// Every directory under `extractors-js/` with a `package.json`, sorted.
fn extractors() -> Result<Vec<PathBuf>> {
    let dir = root().join("extractors-js");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.join("package.json").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// `npm ci` in `dir` unless its `node_modules` is newer than its `package-lock.json`.
fn npm_ci(dir: &Path) -> Result {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    if matches!((installed, modified(&dir.join("package-lock.json"))), (Some(i), Some(l)) if i >= l) {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))
}

/// Installs the SDK's and every extractor's packages from their lock files.
pub fn install() -> Result {
    npm_ci(&sdk())?;
    for dir in extractors()? {
        npm_ci(&dir)?;
    }
    Ok(())
}

/// Builds every JS extractor to `target/plugins-js/<name>.wasm` (`-` in the name as `_`).
pub fn build() -> Result {
    install()?;
    let out = root().join("target/plugins-js");
    let builder = sdk().join("bin/pitwall-extractor-build.js");
    for dir in extractors()? {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().replace('-', "_");
        let wasm = out.join(format!("{name}.wasm"));
        let started = Instant::now();
        run(Command::new("node")
            .arg(&builder)
            .arg("src/extractor.js")
            .arg("-o")
            .arg(&wasm)
            .current_dir(&dir))?;
        eprintln!("  plugin {} ({:.1?})", wasm.display(), started.elapsed());
    }
    Ok(())
}

/// `node --test` in the SDK (its unit tests and the shared finder vectors) and in every
/// extractor (its replay tests).
pub fn test() -> Result {
    install()?;
    for dir in std::iter::once(sdk()).chain(extractors()?) {
        run(Command::new("node").arg("--test").current_dir(&dir))?;
    }
    Ok(())
}
