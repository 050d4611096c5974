//! A store outage is not an outage (issue #15): with `--redis-url`, SIGKILL the real
//! `redis-server` under a playing stream, keep it down past the lock TTL and several health
//! intervals, and start it again empty on the same port. Every `/streams` sample lists the
//! streams and the stream's playlist keeps answering, during the outage and after it; the
//! restarted Redis gets this replica's keys back; the outage is logged once, its end once.

mod common;

use std::{
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{LogCapture, Server};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::Value;

/// Probe interval of the test server (the default is 15 s).
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// The poll leader lock's TTL (`jobs::poll`): the outage outlasts it, so a replica that relied
/// on renewing it in Redis would have stopped polling and probing.
const LOCK_TTL: Duration = Duration::from_secs(15);
/// A `/streams` or playlist request that takes longer than this counts as no answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// `redis-server` on `port` without persistence (a restart comes back empty), accepting.
fn redis_server(port: u16) -> Child {
    let mut child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-server on port {port} did not accept within 5 s");
}

/// Kills `child` with SIGKILL (no shutdown, no save) and reaps it.
fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

struct Viewer {
    client: reqwest::Client,
    streams_url: String,
    playlist_url: String,
}

impl Viewer {
    /// The stream ids `/streams` lists now, or why it gave no list.
    async fn streams(&self) -> Result<Vec<String>, String> {
        let response = self.client.get(&self.streams_url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        let mut ids: Vec<String> = body["streams"]
            .as_array()
            .ok_or_else(|| format!("no streams in {body}"))?
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Whether the stream's media playlist answers with segments.
    async fn plays(&self) -> Result<(), String> {
        let response = self.client.get(&self.playlist_url).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if status.is_success() && text.lines().any(|l| l.starts_with("/relay/")) {
            Ok(())
        } else {
            Err(format!("status {status}: {text}"))
        }
    }

    /// Samples `/streams` (every sample) and the playlist (every fourth) for `period`, bounded
    /// in count too; each sample must list exactly `expected` and the playlist must play.
    /// Stops early when `done` holds (checked once a second). Returns the number of samples.
    async fn hold_for(
        &self,
        what: &str,
        period: Duration,
        expected: &[String],
        mut done: impl AsyncFnMut() -> bool,
    ) -> usize {
        let deadline = Instant::now() + period;
        let mut samples = 0;
        for n in 0..(period.as_millis() / 250 + 1) as usize {
            if Instant::now() >= deadline {
                break;
            }
            let listed = self.streams().await;
            assert_eq!(listed.as_deref(), Ok(expected), "{what}: /streams sample {n}");
            if n % 4 == 0 {
                self.plays().await.unwrap_or_else(|e| panic!("{what}: the playlist stopped playing: {e}"));
                if done().await {
                    return samples + 1;
                }
            }
            samples += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        samples
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_keep_playing_through_a_redis_restart() {
    if Command::new("redis-server").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed; CI must provide it (cargo xtask ci installs it)"
        );
        eprintln!("skipping store_outage: redis-server is not installed");
        return;
    }
    let logs = LogCapture::install();
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redis = redis_server(port);
    let redis_url = format!("redis://127.0.0.1:{port}");

    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::demo_site_config(&testbed, tmp.path());
    config.flags.redis_url = Some(redis_url.clone());
    config.file.health.interval = HEALTH_INTERVAL;
    config.file.source = ["main", "onboard-1"]
        .iter()
        .map(|feed| common::feed_source(&testbed, feed, Duration::from_secs(2)))
        .collect();
    let server = Server::start(config).await;
    let session = server.live_session().await;
    let client = reqwest::Client::builder().timeout(ANSWER_WITHIN).build().unwrap();
    let mut viewer = Viewer {
        client,
        streams_url: format!("{}/streams?session={session}", server.url),
        playlist_url: String::new(),
    };

    // Both streams listed, and one of them playing through its stable URL.
    let mut expected = Vec::new();
    for _ in 0..240 {
        if let Ok(ids) = viewer.streams().await
            && ids.len() == 2
        {
            expected = ids;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(expected.len(), 2, "two streams listed within 60 s; last: {:?}", viewer.streams().await);
    let master =
        viewer.client.get(format!("{}/live/{}/master.m3u8", server.url, expected[0])).send().await.unwrap();
    assert_eq!(master.status(), 200);
    let variant = master.text().await.unwrap().lines().find(|l| l.starts_with("/live/")).unwrap().to_string();
    viewer.playlist_url = format!("{}{variant}", server.url);
    viewer.plays().await.unwrap();

    let direct = redis::Client::open(redis_url.as_str()).unwrap();
    let keys = async || -> Vec<String> {
        let Ok(mut conn) = direct.get_multiplexed_async_connection().await else { return Vec::new() };
        redis::cmd("KEYS").arg("pitwall:*").query_async(&mut conn).await.unwrap_or_default()
    };
    let shared = keys().await;
    for id in &expected {
        assert!(
            shared.contains(&format!("pitwall:health:{id}")),
            "{id} in Redis before the outage: {shared:?}"
        );
    }

    kill(&mut redis);
    let outage = LOCK_TTL + HEALTH_INTERVAL * 3;
    let during = viewer.hold_for("Redis down", outage, &expected, async || false).await;
    assert!(
        logs.lines_with("Redis is back").is_empty(),
        "Redis was down all along: {:#?}",
        logs.lines_with("Redis")
    );

    // Started without persistence: it comes back empty, as after a crash with no volume.
    let mut redis = redis_server(port);
    let wanted: Vec<String> = expected.iter().map(|id| format!("pitwall:health:{id}")).collect();
    let refilled = async || {
        let now = keys().await;
        wanted.iter().all(|k| now.contains(k)) && now.iter().any(|k| k.starts_with("pitwall:cand:"))
    };
    let after = viewer.hold_for("Redis back", Duration::from_secs(30), &expected, refilled).await;
    let now = keys().await;
    assert!(
        wanted.iter().all(|k| now.contains(k)),
        "Redis got this replica's keys back within 30 s: {now:?}"
    );
    // And nothing flaps once it has them.
    let settled = viewer.hold_for("Redis refilled", HEALTH_INTERVAL * 3, &expected, async || false).await;

    let down = logs.lines_with("Redis unreachable");
    assert_eq!(down.len(), 1, "the outage is logged once: {down:#?}");
    let back = logs.lines_with("Redis is back");
    assert_eq!(back.len(), 1, "its end is logged once: {back:#?}");
    assert!(back[0].contains("lasted="), "{}", back[0]);
    eprintln!("samples: {during} while down, {after} until refilled, {settled} after; {}", back[0]);
    server.stop().await;
    kill(&mut redis);
}
