//! The health probe against every testbed fault mode, each failing at its own step, plus HEAD
//! refused (ranged GET fallback) and staleness across two probes.

mod common;

use std::time::Duration;

use common::token_url;

use pitwall::{
    health::probe::{Previous, Prober},
    net::UpstreamGuard,
};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::json;

async fn fault(testbed: &Testbed, feed: &str, mode: &str) {
    common::fault(testbed, json!({"feed": feed, "mode": mode})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_fails_at_its_step() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let guard = UpstreamGuard::new(&[testbed.addr().to_string()]);
    let prober = Prober::new(&guard, Duration::from_secs(10)).unwrap();
    let none = Previous::default();

    let url = token_url(&testbed, "onboard-1").await;
    let ok = prober.probe(&url, &[], &none).await.unwrap();
    assert_eq!(ok.variants.len(), 3);
    assert_eq!(ok.variants[2].resolution.as_deref(), Some("1280x720"));
    assert!(ok.throughput_bps.unwrap() > 0 && ok.live_edge_age_s.is_some());

    for (mode, step, detail) in [
        ("dead", "head", "404"),
        ("403", "head", "403"),
        ("500", "head", "500"),
        ("empty", "empty", "no segments"),
    ] {
        fault(&testbed, "onboard-1", mode).await;
        let e = prober.probe(&url, &[], &none).await.unwrap_err();
        assert_eq!(e.step, step, "{mode}: {e:?}");
        assert!(e.message.contains(detail), "{mode}: {e:?}");
    }

    // Slow answers still pass (bounded by the probe timeout).
    fault(&testbed, "onboard-1", "slow").await;
    assert!(prober.probe(&url, &[], &none).await.is_ok());

    // Stale: the playlist stops moving; the probe after enough time says so.
    fault(&testbed, "onboard-1", "stale").await;
    let first = prober.probe(&url, &[], &none).await.unwrap();
    let earlier =
        Previous { position: first.position.clone(), moved_at: Some(chrono::Utc::now().timestamp() - 60) };
    let e = prober.probe(&url, &[], &earlier).await.unwrap_err();
    assert_eq!(e.step, "stale", "{e:?}");
    fault(&testbed, "onboard-1", "ok").await;
    tokio::time::sleep(Duration::from_millis(2_500)).await; // one segment later
    let moving = prober.probe(&url, &[], &earlier).await.unwrap();
    assert_ne!(moving.position, first.position, "a live playlist moves");

    // A feed that needs a Referer fails without it and passes with it.
    let pitlane = token_url(&testbed, "pitlane").await;
    assert_eq!(prober.probe(&pitlane, &[], &none).await.unwrap_err().step, "head");
    let headers = vec![
        ("Referer".to_string(), format!("{}/demo-tv/watch/pitlane", testbed.url())),
        ("User-Agent".to_string(), "Mozilla/5.0 (pitwall test)".to_string()),
    ];
    assert!(prober.probe(&pitlane, &headers, &none).await.is_ok());
    testbed.shutdown().await;
}

#[tokio::test]
async fn head_refused_falls_back_to_a_ranged_get() {
    use axum::{Router, http::StatusCode, routing::get};
    let playlist =
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2.0,\nseg.ts\n#EXT-X-ENDLIST\n";
    let app = Router::new()
        .route(
            "/live.m3u8",
            get(move || async move { playlist }).head(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        )
        .route("/seg.ts", get(|| async { vec![0x47u8; 188 * 10] }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let prober = Prober::new(&UpstreamGuard::new(&[addr.to_string()]), Duration::from_secs(5)).unwrap();
    let m = prober.probe(&format!("http://{addr}/live.m3u8"), &[], &Previous::default()).await.unwrap();
    assert_eq!(m.position, Some((7, "seg.ts".to_string())));
    assert!(m.throughput_bps.unwrap() > 0);
}
