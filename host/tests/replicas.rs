//! Two replicas (issue #19): two real `pitwall` processes on one Redis, with one `--relay-key`,
//! the same sources and one testbed. A viewer alternates between them — master from A, media
//! playlists from A and B in turn, segments from A and B in turn — on a `/live/{stream}` URL and
//! on the session URL. Every answer is 200, segments carry the testbed's bytes, a media sequence
//! number never goes backwards and always names the same segment whichever replica answers, and
//! only one replica extracts (the poll lock holder), so upstream load is not doubled; a refused
//! token seen by the other replica reaches the one that extracts.

mod common;

use std::{collections::BTreeMap, path::Path, time::Duration};

use common::{Binary, guest, test_redis};
use pitwall_testbed::{Testbed, TestbedConfig, media::feed_by_name};
use serde_json::Value;

const RELAY_KEY: &str = "replicas-test-relay-key-0123456789abcdef";
/// Reloads of each media playlist the viewer makes, alternating replicas.
const RELOADS: usize = 6;

/// The TOML both replicas read: the testbed's schedule (season 9999, a race live now) and two
/// demo-site sources, `main` (role main, which the session URL plays) and `onboard-1`.
fn config_file(testbed: &Testbed, dir: &Path) -> std::path::PathBuf {
    let url = testbed.url();
    let mut text = format!(
        "[schedule]\njolpica_url = \"{url}/jolpica/ergast/f1\"\nopenf1_url = \"{url}/openf1/v1\"\nseason = 9999\n\n\
         [extractors]\npoll = \"200ms\"\n\n[health]\ninterval = \"2s\"\n"
    );
    for (feed, role) in [("main", "main"), ("onboard-1", "onboard")] {
        text.push_str(&format!(
            "\n[[source]]\nid = \"tb-{feed}\"\nextractor = \"demo-site\"\nlabel = \"Feed {feed}\"\nrole = \"{role}\"\npoll = \"30s\"\nsettings = {{ page = \"{url}/demo-tv/watch/{feed}\" }}\n"
        ));
    }
    let path = dir.join("pitwall.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn get(url: &str) -> (u16, bytes::Bytes) {
    let response = reqwest::get(url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (response.status().as_u16(), response.bytes().await.unwrap())
}

async fn get_ok(url: &str) -> bytes::Bytes {
    let (status, body) = get(url).await;
    assert_eq!(status, 200, "GET {url}: {}", String::from_utf8_lossy(&body));
    body
}

async fn json(url: &str) -> Value {
    serde_json::from_slice(&get_ok(url).await).unwrap()
}

/// Extraction attempts a replica counted (`pitwall_extractions_total`, every outcome).
async fn extractions(base: &str) -> u64 {
    let text = String::from_utf8(get_ok(&format!("{base}/metrics")).await.to_vec()).unwrap();
    text.lines()
        .filter(|l| l.starts_with("pitwall_extractions_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// `(media sequence, [(sequence, file name)])` of a media playlist.
fn listing(text: &str) -> (u64, Vec<(u64, String)>) {
    let m3u8_rs::Playlist::MediaPlaylist(p) = m3u8_rs::parse_playlist_res(text.as_bytes()).unwrap() else {
        panic!("not a media playlist: {text}")
    };
    let segments =
        p.segments.iter().enumerate().map(|(i, s)| (p.media_sequence + i as u64, s.uri.clone())).collect();
    (p.media_sequence, segments)
}

/// What the viewer saw of one media playlist URL across both replicas.
struct Playback {
    /// Output sequence → segment URI path (without `?t=`), as first listed by either replica.
    named: BTreeMap<u64, String>,
    last_media_sequence: u64,
    segments_fetched: usize,
    /// Reloads whose media sequence was lower than the one before (the other replica's).
    rewinds: Vec<String>,
}

/// Plays `path` (a master, fetched from `replicas[0]`) for [`RELOADS`] reloads that bring a new
/// segment, alternating replicas for every playlist and every segment. `feed` is the testbed
/// feed whose 720p bytes the segments must carry. Before that, A alone serves the media playlist
/// until the live edge moves, so B first reads it at least one segment later than A did (as a
/// replica that other viewers reached at another time).
async fn alternate(replicas: [&str; 2], master_path: &str, feed: &str) -> Playback {
    let master = String::from_utf8(get_ok(&format!("{}{master_path}", replicas[0])).await.to_vec()).unwrap();
    let variant = common::uris(&master)
        .into_iter()
        .find(|u| u.contains("720p"))
        .unwrap_or_else(|| panic!("no 720p variant in {master}"));
    let variant = variant.split('?').next().unwrap().to_string();
    let expected = &feed_by_name(feed).unwrap().variants[2];
    assert_eq!(expected.label, "720p");
    let mut seen =
        Playback { named: BTreeMap::new(), last_media_sequence: 0, segments_fetched: 0, rewinds: Vec::new() };
    let last_on_a = |text: &str| listing(text).1.last().map(|(seq, _)| *seq);
    let first = String::from_utf8(get_ok(&format!("{}{variant}", replicas[0])).await.to_vec()).unwrap();
    // Bounded: 2 s segments, so the edge moves within 10 s.
    for _ in 0..50 {
        let text = String::from_utf8(get_ok(&format!("{}{variant}", replicas[0])).await.to_vec()).unwrap();
        if last_on_a(&text) > last_on_a(&first) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut turn = 1; // the first alternating media playlist comes from B
    let mut fetched_up_to: Option<u64> = None;
    let mut reloads = 0;
    // Bounded: each reload waits at most 10 s for a new segment (2 s segments).
    let deadline = std::time::Instant::now() + Duration::from_secs(10 * RELOADS as u64 + 10);
    while reloads < RELOADS {
        assert!(std::time::Instant::now() < deadline, "{master_path}: no new segments; saw {:?}", seen.named);
        let replica = replicas[turn % 2];
        turn += 1;
        let text = String::from_utf8(get_ok(&format!("{replica}{variant}")).await.to_vec()).unwrap();
        let (media_sequence, segments) = listing(&text);
        // Collected, not asserted at once, so one run shows every URL's rewinds.
        if media_sequence < seen.last_media_sequence {
            seen.rewinds.push(format!(
                "{master_path}: media sequence went back from {} to {media_sequence} on {replica}",
                seen.last_media_sequence
            ));
        }
        seen.last_media_sequence = seen.last_media_sequence.max(media_sequence);
        for (seq, uri) in &segments {
            let path = uri.split('?').next().unwrap().to_string();
            let first = seen.named.entry(*seq).or_insert_with(|| path.clone());
            assert_eq!(
                *first, path,
                "{master_path}: sequence {seq} names another segment on {replica} than before:\n{text}"
            );
        }
        let new: Vec<&(u64, String)> =
            segments.iter().filter(|(seq, _)| fetched_up_to.is_none_or(|f| *seq > f)).collect();
        if new.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        reloads += 1;
        // The live edge, three back on the first load (as hls.js starts), then each new one once.
        let skip = if fetched_up_to.is_none() { new.len().saturating_sub(3) } else { 0 };
        for (seq, uri) in new.into_iter().skip(skip) {
            let replica = replicas[turn % 2];
            turn += 1;
            let body = get_ok(&format!("{replica}{uri}")).await;
            let file = uri.split('?').next().unwrap().rsplit('/').next().unwrap();
            let upstream_seq: u64 = file
                .strip_prefix("seg-")
                .and_then(|f| f.strip_suffix(".ts"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("relay file {file:?} is not a testbed segment"));
            let want = expected.segments[(upstream_seq % 3) as usize];
            assert!(
                body.as_ref() == want,
                "{master_path}: segment {seq} ({file}) from {replica}: {} bytes, not the testbed's {}",
                body.len(),
                want.len()
            );
            fetched_up_to = Some(*seq);
            seen.segments_fetched += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_alternating_between_two_replicas_plays_on_and_upstream_load_is_not_doubled() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let redis = test_redis();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("demo-site"), plugins.join("demo_site.wasm")).unwrap();
    let config = config_file(&testbed, tmp.path());
    let allow = format!("{},{}", testbed.addr(), testbed.second_addr());
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--redis-url",
        &redis.url,
        "--relay-key",
        RELAY_KEY,
        "--plugins-dir",
        plugins.to_str().unwrap(),
        "--allow-upstream",
        &allow,
    ];
    let a = Binary::start(&args, &tmp.path().join("a"));
    let b = Binary::start(&args, &tmp.path().join("b"));
    let replicas = [a.url.as_str(), b.url.as_str()];

    // Bounded (90 s: cold plugin compile, extraction, probes): both replicas list both streams.
    let schedule = json(&format!("{}/schedule", a.url)).await;
    let session = common::live_session_in(&schedule);
    let mut streams = Value::Null;
    for _ in 0..450 {
        let listed = |v: &Value| v["streams"].as_array().map_or(0, Vec::len);
        let on_a = json(&format!("{}/streams?session={session}", a.url)).await;
        let on_b = json(&format!("{}/streams?session={session}", b.url)).await;
        if listed(&on_a) == 2 && listed(&on_b) == 2 {
            streams = on_b;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        streams["streams"].as_array().map(Vec::len),
        Some(2),
        "both replicas list both streams; log of A:\n{}\nlog of B:\n{}",
        a.log(),
        b.log()
    );
    let main = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "tb-main")
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_string();

    let live = alternate(replicas, &format!("/live/{main}/master.m3u8"), "main").await;
    assert!(live.segments_fetched >= RELOADS, "{} segments", live.segments_fetched);
    let session_url = alternate(replicas, &format!("/live/session/{session}/master.m3u8"), "main").await;
    assert!(session_url.segments_fetched >= RELOADS, "{} segments", session_url.segments_fetched);

    // Upstream load: one replica (the poll lock holder) extracted, the other never did, and the
    // site saw exactly the extractions counted. Bounded: an extraction may be in flight between
    // the site's count and the replica's, so the two are read until they agree (at most 10 s).
    let mut last = String::new();
    for _ in 0..50 {
        let counts = [extractions(&a.url).await, extractions(&b.url).await];
        let stats = json(&format!("{}/_control/stats", testbed.url())).await;
        let watched: u64 = ["main", "onboard-1"]
            .iter()
            .filter_map(|feed| stats[format!("/demo-tv/watch/{feed}")].as_u64())
            .sum();
        assert_eq!(
            counts.iter().filter(|&&n| n > 0).count(),
            1,
            "exactly one replica extracts: A {} and B {}",
            counts[0],
            counts[1]
        );
        if watched == counts[0] + counts[1] {
            last.clear();
            break;
        }
        last =
            format!("site saw {watched} extractions, replicas counted A {} and B {}", counts[0], counts[1]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(last.is_empty(), "{last}");

    // Each replica answers a playlist from its own copy of the upstream's for up to the relay's
    // playlist coalescing period, so without a shared copy one may answer a version older than
    // the other just did.
    let rewinds: Vec<&String> = live.rewinds.iter().chain(&session_url.rewinds).collect();
    assert!(rewinds.is_empty(), "a viewer alternating between replicas saw playlists go back: {rewinds:#?}");

    // A refused token seen by the replica that does not poll reaches the one that does: the CDN
    // refuses `main`, a viewer on the other replica asks for it, and the polling replica extracts
    // again at once (the sources' poll period is 30 s).
    let counts = [extractions(&a.url).await, extractions(&b.url).await];
    let (leader, other) = if counts[0] > 0 { (&a, &b) } else { (&b, &a) };
    let before = extractions(&leader.url).await;
    let fault = |mode: &'static str| {
        let url = format!("{}/_control/fault", testbed.url());
        async move {
            let sent =
                reqwest::Client::new().post(url).json(&serde_json::json!({"feed": "main", "mode": mode}));
            assert!(sent.send().await.unwrap().status().is_success());
        }
    };
    fault("403").await;
    // Bounded: the playlist that replica fetched within the last second still answers until
    // its copy expires.
    let mut status = 0;
    for _ in 0..50 {
        status = get(&format!("{}/live/{main}/720p.m3u8", other.url)).await.0;
        if status == 403 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 403, "the refusal is answered once the new token is refused too");
    assert!(
        other.log().contains("asking the polling replica to extract again"),
        "the replica that saw the refusal handed it over:\n{}",
        other.log()
    );
    // Only a handed-over request makes the polling replica say this: no viewer asks it anything.
    let taken = "an upstream refused the stream; extracting again now";
    let mut after = before;
    for _ in 0..50 {
        after = extractions(&leader.url).await;
        if after > before && leader.log().contains(taken) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        after > before && leader.log().contains(taken),
        "the polling replica did not take the request ({before} → {after} extractions):\n{}",
        leader.log()
    );
    assert_eq!(extractions(&other.url).await, 0, "the replica that saw the refusal did not extract itself");
    fault("ok").await;
}
