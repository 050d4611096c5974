//! `pitwall-loadgen`: N simulated hls.js viewers of a running pitwall's live session, ramped
//! step by step (`cargo xtask bench viewers` starts pitwall and runs this). Viewers are spread
//! over every listed stream's `/live/{id}/master.m3u8` and the session URL, and over each
//! master's variants; they join over one target duration, and a step is measured once they all
//! caught up to the live edge. Per step it reports segment and
//! playlist times, would-stall viewers, bytes delivered, upstream requests per segment (from the
//! testbed's counters), pitwall's CPU and RSS; then the capacity figure and the memory slope.
//! Prints markdown on stdout; progress on stderr. Every loop is bounded in count and time.

mod hls;
mod proc;
mod stats;
mod viewer;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::Value;
use url::Url;

use stats::{StepOutcome, percentile};
use viewer::{Recorder, Viewer};

#[derive(Parser)]
#[command(about = "Simulated hls.js viewers of a running pitwall, ramped step by step")]
struct Args {
    /// pitwall's base URL.
    #[arg(long)]
    url: Url,
    /// The testbed's base URL, for its upstream request counters (`/_control/stats`).
    #[arg(long)]
    testbed: Option<Url>,
    /// pitwall's process id, for CPU and RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// Largest viewer count; the ramp is 10, 25, 50, 100, 200, 400, … up to it.
    #[arg(long, default_value_t = 400)]
    max: usize,
    /// Seconds each step lasts.
    #[arg(long, default_value_t = 30)]
    step_secs: u64,
    /// How long to wait for the live session's streams to be listed.
    #[arg(long, default_value_t = 120)]
    discover_secs: u64,
}

/// Longest a step waits for its newcomers to reach the live edge before measuring anyway.
const JOIN_LIMIT: Duration = Duration::from_secs(30);

/// One measured step.
struct Step {
    outcome: StepOutcome,
    segment_p50: Duration,
    playlist_p99: Duration,
    errors: usize,
    delivered_bps: f64,
    upstream_per_segment: Option<f64>,
    cpu_percent: Option<f64>,
    own_cpu_percent: Option<f64>,
    /// Mean RSS over the step's second half.
    rss_kib: Option<u64>,
    /// Peak of the relay's shared segment buffers during the step (the allocator keeps what
    /// they once held, so the peak is what RSS carries of them).
    shared_kib: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).no_proxy().build()?;
    let (session, masters) = discover(&http, &args.url, Duration::from_secs(args.discover_secs)).await?;
    let shown: Vec<&str> = masters.iter().map(Url::path).collect();
    eprintln!("loadgen: session {session}; viewers spread over {}", shown.join(", "));

    let recorder = Arc::new(Recorder::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut viewers = tokio::task::JoinSet::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut per_variant: std::collections::HashMap<String, (u64, f64)> = Default::default();
    let clk_tck = proc::clock_ticks();
    for n in ramp(args.max) {
        // New viewers join spread over one target duration (2 s for the demo), never in lockstep.
        let joining = n - viewers.len();
        for k in 0..joining {
            let id = viewers.len();
            let viewer = Viewer {
                id,
                // One target in (streams + 1) is the session URL; the rest spread over streams.
                master: masters[id % masters.len()].clone(),
                variant: id / masters.len(),
                start_after: Duration::from_millis((2000 * k / joining.max(1)) as u64),
            };
            viewers.spawn(viewer.run(recorder.clone(), stop.clone()));
        }
        // The step's clock runs once every viewer has joined and caught up to the live edge:
        // a newcomer fetches its first segments back to back, and hundreds of them joining
        // within one target duration is a burst no audience makes (people arrive over minutes).
        let joined = Instant::now();
        while recorder.caught_up() < n && joined.elapsed() < JOIN_LIMIT {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "loadgen: {} of {n} viewers at the live edge after {:.1} s; measuring",
            recorder.caught_up(),
            joined.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        recorder.take();
        let upstream_before = upstream_segments(&http, args.testbed.as_ref()).await;
        let cpu_before = args.pid.and_then(proc::cpu_ticks);
        let own_before = proc::cpu_ticks(std::process::id());
        let started = Instant::now();
        let mut rss = Vec::new();
        let mut shared_peak: Option<u64> = None;
        while started.elapsed() < Duration::from_secs(args.step_secs) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Some(bytes) = shared_bytes(&http, &args.url).await {
                shared_peak = Some(shared_peak.unwrap_or(0).max(bytes));
            }
            if started.elapsed() * 2 >= Duration::from_secs(args.step_secs)
                && let Some(kib) = args.pid.and_then(proc::rss_kib)
            {
                rss.push(kib);
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let mut samples = recorder.take();
        let cpu = |before: Option<u64>, pid: Option<u32>| {
            Some((pid.and_then(proc::cpu_ticks)? - before?) as f64 / clk_tck / wall * 100.0)
        };
        let upstream = match (upstream_before, upstream_segments(&http, args.testbed.as_ref()).await) {
            (Some(b), Some(a)) if !samples.distinct_segments.is_empty() => {
                Some(a.saturating_sub(b) as f64 / samples.distinct_segments.len() as f64)
            }
            _ => None,
        };
        for (label, (bytes, secs)) in &samples.per_variant {
            let v = per_variant.entry(label.clone()).or_default();
            v.0 += bytes;
            v.1 += secs;
        }
        let step = Step {
            outcome: StepOutcome {
                viewers: n,
                stalled: samples.stalled.len(),
                segment_p99: percentile(&mut samples.segment_times, 0.99),
                segments: samples.segment_times.len(),
                segment_duration: Duration::from_secs_f64(samples.segment_duration),
            },
            segment_p50: percentile(&mut samples.segment_times, 0.50),
            playlist_p99: percentile(&mut samples.playlist_times, 0.99),
            errors: samples.errors,
            delivered_bps: samples.bytes as f64 * 8.0 / wall,
            upstream_per_segment: upstream,
            cpu_percent: cpu(cpu_before, args.pid),
            own_cpu_percent: cpu(own_before, Some(std::process::id())),
            rss_kib: (!rss.is_empty()).then(|| rss.iter().sum::<u64>() / rss.len() as u64),
            shared_kib: shared_peak.map(|b| b / 1024),
        };
        eprintln!("loadgen: {}", row(&step));
        let overloaded = step.outcome.stalled * 2 > n;
        steps.push(step);
        if overloaded {
            eprintln!("loadgen: more than half the viewers would stall; the ramp ends here");
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    // Viewers end within a target duration plus a request timeout; do not wait longer.
    let _ =
        tokio::time::timeout(Duration::from_secs(25), async { while viewers.join_next().await.is_some() {} })
            .await;
    viewers.abort_all();
    print!("{}", report(&session, &steps, &per_variant));
    Ok(())
}

/// 10, 25, 50, 100, 200, 400, … (doubling) up to `max`, which is always the last step.
fn ramp(max: usize) -> Vec<usize> {
    let mut out: Vec<usize> = [10, 25, 50].into_iter().filter(|&n| n < max).collect();
    let mut n = 100;
    while n < max {
        out.push(n);
        n *= 2;
    }
    out.push(max.max(1));
    out
}

/// The live session and the masters viewers open: each listed stream's, and the session URL.
async fn discover(
    http: &reqwest::Client,
    base: &Url,
    within: Duration,
) -> anyhow::Result<(String, Vec<Url>)> {
    let deadline = Instant::now() + within;
    loop {
        let found = async {
            let schedule: Value = http.get(base.join("/schedule")?).send().await?.json().await?;
            let session = schedule["events"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["sessions"].as_array().into_iter().flatten())
                .find(|s| s["status"] == "live")
                .and_then(|s| s["id"].as_str())
                .context("no live session in /schedule")?
                .to_string();
            let streams: Value =
                http.get(base.join(&format!("/streams?session={session}"))?).send().await?.json().await?;
            let mut masters: Vec<Url> = streams["streams"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["url"].as_str())
                .map(|u| base.join(u))
                .collect::<Result<_, _>>()?;
            if masters.is_empty() {
                bail!("no live stream listed for {session} yet");
            }
            let session_master = base.join(&format!("/live/session/{session}/master.m3u8"))?;
            let status = http.get(session_master.clone()).send().await?.status();
            if !status.is_success() {
                bail!("the session URL answered {status}");
            }
            masters.sort();
            masters.push(session_master);
            anyhow::Ok((session, masters))
        }
        .await;
        match found {
            Ok(found) => return Ok(found),
            Err(e) if Instant::now() < deadline => {
                eprintln!("loadgen: waiting for streams: {e:#}");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e.context(format!("no live streams within {within:?}"))),
        }
    }
}

/// Segment requests the testbed has answered so far (paths ending in `.ts`).
async fn upstream_segments(http: &reqwest::Client, testbed: Option<&Url>) -> Option<u64> {
    let stats: Value =
        http.get(testbed?.join("/_control/stats").ok()?).send().await.ok()?.json().await.ok()?;
    Some(
        stats
            .as_object()?
            .iter()
            .filter(|(path, _)| path.ends_with(".ts"))
            .filter_map(|(_, n)| n.as_u64())
            .sum(),
    )
}

/// `pitwall_relay_shared_bytes` from pitwall's `/metrics`.
async fn shared_bytes(http: &reqwest::Client, base: &Url) -> Option<u64> {
    let text = http.get(base.join("/metrics").ok()?).send().await.ok()?.text().await.ok()?;
    text.lines()
        .find(|l| l.starts_with("pitwall_relay_shared_bytes "))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|b| b as u64)
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn row(s: &Step) -> String {
    format!(
        "| {} | {} | {} | {} | {} | {} | {:.1} | {} | {} | {} | {} | {} |",
        s.outcome.viewers,
        ms(s.segment_p50),
        ms(s.outcome.segment_p99),
        ms(s.playlist_p99),
        s.outcome.stalled,
        s.errors,
        s.delivered_bps / 1e6,
        opt(s.upstream_per_segment, 2),
        opt(s.cpu_percent, 0),
        s.rss_kib.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
        s.shared_kib.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
        opt(s.own_cpu_percent, 0),
    )
}

/// The markdown: the table, the measured bit rates, the capacity figure and memory per viewer.
fn report(
    session: &str,
    steps: &[Step],
    per_variant: &std::collections::HashMap<String, (u64, f64)>,
) -> String {
    let mut out = String::new();
    out.push_str(&format!("Live session `{session}`.\n\n"));
    out.push_str("| viewers | segment p50 ms | segment p99 ms | playlist p99 ms | would stall | errors | delivered Mbit/s | upstream requests per segment | pitwall CPU % | pitwall RSS MiB | shared segment buffers MiB (peak) | load generator CPU % |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for s in steps {
        out.push_str(&row(s));
        out.push('\n');
    }
    let mut rates: Vec<(&String, f64)> = per_variant
        .iter()
        .filter(|(_, (_, secs))| *secs > 0.0)
        .map(|(l, (b, secs))| (l, *b as f64 * 8.0 / secs))
        .collect();
    rates.sort_by(|a, b| a.1.total_cmp(&b.1));
    let rates: Vec<String> = rates.iter().map(|(l, bps)| format!("{l} {:.2} Mbit/s", bps / 1e6)).collect();
    out.push_str(&format!(
        "\nStream bit rate, measured from the segments' bytes over their EXTINF durations: {}.\n",
        rates.join(", ")
    ));
    let outcomes: Vec<StepOutcome> = steps.iter().map(|s| s.outcome).collect();
    let capacity = stats::capacity(&outcomes);
    out.push_str(&format!(
        "\n**Capacity: {capacity} viewers** (the largest step with no would-stall viewer and segment p99 under half the segment duration).\n"
    ));
    // Memory is judged within capacity: past it, viewers that fall behind hold their segments'
    // chunks longer and the relay's overflow path (unshared fetches) adds to RSS.
    let net =
        |s: &Step| Some((s.outcome.viewers as f64, (s.rss_kib? as f64) - s.shared_kib.unwrap_or(0) as f64));
    let raw = |s: &Step| Some((s.outcome.viewers as f64, s.rss_kib? as f64));
    let held: Vec<&Step> = steps.iter().filter(|s| s.outcome.holds()).collect();
    let within: Vec<(f64, f64)> = held.iter().filter_map(|s| net(s)).collect();
    let all: Vec<(f64, f64)> = steps.iter().filter_map(net).collect();
    let within_raw: Vec<(f64, f64)> = held.iter().filter_map(|s| raw(s)).collect();
    let kib = |points: &[(f64, f64)]| stats::slope(points).map_or("–".into(), |k| format!("{k:.1} KiB"));
    match stats::slope(&within) {
        Some(slope) => out.push_str(&format!(
            "\n**Memory per viewer: {slope:.1} KiB** beyond the shared segment buffers ({:.2} MiB per 100 viewers): the least-squares slope of RSS minus the buffers' peak over the {} steps within capacity. RSS alone over those steps: {}; over every step, overloaded ones included: {}.\n",
            slope * 100.0 / 1024.0,
            within.len(),
            kib(&within_raw),
            kib(&all),
        )),
        None => out.push_str(&format!(
            "\nMemory per viewer: fewer than two steps within capacity; over every step: {}.\n",
            kib(&all)
        )),
    }
    out
}
