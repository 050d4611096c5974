//! Python extractors in the host, unchanged: components built by `extractor-sdk-py/run.sh` with
//! componentize-py (`--stub-wasi`) import nothing but `pitwall:extractor/host`, the Python abuse
//! guest (`guests/abuse-py`) meets the same deadline, memory cap and fetch policy as the Rust one
//! (`adversarial_plugin.rs`), a spinning `info()` is rejected at the load deadline, and the real `pitwall --demo` serves the demo streams with only the
//! Python `demo-site` in its plugins directory. The components are ~18 MB, so every engine here
//! shares one compiled-plugin cache under `target/`: only the first compile pays.
//!
//! `measure_python_and_rust_demo_site` (ignored; run with `--ignored --nocapture`) prints the
//! numbers in `docs/BENCHMARKS.md`.

mod common;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    Binary, extract_count, guest, python_guest, session_ref as session, settings, shared_cache_dir,
};
use pitwall::{
    extract::{CallError, ExtractorEngine, Limits, PluginRegistry},
    net::UpstreamGuard,
};
use pitwall_testbed::{Testbed, TestbedConfig};
use serde_json::Value;

/// The deadline of every call here. The default limits otherwise: a Python plugin needs no more
/// memory (64 MiB) or load time (10 s) than the defaults give every plugin.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// What "ended at its deadline" allows on top of it (thread start, teardown, a busy 2-core box).
const MARGIN: Duration = Duration::from_secs(8);

fn limits() -> Limits {
    Limits {
        call_timeout: CALL_TIMEOUT,
        fetch_body_bytes: 1 << 20,
        fetch_timeout: Duration::from_secs(30),
        fetch_requests: 8,
        concurrent_calls: 4,
        ..Limits::default()
    }
}

/// Compiles the Python components into the shared cache once per test binary, before the tests
/// that load them, so parallel tests do not each spend ~20 s of a core compiling the same file.
async fn warm_cache() {
    static WARM: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    tokio::task::spawn_blocking(|| {
        WARM.get_or_init(|| {
            let engine =
                ExtractorEngine::new(limits(), &UpstreamGuard::new(&[]), Some(shared_cache_dir())).unwrap();
            for path in
                [python_guest("plugins-py", "demo_site.wasm"), python_guest("guests-py", "abuse_py.wasm")]
            {
                let bytes = std::fs::read(&path).unwrap();
                engine.compile(&bytes, &pitwall::extract::registry::sha256_hex(&bytes)).unwrap();
            }
        });
    })
    .await
    .unwrap();
}

/// A registry over a fresh directory holding `files` (copied under their names), all loaded.
async fn registry(
    limits: Limits,
    allow: &[String],
    files: &[(PathBuf, &str)],
) -> (Arc<PluginRegistry>, tempfile::TempDir) {
    let engine = ExtractorEngine::new(limits, &UpstreamGuard::new(allow), Some(shared_cache_dir())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (from, name) in files {
        std::fs::copy(from, dir.path().join(name)).unwrap();
    }
    let registry = Arc::new(PluginRegistry::new(engine, dir.path().to_path_buf()));
    registry.poll().await;
    registry.poll().await;
    let failed: Vec<_> = registry.entries().into_iter().filter(|e| e.status != "loaded").collect();
    assert!(failed.is_empty(), "plugins not loaded: {failed:?}");
    (registry, dir)
}

async fn abuse(registry: &PluginRegistry, pairs: &[(&str, &str)]) -> (Result<usize, CallError>, Duration) {
    let started = Instant::now();
    let result = extract_count(registry, "abuse-py", pairs).await;
    (result, started.elapsed())
}

fn assert_deadline((result, took): (Result<usize, CallError>, Duration), what: &str) {
    let e = result.expect_err(what);
    assert_eq!(e.step, "trap", "{what}: {e}");
    assert!(e.detail.contains("deadline exceeded"), "{what}: {e}");
    assert!(
        took < CALL_TIMEOUT + MARGIN,
        "{what} held its call for {took:?} with a {CALL_TIMEOUT:?} deadline"
    );
    eprintln!("measured: python {what} ended after {took:?} (call_timeout {CALL_TIMEOUT:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_components_import_nothing_but_the_extractor_host() {
    warm_cache().await;
    let engine = ExtractorEngine::new(limits(), &UpstreamGuard::new(&[]), Some(shared_cache_dir())).unwrap();
    for path in [python_guest("plugins-py", "demo_site.wasm"), python_guest("guests-py", "abuse_py.wasm")] {
        let bytes = std::fs::read(&path).unwrap();
        let component = engine.compile(&bytes, &pitwall::extract::registry::sha256_hex(&bytes)).unwrap();
        let imports: Vec<String> = component
            .component_type()
            .imports(component.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        // No WASI at all (no clocks, files, sockets, HTTP): `fetch` is the only way out.
        assert_eq!(
            imports,
            ["pitwall:extractor/types@0.1.0", "pitwall:extractor/host@0.1.0"],
            "{}",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_abuse_meets_the_same_deadline_cap_and_fetch_policy() {
    warm_cache().await;
    let slow = common::slow_upstream().await;
    let allowed = slow.trim_start_matches("http://").to_string();
    // Refused by the SSRF guard: loopback, and not listed with --allow-upstream.
    let blocked = common::slow_upstream().await;
    let files =
        [(python_guest("guests-py", "abuse_py.wasm"), "abuse_py.wasm"), (guest("direct"), "direct.wasm")];
    let (registry, _dir) = registry(limits(), &[allowed], &files).await;
    assert_eq!(registry.ids(), ["abuse-py", "direct"]);
    let good = || async {
        let pairs = settings(&[("url", "https://cdn.example/good.m3u8")]);
        registry.extract("direct", session(), pairs).await.map(|c| c.len())
    };

    assert_eq!(abuse(&registry, &[("mode", "ok")]).await.0.unwrap(), 1);
    assert_deadline(abuse(&registry, &[("mode", "loop")]).await, "busy loop");
    let slow_url = format!("{slow}/slow?token=SECRET-4711");
    assert_deadline(
        abuse(&registry, &[("mode", "fetch"), ("url", &slow_url)]).await,
        "fetch that never answers",
    );

    let (bomb, took) = abuse(&registry, &[("mode", "bomb")]).await;
    let bomb = bomb.expect_err("the memory bomb fails");
    assert_eq!((bomb.step, bomb.detail.as_str()), ("trap", "memory limit exceeded"), "{bomb}");
    eprintln!("measured: python memory bomb stopped at the 64 MiB cap after {took:?}");

    // WASI is stubbed out: a sleep cannot wait in the host at all, it traps at once.
    let (sleep, took) = abuse(&registry, &[("mode", "sleep")]).await;
    let sleep = sleep.expect_err("time.sleep in the sandbox");
    assert_eq!(sleep.step, "trap", "{sleep}");
    assert!(!sleep.detail.contains("deadline"), "{sleep}");
    assert!(took < CALL_TIMEOUT, "a stubbed sleep ends before the deadline, took {took:?}");

    let undeclared = abuse(&registry, &[("mode", "host")]).await.0.unwrap_err();
    assert_eq!(undeclared.step, "request", "{undeclared}");
    assert!(undeclared.detail.contains("host not allowed: not-declared.example"), "{undeclared}");
    let loopback = format!("{blocked}/slow");
    let refused = abuse(&registry, &[("mode", "fetch"), ("url", &loopback)]).await.0.unwrap_err();
    assert_eq!(refused.step, "request", "{refused}");
    assert!(refused.detail.contains("address blocked"), "{refused}");
    assert!(!refused.detail.contains("SECRET"), "{refused}");

    // No sockets of its own: the component imports none, so even trying traps (the listener is
    // one the guard allows, so only the sandbox stands in the way).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let socket = abuse(&registry, &[("mode", "socket"), ("addr", &addr)]).await.0.unwrap_err();
    assert_eq!(socket.step, "trap", "{socket}");
    assert!(listener.accept().is_err(), "the guest connected");

    let bug = abuse(&registry, &[("mode", "panic")]).await.0.unwrap_err();
    assert_eq!(bug.step, "other", "{bug}");
    assert!(bug.detail.starts_with("uncaught RuntimeError at abuse_py.py:"), "{bug}");
    // 1,000 is well past the cap of 64, and quick enough for CPython in the sandbox to build on
    // a loaded machine before the deadline (100,000 is not).
    let flood = abuse(&registry, &[("mode", "many"), ("count", "1000")]).await.0.unwrap_err();
    assert!(flood.detail.contains("returned 1000 candidates; at most 64"), "{flood}");
    assert_eq!(abuse(&registry, &[("mode", "many"), ("count", "64")]).await.0.unwrap(), 64);

    // The host's clock reaches Python through the SDK, `time.time()` included.
    let clock = registry.extract("abuse-py", session(), settings(&[("mode", "clock")])).await.unwrap();
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for value in clock[0].label.split(' ') {
        let ms: i64 = value.parse().unwrap();
        assert!((now_ms - ms).abs() < 60_000, "{} vs {now_ms}", clock[0].label);
    }

    // Every abuse failed alone: the plugin is still loaded, the good one still answers.
    let entry = registry.entries().into_iter().find(|e| e.id == "abuse-py").unwrap();
    assert_eq!(entry.status, "loaded");
    assert_eq!(good().await.unwrap(), 1);
    assert_eq!(abuse(&registry, &[("mode", "ok")]).await.0.unwrap(), 1);
}

/// The Python abuse guest with its `info()` mode patched to `mode` (at most 8 bytes), like
/// `common::abuse_with_info_mode` for the Rust one: the marker is a `str` in the heap snapshot.
fn abuse_py_with_info_mode(mode: &str) -> Vec<u8> {
    const MARKER: &[u8] = b"pitwall-abuse-info-mode:ok______";
    let mut wasm = std::fs::read(python_guest("guests-py", "abuse_py.wasm")).unwrap();
    let found: Vec<usize> =
        wasm.windows(MARKER.len()).enumerate().filter(|(_, w)| *w == MARKER).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "one info-mode marker in abuse_py.wasm");
    let mut patch = format!("pitwall-abuse-info-mode:{mode}").into_bytes();
    patch.resize(MARKER.len(), b'_');
    wasm[found[0]..found[0] + MARKER.len()].copy_from_slice(&patch);
    wasm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_python_info_is_rejected_at_the_load_deadline_alone() {
    let engine = ExtractorEngine::new(limits(), &UpstreamGuard::new(&[]), Some(shared_cache_dir())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("abuse-py-info-spin.wasm"), abuse_py_with_info_mode("spin")).unwrap();
    std::fs::copy(guest("direct"), dir.path().join("direct.wasm")).unwrap();
    let registry = PluginRegistry::new(engine, dir.path().to_path_buf());
    registry.poll().await;
    registry.poll().await;
    assert_eq!(registry.ids(), ["direct"]);
    let entries = registry.entries();
    let spin = entries.iter().find(|e| e.file == "abuse-py-info-spin.wasm").expect("an entry for the file");
    assert_eq!(spin.status, "failed", "{spin:?}");
    assert!(spin.error.as_deref().unwrap_or("").contains("deadline exceeded"), "{spin:?}");
    let pairs = settings(&[("url", "https://cdn.example/good.m3u8")]);
    assert_eq!(registry.extract("direct", session(), pairs).await.unwrap().len(), 1);
}

async fn json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Polls `url` (bounded by `limit`) until `check` holds.
async fn wait_for(url: &str, what: &str, limit: Duration, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let v = json(url).await;
        if check(&v) {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}: {v:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pitwall_demo_serves_the_demo_streams_with_only_the_python_plugin() {
    warm_cache().await;
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(python_guest("plugins-py", "demo_site.wasm"), plugins.join("demo_site.wasm")).unwrap();
    let cache = shared_cache_dir();
    let bin = Binary::start(
        &["--demo", "--plugins-dir", path(&plugins), "--cache-dir", path(&cache)],
        &tmp.path().join("data"),
    );
    let base = bin.url.clone();
    // Bounded: a cold compile of the ~18 MB component takes tens of seconds on a loaded 2-core box.
    let loaded =
        wait_for(&format!("{base}/extractors"), "the Python demo-site", Duration::from_secs(180), |v| {
            v.as_array().is_some_and(|a| {
                a.iter().any(|e| {
                    e["id"] == "demo-site"
                        && !["loading", "missing"].contains(&e["status"].as_str().unwrap_or(""))
                })
            })
        })
        .await;
    let entry = loaded.as_array().unwrap().iter().find(|e| e["id"] == "demo-site").unwrap();
    assert_eq!(entry["status"], "loaded", "{entry:#}\nlog:\n{}", bin.log());
    assert_eq!(loaded.as_array().unwrap().len(), 1, "only the Python plugin: {loaded:#}");

    let schedule = json(&format!("{base}/schedule")).await;
    let live = common::live_session_in(&schedule);
    let streams = wait_for(
        &format!("{base}/streams?session={live}"),
        "the demo streams",
        Duration::from_secs(60),
        |v| v["streams"].as_array().is_some_and(|s| s.len() >= 4),
    )
    .await;
    let sources: Vec<&str> =
        streams["streams"].as_array().unwrap().iter().filter_map(|s| s["source"].as_str()).collect();
    for feed in ["demo-main", "demo-pitlane", "demo-onboard-1", "demo-onboard-2"] {
        assert!(sources.contains(&feed), "{feed} missing: {streams:#}");
    }
    let log = bin.log();
    assert!(log.lines().any(|l| l.contains("extracted") && l.contains("demo-site")), "{log}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The p-th percentile of sorted `values`.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Size, cold compile, load (instantiate + `info()`) and instantiate + `extract` p50/p99 over the
/// testbed's Demo TV flow (two fetches per call), for the Python and the Rust `demo-site`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement for docs/BENCHMARKS.md; run with --ignored --nocapture"]
async fn measure_python_and_rust_demo_site() {
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let page = format!("{}/demo-tv/watch/main", testbed.url());
    let calls: usize =
        std::env::var("PITWALL_MEASURE_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    for (language, wasm) in
        [("python", python_guest("plugins-py", "demo_site.wasm")), ("rust", guest("demo-site"))]
    {
        let bytes = std::fs::read(&wasm).unwrap();
        let cold = tempfile::tempdir().unwrap();
        let limits = Limits { call_timeout: Duration::from_secs(20), ..Limits::default() };
        let engine = ExtractorEngine::new(
            limits.clone(),
            &UpstreamGuard::new(&[testbed.addr().to_string()]),
            Some(cold.path().join("cache")),
        )
        .unwrap();
        let sha = pitwall::extract::registry::sha256_hex(&bytes);
        let started = Instant::now();
        let component = engine.compile(&bytes, &sha).unwrap();
        let compile = started.elapsed();
        let started = Instant::now();
        drop(engine.compile(&bytes, &sha).unwrap());
        let cached = started.elapsed();
        let started = Instant::now();
        let prepared = engine.prepare(&component).await.unwrap();
        let load = started.elapsed();
        let grants = pitwall::extract::host_api::HostGrants {
            declared: prepared.info.allowed_hosts.clone(),
            ..Default::default()
        };
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            let found = engine
                .call_extract(&prepared, session(), settings(&[("page", &page)]), grants.clone(), ())
                .await
                .unwrap();
            times.push(started.elapsed());
            assert_eq!(found.len(), 1);
        }
        times.sort();
        // The smallest memory cap (of a few) under which the demo flow still runs.
        let mut fits = None;
        for mb in [8usize, 16, 24, 32, 48, 64] {
            let limits = Limits { memory_bytes: mb << 20, ..limits.clone() };
            let guard = UpstreamGuard::new(&[testbed.addr().to_string()]);
            let small = ExtractorEngine::new(limits, &guard, Some(cold.path().join("cache"))).unwrap();
            let Ok(component) = small.compile(&bytes, &sha) else { continue };
            let Ok(prepared) = small.prepare(&component).await else { continue };
            let call =
                small.call_extract(&prepared, session(), settings(&[("page", &page)]), grants.clone(), ());
            if call.await.is_ok() {
                fits = Some(mb);
                break;
            }
        }
        println!(
            "measured: {language} demo-site runs with a memory cap of {fits:?} MiB (smallest of 8/16/24/32/48/64)"
        );
        println!(
            "measured: {language} demo-site: size {} KiB, cold compile {compile:.1?}, cached compile {cached:.1?}, load (instantiate + info) {load:.1?}, instantiate + extract over {calls} calls p50 {:.2?} p99 {:.2?}",
            bytes.len() >> 10,
            percentile(&times, 0.50),
            percentile(&times, 0.99),
        );
    }
}
