//! Black-box tests of the testbed: start it in-process on 127.0.0.1:0 and talk HTTP to it.

use std::io::Read as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pitwall_testbed::{FEEDS, Testbed, TestbedConfig};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};

async fn start() -> Testbed {
    start_with(TestbedConfig::default()).await
}

async fn start_with(config: TestbedConfig) -> Testbed {
    Testbed::start(config).await.expect("testbed starts")
}

fn client() -> reqwest::Client {
    // Raw bytes as the server sends them: no redirects followed, no transparent gunzip.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_gzip()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn text(url: &str) -> (StatusCode, String) {
    let r = client().get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn status(url: &str) -> StatusCode {
    client().get(url).send().await.unwrap().status()
}

async fn master_url(tb: &Testbed, feed: &str) -> String {
    let v: Value = client()
        .get(format!("{}/_control/token?feed={feed}", tb.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["url"].as_str().unwrap().to_owned()
}

async fn fault(tb: &Testbed, body: Value) -> (StatusCode, Value) {
    let r = client().post(format!("{}/_control/fault", tb.url())).json(&body).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

/// Resolves a relative playlist URI against the playlist's URL.
fn resolve(base: &str, uri: &str) -> String {
    if uri.starts_with("http://") {
        return uri.to_owned();
    }
    let path_end = base.find('?').unwrap_or(base.len());
    let dir = &base[..=base[..path_end].rfind('/').unwrap()];
    format!("{dir}{uri}")
}

/// URI lines (not tags) of a playlist, resolved.
fn uris(base: &str, playlist: &str) -> Vec<String> {
    playlist.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(|l| resolve(base, l)).collect()
}

fn tag_value<'a>(playlist: &'a str, tag: &str) -> Option<&'a str> {
    playlist.lines().find_map(|l| l.strip_prefix(tag).and_then(|r| r.strip_prefix(':')))
}

fn media_sequence(playlist: &str) -> u64 {
    tag_value(playlist, "#EXT-X-MEDIA-SEQUENCE").unwrap().parse().unwrap()
}

fn demo_headers(tb: &Testbed) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::REFERER, format!("{}/demo-tv/watch/main", tb.url()).parse().unwrap());
    h.insert(header::USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0".parse().unwrap());
    h
}

/// First media playlist URL and text of `feed` (first variant), following the master.
async fn first_media(tb: &Testbed, feed: &str) -> (String, String) {
    let master = master_url(tb, feed).await;
    let c = client();
    let m = c.get(&master).headers(demo_headers(tb)).send().await.unwrap();
    assert_eq!(m.status(), StatusCode::OK, "{feed} master");
    let media = uris(&master, &m.text().await.unwrap())[0].clone();
    let r = c.get(&media).headers(demo_headers(tb)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{feed} media");
    (media, r.text().await.unwrap())
}

/// Polls `done` every 50 ms until it is true; panics naming `what` after 10 s.
async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The media playlist at `url`, which must answer 200.
async fn fetch_ok(url: &str) -> String {
    let (code, body) = text(url).await;
    assert_eq!(code, StatusCode::OK, "{url}: {body}");
    body
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn master_lists_variants_with_truthful_attributes() {
    let tb = start().await;
    let master = master_url(&tb, "main").await;
    assert!(master.starts_with(&format!("{}/cdn/main/master.m3u8?token=", tb.url())));
    let r = client().get(&master).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/vnd.apple.mpegurl");
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let body = r.text().await.unwrap();
    let token = master.split("token=").nth(1).unwrap();
    for (label, res) in [("360p", "640x360"), ("540p", "960x540"), ("720p", "1280x720")] {
        let inf = body
            .lines()
            .zip(body.lines().skip(1))
            .find(|(_, uri)| uri.starts_with(&format!("{label}/")))
            .map(|(inf, _)| inf)
            .unwrap();
        assert!(inf.contains(&format!("RESOLUTION={res}")), "{inf}");
        assert!(inf.contains("AVERAGE-BANDWIDTH=") && inf.contains("CODECS=\"avc1."));
        // BANDWIDTH is the peak: largest segment of the loop over its 2 s.
        let bandwidth: u64 =
            inf.split("BANDWIDTH=").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        let media_url = resolve(&master, &format!("{label}/index.m3u8?token={token}"));
        let (_, media) = text(&media_url).await;
        let mut peak = 0;
        for seg in uris(&media_url, &media).iter().take(3) {
            let bytes = client().get(seg).send().await.unwrap().bytes().await.unwrap();
            peak = peak.max(bytes.len() as u64 * 8 / 2);
        }
        assert_eq!(bandwidth, peak, "{label}");
    }
    tb.shutdown().await;
}

#[tokio::test]
async fn expired_token_is_refused_on_playlists_and_segments() {
    let tb =
        start_with(TestbedConfig { token_ttl: Duration::from_secs(1), ..TestbedConfig::default() }).await;
    let (media, playlist) = first_media(&tb, "main").await;
    let segment = uris(&media, &playlist).pop().unwrap();
    assert_eq!(status(&segment).await, StatusCode::OK);
    let master = media.replace("360p/index.m3u8", "master.m3u8");
    // Bounded: the 1 s token is refused within 10 s however loaded the machine.
    wait_until("the token expires", async || status(&media).await == StatusCode::FORBIDDEN).await;
    for url in [&master, &media, &segment] {
        let (code, body) = text(url).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{url}");
        assert!(body.contains("token_expired"), "{body}");
    }
}

#[tokio::test]
async fn forged_or_missing_token_is_refused() {
    let tb = start().await;
    let (media, playlist) = first_media(&tb, "main").await;
    let segment = uris(&media, &playlist).pop().unwrap();
    let master = media.replace("360p/index.m3u8", "master.m3u8");
    let strip = |u: &str| u.split('?').next().unwrap().to_owned();
    for url in [&master, &media, &segment] {
        assert_eq!(status(&strip(url)).await, StatusCode::FORBIDDEN, "missing: {url}");
        // A later expiry with the same signature.
        let (head, token) = url.split_once("token=").unwrap();
        let (exp, sig) = token.split_once('.').unwrap();
        let forged = format!("{head}token={}.{sig}", exp.parse::<u64>().unwrap() + 3600);
        assert_eq!(status(&forged).await, StatusCode::FORBIDDEN, "forged: {url}");
        let garbage = format!("{head}token=abc");
        assert_eq!(status(&garbage).await, StatusCode::FORBIDDEN);
        // A valid token for another feed.
        let other = master_url(&tb, "onboard-1").await;
        let other_token = other.split("token=").nth(1).unwrap();
        let swapped = format!("{head}token={other_token}");
        assert_eq!(status(&swapped).await, StatusCode::FORBIDDEN, "other feed: {url}");
    }
}

#[tokio::test]
async fn live_playlist_slides_with_the_clock() {
    let tb = start_with(TestbedConfig { segment_secs: 1, ..TestbedConfig::default() }).await;
    let before = unix_now();
    let (media, first) = first_media(&tb, "main").await;
    let after = unix_now();
    assert_eq!(tag_value(&first, "#EXT-X-TARGETDURATION"), Some("1"));
    assert_eq!(first.matches("#EXTINF:1.000,").count(), 6);
    assert_eq!(first.matches("#EXT-X-PROGRAM-DATE-TIME:").count(), 6);
    assert!(!first.contains("#EXT-X-ENDLIST"));
    let seq = media_sequence(&first);
    // Sequence = floor(now / 1 s) - 6, for a `now` between the two readings of the clock.
    assert!((before - 6..=after - 6).contains(&(seq as i64)), "{seq} for {before}..={after}");
    // The discontinuity sequence counts loop wraps (every 3 segments) and stays small.
    let dseq = |p: &str| -> u64 { tag_value(p, "#EXT-X-DISCONTINUITY-SEQUENCE").unwrap().parse().unwrap() };
    assert!(dseq(&first) < 10_000, "{first}");
    assert!(first.contains("#EXT-X-DISCONTINUITY\n"));
    let mut later = first.clone();
    wait_until("the playlist slides by two segments", async || {
        later = fetch_ok(&media).await;
        media_sequence(&later) >= seq + 2
    })
    .await;
    assert_eq!(
        dseq(&later) - dseq(&first),
        media_sequence(&later) / 3 - seq / 3,
        "one discontinuity per wrap"
    );
    // Every listed segment is served.
    for seg in uris(&media, &later) {
        assert_eq!(status(&seg).await, StatusCode::OK, "{seg}");
    }
    // Segments from the future are not.
    let future = uris(&media, &later)
        .pop()
        .unwrap()
        .replace(&format!("seg-{}", media_sequence(&later) + 5), "seg-99999999999");
    assert_eq!(status(&future).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jolpica_pages_like_jolpica() {
    let tb = start().await;
    let base = format!("{}/jolpica/ergast/f1/2026.json", tb.url());
    let fixtures = [
        include_str!("../fixtures/jolpica-2026-limit10-offset0.json"),
        include_str!("../fixtures/jolpica-2026-limit10-offset10.json"),
        include_str!("../fixtures/jolpica-2026-limit10-offset20.json"),
    ];
    let mut rounds = 0;
    for (i, fixture) in fixtures.iter().enumerate() {
        let (code, body) = text(&format!("{base}?limit=10&offset={}", i * 10)).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body, *fixture, "page {i}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["MRData"]["total"], "23");
        assert_eq!(v["MRData"]["limit"], "10");
        rounds += v["MRData"]["RaceTable"]["Races"].as_array().unwrap().len();
    }
    assert_eq!(rounds, 23);
    let (_, all) = text(&base).await;
    assert_eq!(all, include_str!("../fixtures/jolpica-2026.json"));
    for (year, fixture) in [
        (2021, include_str!("../fixtures/jolpica-2021.json")),
        (2023, include_str!("../fixtures/jolpica-2023.json")),
        (2025, include_str!("../fixtures/jolpica-2025.json")),
    ] {
        let (_, body) = text(&format!("{}/jolpica/ergast/f1/{year}.json", tb.url())).await;
        assert_eq!(body, fixture, "{year}");
    }
    let (_, capped) = text(&format!("{base}?limit=500")).await;
    let v: Value = serde_json::from_str(&capped).unwrap();
    assert_eq!(v["MRData"]["limit"], "100");
    let (_, empty) = text(&format!("{}/jolpica/ergast/f1/2019.json", tb.url())).await;
    let v: Value = serde_json::from_str(&empty).unwrap();
    assert_eq!(v["MRData"]["total"], "0");
    let (_, current) = text(&format!("{}/jolpica/ergast/f1/current.json", tb.url())).await;
    let v: Value = serde_json::from_str(&current).unwrap();
    assert_eq!(v["MRData"]["url"], "https://api.jolpi.ca/ergast/f1/current.json");
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(v["MRData"]["RaceTable"]["season"], year.as_str());
    let (_, races) = text(&format!("{}/jolpica/ergast/f1/2026/races.json?limit=1", tb.url())).await;
    let v: Value = serde_json::from_str(&races).unwrap();
    assert_eq!(v["MRData"]["url"], "https://api.jolpi.ca/ergast/f1/2026/races.json");
    assert_eq!(status(&format!("{}/jolpica/ergast/f1/abc.json", tb.url())).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn openf1_filters_by_year() {
    let tb = start().await;
    let (code, body) = text(&format!("{}/openf1/v1/sessions?year=2026", tb.url())).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, include_str!("../fixtures/openf1-sessions-2026.json"));
    let (_, none) = text(&format!("{}/openf1/v1/sessions?year=2024", tb.url())).await;
    assert_eq!(none, "[]");
    let (_, one) = text(&format!("{}/openf1/v1/sessions?session_key=11245", tb.url())).await;
    let v: Vec<Value> = serde_json::from_str(&one).unwrap();
    assert_eq!(v.len(), 1);
    let (_, synthetic) = text(&format!("{}/openf1/v1/sessions?year=9999", tb.url())).await;
    let v: Vec<Value> = serde_json::from_str(&synthetic).unwrap();
    assert!(!v.is_empty() && v.iter().all(|s| s["year"] == 9999));
}

fn parse_utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

#[tokio::test]
async fn season_9999_has_a_live_race_in_both_sources() {
    let tb = start().await;
    let url = format!("{}/jolpica/ergast/f1/9999.json", tb.url());
    let (_, jolpica) = text(&url).await;
    let (_, again) = text(&url).await;
    assert_eq!(jolpica, again, "stable within a process");
    let v: Value = serde_json::from_str(&jolpica).unwrap();
    let now = unix_now();
    let races = v["MRData"]["RaceTable"]["Races"].as_array().unwrap();
    let race_start =
        |r: &Value| parse_utc(&format!("{}T{}", r["date"].as_str().unwrap(), r["time"].as_str().unwrap()));
    let live: Vec<&Value> =
        races.iter().filter(|r| race_start(r) <= now && now < race_start(r) + 7200).collect();
    assert_eq!(live.len(), 1, "{jolpica}");
    let live = live[0];
    let started = race_start(live);
    assert!((25 * 60..=40 * 60).contains(&(now - started)), "started {}s ago", now - started);
    for key in ["FirstPractice", "SecondPractice", "ThirdPractice", "Qualifying"] {
        let s = &live[key];
        let t = parse_utc(&format!("{}T{}", s["date"].as_str().unwrap(), s["time"].as_str().unwrap()));
        assert!(t < now - 3600, "{key} is past");
    }
    assert!(races.iter().any(|r| race_start(r) > now), "upcoming events");
    assert!(races.iter().any(|r| race_start(r) + 7200 < now), "past events");
    // OpenF1 agrees on the live race.
    let (_, openf1) = text(&format!("{}/openf1/v1/sessions?year=9999", tb.url())).await;
    let sessions: Vec<Value> = serde_json::from_str(&openf1).unwrap();
    let live_sessions: Vec<&Value> = sessions
        .iter()
        .filter(|s| {
            parse_utc(s["date_start"].as_str().unwrap()) <= now
                && now < parse_utc(s["date_end"].as_str().unwrap())
        })
        .collect();
    assert_eq!(live_sessions.len(), 1);
    assert_eq!(live_sessions[0]["session_name"], "Race");
    assert_eq!(parse_utc(live_sessions[0]["date_start"].as_str().unwrap()), started);
    assert_eq!(sessions.len(), races.len() * 5);
}

#[tokio::test]
async fn feed_faults() {
    let tb = start_with(TestbedConfig { segment_secs: 1, ..TestbedConfig::default() }).await;
    let (media, playlist) = first_media(&tb, "main").await;
    let master = media.replace("360p/index.m3u8", "master.m3u8");
    let segment = uris(&media, &playlist).pop().unwrap();
    for (mode, code) in [
        ("dead", StatusCode::NOT_FOUND),
        ("403", StatusCode::FORBIDDEN),
        ("500", StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let (c, _) = fault(&tb, json!({"feed": "main", "mode": mode})).await;
        assert_eq!(c, StatusCode::OK);
        for url in [&master, &media, &segment] {
            assert_eq!(status(url).await, code, "{mode} {url}");
        }
        // Other feeds are unaffected.
        let other = master_url(&tb, "onboard-1").await;
        assert_eq!(status(&other).await, StatusCode::OK);
    }
    fault(&tb, json!({"feed": "main", "mode": "empty"})).await;
    let (code, empty) = text(&media).await;
    assert_eq!(code, StatusCode::OK);
    assert!(empty.starts_with("#EXTM3U") && !empty.contains("#EXTINF"), "{empty}");
    fault(&tb, json!({"feed": "main", "mode": "stale"})).await;
    let (_, frozen) = text(&media).await;
    // A live feed beside it moves on by two segments: long enough for a stale one to show.
    let (other, other_first) = first_media(&tb, "onboard-1").await;
    let other_seq = media_sequence(&other_first);
    wait_until("a live feed slides by two segments", async || {
        media_sequence(&fetch_ok(&other).await) >= other_seq + 2
    })
    .await;
    let (_, still) = text(&media).await;
    assert_eq!(media_sequence(&frozen), media_sequence(&still));
    assert_eq!(frozen, still);
    fault(&tb, json!({"feed": "main", "mode": "slow"})).await;
    let started = Instant::now();
    assert_eq!(status(&master).await, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(1900), "slow delays");
    fault(&tb, json!({"feed": "main", "mode": "ok"})).await;
    let (_, live) = text(&media).await;
    assert!(media_sequence(&live) > media_sequence(&frozen));
    // Reset clears faults too.
    fault(&tb, json!({"feed": "main", "mode": "dead"})).await;
    let r = client().post(format!("{}/_control/reset", tb.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status(&master).await, StatusCode::OK);
}

#[tokio::test]
async fn source_faults_and_bad_control_input() {
    let tb = start().await;
    let jolpica = format!("{}/jolpica/ergast/f1/9999.json", tb.url());
    let openf1 = format!("{}/openf1/v1/sessions?year=9999", tb.url());
    for (source, url) in [("jolpica", &jolpica), ("openf1", &openf1)] {
        fault(&tb, json!({"source": source, "mode": "500"})).await;
        assert_eq!(status(url).await, StatusCode::INTERNAL_SERVER_ERROR);
        fault(&tb, json!({"source": source, "mode": "malformed"})).await;
        let (code, body) = text(url).await;
        assert_eq!(code, StatusCode::OK);
        assert!(serde_json::from_str::<Value>(&body).is_err(), "malformed {source}");
        fault(&tb, json!({"source": source, "mode": "slow"})).await;
        let started = Instant::now();
        let (code, body) = text(url).await;
        assert!(started.elapsed() >= Duration::from_millis(1900));
        assert_eq!(code, StatusCode::OK);
        assert!(serde_json::from_str::<Value>(&body).is_ok());
        fault(&tb, json!({"source": source, "mode": "ok"})).await;
        assert_eq!(status(url).await, StatusCode::OK);
    }
    for bad in [
        json!({"feed": "nope", "mode": "dead"}),
        json!({"feed": "main", "mode": "melt"}),
        json!({"feed": "main"}),
        json!({"source": "ergast", "mode": "500"}),
        json!({"source": "openf1", "mode": "dead"}),
        json!({"site": "other", "mode": "ok"}),
        json!({"site": "demo-tv", "mode": "dead"}),
        json!({"feed": "main", "site": "demo-tv", "mode": "ok"}),
        json!({"feed": 3, "mode": "ok"}),
        json!([1, 2]),
    ] {
        let (code, body) = fault(&tb, bad.clone()).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let r = client().post(format!("{}/_control/fault", tb.url())).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.json::<Value>().await.unwrap()["error"].is_object());
    for q in ["", "?feed=nope"] {
        let r = client().get(format!("{}/_control/token{q}", tb.url())).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.json::<Value>().await.unwrap()["error"].is_object());
    }
}

#[tokio::test]
async fn segments_support_range_and_head() {
    let tb = start().await;
    let (media, playlist) = first_media(&tb, "main").await;
    let segment = uris(&media, &playlist).pop().unwrap();
    let c = client();
    let full = c.get(&segment).send().await.unwrap();
    assert_eq!(full.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(full.headers()[header::CONTENT_TYPE], "video/mp2t");
    let full = full.bytes().await.unwrap();
    let len = full.len();
    let part = c.get(&segment).header(header::RANGE, "bytes=100-299").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()[header::CONTENT_RANGE], format!("bytes 100-299/{len}").as_str());
    assert_eq!(part.bytes().await.unwrap(), full.slice(100..300));
    let tail = c.get(&segment).header(header::RANGE, "bytes=-188").send().await.unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap(), full.slice(len - 188..));
    let bad = c.get(&segment).header(header::RANGE, format!("bytes={len}-")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(bad.headers()[header::CONTENT_RANGE], format!("bytes */{len}").as_str());
    let head = c.head(&segment).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], len.to_string().as_str());
    assert!(head.bytes().await.unwrap().is_empty());
    // HEAD is tokenised too.
    let bare = segment.split('?').next().unwrap();
    assert_eq!(c.head(bare).send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn byterange_feed_addresses_one_file() {
    let tb = start().await;
    let (media, playlist) = first_media(&tb, "byterange").await;
    let file = uris(&media, &playlist)[0].clone();
    assert!(file.contains("/stream.ts?token="));
    let whole = client().get(&file).send().await.unwrap().bytes().await.unwrap();
    let ranges: Vec<(usize, usize)> = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-BYTERANGE:"))
        .map(|r| {
            let (len, off) = r.split_once('@').unwrap();
            (len.parse().unwrap(), off.parse().unwrap())
        })
        .collect();
    assert_eq!(ranges.len(), 6);
    for (len, off) in ranges {
        let r = client()
            .get(&file)
            .header(header::RANGE, format!("bytes={off}-{}", off + len - 1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        let part = r.bytes().await.unwrap();
        assert_eq!(part, whole.slice(off..off + len));
        assert_eq!(part[0], 0x47, "a TS packet starts every range");
    }
}

#[tokio::test]
async fn fmp4_and_aes_feeds() {
    let tb = start().await;
    let (media, playlist) = first_media(&tb, "fmp4").await;
    let map =
        playlist.lines().find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\"")).unwrap().trim_end_matches('"');
    let init = client().get(resolve(&media, map)).send().await.unwrap();
    assert_eq!(init.status(), StatusCode::OK);
    assert_eq!(&init.bytes().await.unwrap()[4..8], b"ftyp");
    assert!(uris(&media, &playlist)[0].contains(".m4s?token="));
    assert_eq!(status(&resolve(&media, "init.mp4")).await, StatusCode::FORBIDDEN);

    let (media, playlist) = first_media(&tb, "aes").await;
    let key_tag = tag_value(&playlist, "#EXT-X-KEY").unwrap();
    assert!(key_tag.starts_with("METHOD=AES-128,URI=\"key.bin?token="));
    assert!(key_tag.contains(",IV=0x"));
    let key_uri = key_tag.split('"').nth(1).unwrap();
    let key = client().get(resolve(&media, key_uri)).send().await.unwrap();
    assert_eq!(key.status(), StatusCode::OK);
    assert_eq!(key.bytes().await.unwrap().len(), 16);
    assert_eq!(status(&resolve(&media, "key.bin")).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn gzip_feed_encodes_playlists_when_asked() {
    let tb = start().await;
    let master = master_url(&tb, "gzip").await;
    let plain = client().get(&master).send().await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain = plain.text().await.unwrap();
    let r = client().get(&master).header(header::ACCEPT_ENCODING, "gzip, deflate").send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(r.headers()[header::VARY], "Accept-Encoding");
    let raw = r.bytes().await.unwrap();
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_string(&mut decoded).unwrap();
    assert_eq!(decoded, plain);
    let media = uris(&master, &plain)[0].clone();
    let r = client().get(&media).header(header::ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
    // Other feeds never encode.
    let main = master_url(&tb, "main").await;
    let r = client().get(&main).header(header::ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn redirect_feed_moves_to_the_second_origin() {
    let tb = start().await;
    let master = master_url(&tb, "redirect").await;
    let r = client().get(&master).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!(
            "http://127.0.0.1:{}/cdn/redirect/master.m3u8?token=",
            tb.second_addr().port()
        )),
        "{location}"
    );
    let (code, body) = text(&location).await;
    assert_eq!(code, StatusCode::OK);
    let media = uris(&location, &body)[0].clone();
    let (code, playlist) = text(&media).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(status(&uris(&media, &playlist)[0]).await, StatusCode::OK);
    // A redirect keeps the host name the client used.
    let r = client()
        .get(&master)
        .header(header::HOST, format!("cdn.demo.invalid:{}", tb.addr().port()))
        .send()
        .await
        .unwrap();
    let location = r.headers()[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with(&format!("http://cdn.demo.invalid:{}/", tb.second_addr().port())));
    // A following client ends up playing.
    let follow = reqwest::Client::new();
    assert_eq!(follow.get(&master).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn referer_and_browser_feeds() {
    let tb = start().await;
    for feed in ["onboard-2", "pitlane"] {
        let master = master_url(&tb, feed).await;
        let (code, body) = text(&master).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{feed} without Referer");
        assert!(body.contains("bad_referer"));
        let r = client().get(&master).headers(demo_headers(&tb)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{feed} with Referer and browser");
        let media = uris(&master, &r.text().await.unwrap())[0].clone();
        let r = client().get(&media).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{feed} media without Referer");
    }
    let master = master_url(&tb, "pitlane").await;
    let referer_only = client()
        .get(&master)
        .header(header::REFERER, format!("{}/demo-tv/watch/pitlane", tb.url()))
        .header(header::USER_AGENT, "curl/8.0")
        .send()
        .await
        .unwrap();
    assert_eq!(referer_only.status(), StatusCode::FORBIDDEN);
    let onboard = master_url(&tb, "onboard-2").await;
    let r = client()
        .get(&onboard)
        .header(header::REFERER, format!("{}/demo-tv/", tb.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r =
        client().get(&onboard).header(header::REFERER, "http://evil.example/demo-tv/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

struct Visit {
    cookie: String,
    csrf: String,
    referer: String,
}

async fn visit(tb: &Testbed, feed: &str) -> (Visit, String) {
    let watch = format!("{}/demo-tv/watch/{feed}", tb.url());
    let r = client().get(&watch).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let set_cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let html = r.text().await.unwrap();
    let csrf = html
        .split("<meta name=\"csrf-token\" content=\"")
        .nth(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .unwrap_or_default();
    (Visit { cookie, csrf, referer: watch }, html)
}

async fn token_call(tb: &Testbed, v: &Visit, feed: &str, skip: &str) -> reqwest::Response {
    let mut req = client().post(format!("{}/demo-tv/api/token", tb.url())).json(&json!({"feed": feed}));
    if skip != "cookie" {
        req = req.header(header::COOKIE, &v.cookie);
    }
    if skip != "csrf" {
        req = req.header("X-CSRF-Token", &v.csrf);
    }
    if skip != "referer" {
        req = req.header(header::REFERER, &v.referer);
    }
    req.send().await.unwrap()
}

fn decode_player(player: &str) -> String {
    let blob = player.split('"').nth(1).unwrap();
    let reversed: String = blob.chars().rev().collect();
    String::from_utf8(STANDARD.decode(reversed).unwrap()).unwrap()
}

#[tokio::test]
async fn demo_tv_flow_end_to_end() {
    let tb = start().await;
    let (_, index) = text(&format!("{}/demo-tv/", tb.url())).await;
    for feed in FEEDS {
        assert!(index.contains(&format!("/demo-tv/watch/{feed}\"")), "{feed}");
    }
    let (visit_main, html) = visit(&tb, "main").await;
    assert!(!visit_main.csrf.is_empty(), "{html}");
    let r = token_call(&tb, &visit_main, "main", "").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let player = v["player"].as_str().unwrap();
    assert!(player.starts_with("var _0x"), "{player}");
    let url = decode_player(player);
    assert!(url.starts_with(&format!("{}/cdn/main/master.m3u8?token=", tb.url())), "{url}");
    assert!(v["expires_at"].as_u64().unwrap() > unix_now() as u64);
    let (code, master) = text(&url).await;
    assert_eq!(code, StatusCode::OK);
    let media = uris(&url, &master)[0].clone();
    let (_, playlist) = text(&media).await;
    assert_eq!(status(&uris(&media, &playlist)[0]).await, StatusCode::OK);

    // Each missing requirement is refused with a JSON error.
    for (skip, code, error) in [
        ("cookie", StatusCode::UNAUTHORIZED, "session_required"),
        ("csrf", StatusCode::FORBIDDEN, "csrf_missing"),
        ("referer", StatusCode::FORBIDDEN, "bad_referer"),
    ] {
        let r = token_call(&tb, &visit_main, "main", skip).await;
        assert_eq!(r.status(), code, "{skip}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], error);
    }
    // A CSRF token of another session does not fit this cookie.
    let (other, _) = visit(&tb, "onboard-1").await;
    let mixed = Visit {
        cookie: visit_main.cookie.clone(),
        csrf: other.csrf.clone(),
        referer: visit_main.referer.clone(),
    };
    assert_eq!(token_call(&tb, &mixed, "main", "").await.status(), StatusCode::FORBIDDEN);
    let forged = Visit { cookie: "dtv_session=0123.abcd".into(), ..mixed };
    assert_eq!(token_call(&tb, &forged, "main", "").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(token_call(&tb, &visit_main, "nope", "").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(status(&format!("{}/demo-tv/watch/nope", tb.url())).await, StatusCode::NOT_FOUND);

    // Step faults.
    fault(&tb, json!({"site": "demo-tv", "mode": "no-csrf"})).await;
    let (v, html) = visit(&tb, "main").await;
    assert!(v.csrf.is_empty() && !html.contains("csrf-token\" content"));
    fault(&tb, json!({"site": "demo-tv", "mode": "bad-token-json"})).await;
    let r = token_call(&tb, &visit_main, "main", "").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    fault(&tb, json!({"site": "demo-tv", "mode": "no-url"})).await;
    let v: Value = token_call(&tb, &visit_main, "main", "").await.json().await.unwrap();
    assert!(v.get("player").is_none() && v["expires_at"].is_u64());
    fault(&tb, json!({"site": "demo-tv", "mode": "ok"})).await;
    let v: Value = token_call(&tb, &visit_main, "main", "").await.json().await.unwrap();
    assert!(v["player"].is_string());
}

#[tokio::test]
async fn generic_pages_embed_playable_urls() {
    let tb = start().await;
    let (_, index) = text(&format!("{}/pages/", tb.url())).await;
    let prefix = format!("{}/cdn/onboard-1/master.m3u8?token=", tb.url());
    let find_url = |body: &str| -> Option<String> {
        body.find(&prefix).map(|at| body[at..].split(['"', '<', ' ']).next().unwrap().to_owned())
    };
    let mut found = Vec::new();
    for page in ["video", "source", "jsonld", "jsvar"] {
        assert!(index.contains(&format!("/pages/{page}\"")));
        let (code, body) = text(&format!("{}/pages/{page}?feed=onboard-1", tb.url())).await;
        assert_eq!(code, StatusCode::OK);
        found.push(find_url(&body).unwrap_or_else(|| panic!("{page}: {body}")));
        match page {
            "source" => assert!(body.contains("type=\"application/x-mpegURL\"")),
            "jsonld" => assert!(body.contains("application/ld+json") && body.contains("\"contentUrl\"")),
            "jsvar" => assert!(body.contains("var hlsUrl = \"")),
            _ => {}
        }
    }
    // Two iframes deep.
    let (_, outer) = text(&format!("{}/pages/iframe?feed=onboard-1", tb.url())).await;
    assert!(find_url(&outer).is_none());
    let src = |body: &str| body.split("<iframe src=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (_, level1) = text(&format!("{}{}", tb.url(), src(&outer))).await;
    assert!(find_url(&level1).is_none());
    let (_, level2) = text(&format!("{}{}", tb.url(), src(&level1))).await;
    found.push(find_url(&level2).unwrap());
    // base64 via atob.
    let (_, atob) = text(&format!("{}/pages/atob?feed=onboard-1", tb.url())).await;
    let blob = atob.split("atob(\"").nth(1).unwrap().split('"').next().unwrap();
    found.push(String::from_utf8(STANDARD.decode(blob).unwrap()).unwrap());
    // JSON API.
    let v: Value = client()
        .get(format!("{}/pages/api/stream.json?feed=onboard-1", tb.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    found.push(v["stream"]["url"].as_str().unwrap().to_owned());
    let (_, api_page) = text(&format!("{}/pages/api", tb.url())).await;
    assert!(api_page.contains("/pages/api/stream.json"));
    for url in found {
        assert!(url.starts_with(&prefix), "{url}");
        assert_eq!(status(&url).await, StatusCode::OK, "{url}");
    }
    assert_eq!(status(&format!("{}/pages/video?feed=nope", tb.url())).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn urls_follow_the_host_header() {
    let tb = start().await;
    let host = format!("cdn.demo.invalid:{}", tb.addr().port());
    let v: Value = client()
        .get(format!("{}/_control/token?feed=main", tb.url()))
        .header(header::HOST, &host)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["url"].as_str().unwrap().starts_with(&format!("http://{host}/cdn/main/")));
}

#[tokio::test]
async fn stats_count_paths_and_reset_clears() {
    let tb = start().await;
    let (media, playlist) = first_media(&tb, "main").await;
    let segment = uris(&media, &playlist).pop().unwrap();
    for _ in 0..3 {
        status(&segment).await;
    }
    let stats: Value =
        client().get(format!("{}/_control/stats", tb.url())).send().await.unwrap().json().await.unwrap();
    let path = segment.split('?').next().unwrap().trim_start_matches(&tb.url()).to_owned();
    assert_eq!(stats[&path], 3, "{stats}");
    assert_eq!(stats["/cdn/main/master.m3u8"], 1);
    assert!(stats.get("/_control/token").is_none());
    client().post(format!("{}/_control/reset", tb.url())).send().await.unwrap();
    let stats: Value =
        client().get(format!("{}/_control/stats", tb.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats, json!({}));
}

#[tokio::test]
async fn cors_preflight_on_the_cdn() {
    let tb = start().await;
    let r = client()
        .request(reqwest::Method::OPTIONS, format!("{}/cdn/main/master.m3u8", tb.url()))
        .header(header::ORIGIN, "http://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "range")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(r.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().contains("Range"));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let tb = start().await;
    let url = tb.url();
    assert_eq!(status(&format!("{url}/")).await, StatusCode::OK);
    tb.shutdown().await;
    assert!(reqwest::Client::new().get(format!("{url}/")).send().await.is_err());
}

#[tokio::test]
async fn a_feed_killed_on_a_timer_dies_and_comes_back() {
    let kill: pitwall_testbed::FeedKill = "main@300ms+1s".parse().unwrap();
    let tb = start_with(TestbedConfig { kills: vec![kill], ..TestbedConfig::default() }).await;
    let master = master_url(&tb, "main").await;
    let other = master_url(&tb, "onboard-1").await;
    // Bounded (10 s each): 404 once the timer fires, 200 again after its end; other feeds unharmed.
    let mut seen = Vec::new();
    for want in [StatusCode::NOT_FOUND, StatusCode::OK] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = status(&master).await;
            if seen.last() != Some(&got) {
                seen.push(got);
            }
            if got == want {
                break;
            }
            assert!(Instant::now() < deadline, "feed main never answered {want}: {seen:?}");
            assert_eq!(status(&other).await, StatusCode::OK, "another feed was harmed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(seen[seen.len() - 2..], [StatusCode::NOT_FOUND, StatusCode::OK], "{seen:?}");
    tb.shutdown().await;
}
