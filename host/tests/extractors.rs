//! The extractor platform end to end: guest components built from source (`direct` and the
//! hostile `abuse-guest`), the sandbox's limits (each abuse fails its own call only, with a clear
//! error), hot reload through a running pitwall, `/extractors`, and the compiled-plugin cache
//! (owner-only, checksummed: a damaged entry is recompiled, never loaded). The hostile guest's
//! full repertoire is in `adversarial_plugin.rs`.

mod common;

use std::{sync::Arc, time::Duration};

use common::{LogCapture, guest, session_ref as session, settings, with_custom_section};

use pitwall::{
    extract::{ExtractorEngine, Limits, PluginRegistry},
    net::UpstreamGuard,
};
use serde_json::Value;

/// A loopback server whose `/huge` streams 1 GiB (lazily) and whose `/cookie` needs a cookie it set.
async fn upstream() -> String {
    use axum::{Router, body::Body, http::header, response::IntoResponse, routing::get};
    let huge = || async {
        let chunk = bytes::Bytes::from(vec![b'x'; 1 << 16]);
        let stream =
            futures_util::stream::iter((0..16_384).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
        Body::from_stream(stream)
    };
    let app = Router::new()
        .route("/huge", get(huge))
        .route("/small", get(|| async { ([(header::SET_COOKIE, "s=1")], "hello").into_response() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_abuse_fails_only_its_own_call() {
    let upstream = upstream().await;
    let port = upstream.rsplit(':').next().unwrap();
    let guard = UpstreamGuard::new(&[format!("127.0.0.1:{port}")]);
    let limits = Limits {
        call_timeout: Duration::from_secs(2),
        load_timeout: Duration::from_secs(2),
        memory_bytes: 32 << 20,
        fetch_body_bytes: 1 << 20,
        fetch_timeout: Duration::from_secs(5),
        fetch_requests: 8,
        concurrent_calls: 4,
    };
    let engine = ExtractorEngine::new(limits, &guard, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guest("abuse-guest"), dir.path().join("abuse.wasm")).unwrap();
    let registry = Arc::new(PluginRegistry::new(engine, dir.path().to_path_buf()));
    registry.poll().await;
    registry.poll().await;
    assert_eq!(registry.ids(), ["abuse"]);

    let call = |mode: &'static str, url: Option<String>| {
        let registry = registry.clone();
        async move {
            let mut pairs = vec![("mode".to_string(), mode.to_string())];
            if let Some(url) = url {
                pairs.push(("url".into(), url));
            }
            registry.extract("abuse", session(), pairs).await
        }
    };

    let ok = call("ok", None).await.unwrap();
    assert_eq!(ok[0].url, "https://cdn.example/9999-01-race.m3u8");

    let panic = call("panic", None).await.unwrap_err();
    assert_eq!(panic.step, "trap");
    assert!(panic.detail.contains("panicked"), "{panic}");

    let spin = call("loop", None).await.unwrap_err();
    assert_eq!(spin.step, "trap");
    assert!(spin.detail.contains("deadline"), "{spin}");

    let bomb = call("bomb", None).await.unwrap_err();
    assert_eq!(bomb.step, "trap");
    assert_eq!(bomb.detail, "memory limit exceeded");

    let huge = call("fetch", Some(format!("{upstream}/huge"))).await.unwrap_err();
    assert_eq!(huge.step, "request");
    assert!(huge.detail.contains("larger than the host's cap"), "{huge}");

    let small = call("fetch", Some(format!("{upstream}/small"))).await.unwrap();
    assert_eq!(small[0].label, "5 bytes, status 200");

    let undeclared = call("host", None).await.unwrap_err();
    assert_eq!(undeclared.step, "request");
    assert!(undeclared.detail.contains("host not allowed"), "{undeclared}");

    // 127.0.0.1 is allowed upstream on the test server's port only; localhost not at all.
    for (url, why) in [("http://127.0.0.1:1/", "another port"), ("http://localhost:9/", "loopback")] {
        let blocked = call("fetch", Some(url.to_string())).await.unwrap_err();
        assert_eq!(blocked.step, "request");
        assert!(blocked.detail.contains("address blocked") && blocked.detail.contains(why), "{blocked}");
    }

    // Everything failed in isolation: the plugin still serves, concurrently too.
    let calls: Vec<_> = (0..8).map(|_| tokio::spawn(call("ok", None))).collect();
    for c in calls {
        assert!(c.await.unwrap().is_ok());
    }
    let entry = registry.entries().into_iter().find(|e| e.id == "abuse").unwrap();
    assert_eq!(entry.status, "loaded");
    assert_eq!((entry.calls, entry.failures), (17, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_open_sockets_of_its_own() {
    // A loopback listener the guard even allows: only the sandbox stands between it and the guest.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let guard = UpstreamGuard::new(&[addr.to_string(), udp_addr.to_string()]);
    let engine = ExtractorEngine::new(Limits::default(), &guard, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guest("abuse-guest"), dir.path().join("abuse.wasm")).unwrap();
    let registry = PluginRegistry::new(engine, dir.path().to_path_buf());
    registry.poll().await;
    registry.poll().await;
    assert_eq!(registry.ids(), ["abuse"]);

    for target in [addr, udp_addr] {
        let error = registry
            .extract("abuse", session(), settings(&[("mode", "socket"), ("addr", &target.to_string())]))
            .await
            .unwrap_err();
        // The guest ran to the end and reports each attempt refused: by the host's WASI (access
        // denied), not for want of socket support in the guest's standard library.
        assert_eq!(error.step, "other", "{error}");
        for part in ["tcp: refused (Permission denied", "udp: refused (Permission denied", "lookup: refused"]
        {
            assert!(error.detail.contains(part), "{part}: {error}");
        }
    }
    // Nothing reached the listeners: a TCP connect completes before `connect` returns, and a
    // datagram is queued before `send_to` returns.
    assert_eq!(listener.accept().map(|(_, peer)| peer).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    let mut buf = [0u8; 16];
    assert_eq!(udp.recv_from(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
}

async fn extractors(url: &str) -> Vec<Value> {
    reqwest::get(format!("{url}/extractors")).await.unwrap().json().await.unwrap()
}

/// Polls `/extractors` until `check` holds (bounded: 20 s).
async fn wait_for(url: &str, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        let list = extractors(url).await;
        if check(&list) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}: {:#?}", extractors(url).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_through_a_running_pitwall() {
    let direct = std::fs::read(guest("direct")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let mut config = pitwall::Config::for_tests(&tmp.path().join("data"));
    config.flags.plugins_dir = plugins.clone();
    config.flags.drain_timeout = Duration::from_secs(1);
    config.file.extractors.poll = Duration::from_millis(100);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pitwall::run(config, listener, async {
        let _ = stopped.await;
    }));

    assert!(extractors(&url).await.is_empty());
    // Written in two steps, like a slow copy onto NFS: the half file must never be loaded.
    let half = &direct[..direct.len() / 2];
    std::fs::write(plugins.join("direct.wasm"), half).unwrap();
    std::fs::write(plugins.join(".nfs000123"), b"junk").unwrap();
    std::fs::write(plugins.join("direct.wasm"), &direct).unwrap();
    let list = wait_for(&url, "direct to load", |l| {
        l.iter().any(|e| e["id"] == "direct" && e["status"] == "loaded")
    })
    .await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let first = list[0].clone();
    assert_eq!(first["name"], "Direct URL");
    assert_eq!(first["api"], "0.1.0");
    assert_eq!(first["file"], "direct.wasm");
    assert_eq!(first["error"], Value::Null);

    // A new version replaces the old one.
    std::fs::write(plugins.join("direct.wasm"), with_custom_section(&direct, "v2")).unwrap();
    let list = wait_for(&url, "the new version", |l| {
        l.iter().any(|e| e["id"] == "direct" && e["sha256"] != first["sha256"])
    })
    .await;
    let second = list[0].clone();

    // A broken replacement: the good version keeps serving and the entry names the rejection.
    std::fs::write(plugins.join("direct.wasm"), b"\0asm this is not a component").unwrap();
    let list = wait_for(&url, "the rejection", |l| l.iter().any(|e| e["error"] != Value::Null)).await;
    assert_eq!(list[0]["status"], "loaded");
    assert_eq!(list[0]["sha256"], second["sha256"]);
    assert!(list[0]["error"].as_str().unwrap().contains("direct.wasm"), "{list:#?}");

    // A broken file of its own is listed as failed.
    std::fs::write(plugins.join("broken.wasm"), b"garbage").unwrap();
    let list = wait_for(&url, "broken.wasm to fail", |l| l.iter().any(|e| e["file"] == "broken.wasm")).await;
    let broken = list.iter().find(|e| e["file"] == "broken.wasm").unwrap();
    assert_eq!(broken["status"], "failed");
    assert!(broken["error"].as_str().unwrap().contains("not a valid extractor component"), "{broken}");

    // Removal unloads.
    std::fs::remove_file(plugins.join("direct.wasm")).unwrap();
    std::fs::remove_file(plugins.join("broken.wasm")).unwrap();
    wait_for(&url, "unload", |l| l.is_empty()).await;

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_plugin_never_fails_a_call() {
    let direct = std::fs::read(guest("direct")).unwrap();
    let engine = ExtractorEngine::new(Limits::default(), &UpstreamGuard::default(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("direct.wasm"), &direct).unwrap();
    let registry = Arc::new(PluginRegistry::new(engine, dir.path().to_path_buf()));
    registry.poll().await;
    registry.poll().await;
    let caller = {
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..300 {
                let result = registry
                    .extract("direct", session(), settings(&[("url", "https://cdn.example/a.m3u8")]))
                    .await;
                assert!(result.is_ok(), "{result:?}");
                ok += 1;
            }
            ok
        })
    };
    for round in 0..5 {
        std::fs::write(dir.path().join("direct.wasm"), with_custom_section(&direct, &round.to_string()))
            .unwrap();
        registry.poll().await;
        registry.poll().await;
    }
    assert_eq!(caller.await.unwrap(), 300);
}

/// One "start": a fresh engine and registry over the same cache, `direct` loaded and called.
/// Returns the plugin's cache entry.
async fn start_over(cache: &std::path::Path, plugins: &std::path::Path, sha: &str) -> std::path::PathBuf {
    let engine =
        ExtractorEngine::new(Limits::default(), &UpstreamGuard::default(), Some(cache.to_path_buf()))
            .unwrap();
    let entry = engine.cache_path(sha).unwrap();
    let registry = PluginRegistry::new(engine, plugins.to_path_buf());
    registry.poll().await;
    registry.poll().await;
    assert_eq!(registry.ids(), ["direct"]);
    let found = registry
        .extract("direct", session(), settings(&[("url", "https://cdn.example/a.m3u8")]))
        .await
        .unwrap();
    assert_eq!(found[0].url, "https://cdn.example/a.m3u8");
    entry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_compiled_cache_entry_is_recompiled_never_loaded() {
    use sha2::Digest;
    use std::os::unix::fs::PermissionsExt;
    let logs = LogCapture::install();
    let direct = std::fs::read(guest("direct")).unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&direct));
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("direct.wasm"), &direct).unwrap();
    let cache = tmp.path().join("cache");
    let entry = start_over(&cache, &plugins, &sha).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(&entry), 0o600);
    let name = entry.file_name().unwrap().to_str().unwrap().to_string();
    let discarded = || logs.lines_with(&name).into_iter().filter(|l| l.contains("discarding")).count();
    assert_eq!(discarded(), 0);
    start_over(&cache, &plugins, &sha).await;
    assert_eq!(discarded(), 0, "a sound entry is used as is");

    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 4] = [
        ("one byte flipped in the native code", |b| {
            let mid = b.len() / 2;
            b[mid] ^= 0x55;
        }),
        ("truncated", |b| b.truncate(b.len() / 2)),
        ("the checksum edited", |b| b[30] = if b[30] == b'0' { b'1' } else { b'0' }),
        ("a bare artefact without the header", |b| {
            b.drain(..b.iter().position(|&c| c == b'\n').unwrap() + 1);
        }),
    ];
    for (i, (what, damage)) in damages.into_iter().enumerate() {
        let mut bytes = std::fs::read(&entry).unwrap();
        damage(&mut bytes);
        std::fs::write(&entry, &bytes).unwrap();
        start_over(&cache, &plugins, &sha).await;
        assert_eq!(discarded(), i + 1, "{what}: no warning naming {name}");
        let rewritten = std::fs::read(&entry).unwrap();
        assert!(rewritten.starts_with(b"pitwall-cwasm-v1 sha256="), "{what}: entry not rewritten");
        assert_ne!(rewritten, bytes, "{what}");
    }

    // An entry others could write is not trusted either.
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    start_over(&cache, &plugins, &sha).await;
    assert_eq!(discarded(), 5, "a world-writable entry must be discarded");
    assert_eq!(mode(&entry), 0o600);
}
