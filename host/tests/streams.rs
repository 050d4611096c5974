//! `/streams` and `/live` against the testbed with two demo-site sources on the live session:
//! both listed with quality and timings, a dead feed drops out of the default answer within a
//! health interval and shows its failed step with `all=true`, then comes back when the fault
//! clears; `/live` keeps serving through the stable URL.

mod common;

use std::time::Duration;

use common::guest;

use pitwall::{Config, config::SeasonSetting};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::{Value, json};
use tokio::sync::oneshot;

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Polls `url` until `check` holds; bounded to 40 s.
async fn wait_for(url: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let v = get(url).await;
        if check(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}: {:#}", get(url).await);
}

fn ids(v: &Value) -> Vec<String> {
    v["streams"].as_array().unwrap().iter().map(|s| s["source"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_streams_drop_out_and_come_back() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("demo-site"), plugins.join("demo_site.wasm")).unwrap();
    let mut config = Config::for_tests(&tmp.path().join("data"));
    config.flags.allow_upstream = vec![testbed.addr().to_string()];
    config.flags.plugins_dir = plugins;
    config.flags.drain_timeout = Duration::from_secs(1);
    config.file.extractors.poll = Duration::from_millis(200);
    config.file.health.interval = Duration::from_secs(2);
    config.file.schedule.jolpica_url = format!("{}/jolpica/ergast/f1", testbed.url());
    config.file.schedule.openf1_url = format!("{}/openf1/v1", testbed.url());
    config.file.schedule.season = SeasonSetting::Year(9999);
    config.file.source = ["main", "onboard-1"]
        .iter()
        .map(|feed| common::feed_source(&testbed, feed, Duration::from_secs(2)))
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(pitwall::run(config, listener, async {
        let _ = stopped.await;
    }));

    let schedule = get(&format!("{url}/schedule")).await;
    let live = schedule["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["sessions"].as_array().unwrap().iter())
        .find(|s| s["status"] == "live")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let streams_url = format!("{url}/streams?session={live}");
    let both =
        wait_for(&streams_url, "two live streams", |v| v["streams"].as_array().is_some_and(|s| s.len() == 2))
            .await;
    for s in both["streams"].as_array().unwrap() {
        assert_eq!(s["status"], "live");
        assert_eq!(s["site"], "Demo TV");
        assert_eq!(s["resolution"], "1280x720");
        assert!(s["bandwidth"].as_u64().unwrap() > 0);
        assert!(s["latency_ms"].is_u64());
        assert!(s["last_checked"].as_str().unwrap().ends_with('Z'));
        assert_eq!(s["variants"].as_array().unwrap().len(), 3);
        assert!(s["url"].as_str().unwrap().starts_with("/live/st_"));
    }
    let main = both["streams"].as_array().unwrap().iter().find(|s| s["source"] == "tb-main").unwrap().clone();
    let master = reqwest::get(format!("{url}{}", main["url"].as_str().unwrap())).await.unwrap();
    assert_eq!(master.status(), 200);
    let text = master.text().await.unwrap();
    assert!(text.contains(&format!("/live/{}/720p.m3u8", main["id"].as_str().unwrap())), "{text}");
    // Segment URIs stay the same across playlist reloads (only their sealed query changes).
    let variant = format!("{url}/live/{}/720p.m3u8", main["id"].as_str().unwrap());
    let paths = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("/relay/"))
            .map(|l| l.split('?').next().unwrap().to_string())
            .collect()
    };
    let first = paths(reqwest::get(&variant).await.unwrap().text().await.unwrap());
    let second = paths(reqwest::get(&variant).await.unwrap().text().await.unwrap());
    assert!(first.len() >= 3);
    assert!(first.iter().skip(1).all(|p| second.contains(p)), "{first:?} vs {second:?}");
    let one: Value = get(&format!("{url}/streams/{}?variant=540p", main["id"].as_str().unwrap())).await;
    assert_eq!(one["url"], format!("/live/{}/540p.m3u8", main["id"].as_str().unwrap()));

    let fault = |mode: &str| {
        let body = json!({"feed": "main", "mode": mode});
        let url = format!("{}/_control/fault", testbed.url());
        async move {
            assert!(reqwest::Client::new().post(url).json(&body).send().await.unwrap().status().is_success())
        }
    };
    fault("dead").await;
    let after = wait_for(&streams_url, "main to drop out", |v| ids(v) == ["tb-onboard-1"]).await;
    assert_eq!(after["streams"][0]["status"], "live");
    // The two answers agree: out of the default list means not "live" in the full one.
    let all = get(&format!("{streams_url}&all=true")).await;
    let main_now = all["streams"].as_array().unwrap().iter().find(|s| s["source"] == "tb-main").unwrap();
    assert!(main_now["status"] == "failing" || main_now["status"] == "dead", "{main_now}");
    assert!(main_now["error"]["step"].is_string(), "{main_now}");
    let all = wait_for(&format!("{streams_url}&all=true"), "main to be dead", |v| {
        v["streams"].as_array().unwrap().iter().any(|s| s["source"] == "tb-main" && s["status"] == "dead")
    })
    .await;
    let dead = all["streams"].as_array().unwrap().iter().find(|s| s["source"] == "tb-main").unwrap();
    assert_eq!(dead["status"], "dead");
    assert!(
        dead["error"]["step"].is_string() && dead["error"]["message"].as_str().unwrap().contains("404"),
        "{dead}"
    );
    assert_eq!(ids(&all).last().unwrap(), "tb-main", "dead streams rank last");

    fault("ok").await;
    wait_for(&streams_url, "main to come back", |v| ids(v).len() == 2).await;

    // A slow upstream (every answer 2 s late) stretches probe rounds past the 2 s interval:
    // main stays listed the whole time (sampled for 12 s, about four rounds).
    fault("slow").await;
    for _ in 0..48 {
        let v = get(&streams_url).await;
        assert!(ids(&v).contains(&"tb-main".to_string()), "a slow but healthy stream blinked out: {v:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    fault("ok").await;

    // A failing refresh is reported on its streams, which keep serving the last good upstream.
    let site_fault = json!({"site": "demo-tv", "mode": "no-url"});
    let control = format!("{}/_control/fault", testbed.url());
    assert!(
        reqwest::Client::new().post(&control).json(&site_fault).send().await.unwrap().status().is_success()
    );
    let failing = wait_for(&streams_url, "refresh errors", |v| {
        let streams = v["streams"].as_array().unwrap();
        // Non-empty: `all` of no streams would pass before any refresh was tried.
        !streams.is_empty() && streams.iter().all(|s| s["token"]["refresh_error"]["step"] == "url-extraction")
    })
    .await;
    assert_eq!(ids(&failing).len(), 2, "streams stay live while their refresh fails");
    let site_ok = json!({"site": "demo-tv", "mode": "ok"});
    assert!(reqwest::Client::new().post(&control).json(&site_ok).send().await.unwrap().status().is_success());

    let missing = reqwest::get(format!("{url}/streams")).await.unwrap();
    assert_eq!(missing.status(), 400);
    let unknown = reqwest::get(format!("{url}/live/st_000000000000/master.m3u8")).await.unwrap();
    assert_eq!(unknown.status(), 404);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    testbed.shutdown().await;
}
