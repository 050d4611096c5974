//! `cargo xtask bench viewers [--max N] [--step-secs S] [--kbps K]`: capacity as viewers behave.
//! Builds release `pitwall` and `pitwall-loadgen` (its own crate: xtask has no dependencies),
//! starts `pitwall --demo --demo-segment-kbps K` (the demo feeds padded to a broadcast's bit
//! rate), runs the load generator against it (simulated hls.js viewers ramped 10, 25, 50, 100,
//! 200, … up to `--max`), and writes its table, the capacity figure and the memory per viewer
//! into the viewers section of `docs/BENCHMARKS.md` with the machine, the date and the command.

use std::{path::Path, process::Command};

use crate::{Result, build_guests, cargo, install, process, process::Service, step};

const MARK_BEGIN: &str = "<!-- viewers:begin -->";
const MARK_END: &str = "<!-- viewers:end -->";

/// One run's options.
#[derive(Debug, PartialEq)]
struct Options {
    max: u32,
    step_secs: u32,
    kbps: u32,
}

impl Options {
    fn from_args(args: &[String]) -> Result<Options> {
        let mut o = Options { max: 400, step_secs: 30, kbps: 5000 };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str, range: std::ops::RangeInclusive<u32>| -> Result<u32> {
                args.next().and_then(|v| v.parse().ok()).filter(|v| range.contains(v)).ok_or_else(|| {
                    format!("{name} needs a whole number from {} to {}", range.start(), range.end())
                })
            };
            match arg.as_str() {
                "--max" => o.max = number("--max", 1..=20_000)?,
                "--step-secs" => o.step_secs = number("--step-secs", 5..=600)?,
                "--kbps" => o.kbps = number("--kbps", 1..=100_000)?,
                other => return Err(format!("unknown `bench viewers` option {other:?}")),
            }
        }
        Ok(o)
    }
}

/// Builds, measures, and records the viewers section.
pub fn run(root: &Path, args: &[String]) -> Result {
    let options = Options::from_args(args)?;
    install::wasm_target()?;
    step("build pitwall and the load generator (release)", || {
        process::run(cargo().args(["build", "--release", "-p", "pitwall", "-p", "pitwall-loadgen"]))
    })?;
    step("build guest extractors", build_guests)?;
    let bin = root.join("target/release");
    let data = root.join("target/bench-viewers-data");
    let _ = std::fs::remove_dir_all(&data);
    let kbps = options.kbps.to_string();
    let (pitwall, found) = Service::start_announcing(
        "pitwall",
        Command::new(bin.join("pitwall"))
            .current_dir(root)
            .args(["--demo", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--demo-segment-kbps", &kbps, "--plugins-dir", "target/plugins"])
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_LOG", "warn"),
        &["testbed on "],
    )?;
    let out = step("viewers", || {
        Command::new(bin.join("pitwall-loadgen"))
            .args(["--url", pitwall.url(), "--testbed", &found[0], "--pid", &pitwall.pid().to_string()])
            .args(["--max", &options.max.to_string(), "--step-secs", &options.step_secs.to_string()])
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run pitwall-loadgen: {e}"))
    })?;
    drop(pitwall);
    if !out.status.success() {
        return Err(format!("pitwall-loadgen exited with {}", out.status));
    }
    let table = String::from_utf8_lossy(&out.stdout);
    let report = format!(
        "Machine: {}. Date: {}. Command: `cargo xtask bench viewers --max {} --step-secs {} --kbps {}` \
         (release build; `pitwall --demo --demo-segment-kbps {}`, the load generator on the same machine).\n\n{table}",
        crate::bench::machine(),
        crate::bench::today(),
        options.max,
        options.step_secs,
        options.kbps,
        options.kbps,
    );
    println!("{report}");
    crate::bench::write_section(&root.join("docs/BENCHMARKS.md"), MARK_BEGIN, MARK_END, &report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Options::from_args(&args(&["--max", "800", "--kbps", "3000"])).unwrap(),
            Options { max: 800, step_secs: 30, kbps: 3000 }
        );
        assert!(Options::from_args(&args(&["--max", "0"])).is_err());
        assert!(Options::from_args(&args(&["--step-secs"])).is_err());
        assert!(Options::from_args(&args(&["--bogus"])).is_err());
    }
}
