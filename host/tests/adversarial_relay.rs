//! The relay and its upstream side against hostile upstreams (ad-hoc servers on loopback):
//! relayed bytes are typed by the relay, never by the upstream; an endless segment cannot grow
//! pitwall's memory past its shared budget while another stream plays; a body that fails midway
//! is fetched afresh; answers never carry upstream secrets; oversized, URI-flooded and
//! compression-bomb bodies stop at their caps; unknown schedule seasons are fetched at most once;
//! a candidate's headers reach only its own origin.

mod common;

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use common::{Server, guest, proxy, token_url, uris};
use futures_util::StreamExt;
use pitwall::config::{SeasonSetting, SourceConfig};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "admin-test-token";
/// pitwall's shared relay budget (`RELAY_SHARED_BYTES`).
const BUDGET: u64 = 64 << 20;

// ------------------------------------------------------------------ the hostile upstream

/// One request a hostile origin saw.
#[derive(Debug, Clone)]
struct Seen {
    origin: &'static str,
    path: String,
    referer: Option<String>,
}

#[derive(Clone)]
struct Hostile {
    origin: &'static str,
    /// The other origin's address (origin `b` for `a`).
    b: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Bytes of endless bodies written.
    endless_served: Arc<AtomicU64>,
    /// Requests for the segment that fails midway.
    broken_attempts: Arc<AtomicUsize>,
    /// The raw origin (see [`raw_origin`]).
    raw: SocketAddr,
}

/// Two hostile origins (`a`, `b`) on loopback, serving the same routes.
struct Origins {
    a: SocketAddr,
    b: SocketAddr,
    state: Hostile,
}

impl Origins {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.a)
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

static TS_CHUNK: [u8; 65536] = [0x47; 65536];

const HUGE_LINES: usize = ((4 << 20) - 64) / 2;

fn playlist(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")], body).into_response()
}

async fn record(state: &Hostile, path: &str, headers: &HeaderMap) {
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    state.seen.lock().unwrap().push(Seen { origin: state.origin, path: path.to_owned(), referer });
}

async fn hostile(State(state): State<Hostile>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("/{path}");
    record(&state, &path, &headers).await;
    let b = state.b;
    match path.as_str() {
        // Item 1: a "segment" that is an HTML page with a script, typed as such upstream.
        "/evil/live.m3u8" => {
            playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nevil.html\n#EXT-X-ENDLIST\n".into())
        }
        "/evil/evil.html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!doctype html><script>alert(document.cookie)</script>",
        )
            .into_response(),
        // Item 2: a segment body that never ends.
        "/endless/live.m3u8" => playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nendless.ts\n".into()),
        "/endless/endless.ts" => {
            let served = state.endless_served.clone();
            // Bounded only so the server cannot outlive a broken test: 64 GiB.
            let chunks = futures_util::stream::iter(0..1_000_000u32).map(move |_| {
                served.fetch_add(TS_CHUNK.len() as u64, Ordering::Relaxed);
                Ok::<_, std::io::Error>(Bytes::from_static(&TS_CHUNK))
            });
            ([(header::CONTENT_TYPE, "video/mp2t")], Body::from_stream(chunks)).into_response()
        }
        // Item 2: a segment on the raw origin whose first answer breaks midway.
        "/broken/live.m3u8" => playlist(format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://{}/broken/seg.ts\n",
            state.raw
        )),
        // Item 5: a 4 MiB playlist of one-byte URI lines.
        "/huge.m3u8" => playlist(format!("#EXTM3U\n{}", "a\n".repeat(HUGE_LINES))),
        // Item 5: a playlist that inflates to 64 MiB.
        "/bomb.m3u8" => gzip(gzip_bomb(b"#EXTM3U\n", 64 << 20)),
        // Item 4: a master on `a` naming variants and renditions on both origins.
        "/scope/master.m3u8" => playlist(format!(
            "#EXTM3U\n\
             #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",URI=\"http://{b}/scope/audio.m3u8\"\n\
             #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO=\"aud\"\n\
             a.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1600000,RESOLUTION=1280x720,AUDIO=\"aud\"\n\
             http://{b}/scope/b.m3u8\n"
        )),
        "/scope/a.m3u8" => playlist(format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n\
             #EXT-X-KEY:METHOD=AES-128,URI=\"http://{b}/scope/key.bin\"\n\
             #EXTINF:2,\nseg-a.ts\n#EXTINF:2,\nhttp://{b}/scope/seg-b.ts\n"
        )),
        "/scope/b.m3u8" | "/scope/audio.m3u8" => playlist(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2,\nseg-b.ts\n".into(),
        ),
        "/scope/seg-a.ts" | "/scope/seg-b.ts" => {
            ([(header::CONTENT_TYPE, "video/mp2t")], Bytes::from_static(&TS_CHUNK[..1880])).into_response()
        }
        "/scope/key.bin" => Bytes::from_static(&[7u8; 16]).into_response(),
        // Item 5: schedule sources whose every answer is a compression bomb.
        p if p.starts_with("/bomb-schedule/") => gzip(gzip_bomb(b"{\"MRData\": ", 64 << 20)),
        _ => (axum::http::StatusCode::NOT_FOUND, "no such hostile path").into_response(),
    }
}

fn gzip(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream"), (header::CONTENT_ENCODING, "gzip")], body)
        .into_response()
}

/// A gzip member that inflates to `prefix` followed by about `size` zero bytes, about 600 times
/// smaller than that: one fixed-Huffman deflate block of 258-byte back-references. The trailer's
/// CRC is not the real one; a reader that honours its cap never gets that far.
fn gzip_bomb(prefix: &[u8], size: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        /// `len` bits of `value`, least significant first (deflate's order for non-Huffman data).
        fn put(&mut self, value: u64, len: u32) {
            self.acc |= value << self.n;
            self.n += len;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code: most significant bit first.
        fn code(&mut self, code: u64, len: u32) {
            let reversed = (0..len).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
            self.put(reversed, len);
        }
    }
    let mut bits = Bits { out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], acc: 0, n: 0 };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = fixed Huffman
    let literal = |bits: &mut Bits, byte: u8| {
        if byte < 144 {
            bits.code(0x30 + u64::from(byte), 8)
        } else {
            bits.code(0x190 + u64::from(byte) - 144, 9)
        }
    };
    for &byte in prefix {
        literal(&mut bits, byte);
    }
    literal(&mut bits, 0);
    for _ in 0..size / 258 {
        bits.code(0xc5, 8); // length code 285: 258 bytes
        bits.code(0, 5); // distance code 0: 1 byte back
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        let pad = 8 - bits.n;
        bits.put(0, pad);
    }
    let total = prefix.len() + 1 + size / 258 * 258;
    let mut out = bits.out;
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out
}

/// A hand-written HTTP/1.1 origin for what axum will not do: its first answer announces 100000
/// bytes, sends 1000 and closes the connection; every later answer is whole.
async fn raw_origin(listener: tokio::net::TcpListener, attempts: Arc<AtomicUsize>) {
    // Bounded: a test makes a handful of requests.
    for _ in 0..100 {
        let Ok((mut socket, _)) = listener.accept().await else { return };
        let attempt = attempts.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16384 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
            let body = if attempt == 0 { 1000 } else { 100_000 };
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&vec![0x47u8; body]).await;
            let _ = socket.flush().await;
        });
    }
}

async fn start_origins() -> Origins {
    let la = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lraw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (a, b, raw) = (la.local_addr().unwrap(), lb.local_addr().unwrap(), lraw.local_addr().unwrap());
    let state = Hostile {
        origin: "a",
        b,
        seen: Arc::default(),
        endless_served: Arc::default(),
        broken_attempts: Arc::default(),
        raw,
    };
    tokio::spawn(raw_origin(lraw, state.broken_attempts.clone()));
    for (listener, origin) in [(la, "a"), (lb, "b")] {
        let app =
            Router::new().route("/{*path}", get(hostile)).with_state(Hostile { origin, ..state.clone() });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }
    Origins { a, b, state }
}

// ------------------------------------------------------------------ pitwall around it

async fn setup() -> (Testbed, Origins, Server, tempfile::TempDir) {
    setup_allowing(&[]).await
}

/// [`setup`], also allowing `extra` upstream.
async fn setup_allowing(extra: &[String]) -> (Testbed, Origins, Server, tempfile::TempDir) {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let origins = start_origins().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::config(&testbed, tmp.path());
    let own = [origins.a, origins.b, origins.state.raw];
    config.flags.allow_upstream.extend(own.iter().map(SocketAddr::to_string));
    config.flags.allow_upstream.extend(extra.iter().cloned());
    // /proxy is admin-only (or needs an admin token to exist at all): always configure and send one.
    config.flags.admin_token = Some(ADMIN.into());
    let server = Server::start(config).await;
    (testbed, origins, server, tmp)
}

fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(header::AUTHORIZATION, format!("Bearer {ADMIN}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(60)).build().unwrap()
}

/// The relay URLs of the playlist at `url` (fetched through `/proxy`).
async fn relayed(server: &Server, client: &reqwest::Client, url: &str) -> Vec<String> {
    let response = client.get(proxy(server, url)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    assert_eq!(response.headers()["content-type"], "application/vnd.apple.mpegurl");
    let text = response.text().await.unwrap();
    uris(&text).into_iter().map(|u| format!("{}{u}", server.url)).collect()
}

/// A metric's value from `/metrics` text; `None` when absent.
fn metric(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find(|l| l.split([' ', '{']).next() == Some(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

// ------------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_bytes_are_typed_by_the_relay_never_by_the_upstream() {
    let (testbed, origins, server, _tmp) = setup().await;
    let client = client();
    let response = client.get(proxy(&server, &origins.url("/evil/live.m3u8"))).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let segments = relayed(&server, &client, &origins.url("/evil/live.m3u8")).await;
    assert_eq!(segments.len(), 1);
    for request in [client.get(&segments[0]), client.head(&segments[0])] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/octet-stream", "text/html never passes");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    let fetched = origins.seen();
    assert!(
        fetched.iter().any(|s| s.origin == "a" && s.path == "/evil/evil.html" && s.referer.is_none()),
        "the page came from upstream, fetched without headers (/proxy has none): {fetched:?}"
    );
    // Media types HLS allows keep their type (a testbed MPEG-TS feed).
    let variants = relayed(&server, &client, &token_url(&testbed, "onboard-1").await).await;
    let text = client.get(&variants[0]).send().await.unwrap().text().await.unwrap();
    let segment = uris(&text).into_iter().find(|u| u.contains(".ts")).unwrap();
    let response = client.get(format!("{}{segment}", server.url)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "video/mp2t");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    server.stop().await;
    testbed.shutdown().await;
}

/// Reads `path` from pitwall over a raw socket, `per_read` bytes every `pause`, `reads` times.
async fn slow_reader(server: SocketAddr, path: String, reads: usize, pause: Duration) -> usize {
    let mut socket = tokio::net::TcpStream::connect(server).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 1024];
    let mut total = 0;
    for _ in 0..reads {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
        tokio::time::sleep(pause).await;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_segment_holds_bounded_memory_while_another_stream_plays() {
    let (testbed, origins, server, _tmp) = setup().await;
    let client = client();
    let endless = relayed(&server, &client, &origins.url("/endless/live.m3u8")).await;
    let path = endless[0].strip_prefix(&server.url).unwrap().to_string();
    let addr: SocketAddr = server.url.strip_prefix("http://").unwrap().parse().unwrap();
    // Three viewers at about 4 KiB/s for about 4 s each.
    let readers: Vec<_> = (0..3)
        .map(|_| tokio::spawn(slow_reader(addr, path.clone(), 16, Duration::from_millis(250))))
        .collect();
    // Meanwhile another stream keeps playing, and pitwall's shared bytes stay within budget.
    let master = relayed(&server, &client, &token_url(&testbed, "main").await).await;
    let mut peak = 0;
    for round in 0..40 {
        let text = client.get(&master[0]).send().await.unwrap().text().await.unwrap();
        let segment = uris(&text).into_iter().rfind(|u| u.contains(".ts")).unwrap();
        let response = client.get(format!("{}{segment}", server.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "round {round}");
        assert!(!response.bytes().await.unwrap().is_empty(), "round {round}");
        let metrics = server.metrics().await;
        let held = metric(&metrics, "pitwall_relay_shared_bytes").expect("the shared-bytes gauge");
        peak = peak.max(held);
        assert!(held <= BUDGET + (1 << 20), "round {round}: {held} bytes held");
        if readers.iter().all(|r| r.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for reader in readers {
        assert!(reader.await.unwrap() > 0, "every slow viewer got bytes");
    }
    // The fetch followed its viewers: pitwall read the budget's share and what they took, not
    // the endless body at line rate.
    let served = origins.state.endless_served.load(Ordering::Relaxed);
    assert!(served < 4 * BUDGET, "read {served} bytes of an endless body");
    // With the viewers gone, the upstream read stops and every held byte is released (the
    // other stream's finished fetches linger 5 s). Bounded: 30 s.
    let mut released = false;
    for _ in 0..300 {
        let metrics = server.metrics().await;
        if metric(&metrics, "pitwall_relay_shared_bytes") == Some(0)
            && metric(&metrics, "pitwall_relays_active") == Some(0)
        {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(released, "held bytes released: {}", server.metrics().await);
    let after = origins.state.endless_served.load(Ordering::Relaxed);
    assert!(peak > 0, "the endless segment was shared");
    assert!(after < 4 * BUDGET, "read {after} bytes of an endless body");
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_that_fails_midway_is_fetched_afresh_on_retry() {
    let (testbed, origins, server, _tmp) = setup().await;
    let client = client();
    let segment = relayed(&server, &client, &origins.url("/broken/live.m3u8")).await.remove(0);
    // The cut reaches the viewer as an error: a broken body, or (when the cut comes before
    // pitwall flushed its head) a broken answer.
    let first = match client.get(&segment).send().await {
        Ok(response) => response.bytes().await.map(|b| b.len()),
        Err(e) => Err(e),
    };
    assert!(first.is_err(), "{first:?}");
    let retry = client.get(&segment).send().await.unwrap();
    assert_eq!(retry.status(), 200);
    let body = retry.bytes().await.expect("the retry is a fresh, whole fetch");
    assert_eq!(body.len(), 100_000);
    assert_eq!(origins.state.broken_attempts.load(Ordering::SeqCst), 2);
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_secrets_never_reach_an_answer() {
    // Bound and dropped at once: nothing listens there now.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (testbed, _origins, server, _tmp) = setup_allowing(&[closed.to_string()]).await;
    let client = client();
    for url in [
        "http://no-such-host.invalid/x.m3u8?token=SECRET123".to_string(),
        format!("http://{closed}/x.m3u8?token=SECRET123"),
    ] {
        let response = client.get(proxy(&server, &url)).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_client_error() || status.is_server_error(), "{url}: {status}");
        assert!(!text.contains("SECRET123"), "{url}: {text}");
        assert!(text.contains("\"error\""), "{text}");
    }
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flooded_and_bombed_playlists_stop_at_their_caps_and_the_server_stays_responsive() {
    let (testbed, origins, server, _tmp) = setup().await;
    let client = client();
    let huge = {
        let (client, url) = (client.clone(), proxy(&server, &origins.url("/huge.m3u8")));
        tokio::spawn(async move {
            let response = client.get(url).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        })
    };
    // The server answers others while it works on the flood (bounded: 50 probes).
    for _ in 0..50 {
        assert_eq!(server.get("/healthz").await.status(), 200);
        if huge.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, text) = huge.await.unwrap();
    assert_eq!(status, 502, "{}", &text[..text.len().min(300)]);
    assert!(text.contains("more than 20000 URIs"), "{}", &text[..text.len().min(300)]);

    let response = client.get(proxy(&server, &origins.url("/bomb.m3u8"))).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(text.contains("larger than"), "{text}");
    assert_eq!(server.get("/healthz").await.status(), 200);
    server.stop().await;
    testbed.shutdown().await;
}

/// Requests to `path` the testbed counted.
async fn count(testbed: &Testbed, path: &str) -> u64 {
    let stats: Value =
        reqwest::get(format!("{}/_control/stats", testbed.url())).await.unwrap().json().await.unwrap();
    stats[path].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_schedule_seasons_hit_upstream_at_most_once() {
    let (testbed, _origins, server, _tmp) = setup().await;
    for _ in 0..3 {
        for (season, status) in [(1800, 400), (2999, 404), (1951, 404), (9999, 200)] {
            let response = server.get(&format!("/schedule?season={season}")).await;
            assert_eq!(response.status(), status, "season {season}");
            let text = response.text().await.unwrap();
            assert!(!text.contains("http://"), "season {season}: {text}");
        }
    }
    assert_eq!(count(&testbed, "/jolpica/ergast/f1/2999.json").await, 0, "out of range: never fetched");
    assert_eq!(count(&testbed, "/jolpica/ergast/f1/1800.json").await, 0);
    assert_eq!(count(&testbed, "/jolpica/ergast/f1/1951.json").await, 1, "a miss is remembered");
    assert!(count(&testbed, "/jolpica/ergast/f1/9999.json").await >= 1, "the demo season is served");
    server.stop().await;
    testbed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_answers_stop_at_their_cap_even_compressed() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let origins = start_origins().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut config = common::config(&testbed, tmp.path());
    config.flags.allow_upstream.push(origins.a.to_string());
    config.file.schedule.jolpica_url = origins.url("/bomb-schedule/jolpica");
    config.file.schedule.openf1_url = origins.url("/bomb-schedule/openf1");
    let server = Server::start(config).await;
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
        .get(format!("{}/schedule?season=2025", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(text.contains("larger than"), "{text}");
    server.stop().await;
    testbed.shutdown().await;
}

// ------------------------------------------------------------------ candidates (direct extractor)

fn direct_source(id: &str, settings: &[(&str, &str)]) -> SourceConfig {
    common::source(id, "direct", settings)
}

/// Waits (bounded: 60 s) until `/streams?session=…&all=true` shows `source` with a last check.
async fn stream_of(server: &Server, session: &str, source: &str) -> Value {
    let url = format!("{}/streams?session={session}&all=true", server.url);
    for _ in 0..600 {
        let v: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        if let Some(s) = v["streams"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["source"] == source && !s["last_checked"].is_null()))
        {
            return s.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checked stream of {source}: {}", reqwest::get(&url).await.unwrap().text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidate_headers_reach_only_their_own_origin_and_probe_errors_hide_secrets() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let origins = start_origins().await;
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("direct"), plugins.join("direct.wasm")).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut config = common::config(&testbed, &tmp.path().join("data"));
    config.flags.allow_upstream.extend([origins.a.to_string(), origins.b.to_string(), closed.to_string()]);
    config.flags.plugins_dir = plugins;
    config.file.extractors.poll = Duration::from_millis(200);
    config.file.health.interval = Duration::from_secs(1);
    config.file.schedule.season = SeasonSetting::Year(9999);
    let referer = "http://site.example/watch?session=SECRET-REFERER";
    let master = origins.url("/scope/master.m3u8");
    let dead = format!("http://{closed}/live.m3u8?token=SECRET-PROBE");
    config.file.source = vec![
        direct_source("scoped", &[("url", &master), ("referer", referer)]),
        direct_source("dead", &[("url", &dead)]),
        direct_source("bomb", &[("url", &origins.url("/bomb.m3u8"))]),
    ];
    let server = Server::start(config).await;
    let live = server.live_session().await;

    // Probe errors name their step, never the URL's token.
    let dead = stream_of(&server, &live, "dead").await;
    let message = dead["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "{dead}");
    assert!(!dead.to_string().contains("SECRET-PROBE"), "{dead}");
    let bomb = stream_of(&server, &live, "bomb").await;
    assert!(bomb["error"]["message"].as_str().unwrap_or_default().contains("larger than"), "{bomb}");

    // Play every level of the scoped stream through /live and the relay.
    let scoped = stream_of(&server, &live, "scoped").await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let mut queue = vec![format!("{}{}", server.url, scoped["url"].as_str().unwrap())];
    let mut fetched = 0;
    while let Some(url) = queue.pop() {
        fetched += 1;
        assert!(fetched < 40, "runaway walk");
        let response = client.get(&url).send().await.unwrap();
        assert!(response.status().is_success(), "{url}: {}", response.status());
        let playlist = response.headers()["content-type"] == "application/vnd.apple.mpegurl";
        let body = response.text().await.unwrap_or_default();
        if playlist {
            for uri in uris(&body) {
                assert!(uri.starts_with('/'), "URI not through pitwall: {uri}");
                queue.push(format!("{}{uri}", server.url));
            }
        }
    }
    let seen = origins.seen();
    let from_a: Vec<&Seen> =
        seen.iter().filter(|s| s.origin == "a" && s.path.starts_with("/scope/")).collect();
    let from_b: Vec<&Seen> = seen.iter().filter(|s| s.origin == "b").collect();
    assert!(
        from_a.iter().any(|s| s.path == "/scope/seg-a.ts" && s.referer.as_deref() == Some(referer)),
        "the candidate's own origin gets its headers: {from_a:?}"
    );
    for path in ["/scope/b.m3u8", "/scope/audio.m3u8", "/scope/seg-b.ts", "/scope/key.bin"] {
        assert!(from_b.iter().any(|s| s.path == path), "{path} was fetched from b: {from_b:?}");
    }
    assert!(
        from_b.iter().all(|s| s.referer.as_deref().is_none_or(|r| !r.contains("SECRET"))),
        "another origin never gets the candidate's headers: {from_b:?}"
    );
    server.stop().await;
    testbed.shutdown().await;
}
