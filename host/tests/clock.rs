//! One clock for every judgement of time: moved forward, the schedule, the stream list and the
//! channel list agree that the session is over (`run_with_clock` with a `ManualClock`).

mod common;

use std::{sync::Arc, time::Duration};

use common::Server;
use pitwall::{config::SourceConfig, schedule::ManualClock};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_clock_moves_every_judgement_of_time() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::demo_site_config(&testbed, tmp.path());
    config.file.source = vec![SourceConfig {
        label: "Main".into(),
        poll: Duration::from_secs(30),
        ..common::feed_source(&testbed, "main", Duration::from_secs(30))
    }];
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let server = Server::start_with_clock(config, clock.clone()).await;
    let live = server.live_session().await;
    // Bounded (30 s): the stream is extracted, probed and listed.
    let mut listed = 0;
    for _ in 0..300 {
        let streams: Value = server.get(&format!("/streams?session={live}")).await.json().await.unwrap();
        listed = streams["streams"].as_array().map_or(0, Vec::len);
        if listed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed, 1, "the stream was never listed");
    assert!(server.get("/channels.m3u").await.text().await.unwrap().contains(&format!("pitwall.{live}\"")));

    // Five hours later by the server's clock, and nothing else changed.
    clock.advance(chrono::Duration::hours(5));
    let schedule: Value = server.get("/schedule").await.json().await.unwrap();
    let status = schedule["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["sessions"].as_array().unwrap().iter())
        .find(|s| s["id"] == live.as_str())
        .map(|s| s["status"].clone());
    assert_eq!(status, Some("past".into()), "the schedule still calls it live");
    let streams: Value = server.get(&format!("/streams?session={live}")).await.json().await.unwrap();
    assert_eq!(streams["streams"], serde_json::json!([]), "a stream last verified 5 h ago is still listed");
    let all: Value = server.get(&format!("/streams?session={live}&all=true")).await.json().await.unwrap();
    assert_eq!(all["streams"].as_array().map(Vec::len), Some(1), "all=true still shows what is known");
    assert!(!server.get("/channels.m3u").await.text().await.unwrap().contains(&format!("pitwall.{live}\"")));
    server.stop().await;
    testbed.shutdown().await;
}
