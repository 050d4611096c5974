//! `--demo` (cargo feature `demo`, on by default and in the image): the testbed started
//! in-process on loopback, the configuration pointed at it — its schedule APIs, season 9999 (a
//! race live now), one `demo-site` source per demo feed reached as `tv.demo.invalid` (resolved to
//! the testbed by the upstream guard) — and the demo's knobs: `--demo-token-ttl`, `--demo-kill` timers
//! and `--demo-segment-kbps` (segments padded to a broadcast's bit rate, for load tests).

use pitwall_testbed::{FeedKill, Testbed, TestbedConfig};

use crate::{
    Config, RunError,
    config::{self, SeasonSetting},
    net::UpstreamGuard,
};

/// Names under this domain resolve to the in-process testbed.
pub const DEMO_DOMAIN: &str = "demo.invalid";

/// The demo's live feeds and their labels; sources are `demo-<feed>`, with the feed's first word
/// as their role (`main`, `onboard`, `pitlane`).
pub const DEMO_FEEDS: [(&str, &str); 4] =
    [("main", "Main feed"), ("onboard-1", "Onboard 1"), ("onboard-2", "Onboard 2"), ("pitlane", "Pit lane")];

/// `--demo-kill` values, parsed (`Config::load` has checked them).
pub fn kills(config: &Config) -> Result<Vec<FeedKill>, String> {
    config.flags.demo_kill.iter().map(|k| k.parse::<FeedKill>()).collect()
}

/// Starts the testbed and points `config` at it.
pub async fn start(config: &mut Config) -> Result<Testbed, RunError> {
    let kills = kills(config).map_err(RunError::Demo)?;
    for kill in &kills {
        tracing::warn!(feed = kill.feed, after = ?kill.after, down_for = ?kill.down_for, "demo: this feed will be killed on a timer (--demo-kill)");
    }
    let testbed = Testbed::start(TestbedConfig {
        token_ttl: config.flags.demo_token_ttl,
        kills,
        segment_kbps: config.flags.demo_segment_kbps,
        ..TestbedConfig::default()
    })
    .await?;
    println!("testbed on {}", testbed.url());
    let schedule = &mut config.file.schedule;
    schedule.jolpica_url = format!("{}/jolpica/ergast/f1", testbed.url());
    schedule.openf1_url = format!("{}/openf1/v1", testbed.url());
    schedule.season = SeasonSetting::Year(9999);
    config.flags.allow_upstream.push(testbed.addr().to_string());
    config.flags.allow_upstream.push(testbed.second_addr().to_string());
    let port = testbed.addr().port();
    for (feed, label) in DEMO_FEEDS {
        let id = format!("demo-{feed}");
        if config.file.source.iter().any(|s| s.id == id) {
            continue;
        }
        config.file.source.push(config::SourceConfig {
            id,
            extractor: "demo-site".into(),
            label: label.into(),
            role: feed.split('-').next().unwrap_or(feed).into(),
            driver: None,
            allow_hosts: Vec::new(),
            sessions: Vec::new(),
            poll: std::time::Duration::from_secs(60),
            settings: [("page".to_string(), format!("http://tv.{DEMO_DOMAIN}:{port}/demo-tv/watch/{feed}"))]
                .into(),
        });
    }
    Ok(testbed)
}

/// `guard` with the demo domain resolved to the testbed, on its ports only.
pub fn resolve_to(guard: UpstreamGuard, testbed: &Testbed) -> UpstreamGuard {
    let ports = [testbed.addr().port(), testbed.second_addr().port()];
    guard.with_override(DEMO_DOMAIN, testbed.addr().ip(), &ports)
}
