//! The session URL against the testbed: `/live/session/{session}/…` plays the best live stream
//! and, when that feed dies, goes on with the other one behind the same URL — the media
//! sequence keeps counting, listed segments keep their URIs, and the switch is marked with
//! `EXT-X-DISCONTINUITY`.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{Server, fault};
use pitwall::config::SourceConfig;
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::{Value, json};

/// `(media sequence, discontinuity sequence, [(sequence, path without query, discontinuity)])`.
type Listing = (u64, u64, Vec<(u64, String, bool)>);

fn listing(text: &str) -> Listing {
    let m3u8_rs::Playlist::MediaPlaylist(p) = m3u8_rs::parse_playlist_res(text.as_bytes()).unwrap() else {
        panic!("not a media playlist: {text}")
    };
    let segments = p
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (p.media_sequence + i as u64, s.uri.split('?').next().unwrap().to_string(), s.discontinuity)
        })
        .collect();
    (p.media_sequence, p.discontinuity_sequence, segments)
}

/// Two demo-site sources (`main` with role main, `onboard-1` with role onboard) on the testbed's
/// live session, both listed live.
/// Answers the testbed, the server, its temp dir, the live session and its `/streams` answer.
async fn two_live_sources(health_interval: Duration) -> (Testbed, Server, tempfile::TempDir, String, Value) {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::demo_site_config(&testbed, tmp.path());
    config.file.health.interval = health_interval;
    config.file.source = ["main", "onboard-1"]
        .iter()
        .map(|feed| SourceConfig {
            role: feed.split('-').next().unwrap().into(),
            ..common::feed_source(&testbed, feed, Duration::from_secs(30))
        })
        .collect();
    let server = Server::start(config).await;
    let live = server.live_session().await;
    // Bounded (30 s): both sources extracted and probed live.
    let mut streams = Value::Null;
    for _ in 0..300 {
        streams = server.get(&format!("/streams?session={live}")).await.json().await.unwrap();
        if streams["streams"].as_array().is_some_and(|s| s.len() == 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(streams["streams"].as_array().map(Vec::len), Some(2), "{streams:#}");
    (testbed, server, tmp, live, streams)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variant_reloads_do_not_fetch_the_master_again() {
    // A long health interval: after the first probes, nothing else asks for the master.
    let (testbed, server, _tmp, _live, streams) = two_live_sources(Duration::from_secs(60)).await;
    let masters = || async {
        let v: Value =
            reqwest::get(format!("{}/_control/stats", testbed.url())).await.unwrap().json().await.unwrap();
        v.as_object()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.ends_with("/master.m3u8"))
            .map(|(_, n)| n.as_u64().unwrap())
            .sum::<u64>()
    };
    let id = streams["streams"][0]["id"].as_str().unwrap().to_string();
    let before = masters().await;
    // Spaced past the relay's one-second coalescing of identical playlist fetches.
    for _ in 0..4 {
        assert_eq!(server.get(&format!("/live/{id}/720p.m3u8")).await.status(), 200);
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let after = masters().await;
    assert!(after - before <= 1, "the master was fetched again for variant reloads: {before} → {after}");
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_url_fails_over_when_the_playing_feed_dies() {
    let (testbed, server, _tmp, live, streams) = two_live_sources(Duration::from_secs(2)).await;

    let master = server.get(&format!("/live/session/{live}/master.m3u8")).await;
    assert_eq!(master.status(), 200);
    assert_eq!(master.headers()["content-type"], "application/vnd.apple.mpegurl");
    let master = master.text().await.unwrap();
    let variant = format!("/live/session/{live}/720p.m3u8");
    assert!(master.contains(&variant), "{master}");
    assert!(master.contains("RESOLUTION=1280x720"), "{master}");

    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let mut last_sequence = 0;
    let mut check = |text: &str| -> Listing {
        let l = listing(text);
        assert!(l.0 >= last_sequence, "the media sequence went back from {last_sequence} to {}", l.0);
        last_sequence = l.0;
        assert!(l.2.windows(2).all(|w| w[1].0 == w[0].0 + 1));
        for (seq, path, _) in &l.2 {
            if let Some(before) = seen.insert(*seq, path.clone()) {
                assert_eq!(&before, path, "segment {seq} changed its URI");
            }
        }
        l
    };
    let first = server.get(&variant).await.text().await.unwrap();
    assert!(!first.contains("token="), "URIs go through the relay: {first}");
    check(&first);

    // The session plays a main feed first, whatever the ranking says; `/streams` names the roles.
    let roles: BTreeMap<&str, &str> = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["source"].as_str().unwrap(), s["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, BTreeMap::from([("tb-main", "main"), ("tb-onboard-1", "onboard")]));
    let status: Value = server.get(&format!("/live/session/{live}/status")).await.json().await.unwrap();
    assert_eq!(status["playing"]["source"], "tb-main", "{status:#}");
    assert_eq!(
        (&status["playing"]["label"], &status["playing"]["role"]),
        (&json!("Feed main"), &json!("main"))
    );
    assert_eq!(status["switches"], json!([]), "starting to play is not a switch");
    let playing = "main";
    fault(&testbed, json!({"feed": playing, "mode": "dead"})).await;
    // Bounded (60 s): the session goes on with the other feed, marked as a discontinuity. (The
    // testbed's feeds have discontinuities of their own, at each loop of their media: the status
    // says when the switch happened.)
    let discontinuities = |l: &Listing| l.1 + l.2.iter().filter(|(.., d)| *d).count() as u64;
    let before = check(&server.get(&variant).await.text().await.unwrap());
    let mut switched_at = None;
    for _ in 0..120 {
        let listing = check(&server.get(&variant).await.text().await.unwrap());
        let status: Value = server.get(&format!("/live/session/{live}/status")).await.json().await.unwrap();
        if status["playing"]["source"] == "tb-onboard-1" {
            assert!(discontinuities(&listing) > discontinuities(&before), "a switch without a discontinuity");
            switched_at = listing.2.last().map(|(seq, ..)| *seq);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let switched_at = switched_at.expect("the session never switched streams");
    let status: Value = server.get(&format!("/live/session/{live}/status")).await.json().await.unwrap();
    assert_eq!(status["playing"]["source"], "tb-onboard-1", "{status:#}");
    let switches = status["switches"].as_array().unwrap();
    assert_eq!(switches.len(), 1, "{status:#}");
    assert_eq!(
        (&switches[0]["from_label"], &switches[0]["to_label"]),
        (&json!("Feed main"), &json!("Feed onboard-1"))
    );
    assert!(switches[0]["reason"].as_str().unwrap().contains("404"), "{status:#}");
    assert_eq!(status["playing"]["since"], switches[0]["at"]);
    // It keeps advancing on the other feed: new segments after the switch (bounded: 30 s).
    let mut advanced = false;
    for _ in 0..60 {
        let (_, _, segments) = check(&server.get(&variant).await.text().await.unwrap());
        if segments.last().is_some_and(|(seq, ..)| *seq > switched_at) {
            advanced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(advanced, "the session did not advance after the switch");
    // A quality that no stream of this session has is a 404; a session without streams is a 503.
    assert_eq!(server.get(&format!("/live/session/{live}/banana.m3u8")).await.status(), 404);
    assert_eq!(server.get("/live/session/1999-01-race/720p.m3u8").await.status(), 503);
    let nothing: Value = server.get("/live/session/1999-01-race/status").await.json().await.unwrap();
    assert_eq!(nothing, json!({"session": "1999-01-race", "playing": null, "switches": []}));

    // The original comes back and ranks again: the session does not switch back while the
    // current stream plays (bounded: 60 s for the board to list main again).
    fault(&testbed, json!({"feed": playing, "mode": "ok"})).await;
    let mut back = false;
    for _ in 0..120 {
        let listed: Value = server.get(&format!("/streams?session={live}")).await.json().await.unwrap();
        if listed["streams"].as_array().unwrap().iter().any(|s| s["source"] == "tb-main") {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(back, "main was never listed live again");
    for _ in 0..3 {
        check(&server.get(&variant).await.text().await.unwrap());
    }
    let status: Value = server.get(&format!("/live/session/{live}/status")).await.json().await.unwrap();
    assert_eq!(
        status["playing"]["source"], "tb-onboard-1",
        "switched back to a stream that ranks higher: {status:#}"
    );
    assert_eq!(status["switches"].as_array().map(Vec::len), Some(1), "{status:#}");
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_playlist_brings_a_new_extraction_at_once() {
    let (testbed, server, _tmp, _live, streams) = two_live_sources(Duration::from_secs(60)).await;
    let main = streams["streams"].as_array().unwrap().iter().find(|s| s["source"] == "tb-main").unwrap();
    let id = main["id"].as_str().unwrap().to_string();
    let before = extractions_ok(&server, "tb-main").await;
    fault(&testbed, json!({"feed": "main", "mode": "403"})).await;
    // The CDN refuses the token: pitwall extracts again at once (the poll period is 30 s), retries
    // with the new candidate, and answers the refusal when that is refused too.
    let answer = server.get(&format!("/live/{id}/720p.m3u8")).await;
    assert_eq!(answer.status(), 403);
    let after = extractions_ok(&server, "tb-main").await;
    assert!(after > before, "no extraction after the refusal ({before} → {after})");
    fault(&testbed, json!({"feed": "main", "mode": "ok"})).await;
    assert_eq!(server.get(&format!("/live/{id}/720p.m3u8")).await.status(), 200);
    server.stop().await;
    testbed.shutdown().await;
}

/// Successful extractions of `source` so far (`pitwall_extractions_total{outcome="ok"}`).
async fn extractions_ok(server: &Server, source: &str) -> u64 {
    server
        .metrics()
        .await
        .lines()
        .filter(|l| {
            l.starts_with("pitwall_extractions_total{") && l.contains(&format!("source=\"{source}\""))
        })
        .filter(|l| l.contains("outcome=\"ok\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The relay URIs of a media playlist's segments.
fn segment_uris(text: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with("/relay/")).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_segments_move_the_session_on_while_the_playlist_still_answers() {
    // A long health interval: the probe (which reads playlists) does not decide this.
    let (testbed, server, _tmp, live, _streams) = two_live_sources(Duration::from_secs(60)).await;
    let variant = format!("/live/session/{live}/720p.m3u8");
    let first = server.get(&variant).await.text().await.unwrap();
    let status: Value = server.get(&format!("/live/session/{live}/status")).await.json().await.unwrap();
    assert_eq!(status["playing"]["source"], "tb-main", "{status:#}");
    fault(&testbed, json!({"feed": "main", "mode": "segments-404"})).await;
    // Viewers' segment requests fail: two are not enough to leave the stream, three are.
    let uris = segment_uris(&first);
    assert!(uris.len() >= 3, "{first}");
    let playing = || async {
        server.get(&variant).await.text().await.unwrap();
        let status: Value = server.get(&format!("/live/session/{live}/status")).await.json().await.unwrap();
        status
    };
    for (i, uri) in uris.iter().take(3).enumerate() {
        assert_eq!(server.get(uri).await.status(), 404, "segment {i}");
        if i == 1 {
            let status = playing().await;
            assert_eq!(status["playing"]["source"], "tb-main", "switched after two failures: {status:#}");
        }
    }
    let status = playing().await;
    assert_eq!(status["playing"]["source"], "tb-onboard-1", "not switched after three failures: {status:#}");
    let reason = status["switches"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("segments: upstream answered HTTP 404"), "{reason}");
    fault(&testbed, json!({"feed": "main", "mode": "ok"})).await;
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playlist_that_stops_advancing_moves_the_session_on() {
    // A long health interval: the probe (which also judges staleness) does not decide this.
    let (testbed, server, _tmp, live, _streams) = two_live_sources(Duration::from_secs(60)).await;
    let variant = format!("/live/session/{live}/720p.m3u8");
    let status_url = format!("/live/session/{live}/status");
    server.get(&variant).await.text().await.unwrap();
    let status: Value = server.get(&status_url).await.json().await.unwrap();
    assert_eq!(status["playing"]["source"], "tb-main", "{status:#}");
    // The main feed's playlist keeps answering 200 with the same segments.
    fault(&testbed, json!({"feed": "main", "mode": "stale"})).await;
    // Bounded (60 s; staleness is three target durations): a player reloading the playlist is
    // moved to the other feed, and the log says why.
    let mut status = Value::Null;
    for _ in 0..120 {
        assert_eq!(server.get(&variant).await.status(), 200);
        status = server.get(&status_url).await.json().await.unwrap();
        if status["playing"]["source"] != "tb-main" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(status["playing"]["source"], "tb-onboard-1", "never left the frozen feed: {status:#}");
    let switches = status["switches"].as_array().unwrap();
    assert_eq!(switches.len(), 1, "{status:#}");
    assert_eq!(switches[0]["from_label"], "Feed main", "{status:#}");
    assert_eq!(switches[0]["reason"], "stopped advancing", "{status:#}");
    fault(&testbed, json!({"feed": "main", "mode": "ok"})).await;
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_segment_brings_a_new_extraction_at_once() {
    let (testbed, server, _tmp, _live, streams) = two_live_sources(Duration::from_secs(60)).await;
    let main = streams["streams"].as_array().unwrap().iter().find(|s| s["source"] == "tb-main").unwrap();
    let id = main["id"].as_str().unwrap().to_string();
    let playlist = server.get(&format!("/live/{id}/720p.m3u8")).await.text().await.unwrap();
    let before = extractions_ok(&server, "tb-main").await;
    fault(&testbed, json!({"feed": "main", "mode": "segments-403"})).await;
    let uri = segment_uris(&playlist).pop().unwrap();
    assert_eq!(server.get(&uri).await.status(), 403);
    // The poll period is 30 s; the refusal brings an extraction within one call (bounded: 20 s).
    let mut after = before;
    for _ in 0..200 {
        after = extractions_ok(&server, "tb-main").await;
        if after > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(after > before, "no extraction after a refused segment ({before} → {after})");
    fault(&testbed, json!({"feed": "main", "mode": "ok"})).await;
    server.stop().await;
    testbed.shutdown().await;
}
