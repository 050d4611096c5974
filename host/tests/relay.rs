//! The relay against every testbed feed: `/proxy` rewrites every level so the client never talks
//! to the origin, segments stream with `Range`, forged URLs and blocked addresses are refused,
//! CORS preflights allow `Range`, 50 simultaneous viewers of a segment cause one upstream fetch, a
//! redirect hop to a blocked address is refused, no upstream client uses a system proxy, and a
//! hot segment is sent from shared memory without a copy, byte for byte, ranges included.

mod common;

use std::{collections::BTreeSet, time::Duration};

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

/// A loopback upstream whose `/list.m3u8` lists two segments and whose `/to-trap.*` and
/// `/to-metadata.*` redirect to a loopback port nobody allowed and to the cloud metadata address.
/// Answers its address.
async fn redirector(trap: std::net::SocketAddr) -> std::net::SocketAddr {
    use axum::{
        Router,
        http::{StatusCode, Uri, header},
        response::IntoResponse,
    };
    let app = Router::new().fallback(move |uri: Uri| async move {
        let path = uri.path();
        let ext = path.rsplit('.').next().unwrap_or_default().to_string();
        if path == "/list.m3u8" {
            let list =
                "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nto-trap.ts\n#EXTINF:4,\nto-metadata.ts\n";
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
                list.to_string(),
            )
                .into_response();
        }
        let location = match path.rsplit_once('.').map(|(stem, _)| stem) {
            Some("/to-trap") => format!("http://{trap}/x.{ext}"),
            Some("/to-metadata") => format!("http://169.254.169.254/latest/meta-data/x.{ext}"),
            _ => return StatusCode::NOT_FOUND.into_response(),
        };
        (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_hop_to_a_blocked_address_is_refused() {
    // The trap is on loopback like the redirector, but only the redirector's port is allowed.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let upstream = redirector(trap.local_addr().unwrap()).await;
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::config(&testbed, tmp.path());
    config.flags.admin_token = Some(ADMIN.into());
    config.flags.allow_upstream.push(upstream.to_string());
    let server = Server::start(config).await;
    let client = admin_client(false);

    // Playlists: the first hop is allowed, the redirect is not followed.
    for target in ["to-trap", "to-metadata"] {
        let response =
            client.get(proxy(&server, &format!("http://{upstream}/{target}.m3u8"))).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status == 403 || status == 502, "{target}: {status} {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("redirect") && message.contains("refused"), "{target}: {body}");
    }
    // Segments listed by an allowed playlist: the same on the relay's segment path.
    let list = client.get(proxy(&server, &format!("http://{upstream}/list.m3u8"))).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let segments = uris(&list.text().await.unwrap());
    assert_eq!(segments.len(), 2, "{segments:?}");
    for segment in segments {
        let response = client.get(format!("{}{segment}", server.url)).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status == 403 || status == 502, "{segment}: {status} {body}");
        assert!(body.contains("refused"), "{segment}: {body}");
    }
    // Nothing ever connected to the trap.
    assert_eq!(trap.accept().map(|(_, peer)| peer).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_upstream_client_uses_a_system_proxy() {
    // A proxy that every upstream client would use if it read the environment.
    let proxy_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy_listener.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy_listener.local_addr().unwrap());
    let env: Vec<(&str, &str)> =
        ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
            .into_iter()
            .map(|name| (name, proxy_url.as_str()))
            .chain([("NO_PROXY", ""), ("no_proxy", "")])
            .collect();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(common::guest("demo-site"), plugins.join("demo_site.wasm")).unwrap();
    let bin = common::Binary::start_with_env(
        &["--demo", "--plugins-dir", plugins.to_str().unwrap()],
        &tmp.path().join("data"),
        &env,
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{}{path}", bin.url);
        async move { client.get(url).send().await.unwrap() }
    };
    // The demo's extractor fetches its site, the probe checks streams, the relay plays them:
    // bounded (90 s: cold plugin compile, extraction, probes), the live session lists a stream.
    let live_session = |schedule: Value| {
        schedule["events"]
            .as_array()?
            .iter()
            .flat_map(|e| e["sessions"].as_array().into_iter().flatten())
            .find_map(|s| if s["status"] == "live" { s["id"].as_str().map(str::to_string) } else { None })
    };
    let mut live = None;
    for _ in 0..900 {
        let schedule: Value = get("/schedule".into()).await.json().await.unwrap();
        if let Some(session) = live_session(schedule) {
            let streams: Value = get(format!("/streams?session={session}")).await.json().await.unwrap();
            if streams["streams"].as_array().is_some_and(|s| !s.is_empty()) {
                live = Some(session);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(live) = live else {
        panic!("no live session with a stream extracted and probed; log:\n{}", bin.log());
    };

    let media = get(format!("/live/session/{live}/720p.m3u8")).await;
    assert_eq!(media.status(), 200);
    let media = media.text().await.unwrap();
    let segment = uris(&media).into_iter().find(|u| u.starts_with("/relay/")).expect("a relayed segment");
    let segment = get(segment).await;
    assert_eq!(segment.status(), 200);
    assert!(!segment.bytes().await.unwrap().is_empty());
    // All of it went direct.
    assert_eq!(
        proxy_listener.accept().map(|(_, peer)| peer).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_segment_is_sent_from_a_mapped_file_byte_for_byte() {
    let (testbed, server, _tmp) = setup().await;
    let client = admin_client(true);
    let vod = format!("{}/bench/vod.m3u8?n=3&kib=300", testbed.url());
    let playlist = client.get(proxy(&server, &vod)).send().await.unwrap().text().await.unwrap();
    let segment = format!("{}{}", server.url, uris(&playlist)[1]);
    let direct = client.get(format!("{}/bench/seg/1.ts?kib=300", testbed.url())).send().await.unwrap();
    let direct = direct.bytes().await.unwrap();
    assert_eq!(direct.len(), 300 * 1024);
    let zero_copy = |metrics: String| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with("pitwall_relay_zero_copy_bytes_total"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    let before = zero_copy(server.metrics().await);
    // The first viewer gets heap chunks as they arrive; the ones after the end get shared memory.
    for n in 0..4 {
        let response = client.get(&segment).send().await.unwrap();
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=60",
            "a CDN may keep segments by path"
        );
        let body = response.bytes().await.unwrap();
        assert!(body == direct, "viewer {n}: other bytes ({} vs {})", body.len(), direct.len());
    }
    let ranged = client.get(&segment).header("range", "bytes=1000-70999").send().await.unwrap();
    assert_eq!(ranged.status(), 206);
    assert!(ranged.bytes().await.unwrap() == direct[1000..71000], "a range of a hot segment");
    let sent = zero_copy(server.metrics().await) - before;
    assert!(sent >= 3 * 300 * 1024, "three viewers after the first were sent without a copy: {sent} bytes");
    let stats: Value =
        client.get(format!("{}/_control/stats", testbed.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        stats["/bench/seg/1.ts"], 3,
        "one fetch through the relay, one for the range, one direct: {stats}"
    );
}
