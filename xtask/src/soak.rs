//! `cargo xtask soak [--minutes N] [--token-ttl D] [--kill FEED@AFTER[+FOR]] [--release]`: plays a
//! live session's URL in Chromium with hls.js (`frontend/e2e/soak.mjs`) against its own
//! `pitwall --demo`, whose CDN tokens live `--token-ttl` and whose `main` feed (the one the
//! session URL plays first) is killed on a timer, and reports refreshes, stalls, switches and
//! pitwall's memory at start and end. `cargo xtask ci` runs it for 3 minutes at a 10 s TTL.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    Profile, Result, npm,
    process::{Service, proc_status, run},
};

/// One soak run.
pub struct Soak {
    /// How long the player plays.
    pub minutes: u32,
    /// `--demo-token-ttl` (humantime).
    pub token_ttl: String,
    /// `--demo-kill` (default: `main` at a third of the run, back at two thirds).
    pub kill: Option<String>,
    /// Which build of pitwall runs.
    pub profile: Profile,
}

impl Soak {
    /// The CI run: 3 minutes, tokens of 10 s, the playing feed killed once (at 60 s, back at 120 s).
    pub fn ci() -> Self {
        Soak { minutes: 3, token_ttl: "10s".into(), kill: None, profile: Profile::Dev }
    }

    /// Reads `--minutes`, `--token-ttl`, `--kill`, `--release`.
    pub fn from_args(args: &[String]) -> Result<Self> {
        let mut soak = Soak { minutes: 3, token_ttl: "120s".into(), kill: None, profile: Profile::Dev };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().cloned().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--minutes" => {
                    soak.minutes = value("--minutes")?
                        .parse()
                        .ok()
                        .filter(|m| (1..=24 * 60).contains(m))
                        .ok_or("--minutes must be a whole number from 1 to 1440")?;
                }
                "--token-ttl" => soak.token_ttl = value("--token-ttl")?,
                "--kill" => soak.kill = Some(value("--kill")?),
                "--release" => soak.profile = Profile::Release,
                other => return Err(format!("unknown soak option {other:?}")),
            }
        }
        Ok(soak)
    }

    fn kill(&self) -> String {
        self.kill.clone().unwrap_or_else(|| {
            let third = self.minutes * 20;
            format!("main@{third}s+{third}s")
        })
    }

    /// Minimum refreshes of the played sources: one per token lifetime of playing, which is
    /// about half of what the refresh policy (every two thirds of a lifetime) brings.
    fn min_refreshes(&self) -> Result<u64> {
        let ttl = parse_secs(&self.token_ttl)?;
        Ok(u64::from(self.minutes) * 60 / ttl.max(1))
    }

    /// Starts pitwall, plays, and fails unless every check of `soak.mjs` held.
    pub fn run(&self, root: &Path) -> Result {
        let bin = root.join("target").join(self.profile.dir()).join("pitwall");
        let data = root.join("target/soak-data");
        let _ = std::fs::remove_dir_all(&data);
        let report: PathBuf = root.join("target/soak-report.json");
        let kill = self.kill();
        let min_refreshes = self.min_refreshes()?;
        eprintln!(
            "  soak: {} min, token TTL {}, kill {kill}, at least {} refreshes",
            self.minutes, self.token_ttl, min_refreshes
        );
        let pitwall = Service::start(
            "pitwall",
            Command::new(&bin)
                .current_dir(root)
                .args(["--demo", "--listen", "127.0.0.1:0", "--web-dir", "frontend/build"])
                .args(["--demo-token-ttl", &self.token_ttl, "--demo-kill", &kill])
                .arg("--data-dir")
                .arg(&data)
                .args(["--plugins-dir", "target/plugins"]),
        )?;
        let rss_start = proc_status(pitwall.pid(), "VmRSS:");
        let played = run(npm(&["exec", "--", "node", "e2e/soak.mjs"])
            .env("PITWALL_URL", pitwall.url())
            .env("SOAK_SECONDS", (self.minutes * 60).to_string())
            .env("SOAK_MIN_REFRESHES", min_refreshes.to_string())
            .env("SOAK_REPORT", &report));
        let (rss_end, rss_peak) =
            (proc_status(pitwall.pid(), "VmRSS:"), proc_status(pitwall.pid(), "VmHWM:"));
        drop(pitwall);
        eprintln!(
            "  soak: pitwall RSS {} MiB at start, {} MiB at the end (peak {} MiB); report in {}",
            rss_start / 1024,
            rss_end / 1024,
            rss_peak / 1024,
            report.display()
        );
        played
    }
}

/// Seconds of a `10s` / `2m` / `120` duration (whole seconds only).
fn parse_secs(text: &str) -> Result<u64> {
    let (number, unit) =
        text.trim().split_at(text.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(text.trim().len()));
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 10s or 2m"))?;
    match unit {
        "" | "s" => Ok(n),
        "m" => Ok(n * 60),
        "h" => Ok(n * 3600),
        _ => Err(format!("{text:?} is not a duration like 10s or 2m")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_derived_values() {
        let args: Vec<String> = ["--minutes", "90", "--release"].iter().map(|s| s.to_string()).collect();
        let soak = Soak::from_args(&args).unwrap();
        assert_eq!((soak.minutes, soak.kill().as_str()), (90, "main@1800s+1800s"));
        assert_eq!(soak.min_refreshes().unwrap(), 45, "90 min at the default 120 s TTL");
        assert_eq!(Soak::ci().min_refreshes().unwrap(), 18, "3 min at 10 s: more than the 15 asked for");
        assert!(Soak::from_args(&["--minutes".into(), "0".into()]).is_err());
        assert!(Soak::from_args(&["--bogus".into()]).is_err());
        assert_eq!(parse_secs("2m").unwrap(), 120);
        assert!(parse_secs("ten").is_err());
    }
}
