//! Schedule against the testbed: full seasons through `/schedule`, paging, source fallback,
//! bad data never replacing good data, restart from disk with sources down, the cron job, and
//! source errors that never show a secret of the source URL.

mod common;

use std::{str::FromStr, sync::Arc, time::Duration};

use common::{LogCapture, Server};

use pitwall::{
    Config,
    config::SeasonSetting,
    jobs::Backoff,
    net::UpstreamGuard,
    schedule::{
        ScheduleService, SystemClock,
        sources::{Jolpica, OpenF1, ScheduleSource},
    },
};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::{Value, json};

fn config(testbed: &Testbed, data: &std::path::Path, season: SeasonSetting) -> Config {
    let mut config = common::config(testbed, data);
    config.file.schedule.season = season;
    config
}

async fn control(testbed: &Testbed, body: Value) {
    common::fault(testbed, body).await;
}

async fn stats(testbed: &Testbed) -> Value {
    reqwest::get(format!("{}/_control/stats", testbed.url())).await.unwrap().json().await.unwrap()
}

fn kinds(event: &Value) -> Vec<&str> {
    event["sessions"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn full_seasons_through_the_api() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(config(&testbed, data.path(), SeasonSetting::Year(2026))).await;

    // The bundled snapshot answers at once; the refresh at start replaces it within moments.
    for _ in 0..100 {
        let text = server.get("/schedule?season=2026").await.text().await.unwrap();
        if !text.contains("\"source\":\"snapshot\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = server.get("/schedule?season=2026").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["season"], 2026);
    assert_eq!(body["source"], "jolpica");
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 23);
    let sepang = &events[15];
    assert_eq!(sepang["round"], 16);
    assert_eq!(sepang["name"], "Bahrain Grand Prix in Malaysia");
    assert_eq!(sepang["circuit"]["timezone"], "Asia/Kuala_Lumpur");
    let miami = events.iter().find(|e| e["circuit"]["id"] == "miami").unwrap();
    let race = miami["sessions"].as_array().unwrap().iter().find(|s| s["kind"] == "race").unwrap();
    assert_eq!(race["start"], "2026-05-03T17:00:00Z");
    let fp1 = &miami["sessions"][0];
    assert_eq!(
        (fp1["start"].as_str(), fp1["end"].as_str()),
        (Some("2026-05-01T16:00:00Z"), Some("2026-05-01T17:30:00Z"))
    );
    let allowed = ["fp1", "fp2", "fp3", "sprint_qualifying", "sprint", "qualifying", "race"];
    for event in events {
        for session in event["sessions"].as_array().unwrap() {
            assert!(allowed.contains(&session["kind"].as_str().unwrap()), "{session}");
            assert!(session["start"].as_str().unwrap().ends_with('Z'), "{session}");
            assert!(["past", "live", "upcoming"].contains(&session["status"].as_str().unwrap()));
        }
    }

    let not_modified = reqwest::Client::new()
        .get(format!("{}/schedule?season=2026", server.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    let y2025: Value = server.get("/schedule?season=2025").await.json().await.unwrap();
    let events = y2025["events"].as_array().unwrap();
    assert_eq!(events.len(), 24);
    assert_eq!(events.iter().filter(|e| kinds(e).contains(&"sprint")).count(), 6);

    let y2023: Value = server.get("/schedule?season=2023").await.json().await.unwrap();
    let sq = y2023["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| kinds(e).contains(&"sprint_qualifying"))
        .count();
    assert_eq!(sq, 6, "SprintShootout is sprint_qualifying");

    let y2021: Value = server.get("/schedule?season=2021").await.json().await.unwrap();
    let fp1 = &y2021["events"][0]["sessions"][0];
    assert_eq!(fp1["start"], Value::Null);
    assert!(fp1["date"].as_str().unwrap().starts_with("2021-"), "{fp1}");

    let unknown = server.get("/schedule?season=1951").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    let bad = server.get("/schedule?season=next").await;
    assert_eq!(bad.status(), 400);

    let live: Value = server.get("/schedule?season=9999").await.json().await.unwrap();
    let statuses: Vec<&str> = live["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["sessions"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()))
        .collect();
    assert!(
        statuses.contains(&"live") && statuses.contains(&"past") && statuses.contains(&"upcoming"),
        "{statuses:?}"
    );

    server.stop().await;
    testbed.shutdown().await;
}

fn service(testbed: &Testbed, data: &std::path::Path, page: u32) -> ScheduleService {
    let guard = UpstreamGuard::new(&["127.0.0.1".into()]);
    let client = pitwall::net::client_builder(&guard).build().unwrap();
    let sources: Vec<Box<dyn ScheduleSource>> = vec![
        Box::new(Jolpica::new(
            &format!("{}/jolpica/ergast/f1", testbed.url()),
            client.clone(),
            guard.clone(),
            page,
        )),
        Box::new(OpenF1::new(&format!("{}/openf1/v1", testbed.url()), client, guard)),
    ];
    ScheduleService::new(sources, data.to_path_buf(), Arc::new(SystemClock), Some(2026))
}

#[tokio::test]
async fn pages_of_ten_fallback_and_bad_data_kept_out() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let service = service(&testbed, data.path(), 10);

    let season = service.refresh(2026).await.unwrap();
    assert_eq!(season.events.len(), 23);
    let hits = stats(&testbed).await;
    assert_eq!(hits["/jolpica/ergast/f1/2026.json"], 3, "23 races in pages of 10: {hits}");

    control(&testbed, json!({"source": "jolpica", "mode": "500"})).await;
    let fallback = service.refresh(2026).await.unwrap();
    assert_eq!(fallback.source, "openf1");
    assert_eq!(fallback.events.len(), 23);
    assert_eq!(fallback.events[15].name, "Malaysian Grand Prix", "OpenF1 alone: the bundled circuit name");

    control(&testbed, json!({"source": "jolpica", "mode": "malformed"})).await;
    control(&testbed, json!({"source": "openf1", "mode": "malformed"})).await;
    let before = service.get(2026).unwrap();
    let error = service.refresh(2026).await.unwrap_err();
    assert!(error.to_string().contains("malformed"), "{error}");
    assert_eq!(service.get(2026).unwrap(), before, "failed refresh keeps the data we had");

    control(&testbed, json!({"source": "jolpica", "mode": "ok"})).await;
    control(&testbed, json!({"source": "openf1", "mode": "ok"})).await;
    testbed.shutdown().await;
}

#[tokio::test]
async fn restart_with_sources_down_serves_the_same_body_from_disk() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let config_up = config(&testbed, data.path(), SeasonSetting::Year(2025));
    let server = Server::start(config_up.clone()).await;
    let first = server.get("/schedule?season=2025").await.text().await.unwrap();
    assert!(first.contains("\"source\":\"jolpica\""), "{first}");
    server.stop().await;
    testbed.shutdown().await;

    let server = Server::start(config_up).await;
    // Ready without any source: the schedule comes from disk (plugins take a moment to scan).
    let mut ready = server.get("/readyz").await.status();
    for _ in 0..100 {
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = server.get("/readyz").await.status();
    }
    assert_eq!(ready, 200, "ready from disk with the sources down");
    let second = server.get("/schedule?season=2025").await.text().await.unwrap();
    assert_eq!(first, second);
    server.stop().await;
}

#[tokio::test]
async fn cron_job_refreshes_on_schedule() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let service = Arc::new(service(&testbed, data.path(), 100));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let readiness = pitwall::Readiness::default();
    readiness.register("schedule");
    let job = tokio::spawn(pitwall::jobs::schedule::run(
        service.clone(),
        cron::Schedule::from_str("* * * * * *").unwrap(),
        Backoff { first: Duration::from_millis(100), max: Duration::from_secs(1) },
        readiness.clone(),
        shutdown.clone(),
    ));
    // Bounded wait: at most 15 s for three fetches (one at start, two on cron fires).
    let mut count = 0;
    for _ in 0..150 {
        count = stats(&testbed).await["/jolpica/ergast/f1/2026.json"].as_u64().unwrap_or(0);
        if count >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(count >= 3, "cron fired {count} times");
    assert!(readiness.pending().is_empty());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), job).await.expect("job stops on shutdown").unwrap();
    assert!(service.get(2026).is_some());
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_source_errors_never_show_a_secret_of_the_source_url() {
    const SECRET: &str = "hunter2";
    let log = LogCapture::install();
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut config = config(&testbed, data.path(), SeasonSetting::Year(2026));
    // jolpica answers 500 to a URL with credentials; openf1's URL carries a token in its query
    // and nothing listens on its port.
    control(&testbed, json!({"source": "jolpica", "mode": "500"})).await;
    config.file.schedule.jolpica_url =
        format!("http://pitwall:{SECRET}@{}/jolpica/ergast/f1", testbed.addr());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    config.flags.allow_upstream.push(closed.to_string());
    config.file.schedule.openf1_url = format!("http://{closed}/v1?token={SECRET}");
    let server = Server::start(config).await;

    // Served: the answer names both sources and where they are, without the secrets.
    let response = server.get("/schedule?season=2024").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("answered HTTP 500") && message.contains(&testbed.addr().to_string()),
        "{message}"
    );
    assert!(message.contains(&format!("http://{closed}/v1?token=…")), "{message}");
    assert!(!message.contains(SECRET), "{message}");

    // Logged: the refresh at start failed too (bounded: 30 s), and no line shows a secret.
    log.wait_for("schedule source failed", Duration::from_secs(30)).await;
    let text = log.text();
    assert!(!text.contains(SECRET), "a secret in the log:\n{}", log.lines_with(SECRET).join("\n"));
    control(&testbed, json!({"source": "jolpica", "mode": "ok"})).await;
    server.stop().await;
    testbed.shutdown().await;
}
