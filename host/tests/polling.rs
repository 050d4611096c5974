//! Source polling against the testbed's live season 9999: extractions land in the store within a
//! poll interval, failures are counted by step, and with a shared Redis only one replica polls.

mod common;

use std::{path::Path, time::Duration};

use common::{Server, guest, source, test_redis};
use pitwall::{Config, config::SeasonSetting};
use pitwall_testbed::{Testbed, TestbedConfig};

fn config(testbed: &Testbed, root: &Path, plugins: &Path) -> Config {
    let mut config = common::config(testbed, &root.join("data"));
    config.flags.plugins_dir = plugins.to_path_buf();
    config.file.extractors.poll = Duration::from_millis(200);
    config.file.schedule.season = SeasonSetting::Year(9999);
    config.file.source = vec![
        source("direct-main", "direct", &[("url", "https://cdn.example/main.m3u8")]),
        source("direct-bad", "direct", &[]),
        source("ghost", "no-such-extractor", &[]),
    ];
    config
}

/// The counter line for `source` and `outcome`, or 0.
fn count(metrics: &str, source: &str, outcome: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("pitwall_extractions_total{"))
        .filter(|l| {
            l.contains(&format!("source=\"{source}\"")) && l.contains(&format!("outcome=\"{outcome}\""))
        })
        .filter_map(|l| l.rsplit(" ").next()?.parse::<u64>().ok())
        .sum()
}

async fn wait_for_count(server: &Server, source: &str, outcome: &str) -> u64 {
    // Bounded: 30 s covers a cold start (schedule fetch, plugin compile) on a loaded 2-core
    // machine, and is far below the 600 s poll period of the tests that need to tell a prompt
    // retry from a periodic one.
    for _ in 0..300 {
        let n = count(&server.metrics().await, source, outcome);
        if n > 0 {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {outcome} extraction for {source}: {}", server.metrics().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_session_is_polled_and_failures_are_counted_by_step() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("direct"), plugins.join("direct.wasm")).unwrap();
    let server = Server::start(config(&testbed, tmp.path(), &plugins)).await;
    assert!(wait_for_count(&server, "direct-main", "ok").await >= 1);
    assert!(wait_for_count(&server, "direct-bad", "other").await >= 1, "bad settings fail at step other");
    assert!(
        wait_for_count(&server, "ghost", "extractor-missing").await >= 1,
        "an unknown extractor fails clearly"
    );
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_shared_redis_only_one_replica_polls_and_entries_expire() {
    let redis = test_redis();
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("direct"), plugins.join("direct.wasm")).unwrap();
    let mut replicas = Vec::new();
    for n in 0..2 {
        let mut config = config(&testbed, &tmp.path().join(format!("r{n}")), &plugins);
        config.flags.redis_url = Some(redis.url.clone());
        config.file.source.truncate(1);
        replicas.push(Server::start(config).await);
    }
    // Bounded (30 s): wait until some replica has polled a few times.
    let mut totals = (0, 0);
    for _ in 0..300 {
        totals = (
            count(&replicas[0].metrics().await, "direct-main", "ok"),
            count(&replicas[1].metrics().await, "direct-main", "ok"),
        );
        if totals.0 + totals.1 >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(totals.0 + totals.1 >= 3, "{totals:?}");
    assert!(totals.0 == 0 || totals.1 == 0, "both replicas polled: {totals:?}");

    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg("pitwall:cand:9999-*:direct-main").query_async(&mut conn).await.unwrap();
    assert!(!keys.is_empty(), "extraction stored in Redis");
    for r in replicas {
        r.stop().await;
    }
    // The TTL the poller gives an extraction without a token expiry (the 30 s floor for a 1 s
    // poll); waiting that long is not worth it, so expiry is proven from Redis's own countdown.
    let configured = pitwall::jobs::poll::candidate_ttl(Duration::from_secs(1), None, 0);
    for key in &keys {
        let first = pttl(&mut conn, key).await;
        assert!(
            0 < first && first <= configured.as_millis() as i64,
            "{key} expires in {first} ms, configured {configured:?}"
        );
        // With no replica left to rewrite it, the entry counts down (-2 once gone). Bounded: PTTL
        // has millisecond resolution, so 5 s is ample for it to move.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let ms = pttl(&mut conn, key).await;
            assert!(ms == -2 || ms > 0, "{key} lost its TTL: {ms}");
            if ms < first {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{key} is not counting down: {ms} ms, was {first}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    testbed.shutdown().await;
}

/// Milliseconds until `key` expires in Redis (-1: no TTL, -2: no key).
async fn pttl(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

/// Every guest the demo ships, so the first scan compiles several components (cold cache: a new
/// data dir per test) and takes longer than the poller's first tick.
fn copy_all_guests(plugins: &Path) {
    for package in ["direct", "demo-site", "generic-page"] {
        let file = format!("{}.wasm", package.replace('-', "_"));
        std::fs::copy(guest(package), plugins.join(file)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_waits_for_the_first_plugin_scan_on_a_cold_cache() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    copy_all_guests(&plugins);
    let mut config = config(&testbed, tmp.path(), &plugins);
    config.file.source.truncate(1);
    // A miss would be retried only after this: the first attempt must be the one that works.
    config.file.source[0].poll = Duration::from_secs(600);
    assert!(!config.cache_dir().exists(), "the compiled-plugin cache starts empty");
    let server = Server::start(config).await;
    wait_for_count(&server, "direct-main", "ok").await;
    let metrics = server.metrics().await;
    let attempts: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("pitwall_extractions_total{") && l.contains("source=\"direct-main\""))
        .collect();
    assert_eq!(attempts.len(), 1, "an attempt failed before the plugins were loaded: {attempts:#?}");
    assert_eq!(count(&metrics, "direct-main", "ok"), 1, "{metrics}");
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_missing_its_extractor_is_reported_and_retried_when_the_plugin_arrives() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let mut config = config(&testbed, tmp.path(), &plugins);
    config.file.source.truncate(1);
    config.file.source[0].poll = Duration::from_secs(600);
    let server = Server::start(config).await;
    wait_for_count(&server, "direct-main", "extractor-missing").await;

    // Reported with the extractor's name on the source and in /extractors, not only in the log.
    let session = server.live_session().await;
    let streams: serde_json::Value =
        server.get(&format!("/streams?session={session}&all=true")).await.json().await.unwrap();
    let source = &streams["sources"][0];
    assert_eq!(source["id"], "direct-main", "{streams}");
    assert_eq!(source["status"], "failing", "{streams}");
    assert_eq!(source["extractor_loaded"], false, "{streams}");
    assert_eq!(source["error"]["step"], "extractor-missing", "{streams}");
    assert!(source["error"]["message"].as_str().unwrap().contains("\"direct\""), "{streams}");
    let extractors: serde_json::Value = server.get("/extractors").await.json().await.unwrap();
    let row = extractors.as_array().unwrap().iter().find(|r| r["id"] == "direct").expect("a row for direct");
    assert_eq!(row["status"], "missing", "{extractors}");
    assert!(row["error"].as_str().unwrap().contains("direct-main"), "{extractors}");

    // The plugin arrives: the source is retried at once, not after its 600 s poll period.
    std::fs::copy(guest("direct"), plugins.join("direct.wasm")).unwrap();
    wait_for_count(&server, "direct-main", "ok").await;
    let streams: serde_json::Value =
        server.get(&format!("/streams?session={session}&all=true")).await.json().await.unwrap();
    assert_eq!(streams["sources"][0]["status"], "extracted", "{streams}");
    assert_eq!(streams["sources"][0]["extractor_loaded"], true, "{streams}");
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_extraction_wakes_the_health_job() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let mut config = config(&testbed, tmp.path(), &plugins);
    // One full probe round at start, the next ten minutes later: only the wake can probe sooner.
    config.file.health.interval = Duration::from_secs(600);
    config.file.source = vec![common::feed_source(&testbed, "main", Duration::from_secs(600))];
    let server = Server::start(config).await;
    // The first round has nothing to probe: the plugin is not there yet.
    wait_for_count(&server, "tb-main", "extractor-missing").await;
    let session = server.live_session().await;
    let listed = || async {
        let streams: serde_json::Value =
            server.get(&format!("/streams?session={session}")).await.json().await.unwrap();
        streams["streams"].as_array().unwrap().len()
    };
    assert_eq!(listed().await, 0);

    // The plugin arrives, the source is extracted at once, and the stored extraction wakes the
    // health job: the stream is verified live within 30 s, not at the next round in ten minutes.
    std::fs::copy(guest("demo-site"), plugins.join("demo_site.wasm")).unwrap();
    wait_for_count(&server, "tb-main", "ok").await;
    let mut verified = false;
    for _ in 0..300 {
        if listed().await == 1 {
            verified = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(verified, "the stream was not probed after its extraction was stored");
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_grants_let_a_generic_plugin_reach_a_site_for_one_source_only() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("generic-page"), plugins.join("generic_page.wasm")).unwrap();
    let mut config = config(&testbed, tmp.path(), &plugins);
    // A page on the testbed's second origin: in no plugin's own list (generic-page declares none).
    let page = format!("http://{}/pages/video?feed=main", testbed.second_addr());
    let mut granted = source("granted", "generic-page", &[("page", &page)]);
    granted.allow_hosts = vec!["127.0.0.1".into()];
    let denied = source("denied", "generic-page", &[("page", &page)]);
    config.file.source = vec![granted, denied];
    let server = Server::start(config).await;
    wait_for_count(&server, "granted", "ok").await;
    wait_for_count(&server, "denied", "request").await;

    // The refusal names the host and the key that would allow it; each source shows its hosts.
    let session = server.live_session().await;
    let all: serde_json::Value =
        server.get(&format!("/streams?session={session}&all=true")).await.json().await.unwrap();
    let row = |id: &str| all["sources"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    let (granted, denied) = (row("granted"), row("denied"));
    assert_eq!(granted["hosts"], serde_json::json!(["127.0.0.1"]), "{all:#}");
    assert_eq!(
        (&granted["status"], &denied["hosts"]),
        (&"extracted".into(), &serde_json::json!([])),
        "{all:#}"
    );
    let message = denied["error"]["message"].as_str().unwrap();
    assert_eq!(denied["error"]["step"], "request", "{all:#}");
    for needle in ["127.0.0.1", "allow_hosts", "\"denied\""] {
        assert!(message.contains(needle), "{needle} not in {message}");
    }
    // And it plays: the granted source's stream is probed live and served through /live (bounded: 30 s).
    let mut listed = serde_json::Value::Null;
    for _ in 0..300 {
        listed = server.get(&format!("/streams?session={session}")).await.json().await.unwrap();
        if listed["streams"].as_array().is_some_and(|s| !s.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stream = &listed["streams"][0];
    assert_eq!(stream["source"], "granted", "{listed:#}");
    let id = stream["id"].as_str().unwrap();
    let media = server.get(&format!("/live/{id}/720p.m3u8")).await;
    assert_eq!(media.status(), 200);
    assert!(media.text().await.unwrap().contains("/relay/"), "segments go through the relay");
    let extractors: serde_json::Value = server.get("/extractors").await.json().await.unwrap();
    let generic = extractors.as_array().unwrap().iter().find(|e| e["id"] == "generic-page").unwrap();
    assert_eq!(generic["allowed_hosts"], serde_json::json!([]), "{generic:#}");
    assert_eq!(
        generic["sources"],
        serde_json::json!([{"id": "granted", "hosts": ["127.0.0.1"]}, {"id": "denied", "hosts": []}])
    );
    server.stop().await;
    testbed.shutdown().await;
}
