//! A hostile plugin against the sandbox, black-box: the `abuse-guest` component built from source
//! sleeps, polls, spins, bombs memory, hangs on a slow upstream, answers 100,000 candidates and
//! floods or forges the log, in `extract` and in `info()`. Each abuse must end at its deadline or
//! cap with a clear error, alone: a good plugin keeps extracting, hot reload, `/readyz` and
//! shutdown keep working, memory stays bounded, and no secret reaches a log line.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    LogCapture, abuse_with_info_mode, extract_count, good, guest, session_ref as session, settings,
};
use pitwall::{
    extract::{CallError, ExtractorEngine, Limits, PluginRegistry},
    net::UpstreamGuard,
};
use serde_json::Value;

/// The deadline every call in these tests runs under (unless a test says otherwise).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// What "ended at its deadline" allows on top of the deadline: thread start, instance teardown,
/// a loaded 2-core machine. The abuses themselves would last 120 s.
const MARGIN: Duration = Duration::from_secs(8);

/// A loopback port that accepts connections and closes them at once.
async fn closing_upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    url
}

fn limits(concurrent_calls: u32) -> Limits {
    Limits {
        call_timeout: CALL_TIMEOUT,
        load_timeout: CALL_TIMEOUT,
        memory_bytes: 32 << 20,
        fetch_body_bytes: 1 << 20,
        fetch_timeout: Duration::from_secs(30),
        fetch_requests: 8,
        concurrent_calls,
    }
}

/// A registry over a fresh directory holding `abuse.wasm` and `direct.wasm`, both loaded.
async fn registry(limits: Limits, allow: &[String]) -> (Arc<PluginRegistry>, tempfile::TempDir) {
    let engine = ExtractorEngine::new(limits, &UpstreamGuard::new(allow), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guest("abuse-guest"), dir.path().join("abuse.wasm")).unwrap();
    std::fs::copy(guest("direct"), dir.path().join("direct.wasm")).unwrap();
    let registry = Arc::new(PluginRegistry::new(engine, dir.path().to_path_buf()));
    registry.poll().await;
    registry.poll().await;
    assert_eq!(registry.ids(), ["abuse", "direct"]);
    (registry, dir)
}

async fn abuse(registry: &PluginRegistry, pairs: &[(&str, &str)]) -> Result<usize, CallError> {
    extract_count(registry, "abuse", pairs).await
}

fn assert_deadline(result: Result<usize, CallError>, took: Duration, what: &str) {
    let e = result.expect_err(what);
    assert_eq!(e.step, "trap", "{what}: {e}");
    assert!(e.detail.contains("deadline exceeded"), "{what}: {e}");
    assert!(
        took < CALL_TIMEOUT + MARGIN,
        "{what} held its call for {took:?} with a {CALL_TIMEOUT:?} deadline"
    );
    eprintln!("measured: {what} ended after {took:?} (call_timeout {CALL_TIMEOUT:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_guest_call_ends_at_its_deadline_whatever_it_does() {
    let upstream = common::slow_upstream().await;
    let port = upstream.rsplit(':').next().unwrap();
    let (registry, _dir) = registry(limits(4), &[format!("127.0.0.1:{port}")]).await;
    let slow = format!("{upstream}/slow");
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        ("std::thread::sleep(120 s)", vec![("mode", "sleep")]),
        ("poll() on a clock pollable", vec![("mode", "poll")]),
        ("a busy loop", vec![("mode", "loop")]),
        ("a fetch to an upstream that never answers", vec![("mode", "fetch"), ("url", slow.as_str())]),
    ];
    for (what, pairs) in cases {
        let started = Instant::now();
        let result = abuse(&registry, &pairs).await;
        assert_deadline(result, started.elapsed(), what);
    }
    // Each call freed its slot: all four slots are usable at once.
    let calls: Vec<_> = (0..4).map(|_| good(&registry)).collect();
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_sleeping_calls_do_not_stop_polling() {
    // Exactly four slots, all taken by sleepers: the good call gets one when the first sleeper
    // is stopped at its deadline, not when its 120 s sleep would end.
    let (registry, _dir) = registry(limits(4), &[]).await;
    let started = Instant::now();
    let sleepers: Vec<_> = (0..4)
        .map(|_| {
            let registry = registry.clone();
            tokio::spawn(async move { abuse(&registry, &[("mode", "sleep")]).await })
        })
        .collect();
    let in_flight = |r: &PluginRegistry| r.entries().iter().find(|e| e.id == "abuse").unwrap().calls;
    while in_flight(&registry) < 4 {
        assert!(started.elapsed() < MARGIN, "the four sleepers did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let good = tokio::time::timeout(CALL_TIMEOUT + MARGIN, good(&registry))
        .await
        .expect("the good plugin waited for a slot past the sleepers' deadline");
    assert_eq!(good.unwrap(), 1);
    eprintln!("measured: good call with 4/4 slots held by sleepers answered after {:?}", started.elapsed());
    for sleeper in sleepers {
        assert_deadline(sleeper.await.unwrap(), started.elapsed(), "a sleeper among four");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_plugin_extracts_while_four_calls_sleep() {
    // With a spare slot the good plugin answers while the sleepers are still in flight (their
    // threads end at the deadline; the test runtime waits for them when it shuts down).
    let (registry, _dir) = registry(Limits { call_timeout: Duration::from_secs(8), ..limits(5) }, &[]).await;
    let sleepers: Vec<_> = (0..4)
        .map(|_| {
            let registry = registry.clone();
            tokio::spawn(async move { abuse(&registry, &[("mode", "sleep")]).await })
        })
        .collect();
    let started = Instant::now();
    while registry.entries().iter().find(|e| e.id == "abuse").unwrap().calls < 4 {
        assert!(started.elapsed() < MARGIN, "the four sleepers did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..10 {
        assert_eq!(good(&registry).await.unwrap(), 1);
    }
    assert!(sleepers.iter().all(|s| !s.is_finished()), "the sleepers should still be sleeping");
    for sleeper in sleepers {
        sleeper.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_over_the_caps_fail_their_call() {
    let (registry, _dir) = registry(Limits { call_timeout: Duration::from_secs(20), ..limits(4) }, &[]).await;
    let flood = abuse(&registry, &[("mode", "many"), ("count", "100000")]).await.unwrap_err();
    assert_eq!(flood.step, "other", "{flood}");
    assert!(flood.detail.contains("returned 100000 candidates; at most 64"), "{flood}");
    assert_eq!(abuse(&registry, &[("mode", "many"), ("count", "64")]).await.unwrap(), 64);
    assert_eq!(good(&registry).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_logs_are_rate_limited_and_cannot_forge_lines() {
    let logs = LogCapture::install();
    let (registry, _dir) = registry(Limits { call_timeout: Duration::from_secs(60), ..limits(4) }, &[]).await;

    let started = Instant::now();
    let flood = abuse(&registry, &[("mode", "logs"), ("count", "1000000"), ("tag", "rate-test")]).await;
    eprintln!("measured: 1,000,000 guest log calls took {:?}", started.elapsed());
    assert_eq!(flood.unwrap(), 1);
    let written = logs.lines_with("abuse flood line rate-test ");
    assert_eq!(written.len(), 50, "at most 50 lines per call reach the log");
    // One summary line for the call (the hostile test's flood drops another number of lines).
    let summary = logs.lines_with("dropped=999950");
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert!(summary[0].contains("over the per-call limit were dropped"), "{}", summary[0]);

    let forged = abuse(&registry, &[("mode", "forge")]).await.unwrap_err();
    assert!(!forged.detail.contains('\n'), "{forged:?}");
    assert!(forged.detail.contains("detail with\\n2026-01-01 INFO forged detail"), "{forged:?}");
    let text = logs.text();
    assert!(text.contains("abuse says hi\\n2026-01-01 INFO forged record\\r\\u{1b}[31m"), "{text}");
    assert!(!text.contains('\x1b'), "an escape sequence reached the log");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("2026-01-01") || l.contains("INFO forged") && !l.contains("\\n2026")),
        "a guest forged a log line:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_errors_never_show_the_query() {
    let logs = LogCapture::install();
    let closing = closing_upstream().await;
    let port = closing.rsplit(':').next().unwrap();
    let (registry, _dir) = registry(limits(4), &[format!("127.0.0.1:{port}")]).await;
    let secret = "SECRET-TOKEN-4711";
    for url in [format!("{closing}/live.m3u8?token={secret}"), format!("http://[::1?token={secret}")] {
        let e = abuse(&registry, &[("mode", "fetch"), ("url", url.as_str())]).await.unwrap_err();
        assert_eq!(e.step, "request", "{e}");
        assert!(!e.detail.contains(secret), "the guest saw the query: {e}");
    }
    assert!(
        !logs.text().contains(secret),
        "a log line shows the query:\n{}",
        logs.lines_with(secret).join("\n")
    );
    assert!(logs.text().contains("guest fetch refused or failed"), "the failures are logged");
}

fn vm_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_guest_fails_alone() {
    let logs = LogCapture::install();
    let slow = common::slow_upstream().await;
    let closing = closing_upstream().await;
    let allow: Vec<String> =
        [&slow, &closing].iter().map(|u| u.trim_start_matches("http://").to_string()).collect();
    let limits = limits(16);
    let memory_cap = limits.memory_bytes as u64;
    let (registry, _dir) = registry(limits, &allow).await;
    let secret = "SECRET-TOKEN-0815";
    let slow_url = format!("{slow}/slow?token={secret}");
    let closing_url = format!("{closing}/x.m3u8?token={secret}");
    let modes: Vec<Vec<(String, String)>> = [
        vec![("mode", "sleep")],
        vec![("mode", "poll")],
        vec![("mode", "loop")],
        vec![("mode", "bomb")],
        vec![("mode", "many"), ("count", "100000")],
        vec![("mode", "logs"), ("count", "200000"), ("tag", "hostile")],
        vec![("mode", "forge")],
        vec![("mode", "panic")],
        vec![("mode", "fetch"), ("url", slow_url.as_str())],
        vec![("mode", "fetch"), ("url", closing_url.as_str())],
    ]
    .iter()
    .map(|pairs| settings(pairs))
    .collect();
    let hostile_calls = modes.len() as u64;
    let rss_before = vm_kib("VmRSS:");
    let started = Instant::now();
    let hostile: Vec<_> = modes
        .into_iter()
        .map(|pairs| {
            let registry = registry.clone();
            tokio::spawn(async move { registry.extract("abuse", session(), pairs).await })
        })
        .collect();
    // The good plugin keeps answering, every time, while all of that runs.
    let mut good_calls = 0;
    while hostile.iter().any(|h| !h.is_finished()) {
        assert!(started.elapsed() < CALL_TIMEOUT + MARGIN * 2, "hostile calls outlived their deadline");
        assert_eq!(good(&registry).await.unwrap(), 1);
        good_calls += 1;
    }
    for h in hostile {
        let result = h.await.unwrap();
        if let Err(e) = &result {
            assert!(!e.detail.contains(secret), "{e}");
        }
    }
    assert!(good_calls > 0);
    let peak = vm_kib("VmHWM:");
    // Bound: each hostile call holds at most its memory cap of guest memory plus its answer
    // (at most what fit in that memory), so the process grows by less than
    // calls × 2 × cap over what it used before; 256 MiB covers the test harness itself.
    let bound_kib = rss_before + hostile_calls * 2 * (memory_cap >> 10) + (256 << 10);
    eprintln!(
        "measured: {good_calls} good calls during the hostile run; RSS before {rss_before} KiB, peak {peak} KiB, bound {bound_kib} KiB"
    );
    assert!(peak < bound_kib, "peak RSS {peak} KiB over the bound {bound_kib} KiB");
    assert!(!logs.text().contains(secret), "a secret reached the log");
    let entry = registry.entries().into_iter().find(|e| e.id == "abuse").unwrap();
    assert_eq!(entry.status, "loaded");
    assert_eq!(good(&registry).await.unwrap(), 1);
}

async fn json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_info_is_rejected_at_the_load_deadline_alone() {
    let logs = LogCapture::install();
    let load_deadline = Duration::from_secs(3);
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for mode in ["sleep", "poll", "spin", "bigname"] {
        std::fs::write(plugins.join(format!("abuse-info-{mode}.wasm")), abuse_with_info_mode(mode)).unwrap();
    }
    std::fs::copy(guest("direct"), plugins.join("direct.wasm")).unwrap();
    let testbed = pitwall_testbed::Testbed::start(pitwall_testbed::TestbedConfig::default()).await.unwrap();
    let mut config = common::config(&testbed, &tmp.path().join("data"));
    config.flags.plugins_dir = plugins.clone();
    config.flags.drain_timeout = Duration::from_secs(1);
    config.file.extractors.poll = Duration::from_millis(100);
    config.file.extractors.call_timeout = load_deadline; // the load deadline follows it (≤ 10 s)
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let server = tokio::spawn(pitwall::run(config, listener, async {
        let _ = stopped.await;
    }));

    // Loads are concurrent: `direct` serves before any hanging file is rejected (they sort first,
    // so loading one after another would reject all three before `direct` loads).
    let list = loop {
        let list = json(&format!("{url}/extractors")).await;
        if list.as_array().unwrap().iter().any(|e| e["id"] == "direct" && e["status"] == "loaded") {
            break list;
        }
        assert!(started.elapsed() < load_deadline + MARGIN, "direct did not load: {list:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let rejected_early: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "failed" && e["error"].as_str().unwrap_or("").contains("deadline"))
        .collect();
    assert!(rejected_early.is_empty(), "direct waited behind a hanging info(): {list:#}");

    // /readyz answers once the hanging loads hit their deadline.
    loop {
        let status = reqwest::get(format!("{url}/readyz")).await.unwrap().status();
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < load_deadline + MARGIN, "/readyz still {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "measured: /readyz 200 after {:?} with 3 hanging info() and a {load_deadline:?} load deadline",
        started.elapsed()
    );
    let list = json(&format!("{url}/extractors")).await;
    let entry = |file: &str| list.as_array().unwrap().iter().find(|e| e["file"] == file).unwrap().clone();
    for mode in ["sleep", "poll", "spin"] {
        let e = entry(&format!("abuse-info-{mode}.wasm"));
        assert_eq!(e["status"], "failed", "{e}");
        assert!(e["error"].as_str().unwrap().contains("deadline exceeded"), "{e}");
    }
    let big = entry("abuse-info-bigname.wasm");
    assert_eq!(big["status"], "failed");
    assert!(big["error"].as_str().unwrap().contains("name is 1048576 bytes"), "{big}");

    // Hot reload goes on, and shutdown is not held by a hanging info() in progress.
    std::fs::copy(guest("demo-site"), plugins.join("demo_site.wasm")).unwrap();
    loop {
        let list = json(&format!("{url}/extractors")).await;
        if list.as_array().unwrap().iter().any(|e| e["id"] == "demo-site" && e["status"] == "loaded") {
            break;
        }
        assert!(started.elapsed() < load_deadline * 2 + MARGIN * 2, "demo-site did not load: {list:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::write(plugins.join("late.wasm"), abuse_with_info_mode("sleep")).unwrap();
    logs.wait_for("loading plugin file file=\"late.wasm\"", MARGIN).await;
    let stopping = Instant::now();
    let _ = stop.send(());
    tokio::time::timeout(load_deadline + MARGIN, server)
        .await
        .expect("shutdown waited for a hanging info()")
        .unwrap()
        .unwrap();
    eprintln!("measured: shutdown with a hanging info() in progress took {:?}", stopping.elapsed());
}
