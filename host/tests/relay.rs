//! The relay against every testbed feed: `/proxy` rewrites every level so the client never talks
//! to the origin, segments stream with `Range`, forged URLs and blocked addresses are refused,
//! CORS preflights allow `Range`, and 50 simultaneous viewers of a segment cause one upstream fetch.

mod common;

use std::collections::BTreeSet;

use common::{Server, proxy, token_url, uris};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::Value;

async fn setup() -> (Testbed, Server, tempfile::TempDir) {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::config(&testbed, tmp.path());
    config.flags.admin_token = Some(ADMIN.into());
    let server = Server::start(config).await;
    (testbed, server, tmp)
}

/// `/proxy` is an admin route.
const ADMIN: &str = "relay-test-admin-token";

/// A client that sends the admin token (relay URLs themselves need none).
fn admin_client(redirects: bool) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {ADMIN}").parse().unwrap());
    let policy =
        if redirects { reqwest::redirect::Policy::default() } else { reqwest::redirect::Policy::none() };
    reqwest::Client::builder().default_headers(headers).redirect(policy).build().unwrap()
}

/// Walks every playlist level through pitwall; returns (playlists, other URIs) seen.
async fn walk(server: &Server, client: &reqwest::Client, first: String) -> (usize, BTreeSet<String>) {
    let mut queue = vec![first];
    let mut playlists = 0;
    let mut media = BTreeSet::new();
    while let Some(url) = queue.pop() {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "application/vnd.apple.mpegurl");
        let text = response.text().await.unwrap();
        assert!(text.starts_with("#EXTM3U"), "{text}");
        playlists += 1;
        for uri in uris(&text) {
            assert!(uri.starts_with("/relay/"), "URI not through the relay: {uri}\n{text}");
            let absolute = format!("{}{uri}", server.url);
            if uri.split('?').next().unwrap().ends_with(".m3u8") {
                queue.push(absolute);
            } else {
                media.insert(absolute);
            }
        }
        assert!(playlists < 20, "runaway walk");
    }
    (playlists, media)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feed_plays_through_the_relay_without_touching_the_origin() {
    let (testbed, server, _tmp) = setup().await;
    let client = admin_client(false);
    for feed in ["main", "fmp4", "byterange", "aes", "redirect", "gzip", "onboard-1"] {
        let (playlists, media) =
            walk(&server, &client, proxy(&server, &token_url(&testbed, feed).await)).await;
        assert!(playlists >= 2, "{feed}: master and at least one media playlist");
        assert!(!media.is_empty(), "{feed}: segments");
        // Fetch one of each kind of file (segments, keys, init maps).
        let mut seen = BTreeSet::new();
        for url in media {
            let ext = url.split('?').next().unwrap().rsplit('.').next().unwrap().to_string();
            if !seen.insert(ext.clone()) {
                continue;
            }
            let response = client.get(&url).send().await.unwrap();
            assert!(response.status().is_success(), "{feed} {ext}: {}", response.status());
            assert!(!response.bytes().await.unwrap().is_empty());
        }
    }
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_cors_forgery_and_blocked_addresses() {
    let (testbed, server, _tmp) = setup().await;
    let client = admin_client(true);
    let (_, media) = walk(&server, &client, proxy(&server, &token_url(&testbed, "main").await)).await;
    let segment = media.iter().find(|u| u.split('?').next().unwrap().ends_with(".ts")).unwrap().clone();

    let ranged = client.get(&segment).header("range", "bytes=0-187").send().await.unwrap();
    assert_eq!(ranged.status(), 206);
    assert!(ranged.headers()["content-range"].to_str().unwrap().starts_with("bytes 0-187/"));
    assert_eq!(ranged.bytes().await.unwrap().len(), 188);

    let head = client.head(&segment).send().await.unwrap();
    assert_eq!(head.status(), 200);

    let preflight = client
        .request(reqwest::Method::OPTIONS, &segment)
        .header("origin", "http://player.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "range")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("range"), "{allowed}");
    let get = client.get(&segment).header("origin", "http://player.example").send().await.unwrap();
    assert_eq!(get.headers()["access-control-allow-origin"], "*");
    let exposed = get.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("content-range") && exposed.contains("accept-ranges"), "{exposed}");

    let mut forged = segment.clone();
    let at = forged.find("?t=").unwrap() + 8;
    forged.replace_range(at..at + 1, if &forged[at..at + 1] == "A" { "B" } else { "A" });
    let denied = client.get(&forged).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(denied.json::<Value>().await.unwrap()["error"]["code"], "forbidden");
    let tokenless = client.get(segment.split('?').next().unwrap()).send().await.unwrap();
    assert_eq!(tokenless.status(), 403);

    for blocked in
        ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/x.m3u8", "file:///etc/passwd"]
    {
        let response = client.get(proxy(&server, blocked)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{blocked}");
    }
    let missing = client.get(format!("{}/proxy", server.url)).send().await.unwrap();
    assert_eq!(missing.status(), 400);

    // Upstream errors keep their meaning.
    common::fault(&testbed, serde_json::json!({"feed": "onboard-1", "mode": "dead"})).await;
    let response = client.get(proxy(&server, &token_url(&testbed, "onboard-1").await)).send().await.unwrap();
    assert_eq!(response.status(), 404);

    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_viewers_of_one_segment_cause_one_upstream_fetch() {
    let (testbed, server, _tmp) = setup().await;
    let client = admin_client(true);
    let (_, media) = walk(&server, &client, proxy(&server, &token_url(&testbed, "onboard-1").await)).await;
    let segment = media.iter().rfind(|u| u.split('?').next().unwrap().ends_with(".ts")).unwrap().clone();
    client.post(format!("{}/_control/reset", testbed.url())).send().await.unwrap();
    let viewers: Vec<_> = (0..50)
        .map(|_| {
            let (client, segment) = (client.clone(), segment.clone());
            tokio::spawn(async move { client.get(&segment).send().await.unwrap().bytes().await.unwrap() })
        })
        .collect();
    let mut bodies = Vec::new();
    for v in viewers {
        bodies.push(v.await.unwrap());
    }
    assert!(!bodies[0].is_empty(), "the segment has bytes");
    for (n, body) in bodies.iter().enumerate() {
        // Equal bytes, not just equal lengths: a mixed-up or torn shared buffer differs here.
        assert!(
            body == &bodies[0],
            "viewer {n} got other bytes ({} vs {} bytes)",
            body.len(),
            bodies[0].len()
        );
    }
    let stats: Value =
        client.get(format!("{}/_control/stats", testbed.url())).send().await.unwrap().json().await.unwrap();
    let segment_fetches: u64 = stats
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with(".ts"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert_eq!(segment_fetches, 1, "{stats}");
    let metrics = server.metrics().await;
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    assert!(value("pitwall_relay_shared_hits_total") >= 49, "{metrics}");
    assert!(value("pitwall_relay_upstream_bytes_total") > 0, "{metrics}");
    assert_eq!(value("pitwall_relays_active"), 0, "every viewer finished: {metrics}");
    server.stop().await;
    testbed.shutdown().await;
}
