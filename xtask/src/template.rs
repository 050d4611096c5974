//! `cargo xtask new-extractor NAME [--out DIR]`: a new extractor crate from
//! `extractor-sdk/template/` — in `extractors/NAME` (a workspace member by the `extractors/*`
//! glob, built and tested with the rest, nothing to register), or in DIR as a standalone project
//! depending on this checkout's SDK by path. CI builds one outside the workspace, runs its replay
//! tests, has `pitwall check-source` run it against the testbed, and a running pitwall load it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    Result,
    process::{Service, run},
    root,
};

/// The template's own names, replaced by the new extractor's.
const TEMPLATE_NAME: &str = "my-site";

/// Where and what to create.
pub struct NewExtractor {
    /// `kebab-case` crate and extractor id.
    pub name: String,
    /// Target directory; `None` = `extractors/NAME` inside this workspace.
    pub out: Option<PathBuf>,
}

impl NewExtractor {
    /// Reads `NAME [--out DIR]`.
    pub fn from_args(args: &[String]) -> Result<Self> {
        let mut name = None;
        let mut out = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a directory")?)),
                other if name.is_none() && !other.starts_with('-') => name = Some(other.to_string()),
                other => return Err(format!("unexpected argument {other:?}")),
            }
        }
        let name = name.ok_or("usage: cargo xtask new-extractor NAME [--out DIR]")?;
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(format!(
                "{name:?} is not a name: lowercase letters, digits and dashes, starting with a letter"
            ));
        }
        Ok(NewExtractor { name, out })
    }

    /// Creates the crate; answers its directory.
    pub fn create(&self) -> Result<PathBuf> {
        let root = root();
        let in_tree = self.out.is_none();
        let dir = self.out.clone().unwrap_or_else(|| root.join("extractors").join(&self.name));
        if dir.exists() {
            return Err(format!("{} exists already", dir.display()));
        }
        let sdk = root.join("extractor-sdk");
        let template = sdk.join("template");
        let snake = self.name.replace('-', "_");
        let camel: String = self.name.split('-').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect();
        let sdk_path = if in_tree { "../../extractor-sdk".to_string() } else { sdk.display().to_string() };
        for file in files(&template)? {
            let relative = file.strip_prefix(&template).map_err(|e| e.to_string())?;
            let text = std::fs::read_to_string(&file).map_err(|e| format!("read {}: {e}", file.display()))?;
            let mut text = text
                .replace(TEMPLATE_NAME, &self.name)
                .replace(&TEMPLATE_NAME.replace('-', "_"), &snake)
                .replace("MySite", &camel)
                .replace("\"../../extractor-sdk\"", &format!("{sdk_path:?}"));
            if in_tree && relative == Path::new("Cargo.toml") {
                text = without_standalone_block(&text);
            }
            let to = dir.join(relative);
            std::fs::create_dir_all(to.parent().expect("a file has a parent"))
                .map_err(|e| format!("create {}: {e}", dir.display()))?;
            std::fs::write(&to, text).map_err(|e| format!("write {}: {e}", to.display()))?;
        }
        eprintln!(
            "  created {} ({})",
            dir.display(),
            if in_tree { "workspace member" } else { "standalone" }
        );
        Ok(dir)
    }
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The template's `Cargo.toml` without its standalone-only part (its own workspace and release
/// profile), for a crate inside pitwall's workspace.
fn without_standalone_block(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with("# standalone:begin") {
            skipping = true;
        } else if line.starts_with("# standalone:end") {
            skipping = false;
        } else if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_end().to_string() + "\n"
}

/// The CI check: an extractor made from the template outside the workspace builds, passes its
/// replay tests, and `pitwall check-source` (the real sandbox) finds a live stream with it on a
/// testbed page. `bin` holds the pitwall binaries to use.
pub fn check_outside_workspace(bin: &Path) -> Result {
    let root = root();
    let out = root.join("target/template-check");
    let _ = std::fs::remove_dir_all(&out);
    let dir = NewExtractor { name: "template-check".into(), out: Some(out.clone()) }.create()?;
    // The workspace's versions, and its target dir: dependencies already built there are reused.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("copy Cargo.lock: {e}"))?;
    let cargo = || {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(&dir).env("CARGO_TARGET_DIR", root.join("target/template-check-target"));
        cmd
    };
    run(cargo().args(["test", "--quiet"]))?;
    run(cargo().args(["build", "--release", "--target", "wasm32-wasip2"]))?;
    let wasm = root.join("target/template-check-target/wasm32-wasip2/release/template_check.wasm");
    let testbed = Service::start(
        "testbed",
        Command::new(bin.join("pitwall-testbed")).args(["--listen", "127.0.0.1:0"]),
    )?;
    let addr = testbed.url().trim_start_matches("http://").to_string();
    let data = root.join("target/template-check-data");
    let _ = std::fs::remove_dir_all(&data);
    run(Command::new(bin.join("pitwall"))
        .arg("check-source")
        .arg("--plugin")
        .arg(&wasm)
        .args(["--set", &format!("page={}/pages/jsvar", testbed.url()), "--allow-host", "127.0.0.1"])
        .args(["--allow-upstream", &addr])
        .arg("--data-dir")
        .arg(&data))?;
    // And a running pitwall loads it from its plugins directory.
    let plugins = root.join("target/template-check-plugins");
    let _ = std::fs::remove_dir_all(&plugins);
    std::fs::create_dir_all(&plugins).map_err(|e| format!("create {}: {e}", plugins.display()))?;
    std::fs::copy(&wasm, plugins.join("template_check.wasm")).map_err(|e| format!("copy the plugin: {e}"))?;
    let pitwall = Service::start(
        "pitwall",
        Command::new(bin.join("pitwall"))
            .current_dir(&root)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--plugins-dir")
            .arg(&plugins)
            .arg("--data-dir")
            .arg(&data),
    )?;
    let addr = pitwall.url().trim_start_matches("http://").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let extractors = crate::bench_relay::get(&addr, "/extractors")?;
        if loaded(&extractors, "template-check") {
            eprintln!("  a running pitwall loaded template-check");
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("pitwall did not load template-check within 90 s: {extractors}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// Whether the `/extractors` answer has a loaded row for `id`.
fn loaded(extractors: &str, id: &str) -> bool {
    extractors.split("{\"id\":").any(|row| {
        row.starts_with(&format!("\"{id}\""))
            && row.split('}').next().is_some_and(|r| r.contains("\"status\":\"loaded\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_the_standalone_block() {
        assert!(NewExtractor::from_args(&["my-tv".into()]).is_ok());
        for bad in ["My-TV", "1tv", "tv_x", ""] {
            assert!(NewExtractor::from_args(&[bad.into()]).is_err(), "{bad}");
        }
        let toml = "[package]\nname = \"x\"\n# standalone:begin\n[workspace]\n# standalone:end\n";
        assert_eq!(without_standalone_block(toml), "[package]\nname = \"x\"\n");
        let template = std::fs::read_to_string(root().join("extractor-sdk/template/Cargo.toml")).unwrap();
        assert!(!without_standalone_block(&template).contains("[workspace]"));
        assert!(template.contains("[workspace]"), "standalone copies are their own workspace");
        let rows =
            r#"[{"id":"direct","status":"loaded"},{"id":"template-check","name":null,"status":"failed"}]"#;
        assert!(loaded(rows, "direct") && !loaded(rows, "template-check") && !loaded(rows, "nope"));
    }
}
