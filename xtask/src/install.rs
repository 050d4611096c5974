//! Installs what a fresh machine lacks: Debian packages (only when root and absent), the
//! `wasm32-wasip2` Rust target, and the web app's npm packages (`npm ci` from the lock file).

use std::{path::Path, process::Command};

use crate::{Result, process::run, root};

/// Debian packages `cargo xtask ci` needs: services and media tools for tests, a browser.
pub const CI_PACKAGES: &[&str] = &["redis-server", "ffmpeg", "chromium", "fonts-dejavu-core"];

/// Installs the missing ones of `packages` with apt when running as root.
pub fn debian_packages(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !dpkg_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        eprintln!("  warning: missing Debian packages {missing:?} and not root; install them yourself");
        return Ok(());
    }
    eprintln!("  installing {missing:?}");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `rustup target add wasm32-wasip2` unless it is installed.
pub fn wasm_target() -> Result {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == "wasm32-wasip2") {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))
}

/// `npm ci` when `node_modules` is missing or older than `package-lock.json`.
pub fn npm_packages() -> Result {
    let frontend = root().join("frontend");
    if is_fresh(&frontend.join("node_modules/.package-lock.json"), &frontend.join("package-lock.json")) {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&frontend))
}

/// Whether `output` exists and is newer than `input`.
fn is_fresh(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(output), modified(input)), (Some(out), Some(inp)) if out >= inp)
}
