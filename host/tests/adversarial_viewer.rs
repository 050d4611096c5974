//! A hostile viewer against the real `pitwall` binary: weak settings refused at start, off-site
//! redirects, a DNS-rebinding page, token guessing, slowloris, oversized heads, path traversal,
//! forged relay URLs and a flood of random `/proxy` URLs. Every answer carries the security
//! headers. Each attack is bounded in count and time and targets loopback only. The connection
//! caps are tested on the edge itself (`serve::serve`, in-process), whose per-client cap is no flag.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::Command,
    time::{Duration, Instant},
};

use common::{Binary, web_dir};

/// A raw HTTP/1.1 exchange: sends `head` (and nothing else), reads until the server closes or
/// `timeout` passes. Answers what was read.
fn raw(addr: &str, head: &[u8], timeout: Duration) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream.write_all(head).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn start(args: &[&str]) -> (tempfile::TempDir, Binary) {
    let tmp = tempfile::tempdir().unwrap();
    let web = web_dir(tmp.path());
    let mut all = vec!["--web-dir", web.as_str()];
    all.extend_from_slice(args);
    let bin = Binary::start(&all, &tmp.path().join("data"));
    (tmp, bin)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[test]
fn weak_secrets_never_start_a_server() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, key) in [
        (vec!["--viewer-token", ""], "--viewer-token"),
        (vec!["--viewer-token", "   "], "--viewer-token"),
        (vec!["--admin-token", ""], "--admin-token"),
        (vec!["--relay-key", ""], "--relay-key"),
        (vec!["--relay-key", "short"], "--relay-key"),
        (vec!["--trusted-proxy", "not-a-network"], "--trusted-proxy"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(tmp.path())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(key), "{args:?}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("listening on"), "{args:?}");
    }
}

#[tokio::test]
async fn login_redirect_stays_on_this_site_and_wrong_tokens_are_throttled() {
    let (_tmp, pitwall) = start(&["--viewer-token", "s3cret-viewer-token"]);
    let http = no_redirects();
    for (path, want) in [
        ("//evil.example/?token=s3cret-viewer-token", "/evil.example/"),
        ("/\\evil.example/?token=s3cret-viewer-token", "/evil.example/"),
        ("///evil.example/x?token=s3cret-viewer-token", "/evil.example/x"),
        ("/session/1?token=s3cret-viewer-token", "/session/1"),
    ] {
        let answer = raw(
            pitwall.addr(),
            format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", pitwall.addr())
                .as_bytes(),
            Duration::from_secs(10),
        );
        let location = answer
            .lines()
            .find_map(|l| l.strip_prefix("location: ").or_else(|| l.strip_prefix("Location: ")))
            .unwrap_or_else(|| panic!("{path}: no redirect: {answer}"));
        assert_eq!(location.trim(), want, "{path}");
    }

    // Guessing: ten wrong tokens, then this client is told to wait, even with the right one.
    for n in 0..10 {
        let r = http
            .get(format!("{}/schedule", pitwall.url))
            .bearer_auth(format!("guess-{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "guess {n}");
    }
    let r = http.get(format!("{}/schedule", pitwall.url)).bearer_auth("guess-10").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = http
        .get(format!("{}/schedule", pitwall.url))
        .bearer_auth("s3cret-viewer-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "throttled clients wait out the window");
    let r = http.get(format!("{}/healthz", pitwall.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "probes stay open");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let (_tmp, pitwall) = start(&[]);
    let http = no_redirects();
    for path in
        ["/", "/session/x", "/healthz", "/schedule", "/nope.js", "/relay/abc/seg.ts?t=forged", "/proxy?url=x"]
    {
        let r = http.get(format!("{}{path}", pitwall.url)).send().await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_string());
        let csp = csp.unwrap_or_else(|| panic!("{path}: no CSP"));
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
}

#[tokio::test]
async fn proxy_is_off_without_an_admin_token_and_admin_only_with_one() {
    let (_tmp, open) = start(&["--viewer-token", "viewer-token-123"]);
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/proxy?url=https://cdn.example/x.m3u8", open.url))
        .bearer_auth("viewer-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(body.contains("--admin-token"), "says how to enable it: {body}");

    let (_tmp, guarded) = start(&["--viewer-token", "viewer-token-123", "--admin-token", "admin-token-456"]);
    let r = http
        .get(format!("{}/proxy?url=http://127.0.0.1:1/x.m3u8", guarded.url))
        .bearer_auth("viewer-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a viewer is not an admin");
    let r = http
        .get(format!("{}/proxy?url=http://127.0.0.1:1/x.m3u8", guarded.url))
        .bearer_auth("admin-token-456")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 401);
    assert_ne!(r.status(), 200, "loopback upstream is refused by the guard");
}

#[tokio::test]
async fn a_dns_rebinding_page_cannot_drive_the_api() {
    let (_tmp, pitwall) = start(&["--public-host", "f1.example.net"]);
    let port = pitwall.addr().rsplit(':').next().unwrap().to_string();
    for (host, want) in [
        ("evil.example".to_string(), "421"),
        (format!("evil.example:{port}"), "421"),
        (format!("127.0.0.1:{port}"), "200"),
        (format!("localhost:{port}"), "200"),
        ("f1.example.net".to_string(), "200"),
    ] {
        let answer = raw(
            pitwall.addr(),
            format!("GET /schedule HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(10),
        );
        let status = answer.split_whitespace().nth(1).unwrap_or_default();
        assert_eq!(status, want, "Host: {host}: {}", answer.lines().next().unwrap_or_default());
    }
}

#[tokio::test]
async fn slow_and_oversized_heads_are_cut_off_and_do_not_starve_others() {
    let (_tmp, pitwall) = start(&["--max-connections", "2", "--header-read-timeout", "2s"]);
    let addr = pitwall.addr().to_string();
    // Two slowloris clients take every connection slot with heads that never end.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /schedule HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        slow.push(s);
    }
    // They are closed at the header-read timeout (bounded wait: 30 s)…
    for mut s in slow {
        let started = Instant::now();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        assert!(started.elapsed() < Duration::from_secs(30), "a slowloris connection stayed open");
    }
    // …and a real client is served.
    let answer = raw(
        &addr,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A 200 KiB header is refused without being read into a request.
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(big.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 431"), "{answer}");
    let answer = raw(
        &addr,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn the_web_app_never_serves_files_outside_its_directory() {
    let (tmp, pitwall) = start(&[]);
    std::fs::write(tmp.path().join("secret.txt"), "TOP-SECRET-FILE").unwrap();
    std::fs::create_dir_all(tmp.path().join("data")).unwrap();
    std::fs::write(tmp.path().join("data").join("secret.txt"), "TOP-SECRET-FILE").unwrap();
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/_app/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/....//secret.txt",
        "/%252e%252e/secret.txt",
        "/_app/immutable/../../../data/secret.txt",
        "/%00/../secret.txt",
    ] {
        let answer = raw(
            pitwall.addr(),
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(10),
        );
        assert!(!answer.contains("TOP-SECRET-FILE"), "{path} leaked a file: {answer}");
    }
}

#[tokio::test]
async fn forged_relay_urls_and_random_proxy_urls_are_refused_cheaply() {
    let (_tmp, pitwall) = start(&["--admin-token", "admin-token-456"]);
    let http = reqwest::Client::new();
    for path in [
        "/relay/abc/seg.ts",
        "/relay/abc/seg.ts?t=",
        "/relay/abc/seg.ts?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/relay/abc/seg.ts?t=%00%01",
    ] {
        let r = http.get(format!("{}{path}", pitwall.url)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    // 10,000 random URLs that the guard or the parser refuses before any connection: the
    // server answers each with a 4xx/5xx JSON error, never a 200, and stays up and small.
    let rss_before = pitwall.rss_kib();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let shapes = [
        "http://127.0.0.{n}/x.m3u8",
        "http://10.{n}.0.1/live.m3u8?token=SECRET-{n}",
        "http://[::ffff:127.0.0.{n}]/x",
        "http://169.254.169.254/latest/{n}",
        "file:///etc/passwd{n}",
        "gopher://127.0.0.1:{n}/",
        "http://0x7f.0.0.{n}/",
        "http://2130706433/{n}",
        "http://[fd00::{n}]/",
        "not a url {n}",
        "http://%zz/{n}",
    ];
    let started = Instant::now();
    for i in 0..10_000u64 {
        let n = next() % 250 + 1;
        let url = shapes[(next() % shapes.len() as u64) as usize].replace("{n}", &n.to_string());
        let target =
            url::Url::parse_with_params(&format!("{}/proxy", pitwall.url), [("url", url.as_str())]).unwrap();
        let r = http.get(target).bearer_auth("admin-token-456").send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status.is_client_error() || status.is_server_error(), "{url}: {status}");
        assert!(!body.contains("SECRET-"), "{url}: the answer shows the upstream token: {body}");
        assert!(started.elapsed() < Duration::from_secs(240), "bounded: only {i} requests in 240 s");
    }
    assert!(!pitwall.log().contains("SECRET-"), "a log line shows an upstream token");
    let growth = pitwall.rss_kib().saturating_sub(rss_before);
    assert!(growth < 64 * 1024, "RSS grew by {growth} KiB over 10,000 refused requests");
}

/// One request on `stream` (keep-alive); the answer, or `None` when the server closed the
/// connection without one. Bounded by `limit`.
async fn exchange(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let talk = async {
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.ok()?;
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        while !out.ends_with(b"\r\n\r\nok") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    };
    tokio::time::timeout(limit, talk).await.ok().flatten()
}

/// A connection to `addr` from the loopback address `from` (Linux answers all of 127/8).
async fn connect_from(from: [u8; 4], addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((std::net::Ipv4Addr::from(from), 0).into()).unwrap();
    socket.connect(addr).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_in_total_and_per_client() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = pitwall::serve::EdgeLimits {
        max_connections: 3,
        max_connections_per_client: 2,
        // Held connections stay open for the whole test.
        header_read_timeout: Duration::from_secs(120),
        ..pitwall::serve::EdgeLimits::default()
    };
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(pitwall::serve::serve(
        listener,
        app,
        limits,
        Vec::new(),
        stop.clone(),
        Duration::from_secs(1),
    ));
    let (a, b, c) = ([127, 0, 0, 1], [127, 0, 0, 2], [127, 0, 0, 3]);
    let served = Duration::from_secs(10);

    // Client A holds its two connections (each answered, so each is accepted and counted)…
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from(a, addr).await;
        assert!(exchange(&mut s, served).await.is_some(), "A's first two connections are served");
        held.push(s);
    }
    // …a third from A is closed unanswered, while client B is served.
    let mut extra = connect_from(a, addr).await;
    assert_eq!(exchange(&mut extra, served).await, None, "A's third connection was served");
    let mut from_b = connect_from(b, addr).await;
    assert!(exchange(&mut from_b, served).await.is_some(), "B is not served while A is at its cap");

    // Three connections are open (A's two, B's one): the total cap. C's connection waits in the
    // accept queue (not answered within a second) until one of them closes.
    let mut from_c = connect_from(c, addr).await;
    let waiting = tokio::spawn(async move { exchange(&mut from_c, Duration::from_secs(30)).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished(), "C was served past the total cap");
    drop(from_b);
    assert!(waiting.await.unwrap().is_some(), "C was not served after a connection closed");

    // A closes one of its own: it may open another (bounded: the server sees the close soon).
    drop(held.pop());
    let mut again = None;
    for _ in 0..100 {
        let mut s = connect_from(a, addr).await;
        if exchange(&mut s, served).await.is_some() {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "A could not connect again after closing one of its connections");
    stop.cancel();
    server.await.unwrap().unwrap();
}
