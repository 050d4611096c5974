//! `cargo xtask`: the single home of pitwall's build glue.
//!
//! - `build`: release host and testbed, guest extractor components (`target/plugins/*.wasm`), the
//!   JavaScript extractors (`target/plugins-js/*.wasm`, see [`js`]), web app.
//! - `demo`: build, then run pitwall with the built-in demo sources.
//! - `ci`: install what is missing, check formatting and lints, build, run every suite.
//! - `bench`: build release and measure; results go to `docs/BENCHMARKS.md`. `bench relay`: only
//!   the relay against nginx, printed. `bench viewers`: simulated hls.js viewers ramped against
//!   `pitwall --demo` (`pitwall-loadgen`), the capacity figure.
//! - `js`: only the JavaScript part of `ci` and `build`: `node --test`, then `target/plugins-js`.
//! - `new-extractor NAME [--out DIR]`: a new extractor crate from `extractor-sdk/template/`;
//!   `check-template`: the CI check that one made outside the workspace builds, tests and runs.
//! - `soak`: play a live session's URL in Chromium for minutes while tokens expire and a feed dies.
//!
//! No dependencies on purpose: this crate must compile in seconds on a fresh machine.

mod bench;
mod bench_relay;
mod bench_viewers;
mod install;
mod js;
mod process;
mod python;
mod soak;
mod template;
#[cfg(test)]
mod tidy;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

use process::{Service, run};

/// A failed step, with a message for the user.
type Result<T = ()> = std::result::Result<T, String>;

/// Cargo build profile for host-side artefacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Dev,
    Release,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Dev => "debug",
            Profile::Release => "release",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Profile::Dev => &[],
            Profile::Release => &["--release"],
        }
    }
}

/// Extractor crates: every directory under `extractors/` with a `Cargo.toml` (its name is the
/// package name), built to `target/plugins/<crate>.wasm`. Nothing to register by hand.
fn extractors() -> Result<Vec<String>> {
    let dir = root().join("extractors");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let started = Instant::now();
    let result = match task {
        "build" => build(Profile::Release),
        "demo" => demo(),
        "ci" => ci(),
        "bench" if args.get(1).map(String::as_str) == Some("relay") => bench::relay_only(&root()),
        "bench" if args.get(1).map(String::as_str) == Some("viewers") => {
            bench_viewers::run(&root(), &args[2..])
        }
        "bench" => bench::run(&root()),
        "js" => step("JavaScript: node --test", js::test).and_then(|()| step("JavaScript: build", js::build)),
        "check-template" => {
            template::check_outside_workspace(&root().join("target").join(Profile::Dev.dir()))
        }
        "new-extractor" => template::NewExtractor::from_args(&args[1..]).and_then(|n| n.create().map(drop)),
        "soak" => soak::Soak::from_args(&args[1..]).and_then(|soak| {
            build(soak.profile)?;
            step("soak", || soak.run(&root()))
        }),
        _ => {
            eprintln!(
                "usage: cargo xtask <build|demo|ci|bench [relay|viewers [--max N] [--step-secs S] [--kbps K]]|js|soak [--minutes N] [--token-ttl D] [--kill FEED@AFTER[+FOR]] [--release]>"
            );
            return ExitCode::from(if task == "help" || task == "--help" { 0 } else { 2 });
        }
    };
    match result {
        Ok(()) => {
            eprintln!("xtask {task}: ok in {:.0?}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask {task}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn npm(args: &[&str]) -> Command {
    let mut cmd = Command::new("npm");
    cmd.args(args).current_dir(root().join("frontend"));
    cmd
}

/// Builds everything a run needs: host + testbed binaries, guest components, web app.
fn build(profile: Profile) -> Result {
    install::wasm_target()?;
    install::npm_packages()?;
    step("build host and testbed", || {
        run(cargo().args(["build", "-p", "pitwall", "-p", "pitwall-testbed"]).args(profile.args()))
    })?;
    step("build guest extractors", build_guests)?;
    step("build JavaScript extractors", js::build)?;
    step("build web app", || run(&mut npm(&["run", "build"])))
}

/// Builds each extractor crate for `wasm32-wasip2` and copies the components to `target/plugins`.
fn build_guests() -> Result {
    let extractors = extractors()?;
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", "wasm32-wasip2"]);
    for krate in &extractors {
        cmd.args(["-p", krate]);
    }
    run(&mut cmd)?;
    let plugins = root().join("target/plugins");
    std::fs::create_dir_all(&plugins).map_err(|e| format!("create {}: {e}", plugins.display()))?;
    for krate in &extractors {
        let file = format!("{}.wasm", krate.replace('-', "_"));
        let from = root().join("target/wasm32-wasip2/release").join(&file);
        let to = plugins.join(&file);
        std::fs::copy(&from, &to).map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))?;
        eprintln!("  plugin {}", to.display());
    }
    Ok(())
}

fn demo() -> Result {
    build(Profile::Release)?;
    let root = root();
    eprintln!("starting pitwall; press Ctrl-C to stop");
    run(Command::new(root.join("target/release/pitwall"))
        .current_dir(&root)
        .args(["--demo", "--listen", "127.0.0.1:8080", "--data-dir", "target/demo-data"])
        .args(["--plugins-dir", "target/plugins", "--web-dir", "frontend/build"]))
}

/// Everything CI checks, in order; each step reports its time.
fn ci() -> Result {
    let root = root();
    step("install missing tools", || {
        install::debian_packages(install::CI_PACKAGES)?;
        install::wasm_target()?;
        install::npm_packages()
    })?;
    step("cargo fmt --check", || run(cargo().args(["fmt", "--all", "--check"])))?;
    step("cargo clippy", || {
        run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
    })?;
    step("build guest extractors", build_guests)?;
    step("JavaScript extractors: node --test (replay, finder vectors)", js::test)?;
    step("JavaScript extractors: build", js::build)?;
    step("python extractors: build + pytest", || python::build_and_test(&root))?;
    step("web app: svelte-check", || run(&mut npm(&["run", "check"])))?;
    step("web app: eslint", || run(&mut npm(&["run", "lint"])))?;
    step("web app: unit tests", || run(&mut npm(&["test"])))?;
    step("web app: build", || run(&mut npm(&["run", "build"])))?;
    let redis = step("start redis-server", || Service::redis(&root))?;
    step("cargo test (workspace)", || {
        run(cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .env("PITWALL_TEST_REDIS_URL", redis.url()))
    })?;
    // `cargo test` built both binaries (their integration tests run them) with the test build's
    // features; building them again with `cargo build` would recompile dependencies.
    step("check binaries", || {
        let bin = root.join("target").join(Profile::Dev.dir());
        match ["pitwall", "pitwall-testbed"].iter().find(|b| !bin.join(b).exists()) {
            Some(missing) => Err(format!("{missing} was not built by cargo test")),
            None => Ok(()),
        }
    })?;
    step("extractor template, built outside the workspace", || {
        template::check_outside_workspace(&root.join("target").join(Profile::Dev.dir()))
    })?;
    step("browser tests", || browser_tests(&root, Profile::Dev))?;
    step("soak: the session URL for 3 minutes", || soak::Soak::ci().run(&root))?;
    step("infra static checks", || {
        run(Command::new("bash").arg(root.join("infra/tests/run.sh")).current_dir(&root))
    })?;
    drop(redis);
    Ok(())
}

/// Starts `pitwall --demo` (which runs the testbed in-process) with the built plugins, then runs
/// the Playwright suite against both.
fn browser_tests(root: &Path, profile: Profile) -> Result {
    let bin = root.join("target").join(profile.dir());
    let data = root.join("target/e2e-data");
    let _ = std::fs::remove_dir_all(&data);
    let (pitwall, found) = Service::start_announcing(
        "pitwall",
        Command::new(bin.join("pitwall"))
            .current_dir(root)
            .args(["--demo", "--listen", "127.0.0.1:0", "--web-dir", "frontend/build"])
            .arg("--data-dir")
            .arg(&data)
            .args(["--plugins-dir", "target/plugins"]),
        &["testbed on "],
    )?;
    run(npm(&["run", "e2e"]).env("PITWALL_URL", pitwall.url()).env("TESTBED_URL", &found[0]))
}

/// Runs one named step, printing its start and duration.
fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let out = f().map_err(|e| format!("{name}: {e}"))?;
    eprintln!("<== {name} ({:.1?})", started.elapsed());
    Ok(out)
}
