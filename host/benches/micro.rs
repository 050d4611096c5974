//! Micro-benchmarks run by `cargo xtask bench` (plain `harness = false`, no extra crates): the
//! playlist rewrite of a 1,000-line playlist, the per-call overhead of an extractor `extract`,
//! and compile-to-loaded time of a plugin. Prints one `bench: name = value` line per result,
//! which xtask copies into docs/BENCHMARKS.md. Every loop is bounded in count.

use std::{path::PathBuf, sync::Arc, time::Instant};

use pitwall::{
    extract::{ExtractorEngine, Limits, PluginRegistry, bindings::SessionRef},
    net::UpstreamGuard,
    relay::playlist,
};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rewrite_bench() {
    let mut text =
        String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1000\n");
    for n in 0..333 {
        text.push_str("#EXT-X-PROGRAM-DATE-TIME:2026-11-26T05:00:00.000Z\n#EXTINF:2.000,\n");
        text.push_str(&format!("seg-{n}.ts?token=1795668337.abcdef0123456789abcdef0123456789\n"));
    }
    let lines = text.lines().count();
    let base = url::Url::parse("https://cdn.example/live/main/720p/index.m3u8?token=x").unwrap();
    let mut samples = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let started = Instant::now();
        let out = playlist::rewrite(&text, &base, |u, _| format!("/relay/{}", u.path().len())).unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(out);
    }
    samples.sort_by(f64::total_cmp);
    println!("bench: rewrite_{lines}_lines_p50_us = {:.1}", percentile(&samples, 0.5));
    println!("bench: rewrite_{lines}_lines_p99_us = {:.1}", percentile(&samples, 0.99));
}

async fn extractor_bench(wasm: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let engine = ExtractorEngine::new(Limits::default(), &UpstreamGuard::default(), None).unwrap();
    let registry = Arc::new(PluginRegistry::new(engine, dir.path().to_path_buf()));
    std::fs::copy(&wasm, dir.path().join("direct.wasm")).unwrap();
    let started = Instant::now();
    registry.poll().await;
    registry.poll().await;
    println!("bench: plugin_compile_to_loaded_ms = {:.0}", started.elapsed().as_secs_f64() * 1e3);
    let session = SessionRef {
        id: "9999-01-race".into(),
        kind: "race".into(),
        season: 9999,
        round: 1,
        event_name: "Bench".into(),
        start: None,
    };
    let settings = vec![("url".to_string(), "https://cdn.example/a.m3u8".to_string())];
    let mut samples = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let started = Instant::now();
        registry.extract("direct", session.clone(), settings.clone()).await.unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    println!("bench: extract_call_p50_us = {:.1}", percentile(&samples, 0.5));
    println!("bench: extract_call_p99_us = {:.1}", percentile(&samples, 0.99));
    let rss = |field: &str| -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    };
    let before = rss("VmRSS:");
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (registry, session, settings) = (registry.clone(), session.clone(), settings.clone());
            tokio::spawn(async move { registry.extract("direct", session, settings).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap().unwrap();
    }
    let after = rss("VmHWM:");
    println!("bench: extract_rss_per_concurrent_call_kib = {}", after.saturating_sub(before) / 16);
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    rewrite_bench();
    let wasm = std::env::var_os("PITWALL_BENCH_DIRECT_WASM").map(PathBuf::from);
    match wasm {
        Some(path) if path.exists() => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            runtime.block_on(extractor_bench(path));
        }
        _ => println!("bench: extract_skipped = set PITWALL_BENCH_DIRECT_WASM to a built direct.wasm"),
    }
}
