//! JavaScript guests run unchanged in the same sandbox as Rust ones: the hostile `abuse-js`
//! component (ComponentizeJS, SpiderMonkey inside) ends at its deadline whether it spins, sleeps
//! or waits on a slow upstream, hits the memory cap, and is refused undeclared hosts; the JS
//! `demo-site` alone serves the demo from the real binary; per-plugin limits apply by file name
//! or id; a compiled JS plugin is not compiled again after a restart.
//!
//! The components are built from source by the JS SDK (`common::js_guest`, a no-op when up to
//! date) and compiled through one cache shared by these tests (`common::shared_cache_dir`),
//! so only the first compile of each (tens of seconds in a debug build) is paid.

mod common;

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    Binary, extract_count, good, guest, js_guest, session_ref as session, settings, shared_cache_dir,
};
use pitwall::{
    extract::{
        CallError, ExtractorEngine, Limits, PluginLimits, PluginLimitsTable, PluginRegistry,
        registry::sha256_hex,
    },
    net::UpstreamGuard,
};

/// The deadline the abuse calls run under.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// What "ended at its deadline" allows on top of it (thread start, teardown, a loaded machine).
const MARGIN: Duration = Duration::from_secs(8);

fn abuse_js() -> std::path::PathBuf {
    js_guest("host/tests/guests/abuse-js", "test-guests-js/abuse_js.wasm")
}

fn demo_site_js() -> std::path::PathBuf {
    js_guest("extractors-js/demo-site", "plugins-js/demo_site.wasm")
}

fn limits() -> Limits {
    Limits {
        call_timeout: CALL_TIMEOUT,
        load_timeout: Duration::from_secs(10),
        memory_bytes: 32 << 20,
        fetch_body_bytes: 1 << 20,
        fetch_timeout: Duration::from_secs(30),
        fetch_requests: 8,
        concurrent_calls: 4,
    }
}

/// A registry over a fresh directory holding `abuse_js.wasm` and the Rust `direct.wasm`, polled
/// until both are handled, through the shared compiled cache.
async fn registry(
    limits: Limits,
    plugin_limits: PluginLimitsTable,
    allow: &[String],
) -> (Arc<PluginRegistry>, tempfile::TempDir) {
    let abuse = tokio::task::spawn_blocking(abuse_js).await.unwrap();
    let engine = ExtractorEngine::with_plugin_limits(
        limits,
        plugin_limits,
        &UpstreamGuard::new(allow),
        Some(shared_cache_dir()),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(abuse, dir.path().join("abuse_js.wasm")).unwrap();
    std::fs::copy(guest("direct"), dir.path().join("direct.wasm")).unwrap();
    let registry = Arc::new(PluginRegistry::new(engine, dir.path().to_path_buf()));
    registry.poll().await;
    registry.poll().await;
    (registry, dir)
}

/// [`registry`], asserting both plugins loaded.
async fn loaded(
    limits: Limits,
    plugin_limits: PluginLimitsTable,
    allow: &[String],
) -> (Arc<PluginRegistry>, tempfile::TempDir) {
    let (registry, dir) = registry(limits, plugin_limits, allow).await;
    assert_eq!(registry.ids(), ["abuse-js", "direct"], "{:?}", registry.entries());
    (registry, dir)
}

async fn abuse(registry: &PluginRegistry, pairs: &[(&str, &str)]) -> Result<usize, CallError> {
    extract_count(registry, "abuse-js", pairs).await
}

fn assert_deadline(result: Result<usize, CallError>, took: Duration, limit: Duration, what: &str) {
    let e = result.expect_err(what);
    assert_eq!(e.step, "trap", "{what}: {e}");
    assert!(e.detail.contains("deadline exceeded"), "{what}: {e}");
    assert!(took < limit + MARGIN, "{what} held its call for {took:?} with a {limit:?} deadline");
    eprintln!("measured: JS {what} ended after {took:?} (call_timeout {limit:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_js_guest_ends_at_its_deadline_whatever_it_does() {
    let upstream = common::slow_upstream().await;
    let port = upstream.rsplit(':').next().unwrap();
    let (registry, _dir) = loaded(limits(), PluginLimitsTable::new(), &[format!("127.0.0.1:{port}")]).await;
    assert_eq!(abuse(&registry, &[("mode", "ok")]).await.unwrap(), 1);
    let slow = format!("{upstream}/slow");
    let cases: [(&str, Vec<(&str, &str)>); 3] = [
        ("busy loop", vec![("mode", "loop")]),
        ("setTimeout(120 s)", vec![("mode", "sleep")]),
        ("fetch to an upstream that never answers", vec![("mode", "fetch"), ("url", slow.as_str())]),
    ];
    for (what, pairs) in cases {
        let started = Instant::now();
        let result = abuse(&registry, &pairs).await;
        assert_deadline(result, started.elapsed(), CALL_TIMEOUT, what);
    }
    // Every slot came back: four good calls at once.
    let calls: Vec<_> = (0..4).map(|_| good(&registry)).collect();
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_js_guest_hits_the_memory_cap_and_the_fetch_policy() {
    let (registry, _dir) =
        loaded(Limits { call_timeout: Duration::from_secs(20), ..limits() }, PluginLimitsTable::new(), &[])
            .await;
    let bomb = abuse(&registry, &[("mode", "bomb")]).await.unwrap_err();
    assert_eq!((bomb.step, bomb.detail.as_str()), ("trap", "memory limit exceeded"), "{bomb}");

    let undeclared = abuse(&registry, &[("mode", "host")]).await.unwrap_err();
    assert_eq!(undeclared.step, "request", "{undeclared}");
    assert!(
        undeclared
            .detail
            .contains("GET https://not-declared.example/: host not allowed: not-declared.example"),
        "{undeclared}"
    );
    // Loopback is declared by the plugin but blocked by the SSRF guard unless allowed upstream.
    let loopback = abuse(&registry, &[("mode", "fetch"), ("url", "http://127.0.0.1:9/x.m3u8?token=s3cret")])
        .await
        .unwrap_err();
    assert_eq!(loopback.step, "request", "{loopback}");
    assert!(loopback.detail.contains("address blocked"), "{loopback}");
    assert!(!loopback.detail.contains("s3cret"), "the query is redacted: {loopback}");

    let thrown = abuse(&registry, &[("mode", "panic")]).await.unwrap_err();
    assert_eq!(thrown.step, "other", "{thrown}");
    assert!(thrown.detail.starts_with("uncaught TypeError"), "{thrown}");
    // (100,000 candidates, as the Rust guest returns, is over the memory cap in JS: 1,000 here.)
    let flood = abuse(&registry, &[("mode", "many"), ("count", "1000")]).await.unwrap_err();
    assert!(flood.detail.contains("returned 1000 candidates; at most 64"), "{flood}");
    let forged = abuse(&registry, &[("mode", "forge")]).await.unwrap_err();
    assert!(!forged.detail.contains('\n'), "{forged:?}");
    // The hostile calls failed alone.
    assert_eq!(good(&registry).await.unwrap(), 1);
    assert_eq!(abuse(&registry, &[("mode", "ok")]).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_plugin_limits_apply_by_file_name_or_id_and_only_there() {
    // The engine's call timeout is long; `abuse_js` (its file name) gets 2 s, so its loop ends
    // then, while Rust `direct` keeps the engine's limits.
    let plugin_limits = PluginLimitsTable::from([(
        "abuse_js".to_string(),
        PluginLimits { call_timeout: Some(CALL_TIMEOUT), memory_bytes: Some(24 << 20), load_timeout: None },
    )]);
    let engine_limits = Limits { call_timeout: Duration::from_secs(120), ..limits() };
    let (registry, _dir) = loaded(engine_limits, plugin_limits, &[]).await;
    let js = registry.get("abuse-js").unwrap();
    assert_eq!(js.prepared.limits.call_timeout, CALL_TIMEOUT);
    assert_eq!(js.prepared.limits.memory_bytes, 24 << 20);
    assert_eq!(registry.get("direct").unwrap().prepared.limits.call_timeout, Duration::from_secs(120));
    let started = Instant::now();
    let result = abuse(&registry, &[("mode", "loop")]).await;
    assert_deadline(result, started.elapsed(), CALL_TIMEOUT, "busy loop under its per-plugin call_timeout");
    let bomb = abuse(&registry, &[("mode", "bomb")]).await.unwrap_err();
    assert_eq!(bomb.detail, "memory limit exceeded");

    // A cap below what SpiderMonkey needs to start (keyed by the id, which is also the file's
    // name): the file is rejected at load with that reason, and the other plugin serves.
    let starved = PluginLimitsTable::from([(
        "abuse-js".to_string(),
        PluginLimits { memory_bytes: Some(8 << 20), ..PluginLimits::default() },
    )]);
    let (starved, _dir) = self::registry(limits(), starved, &[]).await;
    assert_eq!(starved.ids(), ["direct"]);
    let entry = starved.entries().into_iter().find(|e| e.file == "abuse_js.wasm").unwrap();
    assert_eq!(entry.status, "failed");
    assert!(entry.error.as_deref().is_some_and(|e| e.contains("memory")), "{entry:?}");
    assert_eq!(good(&starved).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compiled_js_plugin_is_not_compiled_again_after_a_restart() {
    let wasm = tokio::task::spawn_blocking(demo_site_js).await.unwrap();
    let sha = sha256_hex(&std::fs::read(&wasm).unwrap());
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&wasm, dir.path().join("demo_site.wasm")).unwrap();
    let load = || async {
        let engine =
            ExtractorEngine::new(limits(), &UpstreamGuard::new(&[]), Some(shared_cache_dir())).unwrap();
        let entry = engine.cache_path(&sha).unwrap();
        let registry = PluginRegistry::new(engine, dir.path().to_path_buf());
        let started = Instant::now();
        registry.poll().await;
        registry.poll().await;
        assert_eq!(registry.ids(), ["demo-site"], "{:?}", registry.entries());
        (entry, started.elapsed())
    };
    let (entry, first) = load().await;
    let written = std::fs::metadata(&entry).expect("the compiled plugin is cached").modified().unwrap();
    // A restart: a new engine over the same cache loads the entry instead of compiling.
    let (again, second) = load().await;
    assert_eq!(entry, again);
    assert_eq!(std::fs::metadata(&entry).unwrap().modified().unwrap(), written, "the entry was rewritten");
    eprintln!(
        "measured: JS demo-site ({} bytes) loaded in {first:?} (compiled or cached before), then {second:?} from the cache",
        std::fs::metadata(&wasm).unwrap().len()
    );
}

#[test]
fn bad_per_plugin_limits_exit_2_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pitwall.toml");
    for (toml, key, says) in [
        (
            "[extractors.plugin.py-site]\nmemory_mb = 4\n",
            "extractors.plugin.py-site.memory_mb",
            "between 8 and 4096",
        ),
        (
            "[extractors.plugin.js-site]\ncall_timeout = \"20m\"\n",
            "extractors.plugin.js-site.call_timeout",
            "between 1s and 10m",
        ),
        ("[extractors.plugin.js-site]\nload_timeout = \"soon\"\n", "load_timeout", "soon"),
        ("[extractors.plugin.js-site]\nmemroy_mb = 64\n", "memroy_mb", "memory_mb"),
        ("[extractors.plugin.\"a/b\"]\nmemory_mb = 64\n", "extractors.plugin.\"a/b\"", "not a plugin name"),
    ] {
        std::fs::write(&file, toml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["--listen", "127.0.0.1:0", "--config", file.to_str().unwrap()])
            .env_remove("PITWALL_CONFIG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{toml}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains(says), "{toml}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pitwall_demo_with_only_the_js_plugin_serves_the_demo_streams() {
    const TOKEN: &str = "viewer-token-for-the-js-demo-test";
    let wasm = tokio::task::spawn_blocking(demo_site_js).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&wasm, plugins.join("demo_site.wasm")).unwrap();
    let cache = shared_cache_dir();
    let bin = Binary::start(
        &[
            "--demo",
            "--viewer-token",
            TOKEN,
            "--plugins-dir",
            plugins.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        &tmp.path().join("data"),
    );
    let http = reqwest::Client::new();
    let get = |url: String| {
        let request = http.get(url).bearer_auth(TOKEN);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // Bounded: a cold compile of the JS component (debug build), extraction, probes.
    let started = Instant::now();
    let m3u = loop {
        let (status, text) = get(format!("{}/channels.m3u", bin.url)).await;
        if status == 200 && text.lines().filter(|l| l.contains("/live/st_")).count() >= 4 {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the demo streams were not listed; last answer {status}: {text}\nlog:\n{}",
            bin.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("measured: JS demo-site streams listed {:?} after start", started.elapsed());
    let log = bin.log();
    assert!(log.contains("plugin loaded") && log.contains("demo_site.wasm"), "{log}");
    assert!(!log.contains("plugin file rejected"), "{log}");
    // Playable: a stream's master → a variant → a segment, through the relay.
    let stream = m3u.lines().find(|l| l.contains("/live/st_")).unwrap().to_string();
    let (status, master) = get(stream.clone()).await;
    assert_eq!(status, 200, "{master}");
    let base = bin.url.clone();
    let absolute =
        |line: &str| if line.starts_with('/') { format!("{base}{line}") } else { line.to_string() };
    let variant = master.lines().find(|l| !l.starts_with('#') && !l.is_empty()).expect("a variant");
    let (status, media) = get(absolute(variant)).await;
    assert_eq!(status, 200, "{media}");
    assert!(media.contains("#EXTINF"), "{media}");
    let segment = media.lines().find(|l| !l.starts_with('#') && !l.is_empty()).expect("a segment");
    let response = http.get(absolute(segment)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(!response.bytes().await.unwrap().is_empty());
}

/// `cargo test -p pitwall --release --test js_guests -- --ignored --nocapture extractors_by_language`:
/// the numbers of `docs/BENCHMARKS.md` "Extractors by language". For the Rust and JS demo-site
/// (and a Python one, when `PITWALL_BENCH_PY_DEMO_WASM` names its component): component size,
/// compile time with no cache, load from the cache (instantiate + `info()`), and instantiate +
/// `extract` p50/p99 over the whole demo flow (watch page, token API, decode) against an
/// in-process testbed. Bounded: 200 calls each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run it by name, with --release"]
async fn extractors_by_language() {
    use pitwall_testbed::{Testbed, TestbedConfig};
    let testbed = Testbed::start(TestbedConfig::default()).await.unwrap();
    let port = testbed.url().rsplit(':').next().unwrap().to_string();
    let guard = UpstreamGuard::new(&[format!("127.0.0.1:{port}")]);
    let page = format!("{}/demo-tv/watch/main", testbed.url());
    let mut plugins = vec![
        ("Rust", guest("demo-site")),
        ("JavaScript", tokio::task::spawn_blocking(demo_site_js).await.unwrap()),
    ];
    if let Some(py) = std::env::var_os("PITWALL_BENCH_PY_DEMO_WASM") {
        plugins.push(("Python", py.into()));
    }
    println!(
        "| language | component | compile (no cache) | load from cache | instantiate + extract p50 | p99 |"
    );
    println!("|---|---|---|---|---|---|");
    for (language, wasm) in plugins {
        let bytes = std::fs::read(&wasm).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let limits = Limits { memory_bytes: 256 << 20, ..Limits::default() };
        let engine = ExtractorEngine::new(limits.clone(), &guard, Some(cache.path().join("c"))).unwrap();
        let sha = sha256_hex(&bytes);
        let started = Instant::now();
        let compiled = {
            let engine = engine.clone();
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || engine.compile(&bytes, &sha).map(drop)).await.unwrap()
        };
        compiled.unwrap();
        let compile = started.elapsed();
        // A restart: a new engine over the same cache; loading = deserialize + instantiate + info().
        let engine = ExtractorEngine::new(limits, &guard, Some(cache.path().join("c"))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&wasm, dir.path().join("demo_site.wasm")).unwrap();
        let registry = PluginRegistry::new(engine, dir.path().to_path_buf());
        registry.poll().await;
        let started = Instant::now();
        registry.poll().await;
        let load = started.elapsed();
        assert_eq!(registry.ids(), ["demo-site"], "{language}: {:?}", registry.entries());
        let mut samples = Vec::with_capacity(200);
        for _ in 0..200 {
            let started = Instant::now();
            let found = registry.extract("demo-site", session(), settings(&[("page", &page)])).await;
            samples.push(started.elapsed());
            assert_eq!(found.unwrap().len(), 1, "{language}");
        }
        samples.sort();
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {language} | {:.1} MiB | {:.1} s | {:.0} ms | {:.1} ms | {:.1} ms |",
            bytes.len() as f64 / (1 << 20) as f64,
            compile.as_secs_f64(),
            load.as_secs_f64() * 1e3,
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
        );
    }
}
