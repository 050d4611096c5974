//! A hostile plugin against the sandbox, black-box: the `abuse-guest` component built from source
//! answers 100,000 candidates and floods or forges the log. Each abuse must end at its cap with a
//! clear error, alone: a good plugin keeps extracting.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::{LogCapture, guest};
use pitwall::{
    extract::{CallError, ExtractorEngine, Limits, PluginRegistry, bindings::SessionRef},
    net::UpstreamGuard,
};

/// The deadline every call in these tests runs under (unless a test says otherwise).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

fn session() -> SessionRef {
    SessionRef {
        id: "9999-01-race".into(),
        kind: "race".into(),
        season: 9999,
        round: 1,
        event_name: "Test Grand Prix".into(),
        start: None,
    }
}

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn limits(concurrent_calls: u32) -> Limits {
    Limits {
        call_timeout: CALL_TIMEOUT,
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
    registry.extract("abuse", session(), settings(pairs)).await.map(|c| c.len())
}

async fn good(registry: &PluginRegistry) -> Result<usize, CallError> {
    let pairs = settings(&[("url", "https://cdn.example/good.m3u8")]);
    registry.extract("direct", session(), pairs).await.map(|c| c.len())
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
